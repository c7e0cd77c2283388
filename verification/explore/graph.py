"""The result of an exploration: interned states, parent pointers, edges and findings.

:class:`Exploration` keeps the state graph as parent pointers and compact edge arrays and
builds a networkx ``DiGraph`` on demand; the search (``explore/search.py``) fills it and the
progress analysis (``explore/progress.py``) reads it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from dynmem.model.invariants import Violation
from dynmem.reference.events import EVENT_TYPES, Event
from dynmem.reference.state import DmState
from dynmem.reference.step import Plan, Step, StepResult
from dynmem.verification.explore.candidates import get_candidate_events
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.symmetry import canonicalize
from dynmem.verification.properties.coverage import Coverage

# networkx is imported where a graph is built, not here: it is half the start-up of
# ``dynmem explore`` and ``dynmem verify``, and the search itself does not use it.
if TYPE_CHECKING:
    import networkx as nx

KINDS = tuple(EVENT_TYPES)

@attrs.frozen
class Counterexample:
    """A violation found by the search: the path's last edge and what broke there."""

    source: int  # state id before the last event
    event: Event  # canonical event (as explored)
    length: int  # number of events from the initial state
    violations: tuple[Violation, ...]

    @property
    def invariants(self) -> tuple[str, ...]:
        return tuple(sorted({v.invariant for v in self.violations}))


@attrs.frozen
class ProgressFinding:
    """A progress violation: at a fixed point (``cycle`` empty) or an oscillation."""

    state: int  # the fixed point, or the state where the cycle starts
    violations: tuple[Violation, ...]
    cycle: tuple[int, ...] = ()  # state ids around the cycle, starting at ``state``


@attrs.define
class Exploration:
    """The explored state space: interned states, parent pointers, edges and findings."""

    config: ExploreConfig
    step_fn: Step
    plan: Plan
    states: Sequence[DmState] = attrs.field(factory=list)  # the search's: PackedStates
    parent: array[int] = attrs.field(factory=lambda: array("i"))
    depth: array[int] = attrs.field(factory=lambda: array("i"))
    via: list[Event | None] = attrs.field(factory=list)
    edge_src: array[int] = attrs.field(factory=lambda: array("i"))
    edge_dst: array[int] = attrs.field(factory=lambda: array("i"))
    edge_kind: array[int] = attrs.field(factory=lambda: array("b"))
    edge_progress: bytearray = attrs.field(factory=bytearray)
    fixed: bytearray = attrs.field(factory=bytearray)
    # With ``all_edges`` False (``ExploreConfig.all_edges``) the edge arrays hold only the
    # progress edges; ``edge_count`` counts every edge either way.
    all_edges: bool = True
    edge_count: int = 0
    counterexamples: dict[str, Counterexample] = attrs.field(factory=dict)
    violating_steps: int = 0
    progress: list[ProgressFinding] = attrs.field(factory=list)
    complete: bool = False
    stopped_early: bool = False  # stopped on purpose at a violation (not the state limit)
    queued: int = 0  # states found but not expanded when the search stopped
    seconds: float = 0.0  # the search and the progress analysis
    search_seconds: float = 0.0  # the search alone
    coverage: Coverage | None = None
    index: dict[DmState, int] | None = None
    # which search built it: "batch" (explore/batch.py) or "one-state" (explore/search.py)
    engine: str = "one-state"

    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_edges(self) -> int:
        """Every accepted step found (kept in the edge arrays or not)."""
        return self.edge_count

    @property
    def ok(self) -> bool:
        return self.complete and not self.counterexamples and not self.progress

    def path_to(self, state_id: int) -> list[tuple[Event, int]]:
        """The BFS-tree path from the initial state to ``state_id``: (event, state id after)."""
        path: list[tuple[Event, int]] = []
        while state_id > 0:
            event = self.via[state_id]
            assert event is not None
            path.append((event, state_id))
            state_id = self.parent[state_id]
        return path[::-1]

    def get_id(self, state: DmState) -> int | None:
        """The id of the explored (canonical) ``state``, or None."""
        if self.index is None:
            self.index = {s: i for i, s in enumerate(self.states)}
        return self.index.get(state)

    def successors(self, state_id: int) -> Iterable[tuple[Event, StepResult, int | None]]:
        """Recompute the accepted steps of ``state_id``: (event, result, successor id)."""
        state = self.states[state_id]
        for event in get_candidate_events(state, self.config, self.plan):
            result = self.step_fn(state, event)
            if result.accepted:
                canon = (canonicalize(result.state)[0] if self.config.symmetry
                         else result.state)
                yield event, result, self.get_id(canon)

    def graph(self, kinds: bool = False) -> nx.DiGraph:
        """The state graph as a networkx ``DiGraph`` (node = state id, attribute ``depth``).

        With ``kinds`` each edge carries ``kinds``, the set of event kinds between the pair.
        """
        import networkx as nx  # lazy: see the imports

        self.require_all_edges("the state graph")
        g = nx.DiGraph()
        g.add_nodes_from((i, {"depth": d}) for i, d in enumerate(self.depth))
        if not kinds:
            g.add_edges_from(zip(self.edge_src, self.edge_dst, strict=True))
            return g
        for s, t, k in zip(self.edge_src, self.edge_dst, self.edge_kind, strict=True):
            if g.has_edge(s, t):
                g.edges[s, t]["kinds"].add(KINDS[k])
            else:
                g.add_edge(s, t, kinds={KINDS[k]})
        return g

    def require_all_edges(self, what: str) -> None:
        """Raise if only the progress edges were kept (``ExploreConfig.all_edges``)."""
        if not self.all_edges:
            raise ValueError(f"{what} needs every edge; {self.config.name} keeps only its "
                             "progress edges (ExploreConfig.all_edges)")

    def progress_graph(self) -> nx.DiGraph:
        """The subgraph of progress edges (honest messages and ticks, demand constant)."""
        import networkx as nx  # lazy: see the imports

        g = nx.DiGraph()
        g.add_nodes_from(range(self.n_states))
        g.add_edges_from((s, t) for s, t, p in zip(self.edge_src, self.edge_dst,
                                                   self.edge_progress, strict=True) if p)
        return g
