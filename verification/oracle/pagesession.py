"""The oracle's page-level session (specs/formats/oracle.md §9): an IUT whose hello says
``"wire": 2`` is judged by the page layer.

Two phases, as for amounts. The exhaustive phase walks the IUT's states breadth-first from
a small preset (``pagegen.small_preset``) with every event of ``pagegen.page_menu``, so its
first failure comes with a shortest trace. The random phase runs seeded examples of
adversarial guests (``pagegen.draw_page_event``) and shrinks its first failure by removing
single events while the same class and detail still fail. Both are bounded by counts
(states, depth, examples, replays), never by seconds.
"""

from __future__ import annotations

import random
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import attrs

from dynmem.reference.pages import (
    PageBalloonResponse,
    PageEvent,
    PageState,
    PageUnballoonRequest,
    page_step,
)
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.iut import PROTOCOL_VERSION, Hello, IutFault, Kind, Mode
from dynmem.verification.oracle.judge import PROTOCOL
from dynmem.verification.oracle.pagegen import (
    ALIGNED_PRESET,
    PAGE_PRESETS,
    draw_page_event,
    draw_page_initial,
    page_menu,
    small_preset,
)
from dynmem.verification.oracle.pagejudge import (
    PageDivergence,
    PageStep,
    expected_after,
    judge_page_step,
)
from dynmem.verification.oracle.pagetext import describe_event
from dynmem.verification.oracle.pagewire import (
    WIRE_PAGES,
    PageObserved,
    WireEvent,
    event_to_json,
    observed_from_json,
    requests_from_json,
    state_to_json,
)
from dynmem.verification.oracle.wire import hello_from_json
from dynmem.verification.traces.pagetext import describe_page_state

MAX_DEPTH = 6  # events from the preset, in the exhaustive phase
MAX_STATES = 3000  # states the exhaustive phase expands at most


class PageDriver(Protocol):
    """One request, one answer (a dict of §9), or an IutFault."""

    def hello(self, kind: Kind, mode: Mode) -> Hello: ...
    def request(self, payload: dict[str, Any], expect: str) -> dict[str, Any]: ...
    def schema_fault(self, err: InputError) -> IutFault: ...
    def close(self) -> None: ...


class InProcessPageIut:
    """Drive a Python object with ``answer(request: dict) -> dict | None`` (e.g.
    ``ReferencePageHost``); its exceptions become crash faults."""

    def __init__(self, iut: Any) -> None:
        self.iut = iut

    def hello(self, kind: Kind, mode: Mode) -> Hello:
        answer = self.request({"type": "hello", "protocol": PROTOCOL_VERSION, "kind": kind,
                               "mode": mode}, "hello")
        try:
            return hello_from_json(answer)
        except InputError as err:
            raise self.schema_fault(err) from None

    def request(self, payload: dict[str, Any], expect: str) -> dict[str, Any]:
        try:
            answer = self.iut.answer(payload)
        except Exception as err:  # the IUT's own bug, reported as a crash
            where = traceback.extract_tb(err.__traceback__)[-1]
            raise IutFault("crash", f"{type(err).__name__}: {err} (at {where.filename}:"
                                    f"{where.lineno})") from None
        if not isinstance(answer, dict) or answer.get("type") != expect:
            if isinstance(answer, dict) and answer.get("type") == "error":
                raise IutFault("error", f"the IUT answered error: {answer.get('message')!r}")
            raise IutFault("schema", f"answer to {payload['type']!r} must have type "
                                     f"{expect!r}, got {answer!r}")
        return answer

    def schema_fault(self, err: InputError) -> IutFault:
        return IutFault("schema", str(err))

    def close(self) -> None:
        return None


@attrs.frozen
class PageStepRecord:
    """One step of a page trace: the event, the requests sent, the IUT's state after it and
    its reason if it refused the event."""

    event: WireEvent
    sent: tuple[PageEvent, ...]
    state: PageState | None  # None: the IUT gave no usable answer
    rejected: str | None = None

    @classmethod
    def of(cls, event: WireEvent, observed: PageObserved | None) -> PageStepRecord:
        """The step as the IUT answered it (``observed`` None: no usable answer)."""
        if observed is None:
            return cls(event, (), None)
        return cls(event, observed.sent, observed.state, observed.rejected)


@attrs.frozen
class PageCase:
    """One example: the initial state, its steps, and the first divergence if any."""

    initial: PageState
    steps: tuple[PageStepRecord, ...]
    divergence: PageDivergence | None


def _protocol(step: int, event: WireEvent | None, fault: IutFault) -> PageDivergence:
    return PageDivergence(PROTOCOL, step, event, fault.message, fault.detail,
                          stderr_tail=fault.stderr_tail)


def probe(driver: PageDriver, state: PageState, event: WireEvent, step: int,
          step_fn: PageStep = page_step) -> tuple[PageObserved | None, PageDivergence | None]:
    """Send ``event`` to an IUT in ``state`` and judge its answer."""
    try:
        answer = driver.request({"type": "event", "step": step,
                                 "event": event_to_json(event)}, "observed")
        try:
            return judge_answer(state, event, answer, step, "IUT answer", step_fn)
        except InputError as err:
            raise driver.schema_fault(err) from None
    except IutFault as fault:
        return None, _protocol(step, event, fault)


