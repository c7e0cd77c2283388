"""The one ``Trace`` type every producer yields (simulate, bmc, CTIs, stateful, explore, oracle).

A trace is the initial state, then steps of (event, state after, rejection reason, requests
sent), plus the verdict: every invariant clause that failed, at which step, with the values
that break it. ``run_events`` builds one by stepping the reference and checking the whole
invariant registry after every step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from dynmem.model.invariants import INVARIANTS, Invariant, Violation, check_state, check_step
from dynmem.reference.events import DmRequest, Event
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, step


@attrs.frozen
class TraceStep:
    """One step: the event, the state after it, and why it was rejected (None if accepted)."""

    event: Event
    state: DmState
    rejected: str | None = None
    sent: tuple[DmRequest, ...] = ()


@attrs.frozen
class Finding:
    """A violation found at ``step`` (1-based; 0 is the initial state)."""

    step: int
    violation: Violation

    @property
    def invariant(self) -> str:
        return self.violation.invariant


@attrs.frozen
class Trace:
    """Initial state, steps and findings; ``source`` names the producer (e.g. ``simulate``).

    ``notes`` carries producer-specific facts (``{"converged": False}``, a seed, a mutant).
    """

    initial: DmState
    steps: tuple[TraceStep, ...] = ()
    findings: tuple[Finding, ...] = ()
    source: str = "simulate"
    notes: tuple[tuple[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def final(self) -> DmState:
        return self.steps[-1].state if self.steps else self.initial

    def state_at(self, index: int) -> DmState:
        """The state after step ``index`` (0 = initial)."""
        return self.initial if index == 0 else self.steps[index - 1].state

    @property
    def first_finding(self) -> Finding | None:
        return self.findings[0] if self.findings else None


def check_transition(
    pre: DmState, event: Event, post: DmState, invariants: Sequence[Invariant] = INVARIANTS
) -> list[Violation]:
    """Every invariant clause broken by the step ``pre --event--> post`` or by ``post``."""
    return check_step(pre, event, post, invariants) + check_state(post, invariants)


def record(
    initial: DmState,
    results: Iterable[tuple[Event, StepResult]],
    source: str = "simulate",
    notes: tuple[tuple[str, Any], ...] = (),
) -> Trace:
    """A checked trace from already computed ``(event, result)`` pairs."""
    steps: list[TraceStep] = []
    findings = [Finding(0, v) for v in check_state(initial)]
    pre = initial
    for index, (event, result) in enumerate(results, start=1):
        steps.append(TraceStep(event, result.state, result.reason, result.sent))
        if result.accepted:
            findings += [Finding(index, v) for v in check_transition(pre, event, result.state)]
        pre = result.state
    return Trace(initial, tuple(steps), tuple(findings), source, notes)


def run_events(initial: DmState, events: Iterable[Event], source: str = "simulate") -> Trace:
    """Step the reference through ``events`` from ``initial`` and check every invariant.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.state import initial_state
    >>> from dynmem.reference.events import Start
    >>> s = initial_state(HostSettings(4096, 1024), (("a", VmSettings(startup_mib=1024)),))
    >>> trace = run_events(s, [Start("a")])
    >>> trace.ok, trace.final.free_mib
    (True, 2048)
    """
    def results() -> Iterable[tuple[Event, StepResult]]:
        state = initial
        for event in events:
            result = step(state, event)
            yield event, result
            state = result.state

    return record(initial, results(), source)
