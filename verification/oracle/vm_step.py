"""The oracle's judgement of a step that changes one VM, computed on that VM alone.

``check-trace`` (verification/oracle/checktrace.py) judges most log entries without building the
whole observed state: an event that names one VM ``x`` (every kind but ticks and
create/configure/delete) changes only ``x`` and free memory, and a tick's requests each
change one VM. :func:`judge_vm_step` gives the same verdict as the oracle's
``judge_system_step`` in refinement mode when every other VM is observed unchanged, but
evaluates only what can differ:

* the reference step (``reference.step.step``) gives the template of ``x``'s unobserved
  fields, exactly as the full check lifts the observation onto it;
* the model: with ``dynmem.model.concrete_steps.is_allowed`` the acting slot's action is
  evaluated directly (:func:`is_slot_step_allowed`: its guards, its declared update of the
  slot and of free, the frame of every other field), which is what ``is_allowed`` does for a
  slot action when no other VM changes; without the model, the rules (the observation must
  be the reference's); any other ``is_allowed`` is called on the whole states;
* the invariants: every ``vm`` clause on ``x`` after the step, every ``pair`` clause on
  ``x`` before and after, every ``host`` clause on the state after. The other VMs need no
  check when the state before satisfies every invariant: ``vm`` clauses read only their VM
  and ``pair`` clauses hold when a VM does not change (both properties of the registry are
  tested in tests/verification/test_vm_step.py).

It only certifies: ``None`` means "let the full check decide" (it is the full check that
reports every violation, with its messages). Equivalence with ``judge_system_step`` is tested
on random reference steps with perturbed observations (tests/verification/test_vm_step.py).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import attrs

from dynmem.model.actions import BY_KIND, Action, HostView
from dynmem.model.concrete_steps import is_allowed as model_is_allowed
from dynmem.model.fields import RUNTIME_FIELDS, SETTINGS_FIELDS
from dynmem.model.invariants import INVARIANTS, Clause
from dynmem.model.ops import CONCRETE
from dynmem.reference.events import BalancerTick, Event
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import step
from dynmem.verification.oracle.judge import IsAllowed
from dynmem.verification.oracle.observation import ObservedVm, lift_vm, observe_vm

_VM_CLAUSES: tuple[Clause, ...] = tuple(c for inv in INVARIANTS for c in inv.clauses
                                        if c.scope == "vm")
_PAIR_CLAUSES: tuple[Clause, ...] = tuple(c for inv in INVARIANTS for c in inv.clauses
                                          if c.scope == "pair")
_HOST_CLAUSES: tuple[Clause, ...] = tuple(c for inv in INVARIANTS for c in inv.clauses
                                          if c.scope == "host")
# a tick's whole-step clauses (INV-RECLAIM-ORDER): one request of a tick changes one VM and
# no VM's power, so the request's own step shows what the tick's does for that VM
_STEP_CLAUSES: tuple[Clause, ...] = tuple(c for inv in INVARIANTS for c in inv.clauses
                                          if c.scope == "step")
_TICK = BalancerTick()


def is_model_relation(is_allowed: IsAllowed | None) -> bool:
    """Whether ``is_allowed`` is the model's own ``is_allowed`` (so the slot shortcut holds)."""
    return is_allowed is not None and is_allowed is model_is_allowed


class _Slot:
    """A reference VM seen as a model slot that holds a VM (``exists`` is True)."""

    __slots__ = ("_vm",)
    exists = True

    def __init__(self, vm: Vm) -> None:
        self._vm = vm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vm, name)


@attrs.frozen
class _ActionShape:
    """What the slot shortcut needs to know about one model action, computed once."""

    declared: frozenset[str]  # the fields it declares modified
    settings: bool  # it may change settings
    runtime: Callable[[Any], tuple[Any, ...]]  # reads every runtime field at once
    positions: dict[str, int]  # runtime field -> position in that tuple


_SHAPES: dict[str, _ActionShape] = {}


def _shape(action: Action) -> _ActionShape:
    found = _SHAPES.get(action.name)
    if found is None:
        declared = frozenset(action.modifies)
        found = _SHAPES[action.name] = _ActionShape(
            declared, any(f.startswith("settings.") for f in declared),
            operator.attrgetter(*RUNTIME_FIELDS),
            {f: i for i, f in enumerate(RUNTIME_FIELDS)})
    return found