def judge_answer(state: PageState, event: WireEvent, answer: Mapping[str, Any], step: int,
                 source: str, step_fn: PageStep = page_step
                 ) -> tuple[PageObserved, PageDivergence | None]:
    """Decode an ``observed`` answer (or log entry) to ``event`` in ``state`` and judge it;
    InputError names the field of a bad answer."""
    sent = requests_from_json(answer.get("sent", []), source, "sent")
    expected, tick_problem = expected_after(state, event, sent, step_fn)
    observed = observed_from_json(answer, expected.state, source)
    return observed, judge_page_step(step, state, event, observed, expected, tick_problem)


def reset(driver: PageDriver, state: PageState) -> PageDivergence | None:
    try:
        answer = driver.request({"type": "reset", "state": state_to_json(state)}, "ready")
        if set(answer) != {"type"}:
            raise IutFault("schema", f"the ready answer has unknown fields: {answer!r}")
    except IutFault as fault:
        return _protocol(0, None, fault)
    return None


def run_case(driver: PageDriver, initial: PageState,
             events: Callable[[PageState, int], WireEvent | None]) -> PageCase:
    """Reset to ``initial`` and feed ``events(state, index)`` until it says None or a step
    diverges; the next event is chosen from the IUT's state."""
    problem = reset(driver, initial)
    if problem is not None:
        return PageCase(initial, (), problem)
    state, steps = initial, []
    for index in range(10**6):
        event = events(state, index)
        if event is None:
            break
        observed, problem = probe(driver, state, event, index + 1)
        steps.append(PageStepRecord.of(event, observed))
        if problem is not None:
            return PageCase(initial, tuple(steps), problem)
        assert observed is not None
        state = observed.state
    return PageCase(initial, tuple(steps), None)


def replay(driver: PageDriver, initial: PageState, events: list[WireEvent]) -> PageCase:
    return run_case(driver, initial,
                    lambda _state, i: events[i] if i < len(events) else None)


def _smaller(events: list[WireEvent]) -> Iterator[list[WireEvent]]:
    """Candidates one step smaller: an event removed (last first), then one range of a
    message removed."""
    for i in reversed(range(len(events))):
        yield events[:i] + events[i + 1:]
    for i, event in enumerate(events):
        if not isinstance(event, (PageBalloonResponse, PageUnballoonRequest)):
            continue
        for j in range(len(event.ranges)):
            fewer = attrs.evolve(event, ranges=event.ranges[:j] + event.ranges[j + 1:])
            yield [*events[:i], fewer, *events[i + 1:]]


def shrink(driver: PageDriver, case: PageCase, budget: int) -> tuple[PageCase, int]:
    """Remove single events, then single ranges of a message, while the same class and
    detail still fail; ``budget`` replays at most. Returns the smallest failing case found
    and the replays spent."""
    assert case.divergence is not None
    target = case.divergence.signature
    best, runs = case, 0
    changed = True
    while changed and runs < budget:
        changed = False
        for events in _smaller([s.event for s in best.steps]):
            if runs >= budget:
                break
            runs += 1
            trial = replay(driver, best.initial, events)
            if trial.divergence is not None and trial.divergence.signature == target:
                best, changed = trial, True
                break
    return best, runs


@attrs.frozen
class PageRun:
    """The outcome of a page session."""

    failure: PageCase | None
    phase: str  # where the failure was found, or the last phase run
    examples: int = 0
    states: int = 0
    requests: int = 0
    complete: bool = True
    seed: int = 0
    shrink_runs: int = 0

    @property
    def ok(self) -> bool:
        return self.failure is None


def exhaustive(driver: PageDriver, initial: PageState | None = None,
               max_depth: int = MAX_DEPTH, max_states: int = MAX_STATES) -> PageRun:
    """Breadth-first over the IUT's states from ``initial`` with every menu event: the first
    failure has a shortest trace."""
    start = initial or small_preset()
    paths: dict[PageState, tuple[PageStepRecord, ...]] = {start: ()}
    queue = deque([start])
    requests = 0
    while queue:
        state = queue.popleft()
        path = paths[state]
        if len(path) >= max_depth:
            continue
        for event in page_menu(state):
            problem = reset(driver, state)
            requests += 1
            observed = None
            if problem is None:
                observed, problem = probe(driver, state, event, len(path) + 1)
            if problem is not None:
                record = PageStepRecord.of(event, observed)
                problem = attrs.evolve(problem, step=len(path) + 1)
                return PageRun(PageCase(start, (*path, record), problem), "exhaustive",
                               states=len(paths), requests=requests)
            assert observed is not None
            if observed.state not in paths and len(paths) < max_states:
                paths[observed.state] = (*path, PageStepRecord.of(event, observed))
                queue.append(observed.state)
    return PageRun(None, "exhaustive", states=len(paths), requests=requests,
                   complete=len(paths) < max_states)


