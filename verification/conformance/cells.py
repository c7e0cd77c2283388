"""The cells and situations the exhaustive phase reaches: the random phase's yardstick.

``get_reachable`` walks every state of a preset and every question the exhaustive phase
asks there (``probes.get_questions``) with the reference, and collects the cells
(``properties.cells``) and the named situations of issue 12. The random phase reports the
cells it hit and missed against these (``dynmem oracle``).
"""

from __future__ import annotations

import attrs

from dynmem.reference.events import HotAddRequest, HotAddResponse
from dynmem.reference.state import DmState
from dynmem.reference.step import step
from dynmem.verification.conformance.probes import get_questions
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.search import explore
from dynmem.verification.explore.symmetry import canonicalize
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


def get_reachable(config: ExploreConfig) -> Reachable:
    """Every cell and situation the exhaustive phase meets on ``config`` (the reference).

    Examples
    --------
    >>> from dynmem.verification.explore.config import get_config
    >>> found = get_reachable(get_config(1))
    >>> ("stop", "READY", "HOT_ADD", "accepted") in found.cells
    True
    """
    x = explore(config, progress=False)
    cells: set[Cell] = set()
    situations: set[str] = set()
    after_failure: set[int] = set()
    for state in x.states:
        for event, _explored in get_questions(state, config):
            result = step(state, event)
            cells.add(get_cell(state, event, result.accepted, result.sent))
            situations.update(n for n, test in SITUATIONS.items()
                              if test(state, event, result.accepted))
            if result.accepted and isinstance(event, HotAddResponse) and not event.success:
                post = canonicalize(result.state)[0] if config.symmetry else result.state
                sid = x.get_id(post)
                if sid is not None:
                    after_failure.add(sid)
    if any(is_valid_hot_add(x.states[sid], config) for sid in after_failure):
        situations.add(AFTER_TRANSIENT)
    return Reachable(frozenset(cells), frozenset(situations))


def is_valid_hot_add(state: DmState, config: ExploreConfig) -> bool:
    """Whether an explicit hot-add request event asked in ``state`` is accepted."""
    return any(isinstance(event, HotAddRequest) and step(state, event).accepted
               for event, _ in get_questions(state, config))
