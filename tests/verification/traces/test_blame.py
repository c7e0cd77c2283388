"""Clause-level blame (verification/traces/blame.py): the EXPLAIN interpretation of the registry.

EXPLAIN must agree with CONCRETE on every clause (it is a third reading of the same
definitions), and every registry clause must have a failing case here whose blame names the
failing part with its values.
"""

from __future__ import annotations

import doctest
import random
from collections.abc import Callable

import attrs
import pytest

from dynmem.model.invariants import INVARIANTS, Violation, check_state, check_step
from dynmem.model.ops import CONCRETE
from dynmem.model.vocabulary import Channel, HostProfile, Power, TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonResponse,
    Configure,
    Demand,
    Event,
    HotAddResponse,
    Restore,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, Vm, initial_state
from dynmem.verification.traces import blame as blame_module
from dynmem.verification.traces import traced
from dynmem.verification.traces.blame import blame, blame_lines, describe_why, evaluate_clause
from dynmem.verification.traces.trace import Finding, Trace, TraceStep, record
from dynmem.verification.traces.traced import EXPLAIN, View, lift, state_view

DYN = VmSettings(dynamic=True, startup_mib=2048, maximum_mib=8192)
BASE = initial_state(HostSettings(16384, 1024),
                     (("web", DYN), ("db", VmSettings(startup_mib=1024))))


def _force(vm: Vm, **fields: object) -> Vm:
    """A VM with values its validators refuse (what a broken INV-TYPE state holds)."""
    for name, value in fields.items():
        object.__setattr__(vm, name, value)
    return vm


def _running(**fields: object) -> DmState:
    values: dict[str, object] = {"power": Power.RUNNING, "channel": Channel.READY,
                                 "visible_mib": 2048, **fields}
    web = attrs.evolve(BASE.vms[0], **values)  # type: ignore[arg-type]
    return attrs.evolve(BASE.with_vm(web), free_mib=16384 - 1024 - web.owned_mib)


def _state(state: DmState) -> Trace:
    return record(state, [])


def _pair(pre: DmState, event: Event, post: DmState) -> Trace:
    return Trace(pre, (TraceStep(event, post),),
                 tuple(Finding(1, v) for v in check_step(pre, event, post)))


def _db(**fields: object) -> DmState:
    db = attrs.evolve(BASE.vms[1], **fields)  # type: ignore[arg-type]
    return BASE.with_vm(db)


_BALLOONING = _running(txn=TxnKind.BALLOON, txn_mib=512)
_HOT_ADDING = _running(txn=TxnKind.HOT_ADD, txn_mib=512, cap_hot_add=True)
_RECLAIMING = _running(visible_mib=4096, cap_balloon=True, has_report=True,
                       report_mib=4000).with_vm(attrs.evolve(BASE.vms[1],
                                                             power=Power.STARTING))

