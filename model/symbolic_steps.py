"""The symbolic interpretation of the model's actions: Z3 steps (proofs and BMC).

:func:`compute_post` builds the successor functionally (proofs), :func:`get_transition`
relationally with the frame (BMC unrolling), :func:`get_next` is the whole transition
relation over N slots with fresh parameters per step. The actions themselves are the spec's
(model/actions.py); the concrete reading of the same definitions is model/concrete_steps.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import attrs
import z3

from dynmem.model.actions import ACTIONS, Action, Param
from dynmem.model.fields import (
    BOOL_FIELDS,
    HOST_FIELDS,
    SETTINGS_BOOL_FIELDS,
    SETTINGS_INT_FIELDS,
    SLOT_FIELDS,
    read_field,
)
from dynmem.model.instances import Instance, Updates, get_guards, get_updates
from dynmem.model.ops import Ops, Term
from dynmem.model.state import SymSettings, SymState, SymVm
from dynmem.model.symbolic_ops import SYMBOLIC


def make_params(action: Action, slot: int, suffix: str = "") -> Any:
    """Fresh Z3 constants for ``action``'s parameters at ``slot``; ``suffix`` names the step."""
    def fresh(param: Param) -> Any:
        base = f"{action.kind}.vm{slot}.{param.name}{suffix}"
        if param.sort == "bool":
            return z3.Bool(base)
        if param.sort == "int":
            return z3.Int(base)
        return SymSettings(**{f: z3.Int(f"{base}.{f}") for f in SETTINGS_INT_FIELDS},
                           **{f: z3.Bool(f"{base}.{f}") for f in SETTINGS_BOOL_FIELDS})

    return SimpleNamespace(**{param.name: fresh(param) for param in action.params})


def make_instance(action: Action, n_slots: int, slot: int | None, suffix: str = "") -> Instance:
    """``action`` at ``slot`` (None for BalancerTick) with fresh parameters for step ``suffix``."""
    if action.scope == "all":
        return Instance(action, None, tuple(make_params(action, k, suffix)
                                            for k in range(n_slots)))
    if slot is None or not 0 <= slot < n_slots:
        raise ValueError(f"{action.name} needs a slot in 0..{n_slots - 1}, got {slot!r}")
    return Instance(action, slot, make_params(action, slot, suffix))


def get_instances(n_slots: int, suffix: str = "",
                  actions: Sequence[Action] = ACTIONS) -> list[Instance]:
    """Every (action, slot) of an ``n_slots`` model with fresh parameters (one tick)."""
    found = []
    for action in actions:
        slots: Sequence[int | None] = [None] if action.scope == "all" else range(n_slots)
        found += [make_instance(action, n_slots, k, suffix) for k in slots]
    return found


def _as_term(field: str, value: Term) -> Any:
    if isinstance(value, z3.ExprRef):
        return value
    return z3.BoolVal(bool(value)) if field in BOOL_FIELDS else z3.IntVal(int(value))


def _with_fields(vm: SymVm, values: Mapping[str, Term]) -> SymVm:
    runtime = {f: _as_term(f, v) for f, v in values.items() if not f.startswith("settings.")}
    settings = {f[len("settings."):]: _as_term(f, v) for f, v in values.items()
                if f.startswith("settings.")}
    new_settings = attrs.evolve(vm.settings, **settings) if settings else vm.settings
    return attrs.evolve(vm, settings=new_settings, **runtime)


def compute_post(inst: Instance, pre: Any, ops: Ops = SYMBOLIC) -> Any:
    """The successor of ``pre`` under ``inst``, built functionally (unchanged fields are the
    pre-state's own terms: the frame holds by construction). Guards are NOT included.

    ``pre`` is a :class:`SymState` or any attrs state with ``host``, ``free_mib``, ``vms``
    (the decomposition's one-slot view); the result has the same class. ``ops`` says what
    amounts count (model/units.py).
    """
    updates = get_updates(ops, inst, pre)
    vms = tuple(_with_fields(vm, updates.slots[k]) if k in updates.slots else vm
                for k, vm in enumerate(pre.vms))
    free = _as_term("free_mib", updates.host.get("free_mib", pre.free_mib))
    return attrs.evolve(pre, vms=vms, free_mib=free)


def get_frame(pre: SymState, post: SymState, updates: Updates) -> list[Any]:
    """``field' == field`` for every field of every slot and the host not in ``updates``."""
    frame = []
    for k, (a, b) in enumerate(zip(pre.vms, post.vms, strict=True)):
        changed = updates.slots.get(k, {})
        frame += [read_field(b, f) == read_field(a, f) for f in SLOT_FIELDS if f not in changed]
    frame += [getattr(post, f) == getattr(pre, f) for f in HOST_FIELDS if f not in updates.host]
    return frame


def get_transition(inst: Instance, pre: SymState, post: SymState) -> Any:
    """The relational step ``pre --inst--> post``: guards, declared updates, and the frame."""
    updates = get_updates(SYMBOLIC, inst, pre)
    guards = [g.term for g in get_guards(SYMBOLIC, inst, pre)]
    assigned_values = [read_field(post.vms[k], f) == v
                       for k, values in updates.slots.items() for f, v in values.items()]
    assigned_values += [getattr(post, f) == v for f, v in updates.host.items()]
    return z3.And(*guards, *assigned_values, *get_frame(pre, post, updates))


@attrs.frozen
class NextStep:
    """The whole transition relation of one unrolled step, with a selector to decode it.

    ``formula`` says: ``selector`` = i and ``instances[i]`` moves ``pre`` to ``post``.
    """

    formula: Any
    selector: Any
    instances: tuple[Instance, ...]


def get_next(pre: SymState, post: SymState, suffix: str,
             actions: Sequence[Action] = ACTIONS) -> NextStep:
    """The disjunction over every action × slot, fresh parameters per step (BMC unrolling)."""
    instances = tuple(get_instances(len(pre.vms), suffix, actions))
    selector = z3.Int(f"step.action{suffix}")
    cases = [z3.And(selector == i, get_transition(inst, pre, post))
             for i, inst in enumerate(instances)]
    return NextStep(z3.Or(*cases), selector, instances)
