"""The (event kind x channel/transaction state) pairs that exploration reaches.

``REACHABLE_PAIRS`` is what exploring the 1-VM and 2-VM presets (``explore_config``) with
coverage yields; ``compute_reachable_pairs`` recomputes it (a test checks the two agree, so
the list cannot go stale). A stateful run's coverage is measured against it: the ``ci``
profile must reach a stated share (tests/verification/test_stateful.py).
"""

from __future__ import annotations

from dynmem.verification.coverage import Pair

REACHABLE_PAIRS: frozenset[Pair] = frozenset((
    ('balancer_tick>balloon_request', 'READY/NONE'),
    ('balancer_tick>hot_add_request', 'READY/NONE'),
    ('balancer_tick>unballoon_request', 'READY/NONE'),
    ('balloon_request', 'READY/NONE'),
    ('balloon_response', 'READY/BALLOON'),
    ('capabilities_report', 'CAPS/NONE'),
    ('configure', 'OFF'),
    ('create', 'ABSENT'),
    ('delete', 'OFF'),
    ('demand', 'CAPS/NONE'),
    ('demand', 'FAILED/NONE'),
    ('demand', 'NEGOTIATING/NONE'),
    ('demand', 'NONE/NONE'),
    ('demand', 'QUIET/NONE'),
    ('demand', 'READY/BALLOON'),
    ('demand', 'READY/HOT_ADD'),
    ('demand', 'READY/NONE'),
    ('demand', 'READY/UNBALLOON'),
    ('hot_add_request', 'READY/NONE'),
    ('hot_add_response', 'READY/HOT_ADD'),
    ('quiet_period_end', 'QUIET/NONE'),
    ('start', 'OFF'),
    ('status_report', 'QUIET/NONE'),
    ('status_report', 'READY/BALLOON'),
    ('status_report', 'READY/HOT_ADD'),
    ('status_report', 'READY/NONE'),
    ('status_report', 'READY/UNBALLOON'),
    ('stop', 'CAPS/NONE'),
    ('stop', 'FAILED/NONE'),
    ('stop', 'NEGOTIATING/NONE'),
    ('stop', 'NONE/NONE'),
    ('stop', 'QUIET/NONE'),
    ('stop', 'READY/BALLOON'),
    ('stop', 'READY/HOT_ADD'),
    ('stop', 'READY/NONE'),
    ('stop', 'READY/UNBALLOON'),
    ('unballoon_request', 'READY/NONE'),
    ('unballoon_response', 'READY/UNBALLOON'),
    ('version_request', 'NEGOTIATING/NONE'),
))


def compute_reachable_pairs(presets: tuple[int, ...] = (1, 2)) -> frozenset[Pair]:
    """Explore ``presets`` with coverage and return the union of their pairs (seconds)."""
    from dynmem.verification.explore import explore
    from dynmem.verification.explore_config import get_config

    pairs: set[Pair] = set()
    for vms in presets:
        x = explore(get_config(vms), coverage=True, progress=False)
        assert x.coverage is not None
        pairs |= set(x.coverage.pairs)
    return frozenset(pairs)


def get_reachable_pairs() -> set[Pair]:
    """The reachable pairs (a copy of ``REACHABLE_PAIRS``)."""
    return set(REACHABLE_PAIRS)