def random_phase(driver: PageDriver, examples: int, seed: int, max_steps: int = 40,
                 shrink_replays: int = 1000, alignments: tuple[int, ...] = ()) -> PageRun:
    """``examples`` seeded examples; the first failure shrunk. With ``alignments`` (an IUT
    of Rule P1c) each VM's guest advertised 2 MiB or one of them."""
    for number in range(1, examples + 1):
        rng = random.Random(seed * 1_000_003 + number)
        initial = draw_page_initial(rng, alignments)
        length = rng.randint(1, max_steps)

        def events(state: PageState, index: int, rng: random.Random = rng,
                   length: int = length) -> WireEvent | None:
            return draw_page_event(rng, state) if index < length else None

        case = run_case(driver, initial, events)
        if case.divergence is not None:
            runs = 0
            if case.divergence.detail != "timeout":
                case, runs = shrink(driver, case, shrink_replays)
            return PageRun(case, "random", examples=number, seed=seed, shrink_runs=runs)
    return PageRun(None, "random", examples=examples, seed=seed)


# --- report ----------------------------------------------------------------------------------


def report_text(run: PageRun, iut: str) -> str:
    """The readable report: the verdict, the first divergence and its trace in words."""
    lines = [f"dynmem oracle: page-level wire {WIRE_PAGES} (specs/formats/oracle.md §9), "
             f"judged by the page rules, the PINV invariants and the refinement to amounts",
             f"iut: {iut}"]
    if run.states:
        lines.append(f"exhaustive phase: {run.states} states, {run.requests} requests"
                     + ("" if run.complete else " (state limit reached)"))
    if run.phase == "random":
        lines.append(f"random phase: {run.examples} examples, seed {run.seed}"
                     + (f", shrunk in {run.shrink_runs} replays" if run.shrink_runs else ""))
    case = run.failure
    if case is None:
        lines.append("verdict: PASS, no divergence found")
        return "\n".join(lines) + "\n"
    div = case.divergence
    assert div is not None
    how = ("a shortest trace (breadth-first)" if run.phase == "exhaustive"
           else "shrunk trace")
    count = len(case.steps)
    lines += [f"first divergence: {div.headline()}",
              f"trace ({how}, {count} event{'' if count == 1 else 's'}):",
              "  initial: " + "; ".join(describe_page_state(case.initial))]
    for number, record in enumerate(case.steps, 1):
        lines.append(f"  {number}. {describe_event(record.event, record.sent)}")
        if record.state is not None:
            lines.append("     -> " + "; ".join(describe_page_state(record.state)))
    if div.stderr_tail:
        lines += ["IUT stderr (last lines):", *("  " + t for t in div.stderr_tail.splitlines())]
    lines.append(f"verdict: FAIL, {div.cls}" + (f" {div.detail}" if div.detail else "")
                 + f" at step {div.step}")
    return "\n".join(lines) + "\n"


def report_json(run: PageRun, iut: str) -> dict[str, Any]:
    """report.json of a page session (specs/formats/oracle.md §9.5)."""
    case = run.failure
    out: dict[str, Any] = {"verdict": "pass" if case is None else "fail", "wire": WIRE_PAGES,
                           "iut": iut, "phase": run.phase, "examples": run.examples,
                           "states": run.states, "requests": run.requests, "seed": run.seed,
                           "shrink_runs": run.shrink_runs}
    if case is None or case.divergence is None:
        return out
    div = case.divergence
    out.update({"class": div.cls, "detail": div.detail, "step": div.step,
                "reason": div.reason,
                "event": event_to_json(div.event) if div.event is not None else None,
                "expected": div.expected, "observed": div.observed,
                "initial": state_to_json(case.initial),
                "events": [event_to_json(s.event) for s in case.steps],
                "trace": [describe_event(s.event, s.sent) for s in case.steps],
                "stderr_tail": div.stderr_tail})
    return out


def check_pages(driver: PageDriver, *, examples: int = 100, seed: int | None = None,
                exhaustive_phase: bool = True, random_examples: bool = True,
                max_steps: int = 40, shrink_replays: int = 1000, vms: int = 2,
                alignments: tuple[int, ...] = ()) -> PageRun:
    """The page session: the exhaustive phase over the presets of 1..``vms`` VMs (and, with
    ``alignments``, the small one with a guest of 128 MiB blocks), then the random one
    (guests advertising ``alignments`` too); the first failure ends it."""
    run = PageRun(None, "exhaustive")
    if exhaustive_phase:
        states = requests = 0
        presets = [*PAGE_PRESETS[:vms], *([ALIGNED_PRESET] if alignments else [])]
        for preset, depth in presets:
            run = exhaustive(driver, preset(), max_depth=depth)
            states, requests = states + run.states, requests + run.requests
            run = attrs.evolve(run, states=states, requests=requests)
            if run.failure is not None:
                return run
        if not random_examples:
            return run
    if seed is None:  # a fresh one, shown in the report
        seed = random.SystemRandom().randrange(2**31)
    found = random_phase(driver, examples, seed, max_steps, shrink_replays, alignments)
    return attrs.evolve(found, states=run.states, requests=run.requests)
