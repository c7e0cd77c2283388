"""Triage of a counterexample to induction (CTI): a real bug, or an invariant too weak?

A CTI (``verification/symbolic/inductive.py``) is a state satisfying the inductive invariant and a
step the model allows that breaks one invariant. If that pre-state is reachable, the bug is
real; if not, the invariant needs strengthening. ``triage_cti`` answers with bounded model
checking from the initial states, on the CTI's own host and number of VM slots:

1. any path of at most ``depth + 1`` steps that breaks the CTI's invariant? If none, the
   CTI's pre-state is unreachable within ``depth`` steps (reaching it would give such a
   path, through the CTI's own step): "unreachable within k: the invariant is too weak"
   (bounded, not a proof of unreachability);
2. otherwise the bug is real. To show it in the CTI's terms, the shortest path reaching the
   CTI's pre-state EXACTLY and then taking the CTI's action, else one reaching a state that
   agrees with the pre-state on the fields the failing conjunct reads (a generalisation),
   else the path of step 1. Every trace is replayed through the reference (``bmc.confirm``).

``prove`` calls :func:`triage_cti` on each CTI and prints :func:`render_triage`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs

from dynmem.model.actions import ACTIONS, Action
from dynmem.model.fields import SLOT_FIELDS, read_field
from dynmem.model.invariants import INVARIANTS, Invariant, check_state
from dynmem.model.ops import CONCRETE
from dynmem.model.params import MINIMAL
from dynmem.model.state import SymState, SymVm
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Step, step
from dynmem.verification.symbolic.bmc import Counterexample, confirm
from dynmem.verification.symbolic.obligations import CounterexampleToInduction, Model
from dynmem.verification.symbolic.scope import Scope
from dynmem.verification.symbolic.unrolling import (
    Hit,
    Progress,
    Stuck,
    Unrolling,
    get_clauses_at,
    is_action_taken,
    search,
)
from dynmem.verification.traces import render_text
from dynmem.verification.traces.trace import Finding, Trace

Verdict = Literal["reachable", "unreachable", "unknown", "mismatch", "untriaged"]
Match = Literal["exact", "generalised", "other path"]


@attrs.frozen
class Triage:
    """The answer for one CTI.

    ``conjuncts`` are the failing clauses with their values (from the CTI); ``match`` says
    how the trace relates to the CTI's pre-state; ``fields`` are the fields the
    generalisation kept (``vm0.visible_mib``, ``host.reserve_mib``, ...).
    """

    verdict: Verdict
    label: str
    conjuncts: tuple[str, ...]
    depth: int
    message: str
    match: Match | None = None
    fields: tuple[str, ...] = ()
    trace: Trace | None = None
    seconds: float = 0.0


# --- what the failing conjunct reads -------------------------------------------------------------


class _Recorder:
    """Wraps a reference state (or VM, settings, host) and records every field read."""

    def __init__(self, target: Any, prefix: str, log: dict[str, Any]) -> None:
        self._target, self._prefix, self._log = target, prefix, log

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name == "vms":
            return tuple(_Recorder(vm, f"{vm.name}.", self._log) for vm in value)
        if name in ("settings", "host"):
            return _Recorder(value, f"{self._prefix}{name}.", self._log)
        if name != "name":
            self._log[self._prefix + name] = value
        return value


def get_read_fields(inv: Invariant, clause_names: Sequence[str], pre: DmState,
                    post: DmState | None, event: Any) -> dict[str, Any]:
    """The fields the named clauses of ``inv`` read (on the step's pre- and post-state),
    with their PRE-state values: ``{"vm0.visible_mib": 0, "host.reserve_mib": 64, ...}``.

    A VM clause is read on the VMs it fails for only; a host clause on every VM.
    """
    log: dict[str, Any] = {}
    wanted = [c for c in inv.clauses if c.name in clause_names]
    after = {vm.name: vm for vm in post.vms} if post is not None else {}
    for clause in wanted:
        for state in (pre, post):
            if state is None:
                continue
            if clause.scope == "host":
                clause.holds(CONCRETE, _Recorder(state, "", log))
            elif clause.scope == "vm":
                for name in _failing_vms(clause, post or pre):
                    if state.get_vm(name) is not None:
                        clause.holds(CONCRETE, state,
                                     _Recorder(vm_named(state, name), f"{name}.", log))
        if clause.scope == "step" and post is not None:
            clause.holds(CONCRETE, event, _Recorder(pre, "", log), _Recorder(post, "", log))
        if clause.scope == "pair":
            for a in pre.vms:
                b = after.get(a.name)
                if b is not None and not clause.holds(CONCRETE, event, a, b):
                    clause.holds(CONCRETE, event, _Recorder(a, f"{a.name}.", log),
                                 _Recorder(b, f"{a.name}.", log))
    return {key: _pre_value(pre, key) for key in log}


def vm_named(state: DmState, name: str) -> Vm:
    found = state.get_vm(name)
    assert found is not None, name
    return found


def _failing_vms(clause: Any, state: DmState) -> list[str]:
    return [vm.name for vm in state.vms if not clause.holds(CONCRETE, state, vm)]


def _pre_value(pre: DmState, key: str) -> Any:
    owner, _, field = key.partition(".")
    if owner == "host":
        return getattr(pre.host, field)
    if field == "" and owner == "free_mib":
        return pre.free_mib
    vm = pre.get_vm(owner)
    return None if vm is None else read_field(vm, field)


# --- binding the CTI's pre-state to a symbolic state ---------------------------------------------


def get_slot_names(pre: DmState, n_slots: int) -> dict[str, int]:
    """The slot of each VM of ``pre``: ``vm<i>`` keeps slot i, others follow in order."""
    slots: dict[str, int] = {}
    for vm in pre.vms:
        found = re.fullmatch(r"vm(\d+)", vm.name)
        if found and int(found.group(1)) < n_slots:
            slots[vm.name] = int(found.group(1))
    free = (i for i in range(len(pre.vms) + n_slots) if i not in slots.values())
    for vm in pre.vms:
        if vm.name not in slots:
            slots[vm.name] = next(free)
    return slots


def _is_exact(pre: DmState, slots: dict[str, int], sym: SymState) -> Any:
    terms = [sym.free_mib == pre.free_mib]
    held = {slot: vm_named(pre, name) for name, slot in slots.items()}
    for index, slot in enumerate(sym.vms):
        vm = held.get(index)
        if vm is None:
            terms.append(SYMBOLIC.Not(slot.exists))
            continue
        terms += [slot.exists, *[read_field(slot, f) == _plain(read_field(vm, f))
                                 for f in SLOT_FIELDS if f != "exists"]]
    return SYMBOLIC.And(*terms)


def _plain(value: Any) -> Any:
    return bool(value) if isinstance(value, bool) else int(value)


def _agrees(fields: dict[str, Any], slots: dict[str, int], sym: SymState) -> Any:
    terms = []
    for key, value in fields.items():
        owner, _, field = key.partition(".")
        if owner == "host":
            terms.append(getattr(sym.host, field) == value)
        elif owner == "free_mib":
            terms.append(sym.free_mib == value)
        elif value is not None:
            slot: SymVm = sym.vms[slots[owner]]
            terms += [slot.exists, read_field(slot, field) == _plain(value)]
    return SYMBOLIC.And(*terms)


# --- the searches -----------------------------------------------------------------------------


def _broken(inv: Invariant) -> Any:
    def goal(u: Unrolling) -> Any:
        return SYMBOLIC.Or(*[SYMBOLIC.Not(t) for _, t in get_clauses_at((inv,), u, u.depth)])
    return goal


def _holds(inv: Invariant) -> Any:
    def lemma(u: Unrolling, index: int) -> Any:
        return SYMBOLIC.And(*[t for _, t in get_clauses_at((inv,), u, index)])
    return lemma


def _from(match: Any, inv: Invariant, action: str, slot: int | None) -> Any:
    """The CTI's action, taken from a state meeting ``match``, breaks ``inv``."""
    def goal(u: Unrolling) -> Any:
        if u.depth == 0:
            return SYMBOLIC.Or()
        last = u.depth - 1
        return SYMBOLIC.And(match(u.states[last]), is_action_taken(u, last, [action], slot),
                            _broken(inv)(u))
    return goal


@attrs.frozen
class _Cti:
    """What the searches need of a CTI."""

    inv: Invariant
    action: str
    slot: int | None
    pre: DmState
    slots: dict[str, int]
    n_slots: int
    fields: dict[str, Any]


def _read_cti(cti: CounterexampleToInduction, actions: Sequence[Action],
              invariants: Sequence[Invariant]) -> _Cti | str:
    ob = cti.obligation
    if ob.kind != "consecution" or ob.action is None:
        return f"a {ob.kind} obligation has no pre-state to search for"
    if cti.trace is None:
        return "the CTI's post-state breaks TypeOK, so it has no reference values to match"
    inv = next(i for i in invariants if i.id == ob.invariant)  # checked by triage_cti
    pre, post = cti.trace.initial, cti.trace.steps[0].state
    n_slots = ob.n_vms if ob.n_vms is not None else 1
    slots = get_slot_names(pre, n_slots)
    n_slots = max([n_slots, *[s + 1 for s in slots.values()]])
    clause_names = [label.split(": ", 1)[1] for label in cti.failed]
    fields = get_read_fields(inv, clause_names, pre, post, cti.trace.steps[0].event)
    # the acting slot: the obligation's, slot 0 for the any-N decomposition, none for a tick
    scope_all = any(a.name == ob.action and a.scope == "all" for a in actions)
    slot = None if scope_all else (ob.slot if ob.slot is not None else 0)
    return _Cti(inv, ob.action, slot, pre, slots, n_slots, fields)


def triage_cti(cti: CounterexampleToInduction, depth: int = MINIMAL.bmc_depth,
               actions: Sequence[Action] = ACTIONS,
               invariants: Sequence[Invariant] = INVARIANTS, step_fn: Step = step,
               rlimit: int = MINIMAL.rlimit, progress: Progress | None = None) -> Triage:
    """Is ``cti``'s pre-state reachable within ``depth`` steps? (see the module docstring)

    ``actions``/``invariants`` are the model the CTI came from (a mutant's own), ``step_fn``
    the reference step its traces are replayed through.
    """
    if cti.obligation.kind != "lemma" and all(i.id != cti.obligation.invariant
                                              for i in invariants):
        raise ValueError(f"the CTI is about {cti.obligation.invariant}, which is not among "
                         f"the invariants given: pass the model's own invariants")
    label = cti.message
    conjuncts = _conjuncts(cti)
    if cti.obligation.kind == "initiation" and cti.trace is not None:
        # the CTI's state satisfies the model's is_initial: reached in 0 steps
        return Triage("reachable", label, conjuncts, 0,
                      f"reachable: real bug. The CTI's state is an initial state: "
                      f"{cti.obligation.invariant} does not hold initially", "exact",
                      trace=_initial_trace(cti.trace.initial, invariants))
    info = _read_cti(cti, actions, invariants)
    if isinstance(info, str):
        return Triage("untriaged", label, conjuncts, depth, f"not triaged: {info}")
    scope = Scope("cti", info.n_slots, info.pre.host)
    any_path = search(scope, actions, range(depth + 2), _broken(info.inv), _holds(info.inv),
                      rlimit, progress)
    if isinstance(any_path, Stuck):
        return Triage("unknown", label, conjuncts, depth, any_path.reason,
                      seconds=any_path.seconds)
    if not isinstance(any_path, Hit):
        return Triage("unreachable", label, conjuncts, depth, _too_weak(info, depth),
                      seconds=any_path.seconds)
    return _show_real_bug(info, any_path, scope, label, conjuncts, depth, actions, step_fn,
                          rlimit, progress)


def _show_real_bug(info: _Cti, any_path: Hit, scope: Scope, label: str,
                   conjuncts: tuple[str, ...], depth: int, actions: Sequence[Action],
                   step_fn: Step, rlimit: int, progress: Progress | None) -> Triage:
    tries: list[tuple[Match, Any]] = [
        ("exact", lambda s: _is_exact(info.pre, info.slots, s)),
        ("generalised", lambda s: _agrees(info.fields, info.slots, s)),
    ]
    hit, spent, inconclusive = any_path, any_path.seconds, ""
    match: Match = "other path"
    for name, matcher in tries:
        found = search(scope, actions, range(max(1, any_path.depth), depth + 2),
                       _from(matcher, info.inv, info.action, info.slot), _holds(info.inv),
                       rlimit, progress)
        spent += found.seconds
        if isinstance(found, Hit):
            hit, match = found, name
            break
        if isinstance(found, Stuck):
            inconclusive += f" (the {name} search was inconclusive: {found.reason})"
    outcome = confirm(hit, (info.inv,), step_fn, (("triage", match),))
    fields = tuple(info.fields) if match == "generalised" else ()
    if not isinstance(outcome, Counterexample):
        return Triage("mismatch", label, conjuncts, depth, outcome.reason, match, fields,
                      outcome.trace, spent)
    return Triage("reachable", label, conjuncts, depth,
                  _real_bug(info, hit.depth, match) + inconclusive, match, fields,
                  outcome.trace, spent)


def _initial_trace(state: DmState, invariants: Sequence[Invariant]) -> Trace:
    findings = tuple(Finding(0, v) for v in check_state(state, invariants))
    return Trace(state, (), findings, "triage", (("triage", "initial state"),))


def _conjuncts(cti: CounterexampleToInduction) -> tuple[str, ...]:
    if cti.trace is None:
        return cti.failed
    inv = cti.obligation.invariant
    found = tuple(f"{f.invariant} ({f.violation.clause}): {f.violation.message}"
                  for f in cti.trace.findings if f.invariant == inv)
    return found or cti.failed


def _too_weak(info: _Cti, depth: int) -> str:
    return (f"unreachable within {depth} steps: no path of up to {depth + 1} steps from the "
            f"initial states (host physical {info.pre.host.physical_mib}, reserve "
            f"{info.pre.host.reserve_mib} MiB, {info.n_slots} VM slots) breaks "
            f"{info.inv.id}, so the CTI's pre-state is not reachable within {depth} steps: "
            f"the invariant is too weak (strengthen it to exclude that state). Bounded: "
            f"deeper paths were not searched.")


def _real_bug(info: _Cti, steps: int, match: Match) -> str:
    how = {
        "exact": "the CTI's pre-state itself is reached",
        "generalised": "a state agreeing with the CTI's pre-state on the fields the failing "
                       "conjunct reads is reached",
        "other path": f"the CTI's pre-state was not matched, but {info.inv.id} breaks on "
                      "this path",
    }[match]
    return (f"reachable: real bug. {how}; {info.inv.id} breaks after {steps} steps "
            f"(trace replayed in the reference)")


def render_triage(result: Triage) -> str:
    """The triage as text: the CTI, the failing conjunct with its values, verdict, trace."""
    lines = [f"triage: {result.label}"]
    lines += [f"    failing conjunct: {c}" for c in result.conjuncts]
    if result.fields:
        lines.append(f"    generalised on: {', '.join(result.fields)}")
    lines.append(f"    {result.verdict.upper()}: {result.message}")
    text = "\n".join(lines) + "\n"
    if result.trace is not None:
        text += render_text(result.trace)
    return text


def render_triage_runs(outcomes: Iterable[Any], model: Model, depth: int = MINIMAL.bmc_depth,
                       rlimit: int = MINIMAL.rlimit) -> str:
    """Triage every CTI among ``outcomes`` (a prove run's) with ``model``; the text of all.

    This is what ``dynmem prove --triage`` prints after its table.
    """
    parts = []
    for outcome in outcomes:
        if isinstance(outcome, CounterexampleToInduction):
            result = triage_cti(outcome, depth, model.actions, model.invariants,
                                rlimit=rlimit)
            parts.append(render_triage(result))
    return "\n".join(parts) if parts else "triage: no counterexample to induction\n"
