"""The concrete and symbolic readings of every registry invariant agree, and each can fail.

An invariant is written once over the operator layer (model/ops.py). For a concrete state
``s`` the Python reading ``holds(CONCRETE, inv, s)`` is a bool; the Z3 reading
``holds(SYMBOLIC, inv, sym)`` is a term over a symbolic state with 3 VM slots. Under
``bind(sym, s)`` (every variable fixed to ``s``'s values) Z3 must show the term is forced to
the same truth value: ``bind ∧ (term xor concrete)`` is unsat, while ``bind`` alone is sat.
The same for the two-state clauses on (pre, event, post) triples.

States come from Hypothesis: arbitrary values (negative amounts, out-of-range enumerations
and settings included) and reference-reachable states, some perturbed in one field.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynmem.model.invariants import (
    INVARIANTS,
    Invariant,
    check_state,
    check_step,
    holds,
    holds_step,
    is_state_clause,
)
from dynmem.model.ops import CONCRETE
from dynmem.model.state import SymState, bind, make_state
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.model.vocabulary import Channel, HostProfile, Power, TxnKind
from dynmem.reference.environment import enabled_events
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    ChannelReset,
    Configure,
    Demand,
    Event,
    GuestRestart,
    HotAddRequest,
    HotAddResponse,
    QuietPeriodEnd,
    Restore,
    Start,
    StatusReport,
    Stop,
    UnballoonRequest,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, Vm, initial_state
from dynmem.reference.step import step
from dynmem.verification.generation import fixed_generation

SLOTS = 3
SYM = make_state(SLOTS, "@s")
SYM_PRE = make_state(SLOTS, "@0")
SYM_POST = make_state(SLOTS, "@1", host=SYM_PRE.host)
STATE_INVARIANTS = [inv for inv in INVARIANTS if any(map(is_state_clause, inv.clauses))]
STEP_INVARIANTS = [inv for inv in INVARIANTS if inv.two_state]
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _pinned_draws() -> Iterator[None]:
    """Derandomized, yet Hypothesis would mix in the literals of whatever local modules the
    process loaded: under pytest-xdist that is whichever test files the worker ran before,
    so the inputs would change with the schedule (verification/generation.py)."""
    with fixed_generation():
        yield


# --- the Z3 side ---------------------------------------------------------------------------------


def disagreements(terms: Mapping[str, Any], concrete: Mapping[str, bool],
                  eqs: list[Any]) -> list[str]:
    """Ids whose Z3 term is not forced to the concrete value under ``eqs`` (the binding)."""
    solver = z3.Solver()
    solver.add(*eqs)
    assert solver.check() == z3.sat, "the binding itself is contradictory"
    differs = {key: z3.Xor(term, z3.BoolVal(concrete[key])) for key, term in terms.items()}
    solver.push()
    solver.add(z3.Or(*differs.values()))
    verdict = solver.check()
    solver.pop()
    assert verdict != z3.unknown
    if verdict == z3.unsat:
        return []
    found = []
    for key, differ in differs.items():  # name the culprits
        solver.push()
        solver.add(differ)
        if solver.check() != z3.unsat:
            found.append(key)
        solver.pop()
    return found


def state_disagreements(state: DmState) -> list[str]:
    """Registry invariants whose two readings differ on ``state``."""
    terms = {inv.id: holds(SYMBOLIC, inv, SYM) for inv in STATE_INVARIANTS}
    concrete = {inv.id: bool(holds(CONCRETE, inv, state)) for inv in STATE_INVARIANTS}
    return disagreements(terms, concrete, bind(SYM, state))


def step_disagreements(pre: DmState, event: Event, post: DmState) -> list[str]:
    """Two-state invariants whose readings differ on ``pre --event--> post``.

    VMs are paired by name concretely and by slot symbolically, so the VMs must be named after
    their slots (``vm0``, ``vm1``, ...) and keep their positions; ``check_slot_names`` checks.
    """
    terms = {inv.id: holds_step(SYMBOLIC, inv, SYM_PRE, event, SYM_POST)
             for inv in STEP_INVARIANTS}
    concrete = {inv.id: bool(holds_step(CONCRETE, inv, pre, event, post))
                for inv in STEP_INVARIANTS}
    return disagreements(terms, concrete, bind(SYM_PRE, pre) + bind(SYM_POST, post))


def check_slot_names(*states: DmState) -> None:
    for state in states:
        assert [vm.name for vm in state.vms] == [s.name for s in SYM.vms][: len(state.vms)]


# --- strategies ----------------------------------------------------------------------------------

MIB = st.one_of(st.sampled_from([0, 2, 32, 1024, 2048, 4096, 65536]), st.integers(-3, 70_000))
SMALL_MIB = st.one_of(st.sampled_from([0, 2, 512]), st.integers(-3, 5000))


def build_vm(**fields: Any) -> Vm:
    """A ``Vm`` with any field values: TypeOK validators off, so INV-TYPE can be broken."""
    with attrs.validators.disabled():
        return Vm(**fields)


@st.composite
def arbitrary_settings(draw: st.DrawFn) -> VmSettings:
    """Any settings, in range or not (odd sizes, maximum below startup, weight -1 ...)."""
    return VmSettings(dynamic=draw(st.booleans()), startup_mib=draw(MIB),
                      maximum_mib=draw(MIB), buffer_pct=draw(st.integers(-1, 2100)),
                      weight=draw(st.integers(-1, 10_001)), dm_capable=draw(st.booleans()))


@st.composite
def arbitrary_vm(draw: st.DrawFn, name: str) -> Vm:
    """A VM with every field drawn independently (mostly violating something)."""
    return build_vm(
        name=name, settings=draw(arbitrary_settings()),
        power=draw(st.integers(-1, 2)), visible_mib=draw(MIB), ballooned_mib=draw(SMALL_MIB),
        demand_mib=draw(MIB), has_report=draw(st.booleans()), report_mib=draw(MIB),
        channel=draw(st.integers(-1, 6)), protocol_version=draw(st.integers(0, 0x20001)),
        cap_balloon=draw(st.booleans()), cap_hot_add=draw(st.booleans()),
        hot_add_enabled=draw(st.booleans()), txn=draw(st.integers(-1, 4)),
        txn_mib=draw(SMALL_MIB), txn_done_mib=draw(SMALL_MIB))


@st.composite
def arbitrary_state(draw: st.DrawFn) -> DmState:
    """0..3 VMs named after their slots, arbitrary host and ledger."""
    host = HostSettings(draw(st.integers(-2, 20_000)), draw(st.integers(-2, 20_000)))
    vms = tuple(draw(arbitrary_vm(f"vm{i}")) for i in range(draw(st.integers(0, SLOTS))))
    return DmState(host=host, free_mib=draw(st.integers(-100, 20_000)), vms=vms)


def reachable_run(seed: int, length: int) -> list[tuple[DmState, Event, DmState]]:
    """A random reference run (no admin events, so VMs keep their slot names and order)."""
    rng = random.Random(seed)
    vm_settings = [VmSettings(dynamic=rng.random() < 0.8, startup_mib=rng.randrange(32, 2048, 2),
                              maximum_mib=rng.choice([2048, 4096, 65536]),
                              weight=rng.choice([1000, 5000, 9000]))
                   for _ in range(rng.randint(0, SLOTS))]
    state = initial_state(HostSettings(8192, 1024),
                          tuple((f"vm{i}", s) for i, s in enumerate(vm_settings)))
    run = []
    for _ in range(length):
        events = enabled_events(state, demands=(rng.randrange(0, 9000),),
                                adversarial=rng.random() < 0.5)
        if not events:
            break
        event = rng.choice(events)
        after = step(state, event).state
        run.append((state, event, after))
        state = after
    return run


PERTURBABLE = ("visible_mib", "ballooned_mib", "txn_mib", "txn_done_mib", "channel", "txn",
               "power")


@st.composite
def perturbed(draw: st.DrawFn, state: DmState) -> DmState:
    """``state`` with nothing, one VM field, or the ledger changed."""
    choice = draw(st.sampled_from(["none", "vm", "free"]))
    if choice == "free":
        return attrs.evolve(state, free_mib=state.free_mib + draw(st.integers(-4, 4)))
    if choice == "none" or not state.vms:
        return state
    index = draw(st.integers(0, len(state.vms) - 1))
    field = draw(st.sampled_from(PERTURBABLE))
    value = getattr(state.vms[index], field) + draw(st.integers(-3, 3))
    with attrs.validators.disabled():
        vm = attrs.evolve(state.vms[index], **{field: value})
    return attrs.evolve(state, vms=tuple(vm if i == index else v
                                         for i, v in enumerate(state.vms)))


@st.composite
def near_reachable_state(draw: st.DrawFn) -> DmState:
    """A state the reference reaches, possibly perturbed in one field."""
    run = reachable_run(draw(st.integers(0, 10_000)), draw(st.integers(0, 60)))
    state = run[-1][2] if run else initial_state(HostSettings(8192, 1024))
    return draw(perturbed(state))


def any_event(name: str, mib: int) -> list[Event]:
    """One event of each kind a two-state clause may distinguish, acting on ``name``."""
    return [BalloonResponse(name, mib, more_pages=mib % 4 == 0), BalloonRequest(name, mib),
            UnballoonRequest(name, mib), UnballoonResponse(name), HotAddRequest(name, mib),
            HotAddResponse(name, mib), Stop(name), Start(name), Demand(name, mib),
            StatusReport(name, mib), Configure(name, VmSettings()), BalancerTick()]


@st.composite
def arbitrary_step(draw: st.DrawFn) -> tuple[DmState, Event, DmState]:
    """An arbitrary pre state, a post state sharing its host and names, and any event."""
    pre = draw(arbitrary_state())
    if draw(st.booleans()):
        post = draw(arbitrary_state())
        post = attrs.evolve(post, host=pre.host)
    else:
        post = draw(perturbed(draw(perturbed(pre))))
        if pre.vms and draw(st.booleans()):  # settings change (INV-CONFIG's pair clause)
            with attrs.validators.disabled():  # a perturbed VM may hold a negative amount
                vm = attrs.evolve(post.vms[0], settings=draw(arbitrary_settings()))
            post = attrs.evolve(post, vms=(vm, *post.vms[1:]))
    name = draw(st.sampled_from(["vm0", "vm1", "vm2", "other"]))
    event = draw(st.sampled_from(any_event(name, draw(SMALL_MIB))))
    return pre, event, post


@st.composite
def near_reachable_step(draw: st.DrawFn) -> tuple[DmState, Event, DmState]:
    """A step the reference takes, its post state possibly perturbed in one field."""
    run = reachable_run(draw(st.integers(0, 10_000)), draw(st.integers(1, 60)))
    if not run:
        pre = initial_state(HostSettings(8192, 1024), (("vm0", VmSettings()),))
        return pre, Start("vm0"), step(pre, Start("vm0")).state
    pre, event, post = run[-1]
    return pre, event, draw(perturbed(post))


# --- agreement -----------------------------------------------------------------------------------


@SETTINGS
@given(state=st.one_of(arbitrary_state(), near_reachable_state()))
def test_state_invariants_agree_on_random_states(state: DmState) -> None:
    """INV-*: Z3 forces every state invariant to its concrete truth value under bind."""
    assert state_disagreements(state) == []


@SETTINGS
@given(triple=st.one_of(arbitrary_step(), near_reachable_step()))
def test_step_invariants_agree_on_random_steps(triple: tuple[DmState, Event, DmState]) -> None:
    """INV-*: Z3 forces every two-state invariant to its concrete truth value under bind."""
    pre, event, post = triple
    check_slot_names(pre, post)
    assert step_disagreements(pre, event, post) == []


def test_the_agreement_check_can_fail() -> None:
    """INV-*: a symbolic reading that differs from the concrete one is reported by id."""
    state = initial_state(HostSettings(8192, 1024), (("vm0", VmSettings()),))
    wrong = {"planted-x": z3.BoolVal(False)}
    assert disagreements(wrong, {"planted-x": True}, bind(SYM, state)) == ["planted-x"]
    # An unbound variable leaves the term free: not forced, so also reported.
    free = {"planted-y": z3.Int("unbound") > 0}
    assert disagreements(free, {"planted-y": True}, bind(SYM, state)) == ["planted-y"]


# --- every clause can fail -----------------------------------------------------------------------


def base() -> DmState:
    """A valid reachable state: vm0 dynamic READY at 3072 MiB, vm1 static running, vm2 off."""
    vms = (("vm0", VmSettings(dynamic=True, startup_mib=1024, maximum_mib=4096)),
           ("vm1", VmSettings(dynamic=False, startup_mib=1024, maximum_mib=1024)),
           ("vm2", VmSettings(dynamic=True, startup_mib=512, maximum_mib=1024)))
    state = initial_state(HostSettings(8192, 1024), vms)
    for event in (Start("vm0"), VersionRequest("vm0", 0x20000), CapabilitiesReport("vm0"),
                  QuietPeriodEnd("vm0"), Demand("vm0", 3000), StatusReport("vm0", 3000),
                  BalancerTick(), HotAddResponse("vm0", 2048), Start("vm1")):
        result = step(state, event)
        assert result.accepted, result.reason
        state = result.state
    assert (state.vms[0].assigned_mib, state.free_mib) == (3072, 3072)
    assert check_state(state) == []
    return state


def ballooning(done: int) -> DmState:
    """``base`` with a 512 MiB balloon of vm0 in flight, ``done`` MiB of it received."""
    state = step(base(), BalloonRequest("vm0", 512)).state
    if done:
        state = step(state, BalloonResponse("vm0", done, more_pages=True)).state
    assert (state.vms[0].txn, state.vms[0].txn_done_mib) == (TxnKind.BALLOON, done)
    return state


def hot_adding() -> DmState:
    """``base`` with a 512 MiB hot-add of vm0 in flight."""
    state = step(base(), HotAddRequest("vm0", 512)).state
    assert (state.vms[0].txn, state.vms[0].txn_mib) == (TxnKind.HOT_ADD, 512)
    return state


def with_vm(state: DmState, index: int, **fields: Any) -> DmState:
    """``state`` with VM ``index``'s fields replaced (validators off: any value)."""
    with attrs.validators.disabled():
        vm = attrs.evolve(state.vms[index], **fields)
    return attrs.evolve(state, vms=tuple(vm if i == index else v
                                         for i, v in enumerate(state.vms)))


