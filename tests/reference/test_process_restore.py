"""R-RESTORE: a restore needs the saved (current) memory free, not startup (process_restore)."""

from __future__ import annotations

from dm_builders import accept, grown, make, reject, static

from dynmem.model.vocabulary import Channel, Power
from dynmem.reference.events import Restore, Save, Start


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
    """R-RESTORE: startup (1024) would fit, the saved 3072 MiB does not: refused, unchanged."""
    saved = accept(grown(), Save("a")).vms[0]
    full = accept(make(("a", saved.settings), ("s", static(4500))), Start("s"))
    full = full.with_vm(saved)  # a saved VM owns nothing, so the ledger stays exact
    assert full.free_mib == 7168 - 4500
    assert reject(full, Restore("a")) == (
        "not enough memory to restore a: saved 3072 MiB > free 2668 MiB")


def test_restore_needs_a_saved_vm() -> None:
    """R-RESTORE: an off or running VM cannot be restored."""
    assert reject(make(("s", static())), Restore("s")) == "s is off, not saved"
    assert reject(grown(), Restore("a")) == "a is running, not saved"
