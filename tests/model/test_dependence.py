"""What an action's definition depends on (model/dependence.py): sharp on planted edits."""

from __future__ import annotations

import attrs

from dynmem.model.actions import ACTIONS, STATUS_REPORT, Guard
from dynmem.model.dependence import is_free_blind, reads_free


def test_the_actions_that_touch_free_are_the_ones_that_declare_or_guard_it() -> None:
    """Start, Stop, the grants and the responses that return memory depend on free, and so do
    the lifecycle events that give memory back or take it (a restart, a channel reset, save,
    restore, migration, an admitted start); the rest (admin edits, channel messages, a balloon
    request, a failed waiting start, the stuck timer) do not."""
    touching = {a.name for a in ACTIONS if not is_free_blind(a)}
    assert touching == {"Start", "Stop", "UnballoonRequest", "HotAddRequest", "BalloonResponse",
                        "HotAddResponse", "BalancerTick", "GuestRestart", "ChannelReset",
                        "Save", "Restore", "MigrateOut", "MigrateIn", "StartAdmit"}


def test_a_guard_that_reads_free_is_seen() -> None:
    """A guard comparing with free memory, even deep in a term, makes the action read free."""
    guard = Guard("fits", "R-STATUS", lambda ops, h, vm, p: ops.Or(
        vm.txn == 0, ops.Not(p.committed_mib + 2 > h.free_mib)))
    edited = attrs.evolve(STATUS_REPORT, guards=(*STATUS_REPORT.guards, guard))
    assert not reads_free(STATUS_REPORT) and reads_free(edited)


def test_an_update_computed_from_free_is_seen() -> None:
    """An update whose value is computed from free reads it, though free is not declared."""
    edited = attrs.evolve(STATUS_REPORT, update=lambda ops, h, vm, p: {
        "has_report": True, "report_mib": ops.Min(p.committed_mib, h.free_mib)})
    assert reads_free(edited) and not is_free_blind(edited)
