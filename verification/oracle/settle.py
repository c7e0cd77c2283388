"""Progress of a policy IUT in a random example: after its events, let the system settle.

With demand held constant, honest guests answer and the balancer ticks with the IUT's plans,
round-robin (R-SETTLE, ``reference.environment.compute_round``: each VM's next honest
message in order, then a tick if the policy plans anything). The run must reach a fixed
point within ``max_steps`` events; coming back to the state at the start of an earlier
round is an oscillation (delivery is deterministic, so it would loop forever). Either is a
failure of class ``no-progress`` (PROG-FIXED-POINT). At the fixed point, PROG-NO-STARVATION
and PROG-WEIGHT-ORDER must hold (``properties.progress.check_fixed_point``). Both modes
check it (specs/formats/oracle.md §3).

With guest ``profiles`` (``dynmem oracle --hibernate``) each guest speaks as its profile says:
a hibernating guest never answers a balloon or an unballoon, and the host's watchdog fires
after ``STUCK_AFTER_TICKS`` rounds without progress (R-STUCK, as ``settle``), so the policy
must get on without it: the fixed point is judged with the silent guest present.
"""

from __future__ import annotations

from dynmem.model.invariants import Violation
from dynmem.reference.environment import (
    STUCK_AFTER_TICKS,
    Profiles,
    compute_honest_message,
    compute_watchdog,
    is_silent,
)
from dynmem.reference.events import BalancerTick, Event
from dynmem.verification.oracle.iut import IutFault
from dynmem.verification.oracle.judge import NO_PROGRESS, CaseRunner, Divergence
from dynmem.verification.oracle.observation import view_of
from dynmem.verification.properties.progress import PROG_FIXED_POINT, check_fixed_point

SETTLE_STEPS = 200  # events a policy gets to settle after an example, at most


def settle_policy(runner: CaseRunner, events: list[Event], max_steps: int = SETTLE_STEPS,
                  profiles: Profiles | None = None) -> Divergence | None:
    """Deliver honest messages and ticks until a fixed point; events fed go to ``events``.
    Guests of ``profiles`` speak as their profile says, and then the watchdog runs.

    Returns the divergence (also kept on ``runner``), if any.
    """
    rounds: dict[object, int] = {}
    fed = 0
    watch: dict[str, tuple[tuple[int, int, int], int]] = {}
    while runner.divergence is None:
        state = runner.state
        assert state is not None
        key = (state, tuple(sorted(watch.items()))) if profiles else state
        if key in rounds:
            return _fail(runner, events, _oscillation(rounds[key], len(events)))
        if fed >= max_steps:
            return _fail(runner, events, Violation(
                PROG_FIXED_POINT, "constant demand reaches a fixed point", None,
                f"no fixed point after {fed} fair steps with demand held constant"))
        rounds[key] = len(events)
        named = profiles or {}
        pending = [m for vm in state.vms
                   for m in (compute_honest_message(vm, named.get(vm.name)),) if m is not None]
        if profiles:
            watch, fired = compute_watchdog(state, watch, STUCK_AFTER_TICKS)
            pending = fired + pending
        try:
            planned = bool(runner.driver.plan(len(events) + 1, view_of(state)))
        except IutFault:
            planned = True  # the tick below asks again and reports the fault
        if profiles and not pending and any(is_silent(vm, named.get(vm.name))
                                            for vm in state.vms):
            planned = True  # the balancer's timer runs while the watchdog counts
        if not pending and not planned:
            broken = check_fixed_point(state)
            return _fail(runner, events, *broken) if broken else None
        for event in [*pending, *([BalancerTick()] if planned else [])]:
            events.append(event)
            fed += 1
            if runner.feed(event) is not None:
                break
    return runner.divergence


def _oscillation(start: int, end: int) -> Violation:
    return Violation(PROG_FIXED_POINT, "constant demand reaches a fixed point", None,
                     f"oscillation: with demand held constant the state after step {start} "
                     f"comes back after step {end}; the {end - start} steps in between "
                     f"repeat forever")


def _fail(runner: CaseRunner, events: list[Event], *broken: Violation) -> Divergence:
    last = events[-1] if events else None
    first = broken[0]
    runner.divergence = Divergence(NO_PROGRESS, len(events), last, first.message,
                                   first.invariant, violations=tuple(broken))
    return runner.divergence

