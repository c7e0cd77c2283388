"""The environment around the host: what guests, timers and admins can do next.

``compute_honest_message`` is what a well-behaved guest (and the quiet-period timer) sends
next; ``enabled_events`` lists every event the reference accepts in a state, for the given
choices of environment values, so generators and explorers share one definition;
``settle`` runs honest guests and the balancer with fair, in-order delivery until nothing
more happens (specs/events.md §5).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import attrs

from dynmem.model.vocabulary import (
    BALLOON_RESPONSE_CAP_MIB,
    SUPPORTED_VERSIONS,
    Channel,
    TxnKind,
)
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
    Stop,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Plan, Step, StepResult, step


def compute_balloon_answer(vm: Vm) -> BalloonResponse:
    """An honest guest's next balloon response: pages down to its floor, in message-sized parts.

    The guest pages its own memory out if it lacks free pages, but never goes below startup;
    an empty final response means "at floor" (specs/protocol.md §3.1).
    """
    outstanding = vm.txn_mib - vm.txn_done_mib
    spare = max(0, vm.assigned_mib - vm.settings.startup_mib)
    give = min(outstanding, spare, BALLOON_RESPONSE_CAP_MIB)
    more = give < outstanding and give < spare
    return BalloonResponse(vm.name, give, more_pages=more)


def compute_honest_message(vm: Vm) -> Event | None:
    """The message a well-behaved guest (or the quiet-period timer) sends next, if any."""
    if not vm.running:
        return None
    if vm.channel == Channel.NEGOTIATING:
        return VersionRequest(vm.name, SUPPORTED_VERSIONS[0])
    if vm.channel == Channel.CAPS:
        return CapabilitiesReport(vm.name, balloon=True, hot_add=True)
    if vm.channel == Channel.QUIET:
        return QuietPeriodEnd(vm.name)
    if vm.txn == TxnKind.BALLOON:
        return compute_balloon_answer(vm)
    if vm.txn == TxnKind.UNBALLOON:
        return UnballoonResponse(vm.name)
    if vm.txn == TxnKind.HOT_ADD:
        return HotAddResponse(vm.name, vm.txn_mib, success=True)
    if vm.channel == Channel.READY and (not vm.has_report or vm.report_mib != vm.demand_mib):
        return StatusReport(vm.name, vm.demand_mib)
    return None


def _guest_choices(vm: Vm, demands: Iterable[int], adversarial: bool) -> list[Event]:
    """Every guest message the model's environment may send for ``vm``."""
    name = vm.name
    if vm.channel == Channel.NEGOTIATING:
        versions: list[Event] = [VersionRequest(name, v) for v in SUPPORTED_VERSIONS]
        return versions + ([VersionRequest(name, 0x7, last_attempt=True)] if adversarial else [])
    if vm.channel == Channel.CAPS:
        return [CapabilitiesReport(name, b, h) for b in (True, False) for h in (True, False)]
    if vm.channel == Channel.QUIET:
        return [QuietPeriodEnd(name), StatusReport(name, vm.demand_mib)]
    if vm.channel != Channel.READY:
        return []
    events: list[Event] = [StatusReport(name, vm.demand_mib)]
    if adversarial:
        events += [StatusReport(name, d) for d in demands if d != vm.demand_mib]
    events += _response_choices(vm, adversarial)
    return events


