"""Bounded-exhaustive conformance of a *system* IUT (issue 12, item 1).

Breadth-first over the IUT's own reachable states of a preset: every state is reset into
the IUT and every question of ``probes.get_questions`` is asked, then the follow-ups of
``probes.get_follow_ups`` (two events after one reset); each answer is judged as in
a random run (``oracle.judge.judge_system_step``: refinement or lockstep, acceptance in both
directions, every invariant), and an accepted step's lifted post state is queued if new
(keyed by its canonical form under symmetry reduction). Questions go to the IUT in pipelined
batches of whole BFS slices. The first divergence in BFS order is at the least depth, so the
path to its state is a shortest trace; it is replayed through the IUT from the preset's
initial state to give the reported case.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable

import attrs

from dynmem.reference.events import Event
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, step
from dynmem.verification.conformance.cases import replay_case
from dynmem.verification.conformance.probes import get_follow_ups, get_questions
from dynmem.verification.conformance.result import ConformanceResult
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.symmetry import canonicalize
from dynmem.verification.oracle.iut import Driver, Mode, Observed
from dynmem.verification.oracle.judge import (
    PROTOCOL,
    CaseResult,
    Divergence,
    IsAllowed,
    judge_system_step,
)
from dynmem.verification.oracle.observation import Observation, observe

Progress = Callable[[int, int], None]  # (states done, requests asked)
BATCH_STATES = 64  # states whose questions go to the IUT in one pipelined batch


class _Graph:
    """The IUT's reachable states: real states, keyed by canonical form, with BFS parents."""

    def __init__(self, config: ExploreConfig) -> None:
        self.symmetry = config.symmetry
        self.states: list[DmState] = []
        self.parent: list[int] = []
        self.via: list[Event | None] = []
        self.ids: dict[DmState, int] = {}
        self.add(config.initial(), -1, None)

    def key(self, state: DmState) -> DmState:
        return canonicalize(state)[0] if self.symmetry else state

    def add(self, state: DmState, parent: int, event: Event | None) -> int | None:
        """Intern ``state``; its id if it is new, else None."""
        key = self.key(state)
        if key in self.ids:
            return None
        sid = self.ids[key] = len(self.states)
        self.states.append(state)
        self.parent.append(parent)
        self.via.append(event)
        return sid

    def path_to(self, sid: int) -> list[Event]:
        events: list[Event] = []
        while sid > 0:
            event = self.via[sid]
            assert event is not None
            events.append(event)
            sid = self.parent[sid]
        return events[::-1]


@attrs.frozen
class _Question:
    """Events sent to the IUT after a reset to the state ``sid``; the last one is judged in
    ``pre`` (the state itself, or for a follow-up the state after the first event)."""

    sid: int
    events: tuple[Event, ...]
    pre: DmState
    role: str  # "question" (successor explored), "probe" or "follow-up"


def check_system(driver: Driver, config: ExploreConfig, mode: Mode,
                 is_allowed: IsAllowed | None = None, batch_states: int = BATCH_STATES,
                 progress: Progress | None = None, shortcut: bool = True,
                 follow_ups: bool = True) -> ConformanceResult:
    """Ask a system IUT every question in every state it can reach in ``config``, and the
    follow-ups of ``probes.get_follow_ups`` (unless ``follow_ups`` is False).

    Examples
    --------
    >>> from dynmem.verification.explore.config import get_config
    >>> from dynmem.verification.oracle.iut import InProcessIut
    >>> from dynmem.verification.oracle.reference_iut import ReferenceSystem
    >>> r = check_system(InProcessIut(ReferenceSystem()), get_config(1), "lockstep")
    >>> r.ok, r.states
    (True, 223)
    """
    started = time.perf_counter()
    judge = _Judge(config, mode, is_allowed, shortcut)
    graph = _Graph(config)
    queue: deque[int] = deque([0])
    later: list[_Question] = []  # follow-ups, asked with the next batch
    counts = Counter[str]()
    while queue or later:
        sids = [queue.popleft() for _ in range(min(batch_states, len(queue)))]
        asked = [_Question(sid, (event,), graph.states[sid],
                           "question" if explored else "probe")
                 for sid in sids for event, explored in get_questions(graph.states[sid], config)]
        asked, later = asked + later, []
        answers, fault = driver.probe_many([(graph.states[q.sid], q.events) for q in asked])
        for question, answer in zip(asked, answers, strict=False):
            counts[question.role] += 1
            event = question.events[-1]
            found = judge(question.pre, event, answer[-1])
            if isinstance(found, Divergence):
                return _failed(driver, config, mode, is_allowed, graph, question, found,
                               counts, started)
            if found is None or question.role == "follow-up":
                continue
            if question.role == "question":
                counts["transitions"] += 1
                new = graph.add(found, question.sid, event)
                if new is not None:
                    queue.append(new)
            if follow_ups:
                later += [_Question(question.sid, (event, then), found, "follow-up")
                          for then in get_follow_ups(event, found, config)]
        if fault is not None:
            question = asked[len(answers)]
            counts[question.role] += 1
            divergence = Divergence(PROTOCOL, len(question.events), question.events[-1],
                                    fault.message, fault.detail, stderr_tail=fault.stderr_tail)
            return _failed(driver, config, mode, is_allowed, graph, question, divergence,
                           counts, started)
        if progress is not None:
            progress(len(graph.states) - len(queue), counts.total() - counts["transitions"])
    return _result(config, mode, graph, counts, True, None, started)


