"""Progress properties on an explored state graph (specs/invariants.md §3).

The *progress subgraph* keeps the edges of honest guest messages and balancer ticks (demand
held constant, no admin events, no misbehaving guest). In it, a non-trivial strongly
connected component is an oscillation (PROG-FIXED-POINT); a state that is not a fixed point
but has no progress edge is stuck (PROG-FIXED-POINT); every fixed point is checked for
PROG-NO-STARVATION and PROG-WEIGHT-ORDER. Since every path of that finite graph ends in a
fixed point or a cycle, this checks "every fair path reaches a fixed point" for all
interleavings, not only the round-robin order of ``settle``. Under symmetry reduction a cycle
of canonical states may close only up to a renaming of identical VMs; going around it at
most (number of identical VMs)! times closes it for real.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dynmem.model.invariants import Violation
from dynmem.verification.explore.graph import Exploration, ProgressFinding
from dynmem.verification.properties.progress import (
    PROG_FIXED_POINT,
    check_fixed_point,
    is_fixed_point,
)

# networkx loads when the progress graph is analysed (start-up: see explore/graph.py).
if TYPE_CHECKING:
    import networkx as nx


def find_oscillations(x: Exploration) -> list[ProgressFinding]:
    """Non-trivial strongly connected components of the progress subgraph, one finding each.

    The cycle is a shortest one through the component's state nearest the initial state.
    """
    import networkx as nx  # lazy: see the imports

    g = x.progress_graph()
    found = []
    for component in nx.strongly_connected_components(g):
        if len(component) == 1:
            (only,) = component
            if not g.has_edge(only, only):
                continue
        entry = min(component, key=lambda i: (x.depth[i], i))
        cycle = _shortest_cycle(g.subgraph(component), entry)
        found.append(ProgressFinding(entry, (Violation(
            PROG_FIXED_POINT, "constant demand reaches a fixed point", None,
            f"oscillation: {len(component)} states with demand held constant form a cycle "
            f"of honest messages and ticks; one loop takes {len(cycle)} steps"),), cycle))
    return found


def _shortest_cycle(g: nx.DiGraph, entry: int) -> tuple[int, ...]:
    import networkx as nx  # lazy: see the imports

    if g.has_edge(entry, entry):
        return (entry,)
    best: list[int] | None = None
    for succ in g.successors(entry):
        path = nx.shortest_path(g, succ, entry)
        if best is None or len(path) < len(best):
            best = path
    assert best is not None
    return (entry, *best[:-1])


def find_progress_violations(x: Exploration) -> list[ProgressFinding]:
    """Oscillations, states where honest delivery is stuck, and bad fixed points."""
    found = find_oscillations(x)
    has_out = bytearray(x.n_states)
    for s, p in zip(x.edge_src, x.edge_progress, strict=True):
        if p:
            has_out[s] = 1
    for sid in range(x.n_states):
        if x.fixed[sid]:
            broken = check_fixed_point(x.states[sid])
            if broken:
                found.append(ProgressFinding(sid, tuple(broken)))
        elif not has_out[sid] and not is_fixed_point(x.states[sid], x.plan):
            found.append(ProgressFinding(sid, (Violation(
                PROG_FIXED_POINT, "constant demand reaches a fixed point", None,
                "stuck: an honest message or the balancer's plan is pending, but the step "
                "function rejects it"),)))
    return found