def with_settings(state: DmState, index: int, **fields: Any) -> DmState:
    return with_vm(state, index, settings=attrs.evolve(state.vms[index].settings, **fields))


StateWitness = Callable[[], DmState]
StepWitness = Callable[[], tuple[DmState, Event, DmState]]

# (invariant id, clause name) -> builders of states or steps that break exactly that clause
# (possibly others too). Every clause of the registry must have at least one.
STATE_WITNESSES: dict[tuple[str, str], list[StateWitness]] = {
    ("INV-TYPE", "amounts >= 0"): [lambda: with_vm(base(), 0, demand_mib=-2)],
    ("INV-TYPE", "enumerations in range"): [
        lambda: with_vm(base(), 1, channel=7), lambda: with_vm(base(), 0, txn=4),
        lambda: with_vm(base(), 2, power=4)],
    ("INV-TYPE", "reserve within physical"): [
        lambda: attrs.evolve(base(), host=HostSettings(8192, 8194))],
    ("INV-FLOOR", "running dynamic => assigned >= startup"): [
        lambda: with_vm(base(), 0, ballooned_mib=2050)],
    ("INV-CEILING", "assigned <= visible"): [lambda: with_vm(base(), 0, ballooned_mib=-2)],
    ("INV-CEILING", "visible <= maximum"): [lambda: with_vm(base(), 0, visible_mib=4098)],
    ("INV-PHYSICAL", "reserve + owned <= physical"): [
        lambda: attrs.evolve(base(), host=HostSettings(5118, 1024), free_mib=0)],
    ("INV-CONSERVATION", "free + reserve + owned = physical"): [
        lambda: attrs.evolve(base(), free_mib=3074),
        lambda: attrs.evolve(base(), free_mib=3070)],
    ("INV-STATIC", "running static => visible = assigned = startup"): [
        lambda: with_vm(base(), 1, visible_mib=2048),
        lambda: with_vm(base(), 1, ballooned_mib=2)],
    ("INV-STATIC", "static => no channel, no transaction"): [
        lambda: with_vm(base(), 1, channel=Channel.READY),
        lambda: with_vm(base(), 1, txn=TxnKind.HOT_ADD, txn_mib=2)],
    ("INV-OFF", "off => owns nothing"): [
        lambda: with_vm(base(), 2, visible_mib=512),
        lambda: with_vm(base(), 2, channel=Channel.NEGOTIATING),
        lambda: with_vm(base(), 2, txn=TxnKind.BALLOON)],
    ("INV-ONE-TXN", "transaction => channel READY"): [
        lambda: with_vm(ballooning(0), 0, channel=Channel.QUIET),
        lambda: with_vm(ballooning(0), 0, power=Power.OFF)],
    ("INV-CONFIG", "settings in range"): [
        lambda: with_settings(base(), 2, startup_mib=511, maximum_mib=1023),
        lambda: with_settings(base(), 2, buffer_pct=4),
        lambda: with_settings(base(), 2, weight=10_001),
        lambda: with_settings(base(), 2, maximum_mib=65_538),
        lambda: with_settings(base(), 2, startup_mib=30),
        lambda: with_settings(base(), 2, maximum_mib=510)],
    ("AUX-TXN", "idle => no amounts"): [lambda: with_vm(base(), 0, txn_mib=2)],
    ("AUX-TXN", "balloon keeps the floor"): [
        lambda: with_vm(ballooning(0), 0, txn_mib=2050),
        lambda: with_vm(ballooning(0), 0, txn_done_mib=512)],
    ("AUX-TXN", "grant fits"): [
        lambda: with_vm(base(), 0, txn=TxnKind.HOT_ADD, txn_mib=1026),
        lambda: with_vm(base(), 0, txn=TxnKind.UNBALLOON, txn_mib=2),
        lambda: with_vm(base(), 0, txn=TxnKind.HOT_ADD, txn_mib=2, txn_done_mib=2)],
    ("AUX-FREE", "free >= 0"): [lambda: attrs.evolve(base(), free_mib=-2)],
    ("INV-NO-DM-STARTUP", "running without DM => at startup, no channel"): [
        lambda: with_settings(base(), 0, dm_capable=False)],
    ("INV-SESSION", "not READY => nothing ballooned"): [
        lambda: with_vm(base(), 0, channel=Channel.NEGOTIATING, ballooned_mib=2)],
    ("INV-SESSION", "new session or off => no report"): [
        lambda: with_vm(base(), 0, channel=Channel.NEGOTIATING),
        lambda: with_vm(base(), 2, has_report=True)],
    ("INV-ADVERTISED", "balloon pages => cap_balloon"): [
        lambda: with_vm(ballooning(0), 0, cap_balloon=False),
        lambda: with_vm(base(), 0, cap_balloon=False, ballooned_mib=2),
        lambda: with_vm(base(), 0, cap_balloon=False, ballooned_mib=2, txn=TxnKind.UNBALLOON,
                        txn_mib=2)],
    ("INV-ADVERTISED", "hot-add in flight => cap_hot_add"): [
        lambda: with_vm(hot_adding(), 0, cap_hot_add=False)],
    ("INV-NO-HOT-ADD-AFTER-PARTIAL", "hot-add in flight => hot-add enabled"): [
        lambda: with_vm(hot_adding(), 0, hot_add_enabled=False)],
    ("INV-UNBALLOON-FIRST", "hot-add in flight => nothing ballooned"): [
        lambda: with_vm(hot_adding(), 0, ballooned_mib=2)],
    ("INV-HOT-ADD-ALIGNED", "alignment 2^k MiB, 2 MiB to 32 GiB"): [
        lambda: with_vm(base(), 0, hot_add_align_mib=96),
        lambda: with_vm(base(), 0, hot_add_align_mib=1)],
    ("INV-HOT-ADD-ALIGNED", "hot-add in flight => aligned"): [
        lambda: with_vm(hot_adding(), 0, hot_add_align_mib=4096)],
    ("INV-HOT-ADD-ALIGNED", "hot-add in flight => whole 2 MiB units"): [
        lambda: with_vm(hot_adding(), 0, txn_mib=511)],
    ("INV-VERSION", "connected => version accepted by the host"): [
        lambda: attrs.evolve(base(), host=HostSettings(8192, 1024, HostProfile.WS2008R2SP1)),
        lambda: with_vm(base(), 0, protocol_version=0x7)],
    ("AUX-LIFECYCLE", "saved image fits"): [
        lambda: with_vm(base(), 2, power=Power.SAVED, saved_mib=256),
        lambda: with_vm(base(), 2, saved_mib=512)],
    ("AUX-LIFECYCLE", "stuck => transaction"): [lambda: with_vm(base(), 0, stuck=True)],
}

