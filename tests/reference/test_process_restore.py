"""R-RESTORE: a restore needs the saved (current) memory free, not startup (process_restore)."""

from __future__ import annotations

from dm_builders import accept, grown, make, reject, static

from dynmem.model.vocabulary import Channel, Power
from dynmem.reference.events import Restore, Save, Start, StartAbort, StartAdmit
from dynmem.reference.state import evolve_vm


def test_restore_owns_exactly_its_saved_amount() -> None:
    """R-RESTORE: visible = saved, nothing ballooned, a new DM session."""
    state = accept(grown(), Save("a"))
    after = accept(state, Restore("a"))
    vm = after.vms[0]
    assert (vm.power, vm.owned_mib, vm.ballooned_mib, vm.saved_mib) == (
        Power.RUNNING, 3072, 0, 0)
    assert vm.channel == Channel.NEGOTIATING and not vm.has_report
    assert after.free_mib == state.free_mib - 3072
    assert vm.demand_mib == 3000


def test_restore_needs_current_memory_not_startup() -> None:
    """R-RESTORE: startup (1024) would fit, the saved 3072 MiB does not: the restore waits
    for reclaim (lifecycle.md §4.7), owning nothing and keeping its image and demand."""
    saved = accept(grown(), Save("a")).vms[0]
    full = accept(make(("a", saved.settings), ("s", static(4500))), Start("s"))
    full = full.with_vm(saved)  # a saved VM owns nothing, so the ledger stays exact
    assert full.free_mib == 7168 - 4500
    waiting = accept(full, Restore("a"))
    vm = waiting.vms[0]
    assert (vm.power, vm.owned_mib, vm.saved_mib, vm.demand_mib) == (
        Power.STARTING, 0, 3072, 3000)
    assert waiting.free_mib == full.free_mib
    assert reject(waiting, StartAdmit("a")) == "a still waits: image 3072 MiB > free 2668 MiB"


def test_a_waiting_restore_is_admitted_at_its_image() -> None:
    """R-START-ADMIT: once the image is free the restore completes as a restore would."""
    saved = accept(grown(), Save("a")).vms[0]
    waiting = accept(make(("a", saved.settings)).with_vm(saved), Restore("a"))
    assert waiting.vms[0].power == Power.RUNNING  # 7168 MiB free: no wait
    full = make(("a", saved.settings)).with_vm(evolve_vm(saved, power=Power.STARTING))
    admitted = accept(full, StartAdmit("a"))
    vm = admitted.vms[0]
    assert (vm.power, vm.owned_mib, vm.saved_mib, vm.demand_mib) == (
        Power.RUNNING, 3072, 0, 3000)
    assert admitted.free_mib == full.free_mib - 3072


def test_a_failed_restore_is_saved_again() -> None:
    """R-START-ABORT: a waiting restore that reclaim cannot cover is saved again, its image
    and demand kept; free is unchanged."""
    saved = accept(grown(), Save("a")).vms[0]
    full = make(("a", saved.settings)).with_vm(evolve_vm(saved, power=Power.STARTING))
    aborted = accept(full, StartAbort("a"))
    assert aborted.vms[0] == saved and aborted.free_mib == full.free_mib


def test_restore_needs_a_saved_vm() -> None:
    """R-RESTORE: an off or running VM cannot be restored."""
    assert reject(make(("s", static())), Restore("s")) == "s is off, not saved"
    assert reject(grown(), Restore("a")) == "a is running, not saved"
