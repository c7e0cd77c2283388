"""Search for a failing example with Hypothesis, then shrink it (specs/formats/oracle.md §4).

``search`` runs up to ``examples`` generated examples against one IUT. The first failure is
shrunk by Hypothesis (over the drawn choices), within a time budget, then by
``shrink_case``: delta debugging over the event list and the initial VMs, keeping only
candidates that fail with the same class, detail and first invariant. A timeout is not
shrunk (each replay would cost the timeout again). A nondeterministic IUT makes Hypothesis
report a flaky failure; the shortest failure seen is reported then, with a note.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import attrs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter

from dynmem.reference.events import Event
from dynmem.reference.state import DmState
from dynmem.verification.oracle.generate import Draw, EventSource
from dynmem.verification.oracle.iut import Driver, Kind, Mode
from dynmem.verification.oracle.judge import (
    PROTOCOL,
    CaseResult,
    CaseRunner,
    IsAllowed,
    run_case,
)

Progress = Callable[[int, int], None]  # (generated examples, shrink runs so far)


@attrs.frozen
class SearchResult:
    """How many examples were generated (up to and including the first failure), the
    (shrunk) failure if any, the seed, notes, and how many runs shrinking took."""

    examples: int
    failure: CaseResult | None
    seed: int
    shrunk: bool = False
    notes: tuple[str, ...] = ()
    shrink_runs: int = 0


def generate_case(driver: Driver, kind: Kind, mode: Mode, source: EventSource, draw: Draw,
                  is_allowed: IsAllowed | None = None) -> CaseResult:
    """One generated example, events drawn from the harness state step by step."""
    runner = CaseRunner(driver, kind, mode, is_allowed)
    # A source may tune itself per example (EnabledEvents.for_example: swarm testing).
    tune = getattr(source, "for_example", None)
    if tune is not None:
        source = tune(draw)
    initial = source.initial(draw)
    events: list[Event] = []
    if runner.start(initial) is None:
        while True:
            assert runner.state is not None
            event = source.next_event(draw, runner.state, len(events))
            if event is None:
                break
            events.append(event)
            if runner.feed(event) is not None:
                break
    return CaseResult(initial, tuple(events), runner.divergence, runner.trace())


class _Failed(Exception):
    def __init__(self, case: CaseResult) -> None:
        super().__init__("IUT failed")
        self.case = case


def _is_timeout(case: CaseResult) -> bool:
    d = case.divergence
    return d is not None and d.cls == PROTOCOL and d.detail == "timeout"


def _shortest(found: list[CaseResult]) -> CaseResult:
    first = found[0].divergence
    assert first is not None
    same = [c for c in found if c.divergence and c.divergence.signature == first.signature]
    return min(same, key=lambda c: (len(c.events), len(c.initial.vms)))


def search(driver: Driver, kind: Kind, mode: Mode, source: EventSource, examples: int,
           seed: int | None = None, is_allowed: IsAllowed | None = None,
           shrink_seconds: float = 60.0, progress: Progress | None = None) -> SearchResult:
    """Run up to ``examples`` examples; shrink and return the first failure, if any."""
    used_seed = seed if seed is not None else random.randrange(2**32)
    found: list[CaseResult] = []
    count = shrink_runs = 0
    stop_at: list[float] = []
    cut = False

    def body(data: st.DataObject) -> None:
        nonlocal count, shrink_runs, cut
        if found and (_is_timeout(found[0]) or time.monotonic() > stop_at[0]):
            cut = True
            return  # shrinking is over: every further example "passes"
        if found:
            shrink_runs += 1  # Hypothesis replays variants of the failure: not new examples
        else:
            count += 1
        case = generate_case(driver, kind, mode, source, data.draw, is_allowed)
        if progress is not None:
            progress(count, shrink_runs)
        if case.divergence is not None:
            if not found:
                stop_at.append(time.monotonic() + shrink_seconds)
            found.append(case)
            raise _Failed(case)

    run = settings(max_examples=examples, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                   phases=(Phase.generate, Phase.shrink))(given(st.data())(body))
    run = hypothesis_seed(used_seed)(run)
    notes: list[str] = []
    final: CaseResult | None = None
    with with_reporter(lambda _text: None):
        try:
            run()
        except _Failed as err:
            final = err.case
        except Exception as err:  # Flaky and friends: fall back to what we saw
            if not found:
                raise
            final = _shortest(found)
            if cut:
                notes.append(f"Hypothesis shrinking stopped at its budget ({shrink_seconds:g} "
                             "s); the shortest failure seen is shown, then shrunk further")
            else:
                notes.append(f"Hypothesis could not replay the failure ({type(err).__name__}):"
                             " the IUT may be nondeterministic; the shortest failure seen is "
                             "shown")
    if final is None:
        return SearchResult(count, None, used_seed)
    if _is_timeout(final):
        notes.append("not shrunk: every replay of a timeout costs the timeout again")
        return SearchResult(count, final, used_seed, False, tuple(notes), shrink_runs)
    replays: list[int] = []
    final = shrink_case(driver, kind, mode, final, is_allowed, shrink_seconds, replays)
    return SearchResult(count, final, used_seed, True, tuple(notes),
                        shrink_runs + sum(replays))


def _vm_named(event: Event) -> str | None:
    name = getattr(event, "vm", None)
    return name if isinstance(name, str) else None


def shrink_case(driver: Driver, kind: Kind, mode: Mode, case: CaseResult,
                is_allowed: IsAllowed | None = None, seconds: float = 30.0,
                replays: list[int] | None = None) -> CaseResult:
    """Remove events one at a time, then unused VMs, while the same failure stays.

    Each replay of a candidate appends 1 to ``replays`` (when given), for the report.
    """
    assert case.divergence is not None
    want = case.divergence.signature
    deadline = time.monotonic() + seconds
    best = case

    def keeps(initial: DmState, events: list[Event]) -> CaseResult | None:
        if replays is not None:
            replays.append(1)
        got = run_case(driver, kind, mode, initial, events, is_allowed)
        same = got.divergence is not None and got.divergence.signature == want
        return got if same else None

    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        index = 0
        while index < len(best.events) and time.monotonic() < deadline:
            candidate = list(best.events[:index]) + list(best.events[index + 1:])
            got = keeps(best.initial, candidate)
            if got is not None:
                best, improved = got, True
            else:
                index += 1
    used = {n for n in map(_vm_named, best.events) if n is not None}
    for vm in best.initial.vms:
        if vm.name in used or vm.running or time.monotonic() >= deadline:
            continue
        smaller = attrs.evolve(best.initial,
                               vms=tuple(v for v in best.initial.vms if v.name != vm.name))
        got = keeps(smaller, list(best.events))
        if got is not None:
            best = got
    return best
