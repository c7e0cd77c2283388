"""The Z3 encodings of proof obligations: a group's premises, goals and decoder.

A group (verification/symbolic/obligations.py) becomes an :class:`Encoding`: premises
(label, term) asserted once, one goal per invariant, and a decoder that turns a Z3 model into
a reference ``Trace``. ``n_vms=None`` selects the any-N decomposition (model/decomposition.py):
one slot plus the abstract rest, valid for every number of VMs.

Slicing (concrete N, per-slot actions): the untouched slots' VM clauses are dropped from
the premises, and so are the same clauses in the goal, where they are the very same Z3
terms (the successor reuses the pre-state's terms for every field the action does not
declare). Dropping premises only weakens a query, so an unsat answer is still a proof; a
sat answer is re-checked on the full query before any counterexample is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import attrs
import z3

from dynmem.model.actions import is_initial
from dynmem.model.decomposition import AnyNState, SlotState, make_any_n_state, make_rest_top
from dynmem.model.instances import Instance, get_guards
from dynmem.model.invariants import Clause, Invariant
from dynmem.model.ops import Ops
from dynmem.model.quantities import owned
from dynmem.model.state import SymState, make_host, make_state, make_vm
from dynmem.model.symbolic_ops import SYMBOLIC, get_symbolic
from dynmem.model.symbolic_steps import compute_post, make_instance
from dynmem.model.units import MIB
from dynmem.model.vocabulary import MAX_MAXIMUM_MIB, MIN_STARTUP_MIB, Power
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import Vm
from dynmem.verification.symbolic.decode import decode_event, raw_state, state_from_raw, value_of
from dynmem.verification.symbolic.obligations import (
    LEMMAS,
    Group,
    Model,
    state_clauses,
)
from dynmem.verification.traces.trace import Finding, Trace, TraceStep, check_transition

Decoder = Callable[[z3.ModelRef], tuple[Trace | None, tuple[tuple[str, Any], ...]]]


@attrs.frozen
class Encoding:
    """A group's premises (label, term), its goals (invariant -> [(clause, term)]), a decoder."""

    premises: list[tuple[str, Any]]
    goals: dict[str, list[tuple[str, Any]]]
    decode: Decoder


@attrs.frozen
class _SymEvent:
    """The event as two-state clauses see it: its kind and the acting VM's name."""

    KIND: str
    vm: str


def _premise_label(inv: Invariant, clause: Clause) -> str:
    return f"{inv.id}: {clause.name}"


def _pair_term(ops: Ops, clause: Clause, event: Any, a: Any, b: Any) -> Any:
    return ops.all_pairs((a,), (b,), lambda x, y: clause.holds(ops, event, x, y))


def _step_term(ops: Ops, clause: Clause, event: Any, pre: Any, post: Any) -> Any:
    term = clause.holds(ops, event, pre, post)
    return z3.BoolVal(term) if isinstance(term, bool) else term


def _guards(ops: Ops, inst: Instance, pre: Any) -> list[tuple[str, Any]]:
    # a tick's per-slot guards are reported by name, whatever the slot
    return [(f"guard {inst.action.name}: {g.label.split(': ', 1)[-1]}", g.term)
            for g in get_guards(ops, inst, pre)]


# ----- concrete N: per-slot terms are memoized per process (a successor reuses the
# pre-state's slot objects for every slot the action leaves alone)


class _MemoSymbolic(type(SYMBOLIC)):  # type: ignore[misc]
    """The symbolic operators, with Σ summands memoized per (function, slot object).

    A (pure) lambda is identified by its code and the objects it closes over; the memo keeps
    those objects and the slot alive, so their ids are never reused for other objects.
    """

    def __init__(self, units: Any = MIB) -> None:
        super().__init__(units)
        self._summands: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}

    def total(self, vms: Sequence[Any], fn: Callable[[Any], Any]) -> Any:
        captured = tuple(c.cell_contents for c in (fn.__closure__ or ()))
        key = (fn.__code__, *map(id, captured))
        terms = []
        for vm in vms:
            hit = self._summands.get((*key, id(vm)))
            if hit is None:
                hit = (vm, captured, z3.If(vm.exists, fn(vm), 0))
                self._summands[(*key, id(vm))] = hit
            terms.append(hit[2])
        return self.Sum(terms)


class _StateRead(Exception):
    """Raised by :class:`_Tripwire` when a VM clause reads its state argument."""


class _Tripwire:
    """A stand-in state that raises on any attribute read."""

    def __getattr__(self, name: str) -> Any:
        raise _StateRead(name)