def is_slot_step_allowed(pre: DmState, index: int, event: Event, post_vm: Vm,
                         free_after: int) -> bool:
    """Whether the model allows ``pre --event--> post`` where ``post`` is ``pre`` with VM
    ``index`` replaced by ``post_vm`` and free memory ``free_after``.

    For a slot action (one VM acts) this is ``concrete_steps.is_allowed(pre, event, post) is
    None``: the action's guards on the slot and the host view, then every slot field equal to
    the declared update or, if undeclared, to its value before (the frame), and free memory
    likewise; the other VMs are the same objects, so their frame holds. Create and Delete
    (which make or remove a slot) and the tick are not slot steps here: False.
    """
    action = BY_KIND.get(event.KIND)
    if action is None or action.scope != "slot":
        return False
    vm = pre.vms[index]
    if getattr(event, "vm", None) != vm.name or post_vm.name != vm.name:
        return False
    slot = _Slot(vm)
    host = HostView(pre.host, pre.free_mib)
    for guard in action.guards:
        if not guard.holds(CONCRETE, host, slot, event):
            return False
    updates = action.update(CONCRETE, host, slot, event)
    shape = _shape(action)
    if updates.keys() != shape.declared or "exists" in updates:
        return False  # an update that writes undeclared fields is a model bug: full check
    # Runtime fields: the declared update, or the value before (the frame).
    want = list(shape.runtime(vm))
    for field, value in updates.items():
        at = shape.positions.get(field)
        if at is not None:
            want[at] = value
    if tuple(want) != shape.runtime(post_vm):
        return False
    # Settings: the same object on both sides (the usual case) is equal field by field.
    if shape.settings or post_vm.settings is not vm.settings:
        for field in SETTINGS_FIELDS:
            key = f"settings.{field}"
            expected = updates[key] if key in updates else getattr(vm.settings, field)
            if expected != getattr(post_vm.settings, field):
                return False
    return bool(updates.get("free_mib", pre.free_mib) == free_after)


def is_unchanged_vm_allowed(event: Event, vm: Vm) -> bool:
    """Whether every two-state clause holds for ``vm`` unchanged by ``event`` (what the full
    check adds for a VM that a step leaves alone, e.g. every VM in a quiet tick)."""
    return all(clause.holds(CONCRETE, event, vm, vm) for clause in _PAIR_CLAUSES)


def _keeps_invariants(event: Event, post: DmState, before: Vm, after: Vm,
                      vm_ok: set[Vm] | None) -> bool:
    if vm_ok is None or after not in vm_ok:
        for clause in _VM_CLAUSES:
            if not clause.holds(CONCRETE, post, after):
                return False
        if vm_ok is not None:
            vm_ok.add(after)
    for clause in _PAIR_CLAUSES:
        if not clause.holds(CONCRETE, event, before, after):
            return False
    return all(clause.holds(CONCRETE, post) for clause in _HOST_CLAUSES)


def judge_vm_step(pre: DmState, index: int, event: Event, observed: ObservedVm,
                  free_after: int, accepted: bool, is_allowed: IsAllowed | None,
                  in_tick: bool = False, vm_ok: set[Vm] | None = None) -> Vm | None:
    """VM ``index`` after ``event`` if the full check accepts the step, else None.

    Parameters
    ----------
    pre : DmState
        The state before; it must satisfy every invariant.
    index : int
        The VM the event names (position in ``pre.vms``); every other VM is observed
        unchanged (the caller checks this).
    event : Event
        A single-VM event, or one DM request of a tick when ``in_tick``.
    observed, free_after : ObservedVm, int
        The VM and free memory as logged after the step.
    accepted : bool
        False when the log marks the event rejected.
    is_allowed : callable or None
        The model's relation as given to the oracle (None: the rules).
    in_tick : bool
        ``event`` is one request of a balancer tick: the reference must accept it, and the
        two-state invariants see the tick (as the full check of the whole tick does).
    vm_ok : set of Vm, optional
        VMs known to satisfy every ``vm`` clause (they read only the VM); added to here.

    Returns
    -------
    Vm or None
        The VM after the step (the lifted observation), or None when the full check must
        decide (a violation, or a case this shortcut does not cover).
    """
    vm = pre.vms[index]
    reference = step(pre, event)
    if in_tick and not (accepted and reference.accepted):
        return None
    if not accepted or not reference.accepted:
        # A refused event (by the log or by the rules) is judged on the state before: the
        # rules demand that nothing observable changes; the step then keeps every invariant
        # because the state before does and pair clauses hold on an unchanged VM.
        if (not accepted and reference.accepted) or free_after != pre.free_mib:
            return None
        return vm if observe_vm(vm) == observed else None
    after = reference.state
    if len(after.vms) != len(pre.vms) or any(
            a is not b for j, (a, b) in enumerate(zip(after.vms, pre.vms, strict=True))
            if j != index):
        return None
    template = after.vms[index]
    if template.name != vm.name:
        return None
    post_vm = lift_vm(template, observed)
    post = DmState(pre.host, free_after, (*pre.vms[:index], post_vm, *pre.vms[index + 1:]))
    if not _keeps_invariants(_TICK if in_tick else event, post, vm, post_vm, vm_ok):
        return None
    if in_tick and not all(c.holds(CONCRETE, _TICK, pre, post) for c in _STEP_CLAUSES):
        return None
    if is_allowed is None:  # the rules: the observation must be the reference's
        ok = observe_vm(template) == observed and free_after == after.free_mib
    elif is_model_relation(is_allowed):
        ok = is_slot_step_allowed(pre, index, event, post_vm, free_after)
    elif in_tick:
        return None  # another relation judges the tick as a whole: the full check does
    else:
        ok = is_allowed(pre, event, post, None) is None
    return post_vm if ok else None