def _response_choices(vm: Vm, adversarial: bool) -> list[Event]:
    name, asked = vm.name, vm.txn_mib
    if vm.txn == TxnKind.BALLOON:
        honest = compute_balloon_answer(vm)
        events: list[Event] = [honest, BalloonResponse(name, 0, more_pages=False)]
        if honest.mib > 2:
            events.append(BalloonResponse(name, 2, more_pages=True))  # a multi-part answer
        if adversarial:
            events.append(BalloonResponse(name, 2 * asked + 2, more_pages=False))
        return events
    if vm.txn == TxnKind.UNBALLOON:
        return [UnballoonResponse(name)]
    if vm.txn == TxnKind.HOT_ADD:
        events = [HotAddResponse(name, asked, True), HotAddResponse(name, 0, True),
                  HotAddResponse(name, 0, False)]
        if asked > 2:
            events.append(HotAddResponse(name, asked // 2 - (asked // 2) % 2, True))
        if adversarial:
            events.append(HotAddResponse(name, 2 * asked + 2, True))
        return events
    return []


def enabled_events(
    state: DmState,
    demands: Iterable[int] = (),
    adversarial: bool = False,
    plan: Plan = compute_plan,
) -> list[Event]:
    """Every event the reference accepts in ``state`` for the environment's value choices.

    ``demands`` are the workload values to offer (``Demand`` events); ``adversarial`` adds
    misbehaving guests (oversized answers, lying reports, failed negotiation); ``plan`` is
    the balancer policy that decides whether a BalancerTick would send anything. Admin
    ``Create``/``Configure``/``Delete`` need settings values and are left to generators.
    Every listed event is accepted by ``step`` (a test checks this).

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.state import initial_state
    >>> s = initial_state(HostSettings(4096, 1024), (("a", VmSettings(startup_mib=1024)),))
    >>> enabled_events(s)
    [Start(vm='a')]
    """
    demand_values = tuple(demands)
    events: list[Event] = []
    for vm in state.vms:
        events += enabled_vm_events(vm, state.free_mib, demand_values, adversarial)
    if plan(state):
        events.append(BalancerTick())
    return events


def enabled_vm_events(vm: Vm, free_mib: int, demands: tuple[int, ...] = (),
                      adversarial: bool = False) -> list[Event]:
    """The part of ``enabled_events`` that names ``vm``: it reads only the VM and free memory.

    Examples
    --------
    >>> from dynmem.reference.settings import VmSettings
    >>> enabled_vm_events(Vm("a", VmSettings(startup_mib=1024)), free_mib=512)
    []
    """
    if not vm.running:
        return [Start(vm.name)] if free_mib >= vm.settings.startup_mib else []
    events: list[Event] = [Stop(vm.name)]
    events += [Demand(vm.name, d) for d in demands if d != vm.demand_mib]
    events += _guest_choices(vm, demands, adversarial)
    return events


@attrs.frozen
class Settled:
    """The steps ``settle`` took, and whether the system reached a fixed point.

    ``cycle_start`` is set when the run came back to a state it had at the start of an
    earlier round (the index of that step): delivery is deterministic, so it would loop
    forever; ``settle`` stops there instead of at ``max_steps``.
    """

    steps: tuple[tuple[Event, StepResult], ...]
    converged: bool
    cycle_start: int | None = None

    @property
    def state(self) -> DmState | None:
        return self.steps[-1][1].state if self.steps else None


def compute_round(state: DmState, plan: Plan = compute_plan,
                  silent: Collection[str] = ()) -> list[Event]:
    """One fair round: each VM's next honest message (in order), then a tick if useful."""
    pending = [m for vm in state.vms if vm.name not in silent
               for m in (compute_honest_message(vm),) if m is not None]
    if plan(state):
        pending.append(BalancerTick())
    return pending


def settle(
    state: DmState,
    max_steps: int = 10_000,
    step_fn: Step = step,
    plan: Plan = compute_plan,
    silent: Collection[str] = (),
) -> Settled:
    """Deliver honest guest messages round-robin and tick the balancer until nothing happens.

    Each round gives every VM (in order) its next message, then one BalancerTick if the policy
    has anything to send (R-SETTLE). ``converged`` is False when the run returns to the state
    at the start of an earlier round (an oscillation: it would loop forever) or ``max_steps``
    runs out first (a finding: the system does not settle). Guests named in ``silent`` never
    answer (their transactions stay in flight). ``step_fn`` and ``plan`` default to the
    reference's; planted bugs and other policies pass their own.
    """
    steps: list[tuple[Event, StepResult]] = []
    current = state
    rounds: dict[DmState, int] = {}
    while len(steps) < max_steps:
        if current in rounds:
            return Settled(tuple(steps), converged=False, cycle_start=rounds[current])
        rounds[current] = len(steps)
        pending = compute_round(current, plan, silent)
        if not pending:
            return Settled(tuple(steps), converged=True)
        for event in pending[: max_steps - len(steps)]:
            result = step_fn(current, event)
            steps.append((event, result))
            current = result.state
    return Settled(tuple(steps), converged=False)


__all__ = [
    "Settled",
    "compute_balloon_answer",
    "compute_honest_message",
    "compute_round",
    "enabled_events",
    "enabled_vm_events",
    "settle",
]