# (invariant, clause) -> a trace whose finding for that clause the blame must explain, and
# a piece of text the blame must contain (the failing part with its values).
CASES: dict[tuple[str, str], tuple[Callable[[], Trace], str]] = {
    ("INV-TYPE", "amounts >= 0"): (
        lambda: _state(BASE.with_vm(_force(attrs.evolve(BASE.vms[0]), txn_mib=-4))),
        "part 5 of 7: requested -4 < 0"),
    ("INV-TYPE", "enumerations in range"): (
        lambda: _state(BASE.with_vm(_force(attrs.evolve(BASE.vms[0]), channel=9))),
        "part 4 of 6: channel 9 > 5"),
    ("INV-TYPE", "reserve within physical"): (
        lambda: _state(attrs.evolve(BASE, host=HostSettings(1024, 2048))),
        "part 2 of 2: reserve 2048 > physical 1024"),
    ("INV-FLOOR", "running dynamic => assigned >= startup"): (
        lambda: _state(_running(ballooned_mib=1024)),
        "when power is running, dynamic: assigned 1024 < startup 2048"),
    ("INV-CEILING", "assigned <= visible"): (
        lambda: _state(_running(ballooned_mib=0).with_vm(
            _force(attrs.evolve(_running().vms[0]), ballooned_mib=-2))),
        "assigned 2050 > visible 2048"),
    ("INV-CEILING", "visible <= maximum"): (
        lambda: _state(_running(visible_mib=9000)), "visible 9000 > maximum 8192"),
    ("INV-PHYSICAL", "reserve + owned <= physical"): (
        lambda: _state(_running(txn=TxnKind.HOT_ADD, txn_mib=2048, visible_mib=14000)),
        "reserve 1024 + assigned 14000 (web 14000) + in-flight 2048 (web hot-add 2048) = "
        "17072 > physical 16384"),
    ("INV-CONSERVATION", "free + reserve + owned = physical"): (
        lambda: _state(attrs.evolve(_running(txn=TxnKind.HOT_ADD, txn_mib=1024), free_mib=0)),
        "free 0 + reserve 1024 + assigned 2048 (web 2048) + in-flight 1024 (web hot-add 1024) "
        "= 4096 != physical 16384"),
    ("INV-STATIC", "running static => visible = assigned = startup"): (
        lambda: _state(_db(power=Power.RUNNING, visible_mib=3072)),
        "part 1 of 2, when power is running, not dynamic: visible 3072 != startup 1024"),
    ("INV-STATIC", "static => no channel, no transaction"): (
        lambda: _state(_db(power=Power.RUNNING, visible_mib=1024, channel=Channel.READY)),
        "part 1 of 2, when not dynamic: channel is ready, must be none"),
    ("INV-OFF", "off => owns nothing"): (
        lambda: _state(BASE.with_vm(attrs.evolve(BASE.vms[0], txn=TxnKind.BALLOON,
                                                 txn_mib=512))),
        "part 4 of 5, when power is off: requested 512 != 0"),
    ("INV-ONE-TXN", "transaction => channel READY"): (
        lambda: _state(_running(channel=Channel.QUIET, txn=TxnKind.HOT_ADD, txn_mib=2)),
        "part 2 of 2, when txn is hot-add: channel is quiet, must be ready"),
    ("INV-CONFIG", "settings in range"): (
        lambda: _state(BASE.with_vm(attrs.evolve(
            BASE.vms[0], settings=attrs.evolve(DYN, buffer_pct=3)))),
        "part 6 of 9: buffer 3 < 5"),
    ("AUX-TXN", "idle => no amounts"): (
        lambda: _state(_running(txn_mib=6)), "part 1 of 2, when txn is none: requested 6 != 0"),
    ("AUX-TXN", "balloon keeps the floor"): (
        lambda: _state(_running(txn=TxnKind.BALLOON, txn_mib=1024, visible_mib=2560)),
        "part 2 of 2, when txn is balloon: assigned 2560 - outstanding balloon 1024 = 1536 "
        "< startup 2048"),
    ("AUX-TXN", "grant fits"): (
        lambda: _state(_running(txn=TxnKind.HOT_ADD, txn_mib=7000)),
        "part 2 of 4, when txn is hot-add: visible 2048 + requested 7000 = 9048 > maximum "
        "8192"),
    ("AUX-FREE", "free >= 0"): (
        lambda: _state(attrs.evolve(BASE, free_mib=-2)), "free -2 < 0"),
    ("INV-NO-DM-STARTUP", "running without DM => at startup, no channel"): (
        lambda: _state(_running(settings=attrs.evolve(DYN, dm_capable=False))),
        "part 3 of 3, when power is running, dynamic, not DM guest: channel is ready, must be "
        "none"),
    ("INV-SESSION", "not READY => nothing ballooned"): (
        lambda: _state(_running(channel=Channel.NEGOTIATING, ballooned_mib=4)),
        "when channel is negotiating: ballooned 4 != 0"),
    ("INV-SESSION", "new session or off => no report"): (
        lambda: _state(_db(has_report=True)), "when channel is none or power is off: has report"),
    ("INV-ADVERTISED", "balloon pages => cap_balloon"): (
        lambda: _state(_running(ballooned_mib=4, cap_balloon=False)),
        "part 1 of 3, when ballooned 4 > 0: not cap balloon"),
    ("INV-ADVERTISED", "hot-add in flight => cap_hot_add"): (
        lambda: _state(_running(txn=TxnKind.HOT_ADD, txn_mib=2, cap_hot_add=False)),
        "when txn is hot-add: not cap hot add"),
    ("INV-NO-HOT-ADD-AFTER-PARTIAL", "hot-add in flight => hot-add enabled"): (
        lambda: _state(_running(txn=TxnKind.HOT_ADD, txn_mib=2, cap_hot_add=True,
                                hot_add_enabled=False)),
        "when txn is hot-add: not hot add enabled"),
    ("INV-UNBALLOON-FIRST", "hot-add in flight => nothing ballooned"): (
        lambda: _state(_running(txn=TxnKind.HOT_ADD, txn_mib=2, cap_hot_add=True,
                                ballooned_mib=4)), "when txn is hot-add: ballooned 4 != 0"),
    ("INV-HOT-ADD-ALIGNED", "alignment 2^k MiB, 2 MiB to 32 GiB"): (
        lambda: _state(_running(hot_add_align_mib=96)),
        "none holds: hot add align 96 != 2; hot add align 96 != 4"),
    ("INV-HOT-ADD-ALIGNED", "hot-add in flight => aligned"): (
        lambda: _state(_running(txn=TxnKind.HOT_ADD, txn_mib=2, cap_hot_add=True,
                                hot_add_align_mib=128)),
        "when txn is hot-add: requested 2 % hot add align 128 = 2 != 0"),
    ("INV-HOT-ADD-ALIGNED", "hot-add in flight => whole 2 MiB units"): (
        lambda: _state(_running(txn=TxnKind.HOT_ADD, txn_mib=3, cap_hot_add=True)),
        "when txn is hot-add: requested 3 % 2 = 1 != 0"),
    ("INV-VERSION", "connected => version accepted by the host"): (
        lambda: _state(attrs.evolve(_running(protocol_version=0x20000),
                                    host=HostSettings(16384, 1024, HostProfile.WS2008R2SP1))),
        "profile is 2008r2sp1: none holds: protocol version is 2.0 (WIN10), must be 0.3 (WIN7)"),
    ("AUX-LIFECYCLE", "saved image fits"): (
        lambda: _state(_db(power=Power.SAVED, saved_mib=512)), "saved 512 != startup 1024"),
    ("AUX-LIFECYCLE", "stuck => transaction"): (
        lambda: _state(_running(stuck=True)), "when stuck: txn is none, must not be"),
    ("INV-RESTORED", "restore => owns the saved amount"): (
        lambda: _pair(_db(power=Power.SAVED, saved_mib=1024), Restore("db"),
                      _db(power=Power.RUNNING, visible_mib=2048)),
        "after assigned 2048 + after in-flight 0 = 2048 != before saved 1024"),
    ("INV-NO-HOST-PAGING", "assigned drops only by balloon response"): (
        lambda: _pair(_BALLOONING, Demand("web", 5), _BALLOONING.with_vm(
            attrs.evolve(_BALLOONING.vms[0], ballooned_mib=1024, txn=TxnKind.NONE,
                         txn_mib=0))),
        "part 1 of 2, when power is running before and after, after assigned 1024 < before "
        "assigned 2048: the event is demand, which this part does not allow"),
    ("INV-NO-HOST-PAGING", "visible never shrinks while running"): (
        lambda: _pair(_BALLOONING, BalancerTick(), _BALLOONING.with_vm(
            attrs.evolve(_BALLOONING.vms[0], visible_mib=1000))),
        "when power is running before and after: after visible 1000 < before visible 2048"),
    ("INV-ONE-TXN", "a transaction in flight is never replaced"): (
        lambda: _pair(_BALLOONING, BalancerTick(), _BALLOONING.with_vm(
            attrs.evolve(_BALLOONING.vms[0], txn=TxnKind.HOT_ADD, txn_mib=4))),
        "none holds: before txn is balloon, must be none; after txn is hot-add, must be none"),
    ("INV-NO-HOT-ADD-AFTER-PARTIAL", "a partial hot-add disables hot-add until restart"): (
        lambda: _pair(_HOT_ADDING, HotAddResponse("web", 256), _HOT_ADDING.with_vm(
            attrs.evolve(_HOT_ADDING.vms[0], txn=TxnKind.NONE, txn_mib=0, visible_mib=2304))),
        "part 2 of 2, when power is running before and after; before txn is hot-add, after "
        "visible 2304 - before visible 2048 = 256 > 0, after visible 2304 - before visible "
        "2048 = 256 < before requested 512: after hot add enabled"),
    ("INV-RECLAIM-ORDER", "a tick squeezes only below a heavier VM"): (
        # db waits to start (weight 5000) while the tick squeezes web (weight 5000) from
        # 4096 to 2048, below the 4000 MiB its report shows
        lambda: _pair(_RECLAIMING, BalancerTick(), _RECLAIMING.with_vm(
            attrs.evolve(_RECLAIMING.vms[0], txn=TxnKind.BALLOON, txn_mib=2048))),
        "web weight 5000 >= max(max(0, web weight 5000), db weight 5000) = 5000"),
    ("INV-CONFIG", "settings change only while off"): (
        lambda: _pair(_BALLOONING, Configure("web", DYN), _BALLOONING.with_vm(
            attrs.evolve(_BALLOONING.vms[0], settings=attrs.evolve(DYN, weight=1)))),
        "part 5 of 6, when power is running before or after: before weight 5000 != after "
        "weight 1"),
}


