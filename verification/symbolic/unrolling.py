"""The engine under BMC, witnesses and CTI triage: unroll the model, search by depth, decode.

``unroll`` builds states ``s0..sk`` (fresh Z3 constants per step, one shared host) and the
model's transition relation between each pair (every action × slot, fresh parameters per
step, a selector naming the step taken; ``verification/symbolic/step_encoding.py``, equivalent to
``model.transitions.get_next`` and faster to solve). ``search`` asks
for a path whose last state meets a goal, at depth ``lo``, then ``lo + 1``, ... with ONE FRESH
SOLVER PER DEPTH (tooling-notes §3: push/pop switches Z3's preprocessing off and is slower
here), so the first hit is a SHORTEST path. Facts that must hold on every state before the
last (``lemma``, e.g. "no invariant broken yet", which iterative deepening has shown for
every shorter path) are added to prune the search. ``decode_path`` turns a hit into
reference values: the initial ``DmState`` and, per step, the ``Event`` (for a BalancerTick,
the requests it sent) and the state after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import z3

from dynmem.model.actions import Action
from dynmem.model.fields import SLOT_FIELDS, read_field
from dynmem.model.instances import Instance
from dynmem.model.invariants import Clause, Invariant, is_state_clause
from dynmem.model.params import MINIMAL
from dynmem.model.state import SymState, bind, make_state
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.model.symbolic_steps import NextStep
from dynmem.reference.environment import GuestProfile
from dynmem.reference.events import DmRequest, Event
from dynmem.reference.state import DmState
from dynmem.verification.symbolic.budget import describe_unknown, new_solver, run_check
from dynmem.verification.symbolic.decode import decode_event, raw_state, state_from_raw, value_of
from dynmem.verification.symbolic.scope import Scope
from dynmem.verification.symbolic.step_encoding import get_step


@attrs.frozen
class Unrolling:
    """States ``s0..sk`` and the ``k`` symbolic steps between them."""

    scope: Scope
    states: tuple[SymState, ...]
    steps: tuple[NextStep, ...]

    @property
    def depth(self) -> int:
        return len(self.steps)


def unroll(scope: Scope, actions: Sequence[Action], depth: int) -> Unrolling:
    """``depth`` steps of the model with ``actions`` from ``scope``'s initial states."""
    first = make_state(scope.n_vms, "@0")
    states = [first] + [make_state(scope.n_vms, f"@{i}", first.host) for i in range(1, depth + 1)]
    steps = [get_step(states[i], states[i + 1], f"@{i}", actions) for i in range(depth)]
    return Unrolling(scope, tuple(states), tuple(steps))


def get_path_constraints(u: Unrolling, start: DmState | None = None) -> list[Any]:
    """The initial-state constraints (or, with ``start``, the first state fixed to that
    concrete state), every step's transition relation, and what the guests of the scope's
    profiles never do (``get_profile_constraints``)."""
    first = u.scope.constrain(u.states[0]) if start is None else bind(u.states[0], start)
    return [*first, *(step.formula for step in u.steps), *get_profile_constraints(u)]


# The model's environment is any guest; a profile's guest says only a part of it
# (specs/lifecycle.md §1): the guest actions it never takes at its slot, and the
# capabilities (balloon, hot-add) it reports.
_NEVER: dict[GuestProfile, tuple[str, ...]] = {
    GuestProfile.LINUX_HIBERNATE: ("BalloonResponse", "UnballoonResponse")}
_CAPS: dict[GuestProfile, tuple[bool, bool]] = {GuestProfile.LINUX_HIBERNATE: (True, False)}


def get_profile_constraints(u: Unrolling) -> list[Any]:
    """On every step, the slots of ``u.scope.profiles`` take no action their guest never
    takes, and report only the capabilities it has."""
    profiles = dict(u.scope.profiles)
    found: list[Any] = []
    for step in u.steps:
        for number, inst in enumerate(step.instances):
            profile = profiles.get(inst.slot) if inst.slot is not None else None
            if profile is None:
                continue
            if inst.action.name in _NEVER.get(profile, ()):
                found.append(step.selector != number)
            elif inst.action.name == "CapabilitiesReport" and profile in _CAPS:
                balloon, hot_add = _CAPS[profile]
                found.append(z3.Implies(step.selector == number,
                                        z3.And(inst.params.balloon == balloon,
                                               inst.params.hot_add == hot_add)))
    return found