STEP_WITNESSES: dict[tuple[str, str], list[StepWitness]] = {
    ("INV-NO-HOST-PAGING", "assigned drops only by balloon response"): [
        # memory taken from a running VM by anything but its balloon response
        lambda: (base(), StatusReport("vm0", 10), with_vm(base(), 0, ballooned_mib=512)),
        # a balloon response taking more than the balloon still outstanding
        lambda: (ballooning(0), BalloonResponse("vm0", 514),
                 with_vm(ballooning(0), 0, ballooned_mib=514, txn=TxnKind.NONE, txn_mib=0)),
        # someone else's balloon response
        lambda: (ballooning(0), BalloonResponse("vm1", 2), with_vm(ballooning(0), 0,
                                                                    ballooned_mib=2))],
    ("INV-NO-HOST-PAGING", "visible never shrinks while running"): [
        lambda: (base(), BalancerTick(), with_vm(base(), 0, visible_mib=2048))],
    ("INV-ONE-TXN", "a transaction in flight is never replaced"): [
        # a hot-add sent while a balloon is in flight
        lambda: (ballooning(0), HotAddRequest("vm0", 2),
                 with_vm(ballooning(0), 0, txn=TxnKind.HOT_ADD, txn_mib=2)),
        # a second balloon of another size
        lambda: (ballooning(0), BalloonRequest("vm0", 256), with_vm(ballooning(0), 0,
                                                                     txn_mib=256)),
        # the same balloon sent again after part of it arrived: the progress is lost
        lambda: (ballooning(100), BalloonRequest("vm0", 512),
                 with_vm(ballooning(100), 0, txn_done_mib=0))],
    ("INV-RESTORED", "restore => owns the saved amount"): [
        lambda: (with_vm(base(), 2, power=Power.SAVED, saved_mib=1024), Restore("vm2"),
                 with_vm(base(), 2, power=Power.RUNNING, visible_mib=512))],
    ("INV-NO-HOT-ADD-AFTER-PARTIAL", "a partial hot-add disables hot-add until restart"): [
        # a partial answer (256 of 512 MiB) that leaves hot-add enabled
        lambda: (hot_adding(), HotAddResponse("vm0", 256),
                 with_vm(step(hot_adding(), HotAddResponse("vm0", 256)).state, 0,
                         hot_add_enabled=True)),
        # a channel reset that enables a disabled hot-add again (only a reboot does)
        lambda: (with_vm(base(), 0, hot_add_enabled=False), ChannelReset("vm0"),
                 step(base(), ChannelReset("vm0")).state)],
    ("INV-RECLAIM-ORDER", "a tick squeezes only below a heavier VM"): [
        # while vm2 waits to start, a tick leaves vm0 below its reported demand, no VM
        # weighing more (equal weights never squeeze each other)
        lambda: (with_vm(base(), 2, power=Power.STARTING), BalancerTick(),
                 with_vm(step(base(), BalloonRequest("vm0", 2048)).state, 2,
                         power=Power.STARTING)),
        # the same for a lighter start waiting for reclaim (R-RECLAIM-ORDER)
        lambda: (with_settings(with_vm(base(), 2, power=Power.STARTING), 2, weight=100),
                 BalancerTick(),
                 with_settings(with_vm(step(base(), BalloonRequest("vm0", 2048)).state, 2,
                                       power=Power.STARTING), 2, weight=100))],
    ("INV-CONFIG", "settings change only while off"): [
        lambda: (base(), Configure("vm0", VmSettings()),
                 with_settings(base(), 0, weight=9000)),
        lambda: (base(), Start("vm2"), with_settings(with_vm(base(), 2, power=Power.RUNNING),
                                                     2, dynamic=False))],
}


