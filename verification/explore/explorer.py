"""The explorer's entry point: ``explore`` runs the batch search (explore/batch.py) where it
applies and the one-state search (explore/search.py) otherwise, then the progress analysis
(explore/progress.py). Both searches build the same graph (tests/verification/explore/
test_batch.py), so which ran is only a matter of speed; ``Exploration.engine`` says.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from dynmem.reference.policy import compute_plan
from dynmem.reference.step import Plan, Step, step
from dynmem.verification.collector import without_cyclic_gc
from dynmem.verification.explore.batch import BatchSearch, Unsupported
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.explore.progress import find_progress_violations
from dynmem.verification.explore.search import ProgressCallback, _Search

__all__ = ["explore"]


def _run_search(args: tuple[Any, ...], on_progress: ProgressCallback | None,
                batch: bool) -> Exploration:
    """The search's exploration, by the batch search where it applies (its interning
    tables and memo are released on return: the progress analysis does not need them)."""
    if batch:
        try:
            return BatchSearch(*args).run(on_progress)
        except Unsupported:
            pass  # keys too wide for int64: the one-state search
    return _Search(*args).run(on_progress)



def explore(config: ExploreConfig, step_fn: Step = step, plan: Plan = compute_plan, *,
            stop_at_first: bool = False, until_found: Collection[str] = (),
            coverage: bool = False, progress: bool = True,
            on_progress: ProgressCallback | None = None, memo: bool = True,
            batch: bool = True) -> Exploration:
    """Explore every state reachable in ``config`` and check every invariant on the way.

    Parameters
    ----------
    config : ExploreConfig
        The configuration (see ``explore_config.PRESETS``).
    step_fn, plan : callable
        The step function and the balancer policy (a planted bug passes its own).
    stop_at_first : bool
        Stop as soon as an invariant is violated (the counterexample is still a shortest
        one); the progress analysis is then skipped.
    until_found : collection of str
        Stop once each of these invariant ids has a counterexample (a planted bug's).
        States that break only auxiliary invariants are still expanded.
    coverage : bool
        Record coverage pairs and guard outcomes (slower).
    progress : bool
        Check the progress properties on the finished graph.
    on_progress : callable, optional
        Called every 2000 expanded states with (states,
        edges, queued).
    memo : bool
        Step each single-VM event once per (VM, free memory) and reuse the result
        (``explore_memo``; sound for step functions that keep R-LOCAL, as the reference and
        every planted bug do). False steps every candidate of every state. Coverage runs
        always step directly.
    batch : bool
        Expand the queue in batches of states as numpy arrays (``explore/batch.py``: the
        same graph, about twice as fast); it needs the memo and no coverage, and a
        configuration whose keys do not fit it falls back to the one-state search.

    Returns
    -------
    Exploration
        The explored graph, counterexamples by invariant id and progress findings.

    Examples
    --------
    >>> from dynmem.verification.explore.config import get_config
    >>> x = explore(get_config(1))
    >>> x.complete, x.ok, x.n_states > 100
    (True, True, True)
    """
    args = (config, step_fn, plan, stop_at_first, until_found, coverage, memo)
    # Every state is kept to the end, so the cyclic collector would only rescan the growing
    # graph (12 % of a 3-VM search, 30 % of its progress analysis); the few cycles made
    # meanwhile (networkx views) are collected afterwards.
    with without_cyclic_gc():
        x = _run_search(args, on_progress, batch and memo and not coverage)
        if progress and x.complete and not x.counterexamples:
            started = time.perf_counter()
            x.progress = find_progress_violations(x)
            x.seconds += time.perf_counter() - started
    return x