class _SlotTerms:
    """Memo of ``exists => clause(vm)`` per (clause, slot object) for one model.

    Only clauses that do not read their state argument are memoized (checked once per
    clause with a tripwire state); the others are rebuilt for every state.
    """

    def __init__(self, units: Any = MIB) -> None:
        self._memo: dict[tuple[int, int], tuple[Any, Any]] = {}
        self._local: dict[int, bool] = {}
        self.ops = _MemoSymbolic(units)

    def is_local(self, clause: Clause, vm: Any) -> bool:
        if id(clause) not in self._local:
            try:
                clause.holds(self.ops, _Tripwire(), vm)
                self._local[id(clause)] = True
            except _StateRead:
                self._local[id(clause)] = False
        return self._local[id(clause)]

    def vm_term(self, clause: Clause, state: Any, vm: Any) -> Any:
        if not self.is_local(clause, vm):
            return z3.Implies(vm.exists, clause.holds(self.ops, state, vm))
        key = (id(clause), id(vm))
        hit = self._memo.get(key)
        if hit is None:  # the memo keeps vm alive, so its id is not reused
            hit = (vm, z3.Implies(vm.exists, clause.holds(self.ops, state, vm)))
            self._memo[key] = hit
        return hit[1]


@lru_cache(maxsize=8)
def _concrete_base(model: Model, n_vms: int) -> tuple[SymState, _SlotTerms]:
    return make_state(n_vms, "@pre"), _SlotTerms(model.units)


def _state_clause(memo: _SlotTerms, clause: Clause, state: Any,
                  slots: Sequence[int] | None = None) -> Any:
    if clause.scope == "host":
        return clause.holds(memo.ops, state)
    # slicing keeps a clause that reads the state on every slot: the state changed for all
    local = memo.is_local(clause, state.vms[0]) if state.vms else True
    chosen = range(len(state.vms)) if slots is None or not local else slots
    return z3.And(*[memo.vm_term(clause, state, state.vms[k]) for k in chosen])


def _encode_concrete(group: Group, model: Model, sliced: bool) -> Encoding:
    assert group.n_vms is not None
    pre, memo = _concrete_base(model, group.n_vms)
    ops = get_symbolic(model.units)
    if group.kind == "initiation":
        goals = {i: [(c.name, _state_clause(memo, c, pre))
                     for c in state_clauses(model.invariant(i))] for i in group.invariants}
        return Encoding([("Init", is_initial(ops, pre))], goals,
                         lambda m: _decode_state_only(m, pre, model))
    if group.kind == "lemma":
        return _encode_lemma(group.invariants[0], model)
    assert group.action is not None
    inst = make_instance(model.action(group.action), group.n_vms, group.slot, "@step")
    post = compute_post(inst, pre, ops)
    touched = [k for k in range(group.n_vms) if post.vms[k] is not pre.vms[k]]
    kept = touched if sliced else None
    premises = [(_premise_label(inv, c), _state_clause(memo, c, pre, kept))
                for inv in model.invariants for c in state_clauses(inv)]
    premises += _guards(ops, inst, pre)
    if inst.action.aggregate is not None:
        premises.append(("L-TICK-OWNED (every VM)", _tick_owned(ops, inst, pre, post)))
    event = _SymEvent(inst.action.kind, "" if inst.slot is None else pre.vms[inst.slot].name)
    goals = {}
    for inv_id in group.invariants:
        inv = model.invariant(inv_id)
        terms = [(c.name, _state_clause(memo, c, post, kept)) for c in state_clauses(inv)]
        terms += [(c.name, _step_term(ops, c, event, pre, post))
                  for c in inv.clauses if c.scope == "step"]
        for c in (c for c in inv.clauses if c.scope == "pair"):
            # on an untouched VM, a two-state clause holds by L-PAIR-REFLEXIVE
            pairs = [_pair_term(ops, c, event, pre.vms[k], post.vms[k])
                     for k in (kept if kept is not None else range(group.n_vms))]
            terms.append((c.name, z3.And(*pairs)))
        goals[inv_id] = terms
    return Encoding(premises, goals, lambda m: _decode_step(m, inst, pre, post, model))


def _tick_owned(ops: Ops, inst: Instance, pre: Any, post: Any) -> Any:
    """L-TICK-OWNED for every slot, stated over the very summands of Σ owned and Σ taken
    (``If(exists, ...)``), so the host clauses follow by linear arithmetic alone."""
    agg = inst.action.aggregate
    assert agg is not None

    def summand(vm: Any, value: Any) -> Any:
        return z3.If(vm.exists, value, 0)

    return z3.And(*[summand(b, owned(ops, b)) == summand(a, owned(ops, a))
                    + summand(a, agg.taken(ops, a, p))
                    for a, b, p in zip(pre.vms, post.vms, inst.params, strict=True)])