def test_every_clause_has_a_witness() -> None:
    """INV-*: each clause of every registry entry is broken by some witness below."""
    clauses = {(inv.id, c.name) for inv in INVARIANTS for c in inv.clauses}
    assert clauses == set(STATE_WITNESSES) | set(STEP_WITNESSES)


def _cases(table: Mapping[tuple[str, str], list[Any]]) -> list[Any]:
    return [pytest.param(key, build, id=f"{key[0]}:{key[1]}:{i}")
            for key, builds in table.items() for i, build in enumerate(builds)]


@pytest.mark.parametrize(("key", "build"), _cases(STATE_WITNESSES))
def test_each_state_clause_can_fail(key: tuple[str, str], build: StateWitness) -> None:
    """INV-*: the witness breaks the clause, concretely and symbolically, with a message."""
    inv_id, clause = key
    state = build()
    inv = _by_id(inv_id)
    assert not holds(CONCRETE, inv, state)
    found = [(v.invariant, v.clause) for v in check_state(state)]
    assert key in found
    assert all(v.message for v in check_state(state))
    assert state_disagreements(_slot_named(state)) == []


@pytest.mark.parametrize(("key", "build"), _cases(STEP_WITNESSES))
def test_each_step_clause_can_fail(key: tuple[str, str], build: StepWitness) -> None:
    """INV-*: the witness step breaks the clause, concretely and symbolically, with a message."""
    inv_id, clause = key
    pre, event, post = build()
    inv = _by_id(inv_id)
    assert not holds_step(CONCRETE, inv, pre, event, post)
    violations = check_step(pre, event, post)
    assert key in [(v.invariant, v.clause) for v in violations]
    assert all(v.message for v in violations)
    assert step_disagreements(pre, event, post) == []


