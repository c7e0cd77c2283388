"""R-START-ADMIT: a waiting start completes once its startup is free (process_start_admit)."""

from __future__ import annotations

from dm_builders import accept, make, reject, settled, static
from reclaim_cases import full_dynamic_host

from dynmem.model.vocabulary import Power
from dynmem.reference.events import Start, StartAdmit


def test_admit_waits_for_free_memory() -> None:
    """R-START-ADMIT: refused while startup is not free; nothing changes."""
    state = accept(full_dynamic_host(), Start("hi"))
    assert state.get_vm("hi").power == Power.STARTING  # type: ignore[union-attr]
    assert reject(state, StartAdmit("hi")) == (
        "hi still waits: startup 2048 MiB > free 0 MiB")


def test_admit_after_reclaim_runs_at_startup() -> None:
    """R-START-ADMIT: reclaim frees the startup, the start completes."""
    state = settled(accept(full_dynamic_host(), Start("hi")))
    vm = state.get_vm("hi")
    assert vm is not None and (vm.power, vm.assigned_mib) == (Power.RUNNING, 2048)


def test_admit_needs_a_waiting_start() -> None:
    """R-START-ADMIT: an off VM is not waiting."""
    assert reject(make(("s", static())), StartAdmit("s")) == (
        "s is off, not starting (waiting for reclaim)")
