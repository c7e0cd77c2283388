"""R-TICK: one balancer tick plans with the reference policy and sends (process_balancer_tick).

The policy is specs/policy.md (DOMAIN.md §4): P-TARGET, P-GIVE-BACK, P-GRANT, P-CONTENTION.
"""

from __future__ import annotations

import pytest
from dm_builders import accept, dyn, make, ready, reject, settled, static

from dynmem.model.vocabulary import Channel, TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    CapabilitiesReport,
    Demand,
    HotAddRequest,
    Start,
    StatusReport,
    UnballoonRequest,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan, get_target
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import DmState, compute_target
from dynmem.reference.step import make_step, step


def tick(state: DmState) -> tuple[DmState, tuple[object, ...]]:
    """One accepted tick: the next state and the requests it sent."""
    result = step(state, BalancerTick())
    assert result.accepted, result.reason
    return result.state, result.sent


@pytest.mark.parametrize(
    ("report", "buffer", "expected"),
    [
        (1000, 20, 1200),  # demand + 20 %
        (1001, 20, 1202),  # 1201.2 rounded up to 2 MiB
        (1001, 25, 1252),  # 1251.25 rounded up to 2 MiB
        (100, 20, 1024),  # clamped up to startup
        (0, 2000, 1024),  # no demand: startup
        (4000, 2000, 4096),  # clamped down to maximum
        (3412, 20, 4096),  # 4094.4 -> 4096 = maximum exactly
    ],
)
def test_target_is_demand_plus_buffer_rounded_up_and_clamped(report: int, buffer: int,
                                                              expected: int) -> None:
    """P-TARGET: target = clamp(ceil_to_2(demand × (100 + buffer) / 100), startup, maximum)."""
    assert compute_target(report, dyn(startup=1024, maximum=4096, buffer=buffer)) == expected


def test_a_tick_with_nothing_to_do_changes_nothing() -> None:
    """R-TICK: with no request to send the tick is accepted and the state unchanged."""
    state = ready(make(("a", dyn())), "a", report=500)  # target 1024 = assigned
    after, sent = tick(state)
    assert (after, sent) == (state, ())


def test_a_tick_grows_a_short_vm_by_hot_add_from_free() -> None:
    """P-GRANT: a VM short of its target gets a hot-add of the shortfall from free."""
    state = ready(make(("a", dyn(startup=1024, maximum=4096))), "a", report=1500)
    after, sent = tick(state)
    assert sent == (HotAddRequest("a", 776),)  # target 1800 - assigned 1024
    assert (after.vms[0].txn, after.vms[0].txn_mib) == (TxnKind.HOT_ADD, 776)
    assert after.free_mib == state.free_mib - 776


def test_requests_respect_the_protocol_caps() -> None:
    """P-GRANT: one hot-add asks at most 2048 MiB; one balloon at most 2288 MiB."""
    state = ready(make(("a", dyn(startup=1024, maximum=65536))), "a", report=5000)
    assert tick(state)[1] == (HotAddRequest("a", 2048),)
    grown = settled(state)
    assert grown.vms[0].assigned_mib == 6000
    shrinking = accept(grown, StatusReport("a", 0))
    assert tick(shrinking)[1] == (BalloonRequest("a", 2288),)


def test_give_back_first_balloons_a_vm_down_to_its_target() -> None:
    """P-GIVE-BACK: a VM above its target is ballooned down to exactly its target."""
    state = settled(ready(make(("a", dyn(startup=1024, maximum=4096))), "a", report=3000))
    assert state.vms[0].assigned_mib == 3600
    state = accept(state, StatusReport("a", 1500))  # target 1800
    after, sent = tick(state)
    assert sent == (BalloonRequest("a", 1800),)
    assert after.free_mib == state.free_mib  # freed only when the response arrives


def test_unballoon_before_hot_add() -> None:
    """P-GRANT: a short VM with ballooned pages gets those back before any hot-add."""
    state = settled(ready(make(("a", dyn(startup=1024, maximum=8192))), "a", report=3000))
    state = settled(accept(state, Demand("a", 1000), StatusReport("a", 1000)))  # 3600 -> 1200
    assert (state.vms[0].ballooned_mib, state.vms[0].assigned_mib) == (2400, 1200)
    state = accept(state, Demand("a", 5000), StatusReport("a", 5000))  # target 6000
    after, sent = tick(state)
    assert sent == (UnballoonRequest("a", 2048),)
    final = settled(state)
    vm = final.vms[0]
    assert (vm.ballooned_mib, vm.visible_mib, vm.assigned_mib) == (0, 6000, 6000)


def test_grants_go_by_weight_then_name() -> None:
    """P-GRANT: free memory goes to higher weight first; equal weights in name order."""
    vms = (("c", dyn(startup=1024, maximum=8192, weight=5000)),
           ("b", dyn(startup=1024, maximum=8192, weight=5000)),
           ("a", dyn(startup=1024, maximum=8192, weight=2000)))
    state = make(*vms, host=HostSettings(physical_mib=5120, reserve_mib=0))
    for name in ("c", "b", "a"):
        state = ready(state, name, report=4000)  # targets 4800, short 3776 each
    assert state.free_mib == 2048
    _, sent = tick(state)
    assert sent == (HotAddRequest("b", 2048),)  # b before c by name; a (low weight) last


