"""The cells and situations the exhaustive phase reaches: the random phase's yardstick.

``get_reachable`` walks every state of a preset and every question the exhaustive phase
asks there (``probes.get_questions``) with the reference, and collects the cells
(``properties.cells``) and the named situations of issue 12. The random phase reports the
cells it hit and missed against these (``dynmem oracle``).
"""

from __future__ import annotations

import functools

import attrs

from dynmem.reference.events import HotAddRequest, HotAddResponse
from dynmem.reference.state import DmState
from dynmem.reference.step import step
from dynmem.verification.conformance.probes import get_questions
from dynmem.verification.conformance.store import load_entry, store_entry
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.explore.symmetry import canonicalize
from dynmem.verification.explore.traces import replay
from dynmem.verification.oracle.topup import Witness
from dynmem.verification.properties.cells import (
    AFTER_TRANSIENT,
    SITUATIONS,
    Cell,
    get_cell,
)


@attrs.frozen
class Reachable:
    """The cells and situations reachable in one preset."""

    cells: frozenset[Cell]
    situations: frozenset[str]
    # A run that meets each cell: the preset's initial state and the events from there, the
    # last one in the cell (a real run of the reference, names as in the preset).
    witnesses: dict[Cell, Witness] = attrs.field(factory=dict, eq=False)



# Remembered per process, and between processes on disk (``store``): every passing oracle
# run tops up from the same presets, and listing one takes 5 to 15 CPU s (``--seeds``, the
# pytest fixtures and the test suite run the oracle many times in one process). A function
# of ``config`` (and of the code, which the store's key covers); the result is shared, so
# its ``witnesses`` are read, never changed.
@functools.lru_cache(maxsize=16)
def get_reachable(config: ExploreConfig) -> Reachable:
    """Every cell and situation the exhaustive phase meets on ``config`` (the reference).

    Examples
    --------
    >>> from dynmem.verification.explore.config import get_config
    >>> found = get_reachable(get_config(1))
    >>> ("stop", "READY", "HOT_ADD", "accepted") in found.cells
    True
    """
    stored = load_entry(config)
    if stored is not None:
        return Reachable(*stored)
    found = list_reachable(config)
    store_entry(config, (found.cells, found.situations, found.witnesses))
    return found


def list_reachable(config: ExploreConfig) -> Reachable:
    """``get_reachable`` computed: the preset explored, every question asked of the
    reference in every state."""
    x = explore(config, progress=False)
    cells: set[Cell] = set()
    first: dict[Cell, int] = {}  # the state (BFS order: of least depth) a cell is met in
    situations: set[str] = set()
    after_failure: set[int] = set()
    for sid, state in enumerate(x.states):
        for event, _explored in get_questions(state, config):
            result = step(state, event)
            cell = get_cell(state, event, result.accepted, result.sent)
            cells.add(cell)
            first.setdefault(cell, sid)
            situations.update(n for n, test in SITUATIONS.items()
                              if test(state, event, result.accepted))
            if result.accepted and isinstance(event, HotAddResponse) and not event.success:
                post = canonicalize(result.state)[0] if config.symmetry else result.state
                after = x.get_id(post)
                if after is not None:
                    after_failure.add(after)
    if any(is_valid_hot_add(x.states[sid], config) for sid in after_failure):
        situations.add(AFTER_TRANSIENT)
    witnesses = {cell: found for cell, sid in first.items()
                 if (found := get_witness(x, sid, cell)) is not None}
    return Reachable(frozenset(cells), frozenset(situations), witnesses)


def get_witness(x: Exploration, sid: int, cell: Cell) -> Witness | None:
    """The real run to the explored state ``sid`` and an event of ``cell`` asked there; None
    if the canonical path does not replay (``explore.traces.replay``)."""
    steps = replay(x, list(x.path_to(sid)))
    if steps is None:
        return None
    state = steps[-1][1].state if steps else x.states[0]
    for event, _explored in get_questions(state, x.config):
        result = step(state, event)
        if get_cell(state, event, result.accepted, result.sent) == cell:
            return x.states[0], (*(taken for taken, _ in steps), event)
    return None


def is_valid_hot_add(state: DmState, config: ExploreConfig) -> bool:
    """Whether an explicit hot-add request event asked in ``state`` is accepted."""
    return any(isinstance(event, HotAddRequest) and step(state, event).accepted
               for event, _ in get_questions(state, config))
