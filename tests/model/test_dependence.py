"""What an action's definition depends on (model/dependence.py): sharp on planted edits."""

from __future__ import annotations

import attrs

from dynmem.model.actions import ACTIONS, BALLOON_RESPONSE, DEMAND, STATUS_REPORT, Guard
from dynmem.model.dependence import (
    get_action_reads,
    get_clause_reads,
    is_free_blind,
    reads_free,
)
from dynmem.model.invariants import INVARIANTS, Clause
from dynmem.reference.events import EVENT_TYPES
from dynmem.reference.settings import VmSettings


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


# --- which fields a definition reads (get_action_reads, get_clause_reads) ---------------------


def test_an_action_reads_the_fields_its_guards_and_update_name() -> None:
    """A status report's guards read the VM's power and channel; its update reads only the
    report's parameter; a balloon response reads the transaction it answers."""
    assert get_action_reads(STATUS_REPORT) == {"power", "channel"}
    assert get_action_reads(DEMAND) == {"power"}
    assert {"txn", "txn_mib", "txn_done_mib", "ballooned_mib"} <= (
        get_action_reads(BALLOON_RESPONSE) or set())


def test_a_field_read_deep_in_a_planted_guard_is_seen() -> None:
    """A guard that also reads the balloon (inside a sum inside a comparison) adds it."""
    guard = Guard("small", "R-STATUS", lambda ops, h, vm, p: ops.Or(
        vm.txn == 0, p.committed_mib + vm.ballooned_mib > 2))
    edited = attrs.evolve(STATUS_REPORT, guards=(*STATUS_REPORT.guards, guard))
    assert get_action_reads(edited) == {"power", "channel", "txn", "ballooned_mib"}


def test_a_definition_that_branches_in_python_has_no_known_reads() -> None:
    """A guard that asks Python for a field's truth value reads one branch only: its reads
    cannot be told (None), so nothing is ever skipped on its account."""
    guard = Guard("branchy", "R-STATUS", lambda ops, h, vm, p: (
        vm.ballooned_mib > 0 if vm.txn == 0 else vm.visible_mib > 0))
    edited = attrs.evolve(STATUS_REPORT, guards=(*STATUS_REPORT.guards, guard))
    assert get_action_reads(edited) is None
    branchy = Clause("branchy", "vm", lambda ops, s, vm: vm.power == 0 or vm.stuck,
                     lambda s, vm: "")
    assert get_clause_reads("vm", branchy.holds) is None


def test_every_clause_and_slot_action_has_known_reads() -> None:
    """The registry's vm and pair clauses (for every event kind, naming the VM or not) and
    every slot action but Create have read sets: the caches skip work on all of them."""
    events = [cls(**{f.name: _sample(f) for f in attrs.fields(cls)})
              for cls in EVENT_TYPES.values()]
    for inv in INVARIANTS:
        for clause in inv.clauses:
            if clause.scope == "vm":
                assert get_clause_reads("vm", clause.holds) is not None, clause.name
            if clause.scope == "pair":
                for event in events:
                    for names in (True, False):
                        assert get_clause_reads("pair", clause.holds, event, names) is not None
    unknown = {a.name for a in ACTIONS if a.scope == "slot" and get_action_reads(a) is None}
    assert unknown == set()
    assert get_clause_reads("vm", lambda ops, s, vm: s.free_mib > vm.visible_mib) is None


def _sample(field: attrs.Attribute[object]) -> object:
    """A value for an event's field (the read sets do not depend on it)."""
    if field.name == "vm":
        return "x"
    if field.name == "settings":
        return VmSettings()
    return False if field.type in ("bool", bool) else 2