def test_a_busy_vm_keeps_its_claim_on_free_memory() -> None:
    """P-GRANT: a higher-weight VM waiting for a hot-add answer still claims free first."""
    vms = (("hi", dyn(startup=1024, maximum=65536, weight=8000)),
           ("lo", dyn(startup=1024, maximum=65536, weight=2000)))
    state = make(*vms)  # 7168 MiB for VMs
    state = ready(ready(state, "hi", report=10_000), "lo", report=10_000)
    after, sent = tick(state)
    assert sent == (HotAddRequest("hi", 2048),)  # hi's shortfall covers all of free
    assert compute_plan(after) == ()


def test_contention_squeezes_the_lowest_weight_first() -> None:
    """P-CONTENTION: a short VM with free exhausted balloons the lowest weight first."""
    host = HostSettings(physical_mib=9216, reserve_mib=0)
    vms = (("hi", dyn(startup=1024, maximum=8192, weight=9000)),
           ("mid", dyn(startup=1024, maximum=8192, weight=5000)),
           ("low", dyn(startup=1024, maximum=8192, weight=1000)))
    state = make(*vms, host=host)
    state = settled(ready(ready(state, "mid", report=2500), "low", report=4000))
    assert [vm.assigned_mib for vm in state.vms[1:]] == [3000, 4800]
    state = ready(state, "hi", report=2500)  # target 3000: short 1976, free only 392
    assert state.free_mib == 392
    _, sent = tick(state)
    assert sent == (HotAddRequest("hi", 392), BalloonRequest("low", 1584))
    hi, mid, low = settled(state).vms
    assert (hi.assigned_mib, mid.assigned_mib, low.assigned_mib) == (3000, 3000, 3216)


def test_contention_never_squeezes_below_startup() -> None:
    """P-CONTENTION: donors give down to their startup and no further; the short VM waits."""
    host = HostSettings(physical_mib=9216, reserve_mib=0)
    vms = (("hi", dyn(startup=1024, maximum=8192, weight=9000)),
           ("mid", dyn(startup=1024, maximum=8192, weight=5000)),
           ("low", dyn(startup=2048, maximum=8192, weight=1000)))
    state = make(*vms, host=host)
    state = settled(ready(ready(state, "mid", report=2500), "low", report=2500))
    state = ready(state, "hi", report=10_000)  # target 8192: short 7168, free 2192
    _, sent = tick(state)
    # low (lowest weight) first, down to its startup 2048; then mid down to its 1024.
    assert sent == (HotAddRequest("hi", 2048), BalloonRequest("low", 952),
                    BalloonRequest("mid", 1976))
    final = settled(state)
    hi, mid, low = final.vms
    assert (low.assigned_mib, mid.assigned_mib, hi.assigned_mib) == (2048, 1024, 6144)
    assert final.free_mib == 0
    assert get_target(hi) - hi.assigned_mib == 2048  # still short: nobody left to squeeze
    assert compute_plan(final) == ()


def test_contention_spares_equal_and_higher_weights() -> None:
    """P-CONTENTION: only strictly lower weights give; an equal weight keeps its memory."""
    host = HostSettings(physical_mib=6144, reserve_mib=0)
    vms = (("a", dyn(startup=1024, maximum=8192, weight=5000)),
           ("b", dyn(startup=1024, maximum=8192, weight=5000)))
    state = settled(ready(make(*vms, host=host), "b", report=4000))
    assert state.vms[1].assigned_mib == 4800
    state = settled(ready(state, "a", report=4000))
    assert (state.vms[0].assigned_mib, state.vms[1].assigned_mib, state.free_mib) == (
        1344, 4800, 0)


def test_the_seed_policy_example_reaches_its_fixed_point() -> None:
    """P-CONTENTION: DOMAIN §4: hi (8000) 4800 MiB, lo (2000) 2368 MiB, free 0."""
    vms = (("hi", dyn(startup=1024, maximum=65536, weight=8000)),
           ("lo", dyn(startup=1024, maximum=65536, weight=2000)))
    for order in (("hi", "lo"), ("lo", "hi")):
        state = make(*vms)  # 7168 MiB for VMs
        for name in order:
            state = settled(ready(state, name, report=4000))
        hi, lo = state.vms
        assert (hi.assigned_mib, lo.assigned_mib, state.free_mib) == (4800, 2368, 0), order


def test_vms_not_ready_static_or_busy_get_no_request() -> None:
    """R-TICK: no request for a VM in its quiet period, without a report, static or busy."""
    vms = (("quiet", dyn()), ("silent", dyn()), ("s", static()), ("busy", dyn(maximum=8192)))
    state = make(*vms)
    state = accept(state, Start("quiet"), VersionRequest("quiet", 0x20000),
                   CapabilitiesReport("quiet"), StatusReport("quiet", 3000))
    state = ready(state, "silent")
    state = accept(state, Start("s"))
    state = ready(state, "busy", report=1000)
    state = accept(state, HotAddRequest("busy", 2))
    assert state.vms[0].channel == Channel.QUIET
    assert compute_plan(state) == ()
    assert tick(state) == (state, ())


def test_a_plan_with_a_refused_request_refuses_the_whole_tick() -> None:
    """R-TICK: a policy that plans a request the guards refuse sends nothing at all."""
    state = ready(make(("a", dyn()), ("b", dyn())), "a", report=2000)
    state = ready(state, "b", report=2000)
    broken = make_step(plan=lambda s: (HotAddRequest("a", 2), BalloonRequest("b", 2)))
    result = broken(state, BalancerTick())
    assert result.reason is not None
    assert result.reason.startswith('the plan has a refused request {"kind": '
                                    '"balloon_request", "vm": "b", "mib": 2}: ')
    assert (result.state, result.sent) == (state, ())
    assert reject(state, BalloonRequest("b", 2)).endswith("below startup 1024 MiB "
                                                          "(assigned 1024 MiB)")
