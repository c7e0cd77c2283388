"""The (event kind x channel/transaction state) pairs that exploration reaches.

``REACHABLE_PAIRS`` is what exploring the 1-VM and 2-VM presets (``explore_config``) with
coverage yields; ``compute_reachable_pairs`` (``explore/reachable.py``) recomputes it (a test
checks the two agree, so the list cannot go stale). A stateful run's coverage is measured
against it: the ``ci`` profile must reach a stated share (tests/verification/stateful/).
"""

from __future__ import annotations

from dynmem.verification.properties.coverage import Pair

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

def get_reachable_pairs() -> set[Pair]:
    """The reachable pairs (a copy of ``REACHABLE_PAIRS``)."""
    return set(REACHABLE_PAIRS)
