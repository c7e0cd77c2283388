"""R-RESTART: a reboot brings the VM back at startup, new session (process_guest_restart)."""

from __future__ import annotations

from dm_builders import (
    accept,
    balloon_in_flight,
    grown,
    hot_add_in_flight,
    make,
    reject,
    static,
    unballoon_in_flight,
)

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.events import GuestRestart, Start, StatusReport

ALL_FREE = 7168


def test_restart_returns_everything_above_startup() -> None:
    """R-RESTART: hot-added memory returns; the guest keeps exactly startup."""
    after = accept(grown(), GuestRestart("a"))
    vm = after.vms[0]
    assert (vm.power, vm.visible_mib, vm.ballooned_mib) == (Power.RUNNING, 1024, 0)
    assert after.free_mib == ALL_FREE - 1024


def test_restart_drops_the_old_session_and_report() -> None:
    """R-RESTART: the stale report and the capabilities are gone; the channel renegotiates."""
    vm = accept(grown(), GuestRestart("a")).vms[0]
    assert (vm.channel, vm.has_report, vm.report_mib, vm.cap_balloon) == (
        Channel.NEGOTIATING, False, 0, False)
    assert reject(accept(grown(), GuestRestart("a")), StatusReport("a", 10)).endswith(
        "the message needs CAPS or QUIET or READY")


def test_restart_with_work_in_flight_keeps_the_ledger_exact() -> None:
    """R-RESTART: a balloon, an unballoon or a hot-add in flight never leaks memory."""
    for state in (balloon_in_flight(), unballoon_in_flight(), hot_add_in_flight()):
        after = accept(state, GuestRestart("a"))
        assert after.vms[0].txn == TxnKind.NONE
        assert after.free_mib == ALL_FREE - 1024


def test_restart_of_a_static_vm_changes_no_memory() -> None:
    """R-RESTART: a static VM comes back at its fixed size."""
    state = accept(make(("s", static(2048))), Start("s"))
    assert accept(state, GuestRestart("s")).free_mib == state.free_mib


def test_restart_needs_a_running_vm() -> None:
    """R-RESTART: an off VM cannot restart."""
    assert reject(make(("s", static(2048))), GuestRestart("s")) == "s is not running"
