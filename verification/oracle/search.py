"""Search for a failing example with Hypothesis, then shrink it (specs/formats/oracle.md §4).

``search`` runs up to ``examples`` generated examples against one IUT. The first failure is
shrunk by Hypothesis (over the drawn choices), then by ``shrink_case``: delta debugging over
the event list and the initial VMs, keeping only candidates that fail with the same class,
detail and first invariant. Both are bounded by one budget counted in *replays* of the IUT
(``shrink_replays``), never in seconds, so the same IUT, seed and flags give the same
verdict, example count and shrunk trace on any machine under any load. A timeout is not
shrunk (each replay would cost the timeout again). A nondeterministic IUT makes Hypothesis
report a flaky failure; the shortest failure seen is reported then, with a note.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter

from dynmem.reference.environment import GuestProfile
from dynmem.reference.events import Event
from dynmem.reference.state import DmState
from dynmem.verification.generation import fixed_generation
from dynmem.verification.oracle.generate import Draw, EventSource
from dynmem.verification.oracle.iut import Driver, Kind, Mode
from dynmem.verification.oracle.judge import PROTOCOL, CaseResult, CaseRunner, IsAllowed
from dynmem.verification.oracle.settle import SETTLE_STEPS, settle_policy
from dynmem.verification.properties.cells import Cell, SituationTracker, get_cell

Progress = Callable[[int, int], None]  # (generated examples, shrink runs so far)
# Replays of the IUT spent shrinking one failure at most (Hypothesis's and delta debugging's).
SHRINK_REPLAYS = 1000


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
    # What the exhaustive phase covered before (``conformance``), one dict per preset.
    phases: tuple[dict[str, object], ...] = ()
    # What the generated examples met (``properties.cells``), shrink runs not counted.
    cells: frozenset[Cell] = frozenset()
    situations: frozenset[str] = frozenset()
    random_phase: bool = True  # False: only the exhaustive phase ran
    # The yardstick for ``cells`` and ``situations``: what the exhaustive phase reaches.
    reachable_cells: frozenset[Cell] = frozenset()
    reachable_situations: frozenset[str] = frozenset()
    # One summary per seed of a several-seed run (``oracle.seeds``), in the seeds' order.
    seeds: tuple[dict[str, object], ...] = ()
    # The top-up after the generated examples (``oracle.topup``): witness examples run
    # (counted apart from ``examples``) and the cells they were first to meet.
    top_up: int = 0
    top_up_cells: frozenset[Cell] = frozenset()


def generate_case(driver: Driver, kind: Kind, mode: Mode, source: EventSource, draw: Draw,
                  is_allowed: IsAllowed | None = None,
                  settle_steps: int = SETTLE_STEPS) -> CaseResult:
    """One generated example, events drawn from the harness state step by step; a policy
    then settles (``oracle.settle``: no progress within ``settle_steps`` is a failure)."""
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
    profiles = dict(getattr(source, "profiles", None) or {})
    if kind == "policy" and settle_steps and runner.divergence is None:
        settle_policy(runner, events, settle_steps, profiles)
    return CaseResult(initial, tuple(events), runner.divergence, runner.trace(),
                      tuple(sorted(profiles.items())))


def replay_case(driver: Driver, kind: Kind, mode: Mode, initial: DmState,
                events: list[Event], is_allowed: IsAllowed | None = None,
                settle_steps: int = SETTLE_STEPS,
                profiles: tuple[tuple[str, GuestProfile], ...] = ()) -> CaseResult:
    """``run_case`` of fixed events, then, for a policy, the same settling as generated
    examples get (so a shrunk no-progress failure still fails), with the example's guest
    ``profiles``."""
    runner = CaseRunner(driver, kind, mode, is_allowed)
    fed: list[Event] = []
    if runner.start(initial) is None:
        for event in events:
            fed.append(event)
            if runner.feed(event) is not None:
                break
    if kind == "policy" and settle_steps and runner.divergence is None:
        settle_policy(runner, fed, settle_steps, dict(profiles))
    return CaseResult(initial, tuple(fed), runner.divergence, runner.trace(), profiles)


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
           shrink_replays: int = SHRINK_REPLAYS, progress: Progress | None = None
           ) -> SearchResult:
    """Run up to ``examples`` examples; shrink and return the first failure, if any.

    ``shrink_replays`` bounds the replays spent shrinking (Hypothesis's, then
    ``shrink_case``'s): half go to Hypothesis, the rest and what it left to delta debugging.
    """
    used_seed = seed if seed is not None else random.randrange(2**32)
    found: list[CaseResult] = []
    count = shrink_runs = 0
    hypothesis_budget = shrink_replays // 2
    cut = False
    cells: set[Cell] = set()
    tracker = SituationTracker()

    def body(data: st.DataObject) -> None:
        nonlocal count, shrink_runs, cut
        if found and (_is_timeout(found[0]) or shrink_runs >= hypothesis_budget):
            cut = True
            return  # shrinking is over: every further example "passes"
        if found:
            shrink_runs += 1  # Hypothesis replays variants of the failure: not new examples
        case = generate_case(driver, kind, mode, source, data.draw, is_allowed)
        if not found:
            # Counted once complete: an input Hypothesis cuts short (it ran out of choices)
            # is not an example, and Hypothesis runs exactly ``examples`` complete ones.
            count += 1
            record_coverage(case, cells, tracker)
        if progress is not None:
            progress(count, shrink_runs)
        if case.divergence is not None:
            found.append(case)
            raise _Failed(case)

    run = settings(max_examples=examples, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                   phases=(Phase.generate, Phase.shrink))(given(st.data())(body))
    run = hypothesis_seed(used_seed)(run)
    notes: list[str] = []
    final: CaseResult | None = None
    with with_reporter(lambda _text: None), fixed_generation():
        try:
            run()
        except _Failed as err:
            final = err.case
        except Exception as err:  # Flaky and friends: fall back to what we saw
            if not found:
                raise
            final = _shortest(found)
            if cut:
                notes.append(f"Hypothesis shrinking stopped at its budget ({hypothesis_budget} "
                             "replays); the shortest failure seen is shown, then shrunk "
                             "further")
            else:
                notes.append(f"Hypothesis could not replay the failure ({type(err).__name__}):"
                             " the IUT may be nondeterministic; the shortest failure seen is "
                             "shown")
    seen = SearchResult(count, None, used_seed, cells=frozenset(cells),
                        situations=frozenset(tracker.hit))
    if final is None:
        return seen
    if _is_timeout(final):
        notes.append("not shrunk: every replay of a timeout costs the timeout again")
        return attrs.evolve(seen, failure=final, notes=tuple(notes), shrink_runs=shrink_runs)
    replays: list[int] = []
    final = shrink_case(driver, kind, mode, final, is_allowed,
                        max(0, shrink_replays - shrink_runs), replays)
    return attrs.evolve(seen, failure=final, shrunk=True, notes=tuple(notes),
                        shrink_runs=shrink_runs + sum(replays))


def record_coverage(case: CaseResult, cells: set[Cell], tracker: SituationTracker) -> None:
    """Add the cells and situations of ``case``'s steps (its trace) to the run's."""
    pre = case.trace.initial
    tracker.failed.clear()
    for item in case.trace.steps:
        accepted = item.rejected is None
        cells.add(get_cell(pre, item.event, accepted, item.sent))
        tracker.see(pre, item.event, accepted)
        pre = item.state


def _vm_named(event: Event) -> str | None:
    name = getattr(event, "vm", None)
    return name if isinstance(name, str) else None


def shrink_case(driver: Driver, kind: Kind, mode: Mode, case: CaseResult,
                is_allowed: IsAllowed | None = None, budget: int = SHRINK_REPLAYS,
                replays: list[int] | None = None) -> CaseResult:
    """Remove events one at a time, then unused VMs, while the same failure stays.

    At most ``budget`` candidates are replayed; each replay appends 1 to ``replays``
    (when given), for the report.
    """
    assert case.divergence is not None
    want = case.divergence.signature
    spent = [0]
    best = case

    def left() -> bool:
        return spent[0] < budget

    def keeps(initial: DmState, events: list[Event]) -> CaseResult | None:
        spent[0] += 1
        if replays is not None:
            replays.append(1)
        got = replay_case(driver, kind, mode, initial, events, is_allowed,
                          profiles=case.profiles)
        same = got.divergence is not None and got.divergence.signature == want
        return got if same else None

    improved = True
    while improved and left():
        improved = False
        index = 0
        while index < len(best.events) and left():
            candidate = list(best.events[:index]) + list(best.events[index + 1:])
            got = keeps(best.initial, candidate)
            # Settling may add events back: only a shorter failure is progress.
            if got is not None and len(got.events) < len(best.events):
                best, improved = got, True
            else:
                index += 1
    used = {n for n in map(_vm_named, best.events) if n is not None}
    for vm in best.initial.vms:
        if vm.name in used or vm.running or not left():
            continue
        smaller = attrs.evolve(best.initial,
                               vms=tuple(v for v in best.initial.vms if v.name != vm.name))
        got = keeps(smaller, list(best.events))
        if got is not None:
            best = got
    return best