def _finding(trace: Trace, invariant: str, clause: str) -> Finding:
    return next(f for f in trace.findings
                if f.invariant == invariant and f.violation.clause == clause)


def test_every_registry_clause_has_a_case() -> None:
    """A clause added to the registry needs a blame case here."""
    assert set(CASES) == {(inv.id, c.name) for inv in INVARIANTS for c in inv.clauses}


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_blame_names_the_failing_part(key: tuple[str, str]) -> None:
    """The blame of each clause shows the failing part with the values of its sub-terms."""
    build, expected = CASES[key]
    trace = build()
    reasons = [r.describe() for r in blame(trace, _finding(trace, *key))]
    assert any(expected in r for r in reasons), reasons


def test_only_failing_parts_are_blamed() -> None:
    """INV-OFF on an off VM holding a balloon: parts 3 and 4 (txn, amount), not 1, 2 or 5."""
    trace = CASES[("INV-OFF", "off => owns nothing")][0]()
    reasons = blame(trace, _finding(trace, "INV-OFF", "off => owns nothing"))
    assert [r.part for r in reasons] == [("part 3 of 5",), ("part 4 of 5",)]


def test_a_bare_comparison_adds_no_line() -> None:
    """Where the registry's own explanation says it all, no extra blame line is shown."""
    trace = CASES[("AUX-FREE", "free >= 0")][0]()
    assert blame(trace, trace.findings[0]) and blame_lines(trace, trace.findings[0]) == []
    physical = _state(_running(visible_mib=16000))
    finding = _finding(physical, "INV-PHYSICAL", "reserve + owned <= physical")
    assert blame_lines(physical, finding) == []  # assigned only: the explanation suffices


