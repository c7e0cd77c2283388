"""Refinement: every reference step is a step the model allows (specs/proofs.md §4).

Two checks connect ``reference.step`` to the model (model/actions.py):

* :func:`check_run` (concrete): on every step of a run, an accepted event must satisfy
  ``is_allowed(pre, event, post, sent)``, and a rejected event must leave the state
  unchanged; :func:`random_steps` makes seeded random runs that exercise every event kind,
  rejected events included;
* :func:`check_sampled` (solver-guided, N ≤ 2 slots): Z3 picks pre-states that satisfy the
  inductive invariant, per event kind and per guard: with every guard true (several
  distinct shapes of the acting VM), and with each guard false in turn. Each is decoded into a
  ``DmState`` and stepped through the reference: an enabled step must be accepted and
  allowed; a step with a false guard must be rejected. The reference is Python, not Z3, so
  this samples the symbolic space at its boundaries; it is not a proof (specs/proofs.md).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
import z3

from dynmem.model.actions import ACTIONS, Action
from dynmem.model.concrete_steps import is_allowed
from dynmem.model.instances import get_guards
from dynmem.model.invariants import INVARIANTS
from dynmem.model.params import MINIMAL
from dynmem.model.state import make_state
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.model.symbolic_steps import make_instance
from dynmem.reference.environment import compute_round, enabled_events
from dynmem.reference.events import (
    BalloonRequest,
    BalloonResponse,
    Configure,
    Create,
    Delete,
    Event,
    HotAddRequest,
    HotAddResponse,
    Start,
    StatusReport,
    UnballoonRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.reference.step import Step, StepResult, check_request, step
from dynmem.verification.errors import SolverUnknown
from dynmem.verification.symbolic.budget import describe_unknown, new_solver, run_check
from dynmem.verification.symbolic.decode import decode_event, decode_state_or_none, value_of


@attrs.frozen
class Mismatch:
    """A step where the reference and the model disagree, with the values."""

    pre: DmState
    event: Event
    reason: str


def check_step(pre: DmState, event: Event, result: StepResult) -> str | None:
    """Why the reference step ``pre --event--> result`` is not a model step, or None."""
    if not result.accepted:
        if result.state != pre:
            return f"rejected ({result.reason}) but the state changed"
        return None
    return is_allowed(pre, event, result.state, result.sent)


def check_run(steps: Iterable[tuple[DmState, Event, StepResult]]) -> Iterator[Mismatch]:
    """Every step of ``steps`` that the model does not allow."""
    for pre, event, result in steps:
        reason = check_step(pre, event, result)
        if reason is not None:
            yield Mismatch(pre, event, reason)


# --- seeded random runs -------------------------------------------------------------------------

HOSTS = (HostSettings(4096, 512), HostSettings(8192, 1024), HostSettings(6145, 1))


def random_settings(rng: random.Random) -> VmSettings:
    """Mostly valid settings with small sizes (VMs compete); sometimes out of range."""
    startup = rng.randrange(32, 3072, 2)
    maximum = rng.choice([startup, rng.randrange(startup, 8194, 2), 65536])
    if rng.random() < 0.1:
        startup = rng.choice([16, 33, 70000])
    return VmSettings(dynamic=rng.random() < 0.8, startup_mib=startup, maximum_mib=maximum,
                      buffer_pct=rng.choice([5, 20, 2000]), weight=rng.choice([0, 5000, 10000]),
                      dm_capable=rng.random() < 0.9)


def _odd_events(rng: random.Random, state: DmState) -> list[Event]:
    """Events chosen without looking at the guards: many are rejected."""
    names = [vm.name for vm in state.vms] or ["ghost"]
    name = rng.choice(names)
    mib = rng.choice([2, 64, 512, 4096, 3, -2, 0])
    return [Create(f"vm{rng.randrange(6)}", random_settings(rng)),
            Configure(name, random_settings(rng)), Delete(name), Start(name),
            BalloonRequest(name, mib), UnballoonRequest(name, mib), HotAddRequest(name, mib),
            BalloonResponse(name, mib, rng.random() < 0.5), HotAddResponse(name, mib),
            StatusReport(name, mib)]


def _allowed_requests(rng: random.Random, state: DmState) -> list[Event]:
    """DM requests the reference allows now, with random amounts (balloons included)."""
    found: list[Event] = []
    for vm in state.vms:
        for cls, room in ((BalloonRequest, vm.assigned_mib - vm.settings.startup_mib),
                          (UnballoonRequest, min(vm.ballooned_mib, state.free_mib)),
                          (HotAddRequest, min(state.free_mib, vm.settings.maximum_mib
                                              - vm.visible_mib))):
            if room >= 2:
                request = cls(vm.name, rng.randrange(2, room + 1, 2))
                if check_request(state, request) is None:
                    found.append(request)
    return found


def random_steps(seed: int, runs: int, steps: int,
                 step_fn: Step = step) -> Iterator[tuple[DmState, Event, StepResult]]:
    """``(pre, event, result)`` for every step of ``runs`` seeded random runs."""
    rng = random.Random(seed)
    for _ in range(runs):
        vms = tuple((f"vm{i}", random_settings(rng)) for i in range(rng.randrange(1, 4)))
        state = initial_state(rng.choice(HOSTS), tuple(v for v in vms
                                                      if v[1].startup_mib in range(32, 65537)))
        for _ in range(steps):
            choices = enabled_events(state, demands=(0, 300, 2500, 9000),
                                     adversarial=rng.random() < 0.5,
                                     lifecycle=rng.random() < 0.1)
            if rng.random() < 0.15 or not choices:
                choices = _odd_events(rng, state)
            elif rng.random() < 0.2:
                choices = _allowed_requests(rng, state) or choices
            elif rng.random() < 0.3:  # let transactions finish
                choices = compute_round(state) or choices
            event = rng.choice(choices)
            result = step_fn(state, event)
            yield state, event, result
            state = result.state


# --- solver-guided samples ---------------------------------------------------------------------


def _bound(clause: Any, sym: Any) -> Any:
    return lambda vm: clause.holds(SYMBOLIC, sym, vm)


def _ind_inv(sym: Any) -> list[Any]:
    terms = []
    for inv in INVARIANTS:
        for clause in inv.clauses:
            if clause.scope == "vm":
                terms.append(SYMBOLIC.all_vms(sym.vms, _bound(clause, sym)))
            elif clause.scope == "host":
                terms.append(clause.holds(SYMBOLIC, sym))
    return terms


def _shape(vms: Iterable[Any], params: Any) -> list[Any]:
    """The discrete features of the acting VMs whose values new samples must differ in."""
    shape = []
    for vm in vms:
        shape += [vm.exists, vm.power, vm.channel, vm.txn, vm.cap_balloon, vm.cap_hot_add,
                  vm.hot_add_enabled, vm.has_report, vm.settings.dynamic, vm.ballooned_mib == 0]
    if not isinstance(params, tuple):
        shape += [v for v in vars(params).values() if isinstance(v, z3.BoolRef)]
    return shape


@attrs.frozen
class Sample:
    """A decoded pre-state and event, and what the model says about it."""

    pre: DmState
    event: Event
    enabled: bool
    case: str


def _samples(action: Action, n_vms: int, per_case: int, rlimit: int) -> Iterator[Sample]:
    sym = make_state(n_vms, "@pre")
    slot = None if action.scope == "all" else 0
    inst = make_instance(action, n_vms, slot, "@s")
    guards = get_guards(SYMBOLIC, inst, sym)
    cases: list[tuple[str, list[Any], bool]] = [("all guards true", [g.term for g in guards],
                                                 True)]
    if action.scope == "all":  # states where the reference policy has work to do
        def balanced(vm: Any) -> Any:
            return z3.And(vm.exists, vm.power == 1, vm.settings.dynamic, vm.channel == 4,
                          vm.has_report, vm.report_mib <= 8192, vm.cap_balloon)
        vm0 = sym.vms[0]
        cases += [("vm0 balanced, short of memory",
                   [balanced(vm0), vm0.report_mib >= vm0.visible_mib, sym.free_mib >= 64,
                    vm0.txn == 0], True),
                  ("vm0 balanced, above its target",
                   [balanced(vm0), vm0.report_mib == 0, vm0.txn == 0,
                    vm0.visible_mib - vm0.ballooned_mib >= vm0.settings.startup_mib + 64],
                   True),
                  ("every VM balanced, nothing free",
                   [*[balanced(vm) for vm in sym.vms], sym.free_mib == 0,
                    vm0.report_mib >= vm0.visible_mib], True)]
    if action.scope == "slot":
        cases += [(f"guard '{g.label}' false",
                   [z3.Not(g.term), *[h.term for h in guards if h is not g]], False)
                  for g in guards]
    for case, constraints, enabled in cases:
        solver = new_solver(rlimit)
        solver.add(*_ind_inv(sym), *constraints)
        # keep amounts small and even so that decoded states look like real ones
        solver.add(*[z3.And(v % 2 == 0, v <= 65536) for v in
                     (sym.free_mib, sym.host.physical_mib, *[x.visible_mib for x in sym.vms])])
        for _ in range(per_case):
            result, used = run_check(solver)
            if result == z3.unknown:
                # a sample Z3 could not decide must not shrink the check silently
                what = f"refinement sampling of {inst.action.name} ({case})"
                raise SolverUnknown(describe_unknown(solver, what, used, rlimit))
            if result != z3.sat:
                break
            m = solver.model()
            pre = decode_state_or_none(m, sym)
            if pre is not None:
                event, _ = decode_event(m, inst, sym)
                yield Sample(pre, event, enabled, case)
            acting = sym.vms if slot is None else (sym.vms[slot],)
            solver.add(z3.Or(*[x != m.eval(x, model_completion=True)
                               for x in _shape(acting, inst.params)]))


def check_sampled(n_vms: int = 2, per_case: int = 4, actions: Iterable[Action] = ACTIONS,
                  step_fn: Step = step,
                  rlimit: int = MINIMAL.rlimit,
                  on_action: Callable[[int, int, str], None] | None = None,
                  ) -> tuple[int, list[Mismatch]]:
    """Z3-sampled refinement: (how many steps were checked, the mismatches found).

    Each Z3 check may use ``rlimit`` units; an undecided sample raises ``SolverUnknown``.
    ``on_action(done, total, name)`` is called as each action's samples begin (progress).
    """
    checked, found = 0, []
    actions = list(actions)
    for index, action in enumerate(actions):
        if on_action is not None:
            on_action(index, len(actions), action.name)
        for sample in _samples(action, n_vms, per_case, rlimit):
            checked += 1
            result = step_fn(sample.pre, sample.event)
            reason = check_step(sample.pre, sample.event, result)
            if reason is None and sample.enabled and not result.accepted and \
                    action.scope == "slot":
                reason = f"the model allows it ({sample.case}) but the reference rejects: " \
                         f"{result.reason}"
            if reason is None and not sample.enabled and result.accepted:
                reason = f"{sample.case} in the model, but the reference accepts it"
            if reason is not None:
                found.append(Mismatch(sample.pre, sample.event, reason))
    return checked, found


__all__ = ["Mismatch", "Sample", "check_run", "check_sampled", "check_step", "random_steps",
           "value_of"]