# --- invariant clauses on an unrolling ---------------------------------------------------------


@attrs.frozen
class EventShape:
    """What a two-state clause reads of a symbolic step's event: its kind and acting VM."""

    KIND: str
    vm: str


def get_event_shape(inst: Instance, pre: SymState) -> EventShape:
    return EventShape(inst.action.kind, "" if inst.slot is None else pre.vms[inst.slot].name)


def get_state_clause(clause: Clause, state: SymState) -> Any:
    """A state clause (scope vm or host) as one Z3 term over ``state``."""
    if clause.scope == "vm":
        return SYMBOLIC.all_vms(state.vms, lambda vm: clause.holds(SYMBOLIC, state, vm))
    return clause.holds(SYMBOLIC, state)


def _pair_term(clause: Clause, shape: EventShape, pre: SymState, post: SymState) -> Any:
    if clause.scope == "step":  # the step as a whole (a tick reads every VM)
        term = clause.holds(SYMBOLIC, shape, pre, post)
        return z3.BoolVal(term) if isinstance(term, bool) else term
    return SYMBOLIC.all_pairs(pre.vms, post.vms, lambda a, b: clause.holds(SYMBOLIC, shape, a, b))


def get_pair_clause(clause: Clause, u: Unrolling, index: int) -> Any:
    """A two-state clause on step ``index`` (from ``s[index]`` to ``s[index + 1]``).

    The clause may read the event, which the selector chooses: the term is, per event shape,
    "if one of these instances was taken, the clause holds" (shapes giving the same term,
    e.g. every shape for a clause that ignores the event, share one case).
    """
    pre, post, step = u.states[index], u.states[index + 1], u.steps[index]
    cases: dict[int, tuple[Any, list[int]]] = {}
    for number, inst in enumerate(step.instances):
        term = _pair_term(clause, get_event_shape(inst, pre), pre, post)
        cases.setdefault(term.get_id(), (term, []))[1].append(number)
    if len(cases) == 1:
        return next(iter(cases.values()))[0]
    return z3.And(*[z3.Implies(z3.Or(*[step.selector == n for n in numbers]), term)
                    for term, numbers in cases.values()])


def get_clauses_at(invariants: Sequence[Invariant], u: Unrolling, index: int
                   ) -> list[tuple[str, Any]]:
    """``(label, term)`` for every clause of ``invariants`` at state ``index``: the state
    clauses on ``s[index]`` and the two-state clauses on the step that led to it."""
    found = []
    for inv in invariants:
        for clause in inv.clauses:
            label = f"{inv.id}: {clause.name}"
            if is_state_clause(clause):
                found.append((label, get_state_clause(clause, u.states[index])))
            elif index > 0:
                found.append((label, get_pair_clause(clause, u, index - 1)))
    return found


def is_action_taken(u: Unrolling, index: int, action_names: Sequence[str],
                    slot: int | None = None) -> Any:
    """Step ``index`` is one of ``action_names`` (at ``slot``, when given)."""
    step = u.steps[index]
    numbers = [n for n, inst in enumerate(step.instances)
               if inst.action.name in action_names and (slot is None or inst.slot == slot)]
    return z3.Or(*[step.selector == n for n in numbers]) if numbers else z3.BoolVal(False)


def is_state_changed(pre: SymState, post: SymState) -> Any:
    """The host's ledger, which slots hold a VM, or a field of a VM differs between ``pre``
    and ``post`` (the fields of an empty slot are not part of the state)."""
    diffs = [post.free_mib != pre.free_mib]
    for a, b in zip(pre.vms, post.vms, strict=True):
        fields = [read_field(b, f) != read_field(a, f) for f in SLOT_FIELDS if f != "exists"]
        diffs += [a.exists != b.exists, z3.And(b.exists, z3.Or(*fields))]
    return z3.Or(*diffs)


# --- iterative deepening -------------------------------------------------------------------------

# Z3's older arithmetic solver (2) decides these unrollings about 1.7x faster than the
# default one on this model (measured: benchmarks/bench_bmc.py); set per solver, not globally.
ARITH_SOLVER = 2