def test_non_registry_findings_get_no_blame() -> None:
    """Progress properties and oracle divergences keep their own message."""
    trace = Trace(BASE, findings=(Finding(0, Violation("PROG-FIXED-POINT", "x", None, "m")),))
    assert blame(trace, trace.findings[0]) == [] and blame_lines(trace, trace.findings[0]) == []


def test_a_finding_the_states_do_not_show_gets_no_blame() -> None:
    """A finding reported on states the trace does not hold is left to its message."""
    trace = Trace(BASE, findings=(Finding(0, Violation("INV-FLOOR",
                                                       "running dynamic => assigned >= startup",
                                                       "web", "m")),))
    assert blame(trace, trace.findings[0]) == []


def test_why_answers_which_where_who() -> None:
    """describe_why: invariant, statement, step, scope and the failing parts."""
    trace = CASES[("INV-OFF", "off => owns nothing")][0]()
    why = describe_why(trace, lambda step: f"step {step}")
    off = next(w for w in why if w.invariant == "INV-OFF")
    assert off.scope == "VM web" and off.where == "step 0"
    assert "off VM owns nothing" in off.statement and len(off.parts) == 2


# --- EXPLAIN agrees with CONCRETE ---------------------------------------------------------------


def _random_vm(rng: random.Random, name: str) -> Vm:
    settings = VmSettings(dynamic=rng.random() < 0.7, startup_mib=rng.choice((32, 512, 2048)),
                          maximum_mib=rng.choice((2048, 4096, 65536)),
                          buffer_pct=rng.choice((3, 20, 5000)), weight=rng.choice((0, 5000)))
    return Vm(name, settings, power=rng.choice(list(Power)),
              visible_mib=rng.choice((0, 512, 2048, 4096)),
              ballooned_mib=rng.choice((0, 0, 256, 3000)), demand_mib=rng.choice((0, 3000)),
              channel=rng.choice(list(Channel)), txn=rng.choice(list(TxnKind)),
              txn_mib=rng.choice((0, 0, 512, 9000)), txn_done_mib=rng.choice((0, 0, 256)))


