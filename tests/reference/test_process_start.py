"""R-START: starting a VM (process_start)."""

from __future__ import annotations

from dm_builders import accept, connect, dyn, make, reject, static

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.events import BalancerTick, HotAddResponse, Start, Stop
from dynmem.reference.settings import HostSettings


def test_start_static_vm_takes_exactly_startup_from_free() -> None:
    """R-START: a static VM runs at its startup size, taken from free; no DM channel."""
    after = accept(make(("s", static(2048))), Start("s"))
    vm = after.vms[0]
    assert (vm.power, vm.visible_mib, vm.ballooned_mib, vm.assigned_mib) == (
        Power.RUNNING, 2048, 0, 2048)
    assert vm.channel == Channel.NONE
    assert after.free_mib == 7168 - 2048


def test_start_dynamic_vm_with_a_dm_guest_opens_negotiation() -> None:
    """R-START: a dynamic VM with a DM-capable guest starts at startup and negotiates."""
    vm = accept(make(("d", dyn(startup=1024))), Start("d")).vms[0]
    assert (vm.visible_mib, vm.assigned_mib, vm.channel, vm.txn) == (
        1024, 1024, Channel.NEGOTIATING, TxnKind.NONE)
    assert (vm.has_report, vm.demand_mib, vm.hot_add_enabled) == (False, 0, True)


def test_start_dynamic_vm_without_a_dm_guest_never_connects() -> None:
    """R-START: without a DM-capable VSC a dynamic VM has no channel and stays at startup."""
    vm = accept(make(("d", dyn(dm_capable=False))), Start("d")).vms[0]
    assert vm.channel == Channel.NONE
    assert vm.assigned_mib == 1024


def test_start_with_free_exactly_startup_succeeds() -> None:
    """R-START: free >= startup is enough; free may reach 0."""
    state = make(("a", static(7168)))
    assert accept(state, Start("a")).free_mib == 0


def test_start_without_enough_free_memory_fails_and_changes_nothing() -> None:
    """R-START: free < startup is a normal refusal, "not enough memory" (INV-PHYSICAL)."""
    state = accept(make(("a", static(6144)), ("b", static(1026))), Start("a"))
    reason = reject(state, Start("b"))
    assert reason == "not enough memory to start b: startup 1026 MiB > free 1024 MiB"


def test_start_counts_memory_already_promised_to_a_hot_add() -> None:
    """R-START: memory taken by a hot-add in flight is not free for another start."""
    host = HostSettings(physical_mib=4096, reserve_mib=0)
    state = make(("d", dyn(startup=1024, maximum=4096)), ("s", static(2048)), host=host)
    state = connect(accept(state, Start("d")), "d", report=3000)
    assert state.free_mib == 3072  # enough for s now
    state = accept(state, BalancerTick())  # hot-add 2048 sent: taken from free at once
    assert (state.vms[0].txn, state.vms[0].txn_mib, state.free_mib) == (
        TxnKind.HOT_ADD, 2048, 1024)
    assert "not enough memory" in reject(state, Start("s"))


def test_start_is_refused_when_already_running() -> None:
    """R-START: the VM must be off."""
    state = accept(make(("a", static())), Start("a"))
    assert reject(state, Start("a")) == "a is already running"


def test_start_rejects_an_unknown_vm() -> None:
    """R-START: the VM must exist."""
    assert "no VM named 'q'" in reject(make(("a", static())), Start("q"))


def test_restart_begins_a_fresh_session() -> None:
    """R-START: a restart forgets the old report and re-enables hot-add after a partial one."""
    state = make(("d", dyn(startup=1024, maximum=4096)))
    state = connect(accept(state, Start("d")), "d", report=3000)
    state = accept(state, BalancerTick(), HotAddResponse("d", 1024))  # partial: disables
    assert not state.vms[0].hot_add_enabled
    vm = accept(state, Stop("d"), Start("d")).vms[0]
    assert (vm.hot_add_enabled, vm.has_report, vm.report_mib, vm.visible_mib) == (
        True, False, 0, 1024)
    assert vm.channel == Channel.NEGOTIATING
