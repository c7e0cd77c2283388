"""The conformance cases of the test suite (STYLE rule 14; specs/formats/oracle.md §6).

Each ``test_*`` function is a generator: it yields ``("pre", state)`` and ``("events",
[...])``, runs the reference itself and asserts what the rule says, then yields ``("post",
state)`` (an exact case), ``("post", None)`` (``test_invalid_*``: the last event must be
rejected) or ``("kind", "refinement")``. pytest runs every generator
(tests/verification/test_vector_cases.py); ``dynmem vectors OUT`` writes their yields out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from dynmem.model.vocabulary import VERSION_WIN10, Channel, Power, TxnKind
from dynmem.reference.environment import settle
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    ChannelReset,
    Configure,
    Delete,
    Demand,
    Event,
    GuestRestart,
    HotAddRequest,
    HotAddResponse,
    MigrateIn,
    MigrateOut,
    QuietPeriodEnd,
    Restore,
    Save,
    Start,
    StartAbort,
    StartAdmit,
    StatusReport,
    Stop,
    StuckTimeout,
    UnballoonRequest,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, compute_target, initial_state
from dynmem.reference.step import step

Case = Iterator[tuple[str, Any]]


def _dyn(startup: int = 1024, maximum: int = 8192, weight: int = 5000) -> VmSettings:
    return VmSettings(dynamic=True, startup_mib=startup, maximum_mib=maximum, weight=weight)


def _run(state: DmState, events: Sequence[Event]) -> DmState:
    """The reference through ``events``, every one accepted."""
    for event in events:
        result = step(state, event)
        assert result.accepted, f"{event!r}: {result.reason}"
        state = result.state
    return state


def _connect(name: str) -> list[Event]:
    return [Start(name), VersionRequest(name, VERSION_WIN10), CapabilitiesReport(name),
            QuietPeriodEnd(name)]


def _ready_host(*vms: tuple[str, VmSettings], physical: int = 8192,
                reserve: int = 1024) -> DmState:
    """A host whose listed VMs are running with a READY channel and no report yet."""
    state = initial_state(HostSettings(physical, reserve), vms)
    return _run(state, [e for name, _ in vms for e in _connect(name)])


def _post(pre: DmState, events: Sequence[Event]) -> DmState:
    return _run(pre, events)


# --- exact cases -----------------------------------------------------------------------------


def test_start_static_vm() -> Case:
    """A static VM starts at exactly its startup size and opens no DM channel (R-START)."""
    pre = initial_state(HostSettings(4096, 1024), (("db", VmSettings(startup_mib=2048)),))
    events: list[Event] = [Start("db")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-START", "INV-STATIC"]
    post = _post(pre, events)
    vm = post.vms[0]
    assert (vm.power, vm.assigned_mib, vm.channel) == (Power.RUNNING, 2048, Channel.NONE)
    assert post.free_mib == 1024
    yield "post", post


def test_negotiation_reaches_ready() -> Case:
    """Version, capabilities and the quiet period lead to a READY channel (R-VERSION, R-CAPS,
    R-QUIET)."""
    pre = initial_state(HostSettings(4096, 1024), (("web", _dyn()),))
    events: list[Event] = _connect("web")
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-START", "R-VERSION", "R-CAPS", "R-QUIET"]
    post = _post(pre, events)
    assert post.vms[0].channel == Channel.READY
    yield "post", post


def test_report_then_tick_hot_adds() -> Case:
    """A report above the VM's size makes the balancer hot-add from free memory (P-GRANT)."""
    pre = _ready_host(("web", _dyn()))
    events: list[Event] = [Demand("web", 2000), StatusReport("web", 2000), BalancerTick(),
              HotAddResponse("web", 1376)]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-STATUS", "R-TICK", "R-HOT-ADD-REQUEST", "R-HOT-ADD-RESPONSE"]
    post = _post(pre, events)
    assert post.vms[0].assigned_mib == 2400  # ceil2(2000 * 1.2)
    yield "post", post


def _aligned_host(align_mib: int) -> DmState:
    """``web`` READY on 8 GiB, its guest having advertised ``align_mib`` hot-add blocks."""
    state = initial_state(HostSettings(8192, 1024), (("web", _dyn()),))
    return _run(state, [Start("web"), VersionRequest("web", VERSION_WIN10),
                        CapabilitiesReport("web", align_mib=align_mib), QuietPeriodEnd("web")])


