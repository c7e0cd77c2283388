"""The oracle: drive an IUT through events and judge every step (specs/formats/oracle.md §3).

``CaseRunner`` runs one example: ``start(initial)`` resets the IUT, ``feed(event)`` sends one
event (or, for a policy, plays it with the reference and asks for a plan at ticks) and
returns the first :class:`Divergence`, if any. Modes: *refinement* (every step allowed by the
model and every invariant kept) and *lockstep* (exactly the reference). The model's
transition relation is ``dynmem.model.concrete_steps.is_allowed`` (plain Python, no Z3);
with ``is_allowed=None`` the reference's rules stand in for it (``check_allowed_by_rules``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from dynmem.model.invariants import Violation
from dynmem.reference.environment import GuestProfile
from dynmem.reference.events import BalancerTick, DmRequest, Event
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, apply_plan, step
from dynmem.verification.codec import event_to_json
from dynmem.verification.oracle.iut import Driver, IutFault, Kind, Mode, Observed
from dynmem.verification.oracle.observation import (
    DiffItem,
    Observation,
    diff_observations,
    diff_requests,
    lift,
    observation_to_json,
    observe,
    view_of,
)
from dynmem.verification.properties.progress import PROG_RECLAIM_ORDER, check_squeeze_order
from dynmem.verification.traces.trace import Finding, Trace, TraceStep, check_transition

INVARIANT, NOT_ALLOWED, DIFFERS, PROTOCOL = "invariant", "not-allowed", "differs", "protocol"
NO_PROGRESS = "no-progress"
CLASS_ORDER = (INVARIANT, NOT_ALLOWED, DIFFERS, PROTOCOL, NO_PROGRESS)
CLASS_WORDS = {INVARIANT: "invariant broken", NOT_ALLOWED: "step not allowed by the model",
               DIFFERS: "differs from the reference", PROTOCOL: "protocol fault",
               NO_PROGRESS: "no progress (the policy does not settle)"}

IsAllowed = Callable[[DmState, Event, DmState, "Sequence[DmRequest] | None"], "str | None"]


@attrs.frozen
class Divergence:
    """The first step where the IUT went wrong, and how (one class of §3)."""

    cls: str
    step: int  # 1-based index of the event; 0 = at hello/reset
    event: Event | None
    reason: str | None = None
    detail: str | None = None
    expected: Any = None  # JSON value: an observation or a request list
    observed: Any = None
    diff: tuple[DiffItem, ...] = ()
    violations: tuple[Violation, ...] = ()
    stderr_tail: str = ""
    # Policy refinement: what the reference would plan, for information only (not required).
    reference_plan: Any = None

    @property
    def signature(self) -> tuple[str, str | None, str | None]:
        """What must stay the same while shrinking: class, detail, first invariant."""
        first = self.violations[0].invariant if self.violations else None
        return (self.cls, self.detail, first)

    def headline(self) -> str:
        """One line: the class in words, where, and why."""
        what = CLASS_WORDS[self.cls] + (f" ({self.detail})" if self.detail else "")
        if self.violations:
            v = self.violations[0]
            why = f"{v.invariant} [{v.clause}]: {v.message}"
        else:
            why = self.reason or ", ".join(d.to_text() for d in self.diff[:3])
        return f"{what} at step {self.step}: {why}"


def check_allowed_by_rules(template: DmState, observation: Observation) -> str | None:
    """The stand-in for the model: the observation must be the one the rules give.

    ``template`` is the reference's state after the event (for a tick: after the requests
    the IUT sent, each accepted by the guards). Non-tick events are deterministic.
    """
    diff = diff_observations(observe(template), observation)
    if not diff:
        return None
    shown = "; ".join(d.to_text() for d in diff[:4])
    return f"the rules give a different state (expected -> observed): {shown}"


@attrs.define
class CaseRunner:
    """One example against one IUT: reset, then events one at a time."""

    driver: Driver
    kind: Kind
    mode: Mode
    is_allowed: IsAllowed | None = None
    initial: DmState | None = None
    state: DmState | None = None
    steps: list[TraceStep] = attrs.field(factory=list)
    findings: list[Finding] = attrs.field(factory=list)
    divergence: Divergence | None = None

    def start(self, initial: DmState) -> Divergence | None:
        """Reset the IUT to ``initial`` (Rule P2)."""
        self.initial = self.state = initial
        try:
            self.driver.reset(initial)
        except IutFault as fault:
            self.divergence = _protocol(0, None, fault)
        return self.divergence

    def feed(self, event: Event) -> Divergence | None:
        """Send ``event`` (one the reference may refuse: then the IUT must refuse it too)."""
        assert self.state is not None and self.divergence is None
        pre, index = self.state, len(self.steps) + 1
        reference = step(pre, event)
        if self.kind == "policy":
            found = self._feed_policy(index, pre, event, reference)
        else:
            found = self._feed_system(index, pre, event, reference)
        self.divergence = found
        return found

    # system ---------------------------------------------------------------------------------

    def _feed_system(self, index: int, pre: DmState, event: Event,
                     reference: StepResult) -> Divergence | None:
        try:
            answer = self.driver.event(index, event)
        except IutFault as fault:
            return _protocol(index, event, fault)
        judged = judge_system_step(index, pre, event, answer, self.mode, self.is_allowed,
                                   reference, check_acceptance=True)
        self.steps.append(TraceStep(event, judged.post, answer.rejected, answer.sent))
        self.findings += [Finding(index, v) for v in judged.violations]
        self.state = judged.post
        return judged.divergence

    # policy ---------------------------------------------------------------------------------

    def _feed_policy(self, index: int, pre: DmState, event: Event,
                     reference: StepResult) -> Divergence | None:
        if not isinstance(event, BalancerTick):
            # The harness plays guests, admins and channels with the reference (§3).
            self.steps.append(TraceStep(event, reference.state, None, ()))
            self.state = reference.state
            return None
        try:
            requests = self.driver.plan(index, view_of(pre))
        except IutFault as fault:
            return _protocol(index, event, fault)
        judged = judge_plan(index, pre, event, requests, self.mode, self.is_allowed,
                            reference.sent)
        if judged.post is None:
            self.steps.append(TraceStep(event, pre, judged.refused, requests))
            return judged.divergence
        self.steps.append(TraceStep(event, judged.post, None, requests))
        self.findings += [Finding(index, v) for v in judged.violations]
        self.state = judged.post
        return judged.divergence

    # trace ----------------------------------------------------------------------------------

    def trace(self) -> Trace:
        """The example so far as a :class:`Trace` (states as the IUT observed them)."""
        assert self.initial is not None
        notes: tuple[tuple[str, Any], ...] = (("kind", self.kind), ("mode", self.mode))
        if self.divergence is not None:
            notes += (("divergence", self.divergence.headline()),)
        return Trace(self.initial, tuple(self.steps), tuple(self.findings), "oracle", notes)


@attrs.frozen
class PlanJudgement:
    """A policy's plan judged: the state after it (None when a request is refused, with
    ``refused`` the reason), broken clauses and the divergence."""

    post: DmState | None
    violations: tuple[Violation, ...] = ()
    divergence: Divergence | None = None
    refused: str | None = None


def judge_plan(index: int, pre: DmState, event: Event, requests: tuple[DmRequest, ...],
               mode: Mode, is_allowed: IsAllowed | None,
               reference_sent: tuple[DmRequest, ...] | None = None) -> PlanJudgement:
    """Judge a policy's plan at a tick in ``pre`` (Rule P4, §3); pure.

    Used by the oracle at each generated tick and by the exhaustive phase at every reachable
    view. ``reference_sent`` is the reference's plan (computed when not given).
    """
    if reference_sent is None:
        reference_sent = compute_plan(pre)
    plan = [event_to_json(r) for r in reference_sent]
    observed = [event_to_json(r) for r in requests]
    lockstep = mode == "lockstep"
    # In refinement the reference's plan is no requirement: it is reported apart.
    expected, other = (plan, None) if lockstep else (None, plan)
    diff = tuple(diff_requests(reference_sent, requests)) if lockstep else ()
    applied = apply_plan(pre, requests)
    if not applied.accepted:
        return PlanJudgement(None, (), Divergence(NOT_ALLOWED, index, event, applied.reason,
                                                  None, expected, observed, diff,
                                                  reference_plan=other), applied.reason)
    post = applied.state
    violations = tuple(check_transition(pre, event, post))
    if violations:
        return PlanJudgement(post, violations, Divergence(
            INVARIANT, index, event, None, None, expected, observed, diff, violations,
            reference_plan=other))
    reason = (is_allowed(pre, event, post, requests)
              if is_allowed is not None and not lockstep else None)
    if reason is not None:
        return PlanJudgement(post, (), Divergence(NOT_ALLOWED, index, event, reason, None,
                                                  expected, observed, diff,
                                                  reference_plan=other))
    if diff:
        return PlanJudgement(post, (), Divergence(
            DIFFERS, index, event, "the plan differs from the reference's", None, expected,
            observed, diff))
    squeezed = tuple(check_squeeze_order(pre, requests))  # P-RECLAIM's weight rule
    if squeezed:
        return PlanJudgement(post, squeezed, Divergence(
            NO_PROGRESS, index, event, squeezed[0].message, PROG_RECLAIM_ORDER, expected,
            observed, diff, squeezed, reference_plan=other))
    return PlanJudgement(post)


@attrs.frozen
class Judgement:
    """A system step judged: the lifted post state, broken clauses and the divergence."""

    post: DmState
    violations: tuple[Violation, ...] = ()
    divergence: Divergence | None = None


def judge_system_step(index: int, pre: DmState, event: Event, answer: Observed, mode: Mode,
                      is_allowed: IsAllowed | None,
                      reference: StepResult | None = None,
                      check_acceptance: bool = False) -> Judgement:
    """Judge one observed step of a system (specs/formats/oracle.md §3); pure.

    Used by the oracle after each event (with ``check_acceptance``: an event the model
    refuses must be refused, Rule P3) and by ``check-trace`` for each log entry (where
    ``rejected`` is optional, Rule L2, so an unmarked refused event only has to leave the
    state unchanged).
    """
    reference = reference or step(pre, event)
    template, refused = _system_template(pre, event, reference, answer)
    post = lift(template, answer.observation)
    if isinstance(post, str):
        return Judgement(pre, (), Divergence(
            NOT_ALLOWED, index, event, post, expected=observation_to_json(observe(template)),
            observed=observation_to_json(answer.observation)))
    violations = tuple(check_transition(pre, event, post))
    # Expected: the reference's state in lockstep, what the rules give in refinement.
    wanted = observe(reference.state if mode == "lockstep" else template)
    expected = observation_to_json(wanted)
    observed = observation_to_json(answer.observation)
    diff = tuple(diff_observations(wanted, answer.observation))
    if mode == "lockstep":
        diff += tuple(diff_requests(reference.sent, answer.sent))
        if (answer.rejected is None) != (reference.reason is None):
            diff += (DiffItem("rejected", reference.reason, answer.rejected),)
    if violations:
        return Judgement(post, violations, Divergence(INVARIANT, index, event, None, None,
                                                      expected, observed, diff, violations))
    accepted_refused = (check_acceptance and answer.rejected is None
                        and not reference.accepted)
    reason = refused or (
        f"the IUT accepted {event.KIND} (rejected: null), which the model refuses in this "
        f"state: {reference.reason}" if accepted_refused else None
    ) or _not_allowed(pre, event, post, template, answer, is_allowed, reference)
    if reason is not None:
        return Judgement(post, (), Divergence(NOT_ALLOWED, index, event, reason, None,
                                              expected, observed, diff))
    if mode == "lockstep" and diff:
        return Judgement(post, (), Divergence(DIFFERS, index, event,
                                              "the IUT does not match the reference", None,
                                              expected, observed, diff))
    return Judgement(post)


def _not_allowed(pre: DmState, event: Event, post: DmState, template: DmState,
                 answer: Observed, is_allowed: IsAllowed | None,
                 reference: StepResult) -> str | None:
    # Rule P3: only null vs non-null ``rejected`` counts, never the reason's wording.
    if answer.rejected is not None and reference.accepted:
        return (f"the IUT refused {event.KIND} ({answer.rejected}), which the model "
                f"accepts in this state")
    if not isinstance(event, BalancerTick) and answer.sent:
        return f"the IUT sent DM requests on {event.KIND}: only a balancer_tick sends them"
    if template is pre:
        # A refused event must leave the state unchanged; the model's relation covers
        # enabled steps only, so the rules decide here.
        return check_allowed_by_rules(pre, answer.observation)
    if is_allowed is not None:
        sent = answer.sent if isinstance(event, BalancerTick) else None
        return is_allowed(pre, event, post, sent)
    return check_allowed_by_rules(template, answer.observation)


def _system_template(pre: DmState, event: Event, reference: StepResult,
                     answer: Observed) -> tuple[DmState, str | None]:
    """The full state the IUT's answer is lifted onto (the rules applied to what the IUT
    did: for a tick, the requests it sent), and why its requests are refused."""
    if not reference.accepted or answer.rejected is not None:
        return pre, None  # a refused event changes nothing (the IUT says so, or the rules)
    if not isinstance(event, BalancerTick):
        return reference.state, None
    applied = apply_plan(pre, answer.sent)
    if not applied.accepted:
        return pre, f"the IUT sent a request the guards refuse: {applied.reason}"
    return applied.state, None


def _protocol(index: int, event: Event | None, fault: IutFault) -> Divergence:
    return Divergence(PROTOCOL, index, event, fault.message, fault.detail,
                      stderr_tail=fault.stderr_tail)


@attrs.frozen
class CaseResult:
    """One finished example: its input, the divergence (None if it passed) and the trace."""

    initial: DmState
    events: tuple[Event, ...]
    divergence: Divergence | None
    trace: Trace
    # The guests that speak as their profile says (``dynmem oracle --hibernate``), by VM name.
    profiles: tuple[tuple[str, GuestProfile], ...] = ()


def run_case(driver: Driver, kind: Kind, mode: Mode, initial: DmState,
             events: Sequence[Event], is_allowed: IsAllowed | None = None) -> CaseResult:
    """Replay a fixed list of events; stops at the first divergence.

    Examples
    --------
    >>> from dynmem.reference.events import Start
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.state import initial_state
    >>> from dynmem.verification.oracle.iut import InProcessIut
    >>> from dynmem.verification.oracle.reference_iut import ReferenceSystem
    >>> s = initial_state(HostSettings(4096, 1024), (("a", VmSettings(startup_mib=1024)),))
    >>> run_case(InProcessIut(ReferenceSystem()), "system", "lockstep", s,
    ...          [Start("a")]).divergence is None
    True
    """
    runner = CaseRunner(driver, kind, mode, is_allowed)
    fed: list[Event] = []
    if runner.start(initial) is None:
        for event in events:
            fed.append(event)
            if runner.feed(event) is not None:
                break
    return CaseResult(initial, tuple(fed), runner.divergence, runner.trace())


def expected_plan(state: DmState) -> tuple[DmRequest, ...]:
    """The reference's plan for ``state`` (what a lockstep policy must answer)."""
    return compute_plan(state)