def _result(config: ExploreConfig, mode: Mode, graph: _Graph, counts: Counter[str],
            complete: bool, case: CaseResult | None, started: float) -> ConformanceResult:
    asked = counts["question"] + counts["probe"] + counts["follow-up"]
    return ConformanceResult(config.name, "system", mode, len(graph.states),
                             counts["transitions"], asked, complete, case, counts["probe"],
                             follow_ups=counts["follow-up"],
                             seconds=time.perf_counter() - started)


class _Judge:
    """``judge_system_step`` with a shortcut for an answer equal to the reference's own.

    The reference's steps from the states it reaches are checked by the explorer (every
    invariant on every step, ``explore``); an IUT answer that is exactly the reference's
    (same acceptance, same observation, same requests) in such a state therefore leads to
    the reference's post state and breaks nothing, in either mode. Every other answer is
    judged in full. This keeps the phase's cost in the pipe, not in the judge.
    """

    def __init__(self, config: ExploreConfig, mode: Mode, is_allowed: IsAllowed | None,
                 shortcut: bool) -> None:
        self.mode, self.is_allowed = mode, is_allowed
        self.known: set[DmState] = set()
        if shortcut:
            x = explore(config, progress=False)
            if x.ok or (x.complete and not x.counterexamples):
                self.known = set(x.states)  # canonical states, each checked exactly
        self.observed: dict[DmState, Observation] = {}

    def observe(self, state: DmState) -> Observation:
        found = self.observed.get(state)
        if found is None:
            if len(self.observed) > 65536:
                self.observed.clear()
            found = self.observed[state] = observe(state)
        return found

    def __call__(self, pre: DmState, event: Event, answer: Observed
                 ) -> DmState | Divergence | None:
        """The post state of an accepted step, None for a refused one, or the divergence."""
        reference = step(pre, event)
        if (pre in self.known and (answer.rejected is None) == reference.accepted
                and answer.sent == reference.sent
                and answer.observation == self.observe(reference.state)):
            return reference.state if reference.accepted else None
        return _judge(pre, event, answer, self.mode, self.is_allowed, reference)


def _judge(pre: DmState, event: Event, answer: Observed, mode: Mode,
           is_allowed: IsAllowed | None, reference: StepResult) -> DmState | Divergence | None:
    judged = judge_system_step(1, pre, event, answer, mode, is_allowed, reference,
                               check_acceptance=True)
    if judged.divergence is not None:
        return judged.divergence
    return judged.post if answer.rejected is None else None


def _failed(driver: Driver, config: ExploreConfig, mode: Mode, is_allowed: IsAllowed | None,
            graph: _Graph, question: _Question, divergence: Divergence, counts: Counter[str],
            started: float) -> ConformanceResult:
    case = replay_case(driver, "system", mode, is_allowed, config.initial(),
                       graph.path_to(question.sid), graph.states[question.sid],
                       question.events, divergence)
    return _result(config, mode, graph, counts, False, case, started)