def test_hot_add_aligned_down_to_the_guests_blocks() -> Case:
    """A Linux guest advertised 128 MiB memory blocks: the 1376 MiB the VM is short is
    hot-added aligned down, as 1280 MiB (R-HOT-ADD-ALIGN, INV-HOT-ADD-ALIGNED)."""
    pre = _aligned_host(128)
    events: list[Event] = [Demand("web", 2000), StatusReport("web", 2000), BalancerTick(),
                           HotAddResponse("web", 1280)]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-CAPS", "R-HOT-ADD-ALIGN", "INV-HOT-ADD-ALIGNED", "R-HOT-ADD-REQUEST"]
    after_tick = _post(pre, events[:3]).vms[0]
    assert (after_tick.txn, after_tick.txn_mib) == (TxnKind.HOT_ADD, 1280)  # not 1376
    post = _post(pre, events)
    assert post.vms[0].assigned_mib == 2304 and post.vms[0].hot_add_align_mib == 128
    yield "post", post


def test_aligned_hot_add_with_nothing_left_is_not_sent() -> Case:
    """Short by 56 MiB, less than one 128 MiB block: no hot-add is sent and the VM stays
    where it is (R-HOT-ADD-ALIGN: aligned down to nothing, the host goes idle)."""
    pre = _aligned_host(128)
    events: list[Event] = [Demand("web", 900), StatusReport("web", 900), BalancerTick()]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-CAPS", "R-HOT-ADD-ALIGN", "R-TICK"]
    post = _post(pre, events)
    vm = post.vms[0]
    assert compute_target(900, vm.settings) == 1080  # 56 MiB short: wanted, not sent
    assert (vm.txn, vm.assigned_mib, post.free_mib) == (TxnKind.NONE, 1024, pre.free_mib)
    yield "post", post


def test_balloon_give_back() -> Case:
    """A VM above its target is ballooned down; memory is free only on the response
    (P-GIVE-BACK, R-BALLOON-RESPONSE)."""
    pre = _run(_ready_host(("web", _dyn())),
               [Demand("web", 3000), StatusReport("web", 3000), BalancerTick(),
                HotAddResponse("web", 2048)])
    events: list[Event] = [Demand("web", 1000), StatusReport("web", 1000), BalancerTick(),
              BalloonResponse("web", 1020, more_pages=True), BalloonResponse("web", 852)]
    yield "pre", pre
    yield "events", events
    yield "spec", ["P-GIVE-BACK", "R-BALLOON-REQUEST", "R-BALLOON-RESPONSE"]
    post = _post(pre, events)
    assert post.vms[0].assigned_mib == 1200 and post.vms[0].txn == TxnKind.NONE
    yield "post", post


def test_oversized_balloon_response_is_clamped() -> Case:
    """A guest answering more pages than asked is counted only for what was asked
    (R-BALLOON-RESPONSE: the guest is not trusted)."""
    pre = _ready_host(("web", _dyn()))
    pre = _run(pre, [Demand("web", 3000), StatusReport("web", 3000), BalancerTick(),
                     HotAddResponse("web", 2048), BalloonRequest("web", 512)])
    events: list[Event] = [BalloonResponse("web", 4000)]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-BALLOON-RESPONSE"]
    post = _post(pre, events)
    assert post.vms[0].ballooned_mib == 512
    yield "post", post


def test_partial_hot_add_disables_hot_add() -> Case:
    """A partial hot-add returns the rest to free and disables hot-add (R-HOT-ADD-RESPONSE)."""
    pre = _ready_host(("web", _dyn()))
    events: list[Event] = [HotAddRequest("web", 1024), HotAddResponse("web", 512)]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-HOT-ADD-REQUEST", "R-HOT-ADD-RESPONSE"]
    post = _post(pre, events)
    assert post.vms[0].visible_mib == 1536 and not post.vms[0].hot_add_enabled
    assert post.free_mib == pre.free_mib - 512
    yield "post", post


def test_transient_hot_add_failure_releases_memory() -> Case:
    """A failed hot-add adds nothing and gives the memory back to free (R-HOT-ADD-RESPONSE)."""
    pre = _ready_host(("web", _dyn()))
    events: list[Event] = [HotAddRequest("web", 1024),
                           HotAddResponse("web", 1024, success=False)]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-HOT-ADD-RESPONSE"]
    post = _post(pre, events)
    assert post.free_mib == pre.free_mib and post.vms[0].hot_add_enabled
    yield "post", post


