"""Recompute the (event kind x channel/transaction state) pairs that exploration reaches.

``properties/reachable.py`` holds them as data (``REACHABLE_PAIRS``) for the engines that
measure coverage against them; a test checks that exploring the 1-VM and 2-VM presets yields
exactly that table, so it cannot go stale.
"""

from __future__ import annotations

import attrs

from dynmem.verification.explore.config import get_config
from dynmem.verification.explore.explorer import explore
from dynmem.verification.properties.coverage import Pair


def compute_reachable_pairs(presets: tuple[int, ...] = (1, 2),
                            lifecycle: tuple[int, ...] = (2,)) -> frozenset[Pair]:
    """Explore ``presets`` with coverage and return the union of their pairs (seconds); the
    presets in ``lifecycle`` also with the lifecycle events (specs/lifecycle.md)."""
    pairs: set[Pair] = set()
    for vms in presets:
        config = get_config(vms)
        if vms in lifecycle:
            config = attrs.evolve(config, vm_lifecycle=True)
        x = explore(config, coverage=True, progress=False)
        assert x.coverage is not None
        pairs |= set(x.coverage.pairs)
    return frozenset(pairs)
