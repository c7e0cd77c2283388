"""Explicit-state exploration of small configurations: every reachable state, checked.

``explore(get_config(n))`` (``explore/explorer.py``) runs the breadth-first search (per-VM
memo, symmetry reduction; on batches of states as numpy arrays, ``explore/batch.py``, where
it applies, else one state at a time, ``explore/search.py``: the same graph) and returns an
``Exploration``;
``run_exploration`` wraps it as a result with the shortest counterexample trace; the
progress properties are checked on the graph (``explore/progress.py``); ``to_dot`` draws
it; ``with_linux_guest`` runs a Linux guest in a preset's last VM,
``with_hibernating_guest`` a hibernating one (specs/lifecycle.md §1);
``with_alignments`` lets guests advertise hot-add alignments above 2 MiB.
networkx is this package's graph library.
"""

from dynmem.verification.explore.config import (
    ExploreConfig,
    get_config,
    with_alignments,
    with_hibernating_guest,
    with_linux_guest,
)
from dynmem.verification.explore.dot import to_dot
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.explore.run import ExploreResult, run_exploration

__all__ = [
    "Exploration", "ExploreConfig", "ExploreResult", "explore", "get_config", "run_exploration",
    "to_dot", "with_alignments", "with_hibernating_guest", "with_linux_guest",
]
