"""Builders shared by the reference tests: settings, reachable states and checked stepping.

Every state a test starts from is reached through ``step`` (never built by hand), and every
accepted step is checked against the whole invariant registry, so a test of one event's
effect also shows that the event keeps every invariant.
"""

from __future__ import annotations

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.environment import settle
from dynmem.reference.events import (
    BalancerTick,
    BalloonResponse,
    CapabilitiesReport,
    Demand,
    Event,
    HotAddResponse,
    QuietPeriodEnd,
    Start,
    StatusReport,
    VersionRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.reference.step import StepResult, step
from dynmem.verification.traces.trace import check_transition

# 8 GiB host with a 1 GiB reserve: 7168 MiB for VMs.
HOST = HostSettings(physical_mib=8192, reserve_mib=1024)
VERSION_WIN10 = 0x00020000


def dyn(startup: int = 1024, maximum: int = 4096, buffer: int = 20, weight: int = 5000,
        dm_capable: bool = True) -> VmSettings:
    """Settings of a dynamic VM."""
    return VmSettings(dynamic=True, startup_mib=startup, maximum_mib=maximum,
                      buffer_pct=buffer, weight=weight, dm_capable=dm_capable)


def static(startup: int = 1024) -> VmSettings:
    """Settings of a static VM of ``startup`` MiB."""
    return VmSettings(dynamic=False, startup_mib=startup, maximum_mib=startup)


def make(*vms: tuple[str, VmSettings], host: HostSettings = HOST) -> DmState:
    """A host with ``vms`` created and off."""
    return initial_state(host, tuple(vms))


def run(state: DmState, event: Event) -> StepResult:
    """Step once; an accepted step must keep every invariant (check_transition)."""
    result = step(state, event)
    if result.accepted:
        broken = check_transition(state, event, result.state)
        assert broken == [], f"{event!r} broke {broken}"
    return result


def accept(state: DmState, *events: Event) -> DmState:
    """Apply ``events`` in order; each must be accepted and keep every invariant."""
    for event in events:
        result = run(state, event)
        assert result.accepted, f"{event!r} rejected: {result.reason}"
        state = result.state
    return state


def reject(state: DmState, event: Event) -> str:
    """Apply ``event``, which must be rejected with the state unchanged; return the reason."""
    result = step(state, event)
    assert result.reason is not None, f"{event!r} was accepted"
    assert result.state == state
    assert result.sent == ()
    return result.reason


def connect(state: DmState, name: str, *, balloon: bool = True, hot_add: bool = True,
            report: int | None = None) -> DmState:
    """Negotiate ``name``'s channel to READY (version, capabilities, quiet period).

    With ``report`` the workload commits that much memory and the guest reports it (so an
    honest guest, e.g. in ``settle``, keeps reporting the same value).
    """
    state = accept(state, VersionRequest(name, VERSION_WIN10),
                   CapabilitiesReport(name, balloon=balloon, hot_add=hot_add),
                   QuietPeriodEnd(name))
    if report is not None:
        state = accept(state, Demand(name, report), StatusReport(name, report))
    return state


def ready(state: DmState, name: str, *, balloon: bool = True, hot_add: bool = True,
          report: int | None = None) -> DmState:
    """Start ``name`` and bring its channel to READY (see ``connect``)."""
    return connect(accept(state, Start(name)), name, balloon=balloon, hot_add=hot_add,
                   report=report)


def grown() -> DmState:
    """``a`` (startup 1024, maximum 4096) READY and grown by a full 2048 MiB hot-add.

    Its last report is 3000 MiB (target 3600), assigned 3072, free 7168 - 3072 = 4096.
    """
    state = ready(make(("a", dyn(startup=1024, maximum=4096))), "a", report=3000)
    state = accept(state, BalancerTick(), HotAddResponse("a", 2048))
    assert (state.vms[0].assigned_mib, state.free_mib) == (3072, 4096)
    return state


def balloon_in_flight() -> DmState:
    """``a`` at 3072 MiB asked to balloon 2048 MiB, 1000 MiB of it received so far."""
    state = accept(grown(), StatusReport("a", 500), BalancerTick(),
                   BalloonResponse("a", 1000, more_pages=True))
    vm = state.vms[0]
    assert (vm.txn, vm.txn_mib, vm.txn_done_mib, vm.ballooned_mib) == (
        TxnKind.BALLOON, 2048, 1000, 1000)
    return state


def unballoon_in_flight() -> DmState:
    """``a`` ballooned by 2048 MiB, then given 2048 MiB back, not yet acknowledged."""
    state = accept(grown(), StatusReport("a", 500), BalancerTick(), BalloonResponse("a", 2048))
    state = accept(state, StatusReport("a", 3000), BalancerTick())
    vm = state.vms[0]
    assert (vm.txn, vm.txn_mib, vm.ballooned_mib) == (TxnKind.UNBALLOON, 2048, 2048)
    return state


def hot_add_in_flight() -> DmState:
    """``a`` at startup with a 2048 MiB hot-add sent and not answered."""
    state = ready(make(("a", dyn(startup=1024, maximum=4096))), "a", report=3000)
    state = accept(state, BalancerTick())
    assert (state.vms[0].txn, state.vms[0].txn_mib) == (TxnKind.HOT_ADD, 2048)
    return state


def settled(state: DmState, max_steps: int = 2000) -> DmState:
    """Run ``settle`` (honest guests, fair delivery); it must converge keeping every invariant."""
    result = settle(state, max_steps=max_steps)
    assert result.converged, f"no fixed point within {max_steps} steps"
    pre = state
    for event, outcome in result.steps:
        if outcome.accepted:
            broken = check_transition(pre, event, outcome.state)
            assert broken == [], f"{event!r} broke {broken}"
        pre = outcome.state
    return pre
