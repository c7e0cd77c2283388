"""The random phase's top-up: one fixed example for each reachable cell it missed.

Steering the generator (swarm foci, the ``cells`` focus) reaches most cells of the exhaustive
presets within the default budget but not all on every seed: a FAILED channel follows one
rare draw (the guest's last version refused), and some refusals are of states a lifecycle
passes quickly (CAPS, QUIET) or of a transaction rarely in flight (an unballoon). Each
missed cell has a *witness* (``conformance.cells.get_reachable``): a shortest run of the
reference from a preset's initial state to a state where the cell's event is asked, then
that event. ``top_up`` replays the witnesses of the missed cells, in cell order, through
the IUT and judges them like any example; their cells count as hit. It is bounded by a
count (``budget`` examples) and draws nothing, so the verdict stays a function of the IUT,
the seed and the flags, and the generated examples (and every pinned number about them)
are those of before. An IUT whose policy differs (refinement) may leave a witness's path;
the judge reads the IUT's own states, so the example is still judged, and the cell may stay
missed (reported).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from dynmem.reference.events import Event
from dynmem.reference.state import DmState
from dynmem.verification.oracle.iut import Driver, Kind, Mode
from dynmem.verification.oracle.judge import IsAllowed
from dynmem.verification.oracle.search import (
    SHRINK_REPLAYS,
    SearchResult,
    record_coverage,
    replay_case,
    shrink_case,
)
from dynmem.verification.properties.cells import Cell, SituationTracker

Witness = tuple[DmState, tuple[Event, ...]]
TOP_UP = 200  # top-up examples at most (``dynmem oracle --top-up``): above every preset's cells


def top_up(driver: Driver, kind: Kind, mode: Mode, found: SearchResult,
           witnesses: Mapping[Cell, Witness], budget: int = TOP_UP,
           is_allowed: IsAllowed | None = None,
           shrink_replays: int = SHRINK_REPLAYS) -> SearchResult:
    """``found`` (a passing random phase) with up to ``budget`` witness examples of the cells
    it missed; a failure among them is shrunk (``search.shrink_case``) and ends the run."""
    if found.failure is not None or budget <= 0:
        return found
    cells = set(found.cells)
    tracker = SituationTracker()
    tracker.hit.update(found.situations)
    ran = 0
    for cell in sorted(witnesses):
        if ran >= budget:
            break
        if cell in cells:
            continue  # met by the generated examples or an earlier witness
        initial, events = witnesses[cell]
        case = replay_case(driver, kind, mode, initial, list(events), is_allowed)
        ran += 1
        record_coverage(case, cells, tracker)
        if case.divergence is not None:
            replays: list[int] = []
            shrunk = shrink_case(driver, kind, mode, case, is_allowed, shrink_replays, replays)
            note = (f"found by top-up example {ran} (the witness of the missed cell "
                    f"{' / '.join(cell)}), then shrunk")
            return attrs.evolve(found, failure=shrunk, shrunk=True, top_up=ran,
                                top_up_cells=frozenset(cells - found.cells),
                                cells=frozenset(cells), situations=frozenset(tracker.hit),
                                notes=(*found.notes, note), shrink_runs=sum(replays))
    return attrs.evolve(found, top_up=ran, top_up_cells=frozenset(cells - found.cells),
                        cells=frozenset(cells), situations=frozenset(tracker.hit))