# ----- any N: one slot and the abstract rest


@attrs.frozen
class _HostConstants:
    """What a VM clause may read of its state in the any-N proof: the host's constants only
    (free changes on other VMs' steps, the other VMs are abstracted)."""

    host: Any


def _any_n_clause(ops: Ops, clause: Clause, state: AnyNState) -> Any:
    """VM clauses see the host constants and their slot only; host clauses see the slot and
    the rest summary (Σ owned), so a clause that reads more fails loudly."""
    if clause.scope == "vm":
        hv = _HostConstants(state.host)
        return z3.Implies(state.slot.exists, clause.holds(ops, hv, state.slot))
    return clause.holds(ops, state.host_view)


def _encode_any_n(group: Group, model: Model) -> Encoding:
    if group.kind == "lemma":
        return _encode_lemma(group.invariants[0], model)
    pre = make_any_n_state("@pre")
    ops = get_symbolic(model.units)
    if group.kind == "initiation":
        premises = [("Init", is_initial(ops, pre.slot_state)),
                    # L-INIT-OWNED: in an initial state every other VM owns nothing
                    ("L-INIT-OWNED: the rest owns 0", pre.rest_owned == 0)]
        goals = {i: [(c.name, _any_n_clause(ops, c, pre))
                     for c in state_clauses(model.invariant(i))]
                 for i in group.invariants}
        return Encoding(premises, goals, lambda m: _decode_any_n(m, None, pre, pre, model))
    assert group.action is not None
    action = model.action(group.action)
    inst = make_instance(action, 1, None if action.scope == "all" else 0, "@step")
    premises = [(_premise_label(inv, c), _any_n_clause(ops, c, pre))
                for inv in model.invariants for c in state_clauses(inv)]
    # L-OWNED-NONNEG, applied to every other VM
    premises.append(("L-OWNED-NONNEG: the rest owns >= 0", pre.rest_owned >= 0))
    rest_taken: Any = 0
    rest_top: Any = 0
    rest_waits: Any = False
    if action.aggregate is not None:
        rest_taken = z3.Int("rest.taken_mib@step")
        # the rest's highest live weight: any value (R-RECLAIM-ORDER reads it in the guard
        # and in INV-RECLAIM-ORDER alike)
        rest_top = z3.Int("rest.top_weight@step")
        rest_waits = z3.Bool("rest.start_waits@step")
        inst = attrs.evolve(inst, outside_taken=rest_taken, outside_top_weight=rest_top,
                            outside_start_waits=rest_waits)
        # R-REQUEST-3: each request to another VM is positive
        premises.append(("R-REQUEST-3: the rest's requests take >= 0", rest_taken >= 0))
    premises += _guards(ops, inst, pre.slot_state)
    after: SlotState = compute_post(inst, pre.slot_state, ops)
    # the other VMs own what they took (L-TICK-OWNED), or are untouched (the frame)
    post = AnyNState(pre.host, after.free_mib, after.vms[0], pre.rest_owned + rest_taken)
    event = _SymEvent(action.kind, "" if inst.slot is None else pre.slot.name)
    goals = {}
    for inv_id in group.invariants:
        inv = model.invariant(inv_id)
        terms = [(c.name, _any_n_clause(ops, c, post)) for c in state_clauses(inv)]
        terms += [(c.name, _pair_term(ops, c, event, pre.slot, post.slot))
                  for c in inv.clauses if c.scope == "pair"]
        rest = make_rest_top(rest_top, rest_waits)
        terms += [(c.name, _step_term(ops, c, event,
                                      SymState(pre.host, pre.free_mib, (pre.slot, rest)),
                                      SymState(post.host, post.free_mib, (post.slot, rest))))
                  for c in inv.clauses if c.scope == "step"]
        goals[inv_id] = terms
    return Encoding(premises, goals, lambda m: _decode_any_n(m, inst, pre, post, model))