Goal = Callable[[Unrolling], Any]
Lemma = Callable[[Unrolling, int], Any]


@attrs.frozen
class Hit:
    """A path to the goal of the SHORTEST length ``depth`` (every shorter depth was unsat)."""

    depth: int
    unrolling: Unrolling
    model: z3.ModelRef
    seconds: float


@attrs.frozen
class Miss:
    """No path of length ``lo..depth`` reaches the goal (bounded: not a proof)."""

    depth: int
    seconds: float


@attrs.frozen
class Stuck:
    """Z3 answered unknown (its budget ran out) at ``depth``: never read as "no path"."""

    depth: int
    reason: str
    seconds: float


Progress = Callable[[int, str, float], None]


def search(scope: Scope, actions: Sequence[Action], depths: range, goal: Goal,
           lemma: Lemma | None = None, rlimit: int = MINIMAL.rlimit,
           progress: Progress | None = None, start: DmState | None = None
           ) -> Hit | Miss | Stuck:
    """The shortest path (depth in ``depths``, ascending) whose last state meets ``goal``.

    The path starts in one of ``scope``'s initial states, or in the concrete state
    ``start`` (a reachable one, for the path to be). ``lemma(u, i)`` is assumed on state
    ``i`` for ``i < depth`` (it must hold on the prefix of a shortest path, or the search may
    miss one). Each depth's query may use ``rlimit`` units of Z3 work.
    ``progress(depth, verdict, seconds)`` is called after each depth.
    """
    started = time.perf_counter()
    for depth in depths:
        began = time.perf_counter()
        u = unroll(scope, actions, depth)
        solver = new_solver(rlimit)
        solver.set("arith.solver", ARITH_SOLVER)
        solver.add(*get_path_constraints(u, start))
        if lemma is not None:
            solver.add(*[lemma(u, i) for i in range(depth)])
        solver.add(goal(u))
        result, used = run_check(solver)
        spent = time.perf_counter() - began
        if progress is not None:
            progress(depth, str(result), spent)
        if result == z3.sat:
            return Hit(depth, u, solver.model(), time.perf_counter() - started)
        if result != z3.unsat:
            origin = "" if start is None else ", from a reached state"
            what = f"the depth-{depth} query ({scope.name} scope{origin})"
            return Stuck(depth, describe_unknown(solver, what, used, rlimit),
                         time.perf_counter() - started)
    return Miss(depths[-1] if len(depths) else 0, time.perf_counter() - started)


# --- decoding a path ----------------------------------------------------------------------------


@attrs.frozen
class ModelStep:
    """One decoded step: the action and slot taken, the event, the requests a tick sent,
    and the state after it (None when its values break TypeOK; ``raw`` has them)."""

    action: str
    slot: int | None
    event: Event
    sent: tuple[DmRequest, ...]
    state: DmState | None
    raw: dict[str, Any]


@attrs.frozen
class ModelPath:
    """A decoded path of the model: the initial state (None if it breaks TypeOK) and steps."""

    initial: DmState | None
    raw_initial: dict[str, Any]
    steps: tuple[ModelStep, ...]


def _decode(model: z3.ModelRef, sym: SymState) -> tuple[DmState | None, dict[str, Any]]:
    raw = raw_state(model, sym)
    try:
        return state_from_raw(raw), raw
    except (ValueError, TypeError):
        return None, raw


def decode_path(hit: Hit) -> ModelPath:
    """The path of ``hit`` as reference values."""
    u, model = hit.unrolling, hit.model
    initial, raw_initial = _decode(model, u.states[0])
    steps = []
    for i, step in enumerate(u.steps):
        inst = step.instances[int(value_of(model, step.selector))]
        event, sent = decode_event(model, inst, u.states[i])
        state, raw = _decode(model, u.states[i + 1])
        steps.append(ModelStep(inst.action.name, inst.slot, event, sent, state, raw))
    return ModelPath(initial, raw_initial, tuple(steps))


def get_failed_labels(hit: Hit, terms: Sequence[tuple[str, Any]]) -> tuple[str, ...]:
    """The labels of ``terms`` that are false in ``hit``'s model."""
    return tuple(label for label, term in terms if not value_of(hit.model, term))