def _random_state(rng: random.Random) -> DmState:
    vms = tuple(_random_vm(rng, f"vm{i}") for i in range(rng.randint(0, 3)))
    host = HostSettings(rng.choice((4096, 8192)), rng.choice((0, 1024, 9000)))
    return DmState(host, rng.choice((-10, 0, 1024, 6144)), vms)


def test_explain_agrees_with_concrete() -> None:
    """On 400 random states and steps, every clause has the same truth value in EXPLAIN as
    in CONCRETE (the blame reads the same definition, never a copy)."""
    rng = random.Random(6)
    events: list[Event] = [BalancerTick(), Demand("vm0", 1), BalloonResponse("vm0", 256),
                           HotAddResponse("vm1", 0)]
    checked = 0
    for _ in range(400):
        pre, post = _random_state(rng), _random_state(rng)
        post = attrs.evolve(post, vms=tuple(attrs.evolve(vm, name=f"vm{i}")
                                            for i, vm in enumerate(post.vms)))
        event = rng.choice(events)
        for inv in INVARIANTS:
            for clause in inv.clauses:
                if clause.scope == "step":
                    want = bool(clause.holds(CONCRETE, event, pre, post))
                    got = lift(clause.holds(EXPLAIN, event, state_view(pre),
                                            state_view(post))).value
                    assert bool(got) == want, (inv.id, clause.name)
                    checked += 1
                elif clause.scope == "pair":
                    for a, b in zip(pre.vms, post.vms, strict=False):
                        want = bool(clause.holds(CONCRETE, event, a, b))
                        got = lift(clause.holds(EXPLAIN, event, View(a, "before "),
                                                View(b, "after "))).value
                        assert bool(got) == want, (inv.id, clause.name)
                        checked += 1
                elif clause.scope == "host":
                    got = lift(clause.holds(EXPLAIN, state_view(pre))).value
                    assert bool(got) == bool(clause.holds(CONCRETE, pre)), (inv.id, clause.name)
                    checked += 1
                else:
                    for vm in pre.vms:
                        got = lift(clause.holds(EXPLAIN, state_view(pre),
                                                View(vm, ""))).value
                        assert bool(got) == bool(clause.holds(CONCRETE, pre, vm)), (inv.id,
                                                                                  clause.name)
                        checked += 1
    assert checked > 5000


def test_evaluate_clause_matches_the_finding() -> None:
    """Every finding of a random broken state evaluates to False under EXPLAIN."""
    rng = random.Random(7)
    for _ in range(100):
        state = _random_state(rng)
        trace = Trace(state, findings=tuple(Finding(0, v) for v in check_state(state)))
        for finding in trace.findings:
            clause = blame_module.find_clause(finding.violation)
            assert clause is not None
            term = evaluate_clause(clause, trace, finding)
            assert term is not None and term.value is False


def test_doctests() -> None:
    """The modules' examples run."""
    assert doctest.testmod(blame_module).failed == 0
    assert doctest.testmod(traced).failed == 0
