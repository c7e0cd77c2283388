"""Bounded-exhaustive conformance of a *policy* IUT (issue 12, items 1 and 2).

The explorer runs the system with the IUT's plans as the balancer: every event of the
environment is played by the reference, every tick sends what the IUT plans for the view of
that state. Each plan is asked once per view (the IUT sees no demand, so many states share a
view) and judged once per state (``oracle.judge.judge_plan``: refinement or lockstep, every
request through the guards, every invariant). The finished graph is checked for the progress
properties (``explore.progress``): an oscillation of honest messages and ticks with demand
held constant, a state where delivery is stuck, a fixed point that starves a short VM or
breaks weight order. Those are failures of class ``no-progress``, with a shortest trace to
the cycle and once around it.

Plans are fetched in one pipelined batch for every view the reference's own exploration
reaches (most of an IUT's views, for a policy close to the reference); any other view is
asked when the exploration first meets it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

from dynmem.reference.events import BalancerTick, DmRequest, Event
from dynmem.reference.state import DmState
from dynmem.reference.step import make_step
from dynmem.verification.conformance.cases import replay_case
from dynmem.verification.conformance.result import ConformanceResult
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.explore.traces import counterexample_trace, progress_trace
from dynmem.verification.oracle.iut import Driver, IutFault, Mode
from dynmem.verification.oracle.judge import (
    NO_PROGRESS,
    PROTOCOL,
    CaseResult,
    Divergence,
    IsAllowed,
    judge_plan,
)
from dynmem.verification.oracle.observation import view_of
from dynmem.verification.traces.trace import Trace

Progress = Callable[[int, int], None]


class _Stop(Exception):
    """The IUT broke the protocol while planning: the exploration cannot go on."""

    def __init__(self, state: DmState, fault: IutFault) -> None:
        super().__init__(fault.message)
        self.state, self.fault = state, fault


@attrs.define
class JudgedPlan:
    """The IUT's plan as the explorer's ``plan``: asked once per view, judged once per state.

    ``divergences`` keeps the first divergence of each state whose plan is wrong.
    """

    driver: Driver
    mode: Mode
    is_allowed: IsAllowed | None
    plans: dict[DmState, tuple[DmRequest, ...]] = attrs.field(factory=dict)
    judged: dict[DmState, tuple[DmRequest, ...]] = attrs.field(factory=dict)
    divergences: dict[DmState, Divergence] = attrs.field(factory=dict)
    asked: int = 0

    def prefetch(self, views: list[DmState]) -> None:
        """Ask for the plans of ``views`` in one pipelined batch."""
        wanted = [v for v in dict.fromkeys(views) if v not in self.plans]
        answers, fault = self.driver.plan_many(wanted)
        self.asked += len(answers)
        self.plans.update(zip(wanted, answers, strict=False))
        if fault is not None:
            raise _Stop(wanted[len(answers)], fault)

    def get(self, view: DmState) -> tuple[DmRequest, ...]:
        found = self.plans.get(view)
        if found is None:
            try:
                found = self.driver.plan(1, view)
            except IutFault as fault:
                raise _Stop(view, fault) from None
            self.asked += 1
            self.plans[view] = found
        return found

    def __call__(self, state: DmState) -> tuple[DmRequest, ...]:
        done = self.judged.get(state)
        if done is not None:
            return done
        requests = self.get(view_of(state))
        judged = judge_plan(1, state, BalancerTick(), requests, self.mode, self.is_allowed)
        if judged.divergence is not None:
            self.divergences.setdefault(state, judged.divergence)
        self.judged[state] = requests
        return requests


def check_policy(driver: Driver, config: ExploreConfig, mode: Mode,
                 is_allowed: IsAllowed | None = None, prefetch: bool = True
                 ) -> ConformanceResult:
    """Explore ``config`` with the IUT's plans; judge every plan; check progress.

    Examples
    --------
    >>> from dynmem.verification.explore.config import get_config
    >>> from dynmem.verification.oracle.iut import InProcessIut
    >>> from dynmem.verification.oracle.reference_iut import ReferencePolicy
    >>> r = check_policy(InProcessIut(ReferencePolicy()), get_config(1), "lockstep")
    >>> r.ok, r.states, r.progress_checked
    (True, 223, True)
    """
    started = time.perf_counter()
    plan = JudgedPlan(driver, mode, is_allowed)
    try:
        if prefetch:
            plan.prefetch([view_of(s) for s in explore(config, progress=False).states])
        x = explore(config, make_step(plan=plan), plan)
    except _Stop as stop:
        divergence = Divergence(PROTOCOL, 1, BalancerTick(), stop.fault.message,
                                stop.fault.detail, stderr_tail=stop.fault.stderr_tail)
        trace = Trace(stop.state, source="oracle", notes=(
            ("kind", "policy"), ("mode", mode), ("divergence", divergence.headline())))
        faulted = CaseResult(stop.state, (BalancerTick(),), divergence, trace)
        return ConformanceResult(config.name, "policy", mode, 0, 0, plan.asked, False, faulted,
                                 seconds=time.perf_counter() - started)
    failure = _first_failure(driver, mode, is_allowed, x, plan)
    return ConformanceResult(
        config.name, "policy", mode, x.n_states, x.n_edges, plan.asked,
        x.complete and failure is None, failure, views=len(plan.judged),
        progress_checked=x.complete and not x.counterexamples,
        seconds=time.perf_counter() - started)


def _first_failure(driver: Driver, mode: Mode, is_allowed: IsAllowed | None,
                   x: Exploration, plan: JudgedPlan) -> CaseResult | None:
    """The shortest failing case: a wrong plan, else a broken invariant, else no progress."""
    if plan.divergences:
        ids = {s: x.get_id(s) for s in plan.divergences}

        def order(s: DmState) -> tuple[int, int]:
            sid = ids[s]
            return (x.depth[sid], sid) if sid is not None else (len(x.states), 0)

        state = min(plan.divergences, key=order)
        sid = ids[state]
        path = [e for e, _ in x.path_to(sid)] if sid is not None else []
        initial = x.config.initial() if sid is not None else state
        return replay_case(driver, "policy", mode, is_allowed, initial, path, state,
                           [BalancerTick()], plan.divergences[state])
    if x.counterexamples:
        example = min(x.counterexamples.values(), key=lambda c: c.length)
        return _case_of(counterexample_trace(x, example), Divergence(
            "invariant", example.length, example.event, None, None,
            violations=example.violations))
    if x.progress:
        finding = min(x.progress, key=lambda f: (x.depth[f.state], f.state))
        trace = progress_trace(x, finding)
        last: Event | None = trace.steps[-1].event if trace.steps else None
        first = finding.violations[0]
        return _case_of(trace, Divergence(
            NO_PROGRESS, len(trace.steps), last, first.message, first.invariant,
            violations=finding.violations))
    return None


def _case_of(trace: Trace, divergence: Divergence) -> CaseResult:
    notes = (*trace.notes, ("kind", "policy"), ("divergence", divergence.headline()))
    trace = attrs.evolve(trace, source="oracle", notes=notes)
    return CaseResult(trace.initial, tuple(s.event for s in trace.steps), divergence, trace)
