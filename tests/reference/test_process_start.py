"""R-START: starting a VM (process_start)."""

from __future__ import annotations

from dm_builders import accept, connect, dyn, make, ready, reject, settled, static
from reclaim_cases import full_dynamic_host

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.environment import compute_round
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    HotAddResponse,
    Start,
    StartAbort,
    Stop,
)
from dynmem.reference.policy import compute_plan, get_reclaimable
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


def test_start_without_enough_free_memory_waits_and_takes_nothing() -> None:
    """R-START: free < startup never overcommits: the start waits owning nothing, and with
    nothing to reclaim (static VMs only) the host fails it at once (R-START-ABORT)."""
    state = accept(make(("a", static(6144)), ("b", static(1026))), Start("a"))
    waiting = accept(state, Start("b"))
    assert (waiting.vms[1].power, waiting.free_mib) == (Power.STARTING, 1024)
    assert compute_round(waiting) == [StartAbort("b")]
    assert settled(waiting).vms[1].power == Power.OFF


def test_start_counts_memory_already_promised_to_a_hot_add() -> None:
    """R-START: memory taken by a hot-add in flight is not free for another start."""
    host = HostSettings(physical_mib=4096, reserve_mib=0)
    state = make(("d", dyn(startup=1024, maximum=4096)), ("s", static(2048)), host=host)
    state = connect(accept(state, Start("d")), "d", report=3000)
    assert state.free_mib == 3072  # enough for s now
    state = accept(state, BalancerTick())  # hot-add 2048 sent: taken from free at once
    assert (state.vms[0].txn, state.vms[0].txn_mib, state.free_mib) == (
        TxnKind.HOT_ADD, 2048, 1024)
    assert accept(state, Start("s")).vms[1].power == Power.STARTING


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


def test_start_on_a_full_dynamic_host_waits_for_reclaim() -> None:
    """R-START: lower weights can give startup back, so the start waits (P-RECLAIM)."""
    state = full_dynamic_host()
    after = accept(state, Start("hi"))
    vm = after.get_vm("hi")
    assert vm is not None and (vm.power, vm.owned_mib) == (Power.STARTING, 0)
    assert after.free_mib == 0
    # lowest weight first, then by name: lo1 alone can give the whole startup
    assert compute_plan(after) == (BalloonRequest("lo1", 2048),)


def test_start_never_reclaims_from_equal_or_higher_weights() -> None:
    """P-RECLAIM: peer weighs as much as the running VMs: nothing to reclaim, it fails."""
    waiting = accept(full_dynamic_host(), Start("peer"))
    assert get_reclaimable(waiting, waiting.vms[3]) == 0
    assert compute_plan(waiting) == ()
    assert compute_round(waiting) == [StartAbort("peer")]


def test_reclaim_that_cannot_cover_startup_fails_at_once() -> None:
    """P-RECLAIM: free 848 plus 176 above lo's startup cannot cover 2048 MiB."""
    state = make(("lo", dyn(maximum=8192, weight=1000)), ("s", static(5120)),
                 ("big", dyn(startup=2048, weight=9000)))
    state = settled(ready(accept(state, Start("s")), "lo", report=1000))
    assert state.free_mib == 7168 - 5120 - 1200
    waiting = accept(state, Start("big"))
    assert get_reclaimable(waiting, waiting.vms[2]) == 1024
    assert StartAbort("big") in compute_round(waiting)
