"""R-START-ABORT: a waiting start gives up and owns nothing (process_start_abort)."""

from __future__ import annotations

from dm_builders import accept, make, reject, static
from reclaim_cases import full_dynamic_host

from dynmem.model.vocabulary import Power
from dynmem.reference.events import Start, StartAbort


def test_abort_turns_the_vm_off_and_frees_nothing() -> None:
    """R-START-ABORT: the VM is off again; free is unchanged."""
    state = accept(full_dynamic_host(), Start("hi"))
    after = accept(state, StartAbort("hi"))
    assert after.get_vm("hi").power == Power.OFF  # type: ignore[union-attr]
    assert after.free_mib == state.free_mib


def test_abort_needs_a_waiting_start() -> None:
    """R-START-ABORT: an off VM is not waiting."""
    assert reject(make(("s", static())), StartAbort("s")) == (
        "s is off, not starting (waiting for reclaim)")