def _encode_lemma(lemma: str, model: Model) -> Encoding:
    host = make_host()
    free = z3.Int("host.free_mib@pre")
    slot = make_vm(0, "@pre")
    one = SlotState(host, free, (slot,))
    ops = get_symbolic(model.units)
    premises: list[tuple[str, Any]] = [("slot holds a VM", slot.exists)]
    goal: Any
    if lemma == "L-OWNED-NONNEG":
        premises += [(_premise_label(inv, c), c.holds(ops, _HostConstants(host), slot))
                     for inv in model.invariants for c in inv.clauses if c.scope == "vm"]
        goal = owned(ops, slot) >= 0
    elif lemma == "L-INIT-OWNED":
        premises.append(("Init", is_initial(ops, one)))
        goal = owned(ops, slot) == 0
    elif lemma == "L-PAIR-REFLEXIVE":
        goal = z3.And(*[c.holds(ops, _SymEvent(a.kind, name), slot, slot)
                        for inv in model.invariants for c in inv.clauses if c.scope == "pair"
                        for a in model.actions for name in (slot.name, "other")])
    elif lemma == "L-TICK-OWNED":
        goal = z3.BoolVal(True)
        for action in (a for a in model.actions if a.aggregate is not None):
            inst = make_instance(action, 1, None, "@step")
            premises += _guards(ops, inst, one)
            goal = z3.And(goal, _tick_owned(ops, inst, one, compute_post(inst, one, ops)))
    else:
        raise ValueError(f"unknown lemma {lemma!r}; known: {', '.join(LEMMAS)}")
    view = SymState(host, free, (slot,))
    return Encoding(premises, {lemma: [(LEMMAS[lemma], goal)]},
                     lambda m: _decode_state_only(m, view, model))


# --- decoding counterexamples ------------------------------------------------------------------


# A counterexample in pages is shown as raw values: the reference, which renders and
# re-checks traces, counts in MiB.
_IN_PAGES = ("amounts", "4 KiB pages (settings too: MiB x 256)")


def _decode_state_only(m: z3.ModelRef, sym: Any, model: Model
                       ) -> tuple[Trace | None, tuple[tuple[str, Any], ...]]:
    raw = raw_state(m, sym)
    if model.units != MIB:
        return None, (("state", raw), _IN_PAGES)
    try:
        return Trace(state_from_raw(raw), source="prove", notes=(("cti", True),)), (("state", raw),)
    except (ValueError, TypeError):
        return None, (("state", raw),)


def _decode_step(m: z3.ModelRef, inst: Instance, pre: Any, post: Any, model: Model,
                 extra: tuple[tuple[Any, ...], tuple[Any, ...]] = ((), ()),
                 notes: tuple[tuple[str, Any], ...] = ()
                 ) -> tuple[Trace | None, tuple[tuple[str, Any], ...]]:
    raw_pre, raw_post = raw_state(m, pre), raw_state(m, post)
    event, sent = decode_event(m, inst, pre)
    raw = (("pre", raw_pre), ("event", event), ("sent", sent), ("post", raw_post), *notes)
    if model.units != MIB:
        return None, (*raw, _IN_PAGES)
    try:
        before = state_from_raw(raw_pre, extra[0])
        after = state_from_raw(raw_post, extra[1])
    except (ValueError, TypeError):
        return None, raw
    findings = tuple(Finding(1, v) for v in check_transition(before, event, after))
    trace = Trace(before, (TraceStep(event, after, None, sent),), findings, "prove",
                  (("cti", True), *notes))
    return trace, raw


def compute_rest_vms(owned_mib: int) -> tuple[Any, ...] | None:
    """The any-N rest as static running VMs ``rest<i>`` owning ``owned_mib`` in total, or
    None when no such VMs exist (odd, or between 0 and the minimum startup)."""

    if owned_mib == 0:
        return ()
    if owned_mib < MIN_STARTUP_MIB or owned_mib % 2:
        return None
    count = -(-owned_mib // MAX_MAXIMUM_MIB)
    sizes = [owned_mib // count // 2 * 2] * count
    sizes[-1] += owned_mib - sum(sizes)
    return tuple(Vm(name=f"rest{i}", settings=VmSettings(startup_mib=n, maximum_mib=n),
                    power=Power.RUNNING, visible_mib=n) for i, n in enumerate(sizes))


def _decode_any_n(m: z3.ModelRef, inst: Instance | None, pre: AnyNState, post: AnyNState,
                  model: Model) -> tuple[Trace | None, tuple[tuple[str, Any], ...]]:
    before, after = int(value_of(m, pre.rest_owned)), int(value_of(m, post.rest_owned))
    notes = (("rest_owned_mib", (before, after)),)
    view_pre = SymState(pre.host, pre.free_mib, (pre.slot,))
    view_post = SymState(post.host, post.free_mib, (post.slot,))
    if inst is None:
        return _decode_state_only(m, view_pre, model)
    fill_pre, fill_post = compute_rest_vms(before), compute_rest_vms(after)
    if fill_pre is None or fill_post is None:  # the rest cannot be shown as VMs
        return None, _decode_step(m, inst, view_pre, view_post, model, notes=notes)[1]
    return _decode_step(m, inst, view_pre, view_post, model, (fill_pre, fill_post), notes)


# --- one entry point -----------------------------------------------------------------------------


def encode(group: Group, model: Model, sliced: bool) -> Encoding:
    if group.n_vms is None:
        return _encode_any_n(group, model)
    return _encode_concrete(group, model, sliced)
