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
from dynmem.reference.events import StatusReport
from dynmem.verification.explore.graph import KINDS, Exploration, ProgressFinding
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
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    src, dst, kind = get_progress_edges(x, with_kinds=True)
    n = x.n_states
    reports = kind == KINDS.index(StatusReport.KIND)
    while True:
        matrix = csr_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
        _, labels = connected_components(matrix, directed=True, connection="strong")
        unfair = get_unfair_states(labels, src, dst, reports)
        if not unfair.any():
            break
        keep = ~(unfair[src] | unfair[dst])
        src, dst, reports = src[keep], dst[keep], reports[keep]
    sizes = np.bincount(labels, minlength=n)
    cyclic = sizes[labels[src]] > 1
    cyclic |= src == dst  # a self-loop is a cycle of one state
    inside = cyclic & (labels[src] == labels[dst])
    by_component: dict[int, list[tuple[int, int]]] = {}
    for s, t in zip(src[inside].tolist(), dst[inside].tolist(), strict=True):
        by_component.setdefault(int(labels[s]), []).append((s, t))
    found = []
    if by_component:  # networkx loads only for an oscillation (start-up: see the imports)
        import networkx as nx
    for edges in by_component.values():
        g = nx.DiGraph(edges)
        entry = min(g.nodes, key=lambda i: (x.depth[i], i))
        cycle = _shortest_cycle(g, entry)
        found.append(ProgressFinding(entry, (Violation(
            PROG_FIXED_POINT, "constant demand reaches a fixed point", None,
            f"oscillation: {g.number_of_nodes()} states with demand held constant form a "
            f"cycle of honest messages and ticks; one loop takes {len(cycle)} steps"),), cycle))
    return sorted(found, key=lambda f: (x.depth[f.state], f.state))


def get_unfair_states(labels: Any, src: Any, dst: Any, reports: Any) -> Any:
    """The states no fair path stays in: a pending honest status report leaves their
    component, and the component delivers no status report inside itself.

    A guest whose report changed sends it within a second (R-STATUS; Linux every second,
    domain-facts §3.3), so delivery is strongly fair to status reports: a path that keeps
    returning to a state with a report pending takes a report again and again. A component
    in which no report edge stays inside cannot hold such a state on a cycle (Emerson-Lei,
    with all guests' reports as one fairness constraint: it removes no cycle a per-guest
    constraint would keep). Only the Linux convention needs it: a Linux guest's report
    changes with every answer, and a tick on a stale report asks for what the guest will
    not give, an empty answer, and the same tick again until the report comes (policy.md
    P-DEMAND). A Windows guest's report is its demand, which no progress edge changes.
    """
    import numpy as np

    n = len(labels)
    inside = labels[src] == labels[dst]
    served = np.zeros(n, dtype=bool)  # components that deliver a report inside themselves
    served[labels[src[reports & inside]]] = True
    pending = np.zeros(n, dtype=bool)
    pending[src[reports & ~inside]] = True
    cyclic = np.zeros(n, dtype=bool)
    cyclic[src[inside]] = True  # on some cycle: in a non-trivial component or a self-loop
    return pending & cyclic & ~served[labels]


def get_progress_edges(x: Exploration, with_kinds: bool = False) -> Any:
    """The progress edges as two numpy arrays (sources, targets), and with ``with_kinds``
    a third, the kind of each edge's event (an index into ``graph.KINDS``)."""
    import numpy as np

    keep = np.frombuffer(x.edge_progress, dtype=np.uint8).astype(bool)
    src = np.frombuffer(x.edge_src, dtype=np.intc)[keep]
    dst = np.frombuffer(x.edge_dst, dtype=np.intc)[keep]
    if with_kinds:
        return src, dst, np.frombuffer(x.edge_kind, dtype=np.int8)[keep]
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
    fixed = np.frombuffer(x.fixed, dtype=np.uint8, count=x.n_states).astype(bool)
    # only fixed points and states without a progress edge are judged (in order of id)
    for sid in np.flatnonzero(fixed | ~has_out).tolist():
        if fixed[sid]:
            broken = check_fixed_point(x.states[sid])
            if broken:
                found.append(ProgressFinding(sid, tuple(broken)))
        elif not has_out[sid] and not is_fixed_point(x.states[sid], x.plan,
                                                     dict(x.config.profiles)):
            found.append(ProgressFinding(sid, (Violation(
                PROG_FIXED_POINT, "constant demand reaches a fixed point", None,
                "stuck: an honest message or the balancer's plan is pending, but the step "
                "function rejects it"),)))
    return found