def test_the_witness_base_breaks_nothing() -> None:
    """INV-*: every invariant holds on the unperturbed witness states and steps."""
    for state in (base(), ballooning(0), ballooning(100), hot_adding()):
        assert all(holds(CONCRETE, inv, state) for inv in INVARIANTS)
        assert state_disagreements(state) == []
    pre = base()
    for event in (BalloonRequest("vm0", 512), Stop("vm0"), Demand("vm0", 10)):
        post = step(pre, event).state
        assert check_step(pre, event, post) == []
        assert step_disagreements(pre, event, post) == []
    # a reboot enables a disabled hot-add again (R-RESTART); a full answer keeps it enabled
    for pre, event in ((with_vm(base(), 0, hot_add_enabled=False), GuestRestart("vm0")),
                       (hot_adding(), HotAddResponse("vm0", 512))):
        post = step(pre, event).state
        assert post.vms[0].hot_add_enabled
        assert check_step(pre, event, post) == []
        assert step_disagreements(pre, event, post) == []


def _by_id(inv_id: str) -> Invariant:
    return next(inv for inv in INVARIANTS if inv.id == inv_id)


def _slot_named(state: DmState) -> DmState:
    check_slot_names(state)
    return state


def test_symbolic_state_has_the_slots_the_tests_assume() -> None:
    """INV-*: the symbolic states have 3 slots named vm0..vm2 sharing one host."""
    assert isinstance(SYM, SymState)
    assert [vm.name for vm in SYM.vms] == ["vm0", "vm1", "vm2"]
    assert SYM_POST.host is SYM_PRE.host
