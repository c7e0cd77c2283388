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

from typing import TYPE_CHECKING, Any

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
    """Non-trivial strongly connected components of the progress subgraph, one finding each,
    ordered by their entry state.

    The components are computed by ``scipy.sparse.csgraph`` on the progress edges as a
    compressed sparse matrix (a 3-VM graph has 700,978 states: as a networkx graph it took
    most of a gigabyte). Only the states of a non-trivial component go into networkx, where
    a shortest cycle through the component's state nearest the initial state is found.
    """
    import networkx as nx  # lazy: see the imports
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    src, dst = get_progress_edges(x)
    n = x.n_states
    matrix = csr_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    _, labels = connected_components(matrix, directed=True, connection="strong")
    sizes = np.bincount(labels)
    cyclic = sizes[labels[src]] > 1
    cyclic |= src == dst  # a self-loop is a cycle of one state
    inside = cyclic & (labels[src] == labels[dst])
    by_component: dict[int, list[tuple[int, int]]] = {}
    for s, t in zip(src[inside].tolist(), dst[inside].tolist(), strict=True):
        by_component.setdefault(int(labels[s]), []).append((s, t))
    found = []
    for edges in by_component.values():
        g = nx.DiGraph(edges)
        entry = min(g.nodes, key=lambda i: (x.depth[i], i))
        cycle = _shortest_cycle(g, entry)
        found.append(ProgressFinding(entry, (Violation(
            PROG_FIXED_POINT, "constant demand reaches a fixed point", None,
            f"oscillation: {g.number_of_nodes()} states with demand held constant form a "
            f"cycle of honest messages and ticks; one loop takes {len(cycle)} steps"),), cycle))
    return sorted(found, key=lambda f: (x.depth[f.state], f.state))


def get_progress_edges(x: Exploration) -> tuple[Any, Any]:
    """The progress edges as two numpy arrays (sources, targets)."""
    import numpy as np

    keep = np.frombuffer(x.edge_progress, dtype=np.uint8).astype(bool)
    src = np.frombuffer(x.edge_src, dtype=np.intc)[keep]
    dst = np.frombuffer(x.edge_dst, dtype=np.intc)[keep]
    return src, dst


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
    import numpy as np

    found = find_oscillations(x)
    has_out = np.zeros(x.n_states, dtype=bool)
    has_out[get_progress_edges(x)[0]] = True
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