def test_unballoon_returns_pages() -> Case:
    """Unballoon takes memory from free when sent and gives the pages back (R-UNBALLOON-*)."""
    pre = _run(_ready_host(("web", _dyn())),
               [HotAddRequest("web", 1024), HotAddResponse("web", 1024),
                BalloonRequest("web", 512), BalloonResponse("web", 512)])
    events: list[Event] = [UnballoonRequest("web", 512), UnballoonResponse("web")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-UNBALLOON-REQUEST", "R-UNBALLOON-RESPONSE"]
    post = _post(pre, events)
    assert post.vms[0].ballooned_mib == 0 and post.free_mib == pre.free_mib - 512
    yield "post", post


def test_stop_returns_memory_in_flight() -> Case:
    """Stopping a VM returns what it owns and what is in flight to it (R-STOP)."""
    pre = _run(_ready_host(("web", _dyn())), [HotAddRequest("web", 1024)])
    events: list[Event] = [Stop("web")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-STOP", "INV-OFF"]
    post = _post(pre, events)
    assert post.free_mib == 7168
    yield "post", post


def test_contention_fixed_point() -> Case:
    """Two VMs demanding 4000 on 7168 MiB settle at hi 4800 and lo 2368 (specs §4 example)."""
    pre = _ready_host(("hi", _dyn(weight=8000)), ("lo", _dyn(weight=2000)))
    pre = _run(pre, [Demand("hi", 4000), Demand("lo", 4000)])
    events = [e for e, _ in settle(pre).steps]
    yield "pre", pre
    yield "events", events
    yield "spec", ["P-GRANT", "P-CONTENTION"]
    post = _post(pre, events)
    assert [vm.assigned_mib for vm in post.vms] == [4800, 2368] and post.free_mib == 0
    yield "post", post


# --- the lifecycle (specs/lifecycle.md) -------------------------------------------------------


def _grown(name: str = "web") -> DmState:
    """``name`` READY at 2400 MiB (hot-added 1376 above its startup of 1024) on 8 GiB."""
    return _run(_ready_host((name, _dyn())), [Demand(name, 2000), StatusReport(name, 2000),
                                              BalancerTick(), HotAddResponse(name, 1376)])


def test_guest_restart_returns_to_startup() -> Case:
    """A reboot brings the VM back at startup in a new session: hot-added memory returns,
    the report is dropped (R-RESTART, INV-SESSION)."""
    pre = _grown()
    events: list[Event] = [GuestRestart("web")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-RESTART", "INV-SESSION"]
    post = _post(pre, events)
    vm = post.vms[0]
    assert (vm.assigned_mib, vm.channel, vm.has_report) == (1024, Channel.NEGOTIATING, False)
    assert post.free_mib == 6144
    yield "post", post


def test_channel_reset_mid_balloon_regains_pages() -> Case:
    """A channel reset mid-balloon: the pages received stay the guest's again (backed from
    free), the outstanding ones were never received (R-CLOSE, R-CHANNEL-RESET)."""
    pre = _run(_grown(), [Demand("web", 0), StatusReport("web", 0), BalancerTick(),
                          BalloonResponse("web", 400, more_pages=True)])
    events: list[Event] = [ChannelReset("web")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-CHANNEL-RESET", "INV-SESSION"]
    post = _post(pre, events)
    vm = post.vms[0]
    assert (vm.ballooned_mib, vm.txn, vm.assigned_mib) == (0, TxnKind.NONE, 2400)
    assert post.free_mib == pre.free_mib - 400
    yield "post", post


def test_save_and_restore_at_the_saved_amount() -> Case:
    """Save returns everything the VM owns and keeps its image; a restore takes exactly the
    image from free (R-SAVE, R-RESTORE, INV-RESTORED)."""
    pre = _grown()
    events: list[Event] = [Save("web"), Restore("web")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-SAVE", "R-RESTORE", "INV-RESTORED"]
    post = _post(pre, events)
    vm = post.vms[0]
    assert (vm.power, vm.assigned_mib, vm.saved_mib) == (Power.RUNNING, 2400, 0)
    assert post.free_mib == pre.free_mib
    yield "post", post


def test_migration_out_returns_memory_in_flight() -> Case:
    """A departing VM returns everything, a hot-add in flight included (R-MIGRATE-OUT)."""
    pre = _run(_ready_host(("web", _dyn())), [HotAddRequest("web", 1024)])
    events: list[Event] = [MigrateOut("web")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-MIGRATE-OUT", "INV-OFF"]
    post = _post(pre, events)
    assert post.vms[0].power == Power.OFF and post.free_mib == 7168
    yield "post", post


def test_migration_in_at_current_memory() -> Case:
    """An arriving VM owns exactly the memory it names, from free (R-MIGRATE-IN)."""
    pre = initial_state(HostSettings(8192, 1024), (("web", _dyn()),))
    events: list[Event] = [MigrateIn("web", 3000)]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-MIGRATE-IN"]
    post = _post(pre, events)
    assert post.vms[0].assigned_mib == 3000 and post.free_mib == 4168
    yield "post", post


def test_stuck_timeout_frees_nothing() -> Case:
    """The watchdog gives up on a silent balloon: nothing moves, the VM is stuck (R-STUCK)."""
    pre = _run(_grown(), [Demand("web", 0), StatusReport("web", 0), BalancerTick()])
    events: list[Event] = [StuckTimeout("web")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-STUCK"]
    post = _post(pre, events)
    assert post.vms[0].stuck and post.free_mib == pre.free_mib
    assert post.vms[0].assigned_mib == pre.vms[0].assigned_mib
    yield "post", post


def test_start_waits_for_reclaim_then_is_admitted() -> Case:
    """A start that does not fit waits owning nothing; the balancer squeezes the lower-weight
    VM for it, and the start completes once its startup is free (R-START, P-RECLAIM,
    R-START-ADMIT)."""
    pre = _run(initial_state(HostSettings(4096, 1024), (("lo", _dyn(weight=2000)),
                                                        ("hi", _dyn(weight=8000)))),
               [*_connect("lo"), Demand("lo", 2000), StatusReport("lo", 2000), BalancerTick(),
                HotAddResponse("lo", 1376)])
    assert pre.free_mib == 672  # less than hi's startup of 1024
    events: list[Event] = [Start("hi"), BalancerTick(), BalloonResponse("lo", 352),
                           StartAdmit("hi")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-START", "P-RECLAIM", "R-START-ADMIT"]
    post = _post(pre, events)
    assert [vm.power for vm in post.vms] == [Power.RUNNING, Power.RUNNING]
    assert post.vms[0].assigned_mib == 2048 and post.free_mib == 0
    yield "post", post


def test_invalid_admit_without_free_memory() -> Case:
    """A waiting start is admitted only once its startup is free (R-START-ADMIT)."""
    pre = _run(initial_state(HostSettings(2048, 1024), (("a", _dyn(startup=512)),
                                                        ("b", _dyn(startup=1024)))),
               [Start("a"), Start("b")])
    assert pre.vms[1].power == Power.STARTING
    yield from _reject(pre, StartAdmit("b"), ["R-START-ADMIT", "INV-PHYSICAL"])


def test_invalid_migration_in_without_free_memory() -> Case:
    """An arriving VM needs its current memory free (R-MIGRATE-IN)."""
    pre = initial_state(HostSettings(4096, 1024), (("web", _dyn()),))
    yield from _reject(pre, MigrateIn("web", 3500), ["R-MIGRATE-IN", "INV-PHYSICAL"])


# --- must-reject cases -----------------------------------------------------------------------


def test_start_without_free_memory_waits_then_fails() -> Case:
    """The 16th 2 GiB static VM on a 32 GiB host with 2 GiB reserve does not start: its start
    waits for reclaim owning nothing, and static VMs give nothing back, so it fails
    (R-START, R-START-ABORT, INV-PHYSICAL)."""
    vms = tuple((f"vm{i:02}", VmSettings(startup_mib=2048)) for i in range(16))
    pre = _run(initial_state(HostSettings(32768, 2048), vms), [Start(n) for n, _ in vms[:15]])
    events: list[Event] = [Start("vm15"), StartAbort("vm15")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-START", "R-START-ABORT", "INV-PHYSICAL"]
    post = _post(pre, events)
    assert post.vms[15].power == Power.OFF and post.free_mib == 0
    yield "post", post


def test_restore_without_current_memory_waits_then_fails() -> Case:
    """A restore needs the saved (current) memory free, not startup: without it the restore
    waits for reclaim owning nothing, and a static VM gives nothing back, so it fails and the
    VM is saved again with its image (R-RESTORE, R-START-ABORT, INV-PHYSICAL)."""
    pre = _run(initial_state(HostSettings(8192, 1024), (("a", _dyn()), ("s", VmSettings(
        startup_mib=4608)))), [*_connect("a"), Demand("a", 3000), StatusReport("a", 3000),
                               BalancerTick(), HotAddResponse("a", 2048), Save("a"),
                               Start("s")])
    # startup (1024) is free, the saved 3072 MiB is not
    assert (pre.vms[0].saved_mib, pre.free_mib) == (3072, 2560)
    events: list[Event] = [Restore("a"), StartAbort("a")]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-RESTORE", "R-START-ABORT", "INV-PHYSICAL"]
    post = _post(pre, events)
    assert post.vms[0].power == Power.SAVED and post.vms[0].saved_mib == 3072
    assert post.free_mib == pre.free_mib
    yield "post", post


def _reject(pre: DmState, event: Event, spec: list[str]) -> Case:
    yield "pre", pre
    yield "events", [event]
    yield "spec", spec
    result = step(pre, event)
    assert not result.accepted and result.state == pre
    yield "post", None


def test_invalid_configure_while_running() -> Case:
    """Settings change only while the VM is off (R-CONFIGURE, INV-CONFIG)."""
    yield from _reject(_ready_host(("web", _dyn())), Configure("web", _dyn(startup=512)),
                       ["R-CONFIGURE"])


def test_invalid_delete_running_vm() -> Case:
    """A running VM cannot be deleted (R-DELETE)."""
    yield from _reject(_ready_host(("web", _dyn())), Delete("web"), ["R-DELETE"])


def test_invalid_balloon_below_startup() -> Case:
    """A balloon request never asks a VM below its startup (R-BALLOON-REQUEST, INV-FLOOR)."""
    yield from _reject(_ready_host(("web", _dyn())), BalloonRequest("web", 2),
                       ["R-BALLOON-REQUEST", "INV-FLOOR"])


def test_invalid_hot_add_above_maximum() -> Case:
    """A hot-add never takes a VM above its maximum (R-HOT-ADD-REQUEST, INV-CEILING)."""
    yield from _reject(_ready_host(("web", _dyn(maximum=2048))), HotAddRequest("web", 1026),
                       ["R-HOT-ADD-REQUEST", "INV-CEILING"])


def test_invalid_hot_add_more_than_free() -> Case:
    """A hot-add takes only memory that is free now (R-HOT-ADD-REQUEST, INV-PHYSICAL)."""
    pre = _ready_host(("web", _dyn(maximum=65536)))
    yield from _reject(pre, HotAddRequest("web", pre.free_mib + 2),
                       ["R-HOT-ADD-REQUEST", "INV-PHYSICAL"])


def test_invalid_second_request_in_flight() -> Case:
    """At most one DM transaction per VM (R-REQUEST-2, INV-ONE-TXN)."""
    yield from _reject(_run(_ready_host(("web", _dyn())), [HotAddRequest("web", 512)]),
                       HotAddRequest("web", 512), ["INV-ONE-TXN"])


def test_invalid_request_during_quiet_period() -> Case:
    """No DM request before the quiet period ends (R-QUIET, INV-ONE-TXN)."""
    pre = _run(initial_state(HostSettings(8192, 1024), (("web", _dyn()),)),
               _connect("web")[:3])
    yield from _reject(pre, HotAddRequest("web", 512), ["R-QUIET", "INV-ONE-TXN"])


def test_invalid_request_to_static_vm() -> Case:
    """A static VM never gets DM requests (INV-STATIC)."""
    pre = _run(initial_state(HostSettings(8192, 1024), (("db", VmSettings()),)), [Start("db")])
    yield from _reject(pre, HotAddRequest("db", 512), ["INV-STATIC"])


def test_invalid_balloon_response_without_request() -> Case:
    """A balloon response with no balloon in flight is ignored (R-BALLOON-RESPONSE)."""
    yield from _reject(_ready_host(("web", _dyn())), BalloonResponse("web", 512),
                       ["R-BALLOON-RESPONSE"])


# --- refinement cases --------------------------------------------------------------------------


def test_refinement_contention() -> Case:
    """Under contention any policy may choose, within the guards: sample plans per tick."""
    pre = _ready_host(("hi", _dyn(weight=8000)), ("lo", _dyn(weight=2000)))
    events: list[Event] = [Demand("hi", 4000), Demand("lo", 4000), StatusReport("hi", 4000),
                           StatusReport("lo", 4000), BalancerTick()]
    yield "pre", pre
    yield "events", events
    yield "spec", ["R-TICK", "P-GRANT"]
    assert _post(pre, events).free_mib >= 0
    yield "kind", "refinement"


def test_refinement_give_back() -> Case:
    """A VM above target may be ballooned by any amount down to its startup, not below."""
    pre = _run(_ready_host(("web", _dyn())),
               [Demand("web", 3000), StatusReport("web", 3000), BalancerTick(),
                HotAddResponse("web", 2048)])
    events: list[Event] = [Demand("web", 500), StatusReport("web", 500), BalancerTick()]
    yield "pre", pre
    yield "events", events
    yield "spec", ["P-GIVE-BACK", "R-BALLOON-REQUEST"]
    assert _post(pre, events).vms[0].txn == TxnKind.BALLOON
    yield "kind", "refinement"
