"""Concrete judgements of reference states, shared by every engine.

Invariants on explored states (``InvariantCache``, same verdicts as the registry of
``model/invariants.py`` with less work), the progress properties PROG-* (``check_fixed_point``,
``settle_fairly``; ``check_squeeze_order`` on each tick), behaviour coverage (``Coverage``:
event kind x channel/transaction state) and the table of pairs exploration reaches
(``REACHABLE_PAIRS``).
"""

from dynmem.verification.properties.coverage import Coverage, get_pairs
from dynmem.verification.properties.invariants import InvariantCache
from dynmem.verification.properties.progress import (
    PROG_FIXED_POINT,
    PROG_NO_STARVATION,
    PROG_RECLAIM_ORDER,
    PROG_WEIGHT_ORDER,
    check_fixed_point,
    check_squeeze_order,
    is_fixed_point,
    settle_fairly,
)
from dynmem.verification.properties.reachable import REACHABLE_PAIRS

__all__ = [
    "Coverage", "InvariantCache", "PROG_FIXED_POINT", "PROG_NO_STARVATION",
    "PROG_RECLAIM_ORDER", "PROG_WEIGHT_ORDER", "REACHABLE_PAIRS", "check_fixed_point",
    "check_squeeze_order", "get_pairs", "is_fixed_point", "settle_fairly",
]
