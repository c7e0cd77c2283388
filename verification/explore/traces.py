"""Counterexample traces from an exploration, replayed on real states.

Under symmetry reduction the explored path is made of canonical states; ``replay`` maps each
canonical event back to the real VM through the renaming of the state it acts on, and checks
that every real state is the expected canonical one. If it is not (the renaming was not an
exact symmetry on that path), the configuration is searched again without reduction, so a
reported trace is always a genuine run of the step function.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from dynmem.model.invariants import Violation
from dynmem.reference.events import BalancerTick, Event
from dynmem.reference.step import StepResult
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Counterexample, Exploration, ProgressFinding
from dynmem.verification.explore.memo import get_next_words
from dynmem.verification.explore.symmetry import canonicalize, invert, rename_event
from dynmem.verification.properties.coverage import Pair
from dynmem.verification.traces.trace import Finding, Trace, record

Path = list[tuple[Event, int | None]]


def replay(x: Exploration, path: Path) -> list[tuple[Event, StepResult]] | None:
    """Replay the canonical ``path`` (event, expected state id or None) on real states.

    Returns None if the replay leaves the explored path: under symmetry reduction, when the
    renaming was not an exact symmetry of these steps.
    """
    state = x.states[0]
    results: list[tuple[Event, StepResult]] = []
    for event, expected in path:
        renaming = canonicalize(state)[1] if x.config.symmetry else None
        real = rename_event(event, invert(renaming)) if renaming else event
        result = x.step_fn(state, real)
        if not result.accepted:
            return None
        state = result.state
        if expected is not None:
            canon = canonicalize(state)[0] if x.config.symmetry else state
            if canon != x.states[expected]:
                return None
        results.append((real, result))
    return results


def trace_of(x: Exploration, path: Path, extra: Iterable[Violation] = (),
             notes: tuple[tuple[str, object], ...] = ()) -> Trace | None:
    """The checked trace of ``path``, with progress violations ``extra`` at its end; None
    if the replay diverges (see :func:`replay`)."""
    results = replay(x, path)
    if results is None:
        return None
    trace = record(x.states[0], results, source="explore",
                   notes=(("config", x.config.name), *notes))
    more = tuple(Finding(len(results), v) for v in extra)
    return attrs.evolve(trace, findings=trace.findings + more) if more else trace


def _exact(x: Exploration, stop_at_first: bool) -> Exploration:
    """The same search without symmetry reduction (to get genuine traces)."""
    return explore(attrs.evolve(x.config, symmetry=False), x.step_fn, x.plan,
                   stop_at_first=stop_at_first, progress=not stop_at_first)


def counterexample_trace(x: Exploration, example: Counterexample,
                         notes: tuple[tuple[str, object], ...] = ()) -> Trace:
    """The shortest trace to ``example``, reproduced on real states.

    If symmetry reduction makes the replay diverge, the configuration is searched again
    without it (stopping at the first violation), which gives a genuine shortest trace.
    """
    path: Path = [*x.path_to(example.source), (example.event, None)]
    trace = trace_of(x, path, _tick_findings(example), notes=notes)
    if trace is not None and not trace.ok:
        return trace
    exact = _exact(x, stop_at_first=True)
    first = min(exact.counterexamples.values(), key=lambda c: c.length)
    trace = trace_of(exact, [*exact.path_to(first.source), (first.event, None)],
                     _tick_findings(first), notes=notes)
    assert trace is not None, "an exploration without symmetry always replays"
    return trace


def _tick_findings(example: Counterexample) -> list[Violation]:
    """The violations of ``example`` that replaying its trace does not find again: those of
    a tick's plan (PROG-RECLAIM-ORDER), which no invariant of a state or step sees."""
    return [v for v in example.violations if v.invariant.startswith("PROG-")]


def progress_trace(x: Exploration, finding: ProgressFinding,
                   notes: tuple[tuple[str, object], ...] = ()) -> Trace:
    """A trace to the finding's state and, for an oscillation, once around its cycle."""
    trace = _progress_trace(x, finding, notes)
    if trace is not None:
        return trace
    exact = _exact(x, stop_at_first=False)
    same = [f for f in exact.progress if bool(f.cycle) == bool(finding.cycle)] or exact.progress
    trace = _progress_trace(exact, same[0], notes)
    assert trace is not None, "an exploration without symmetry always replays"
    return trace


def _progress_trace(x: Exploration, finding: ProgressFinding,
                    notes: tuple[tuple[str, object], ...]) -> Trace | None:
    path: Path = list(x.path_to(finding.state))
    cycle = finding.cycle
    for here, nxt in zip(cycle, (*cycle[1:], *cycle[:1]), strict=True):  # () at a fixed point
        event = _progress_event(x, here, nxt)
        if event is None:
            return None
        path.append((event, nxt))
    more = (("cycle_starts_after_step", len(path) - len(cycle)),) if cycle else ()
    return trace_of(x, path, finding.violations, notes=(*notes, *more))


def _progress_event(x: Exploration, here: int, nxt: int) -> Event | None:
    honest = get_next_words(x.states[here], x.config)
    for event, _result, target in x.successors(here):
        if target == nxt and (isinstance(event, BalancerTick) or event in honest):
            return event
    return None


def reachable_pairs(x: Exploration) -> set[Pair]:
    """The coverage pairs of every explored edge (needs ``coverage=True``)."""
    assert x.coverage is not None, "explore(..., coverage=True) records pairs"
    return set(x.coverage.pairs)
