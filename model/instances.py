"""An action at one step: :class:`Instance`, and the guards and updates it gives.

Evaluated under either interpretation of the operator layer (``ops`` is ``CONCRETE`` or
``SYMBOLIC``): the symbolic builder (model/symbolic_steps.py) and the concrete check
(model/concrete_steps.py) both read an action's guards and declared updates through
:func:`get_guards` and :func:`get_updates`, so both see the same definition. No Z3 here.
"""

from __future__ import annotations

from typing import Any

import attrs

from dynmem.model.actions import Action, HostView
from dynmem.model.fields import HOST_FIELDS, SLOT_FIELDS
from dynmem.model.ops import Ops, Term
from dynmem.model.quantities import get_top_weight, is_start_waiting


@attrs.frozen
class Instance:
    """One step of the model: an action, the acting slot, and its parameters.

    ``slot`` is the acting slot (a Python int); for a scope-``all`` action it is None and
    ``params`` is a tuple with one parameter namespace per slot. ``outside_taken`` is what
    VMs outside the state's slots take from free in the same tick (the any-N decomposition
    abstracts them, model/decomposition.py); 0 otherwise. ``outside_top_weight`` and
    ``outside_start_waits`` likewise.
    """

    action: Action
    slot: int | None
    params: Any
    outside_taken: Term = 0
    # the highest weight that runs or waits among those VMs, and whether a start waits
    # among them (R-RECLAIM-ORDER); 0 and False otherwise
    outside_top_weight: Term = 0
    outside_start_waits: Term = False


def host_view(ops: Ops, inst: Instance, state: Any) -> HostView:
    """What a guard or update of ``inst`` may read besides its slot, in ``state``: the top
    weight only for a tick (the one action that reads every slot), counting the VMs outside
    the state's slots (the any-N rest)."""
    if inst.action.scope != "all":
        return HostView(state.host, state.free_mib)
    top = ops.Max(get_top_weight(ops, state.vms), inst.outside_top_weight)
    waits = ops.Or(is_start_waiting(ops, state.vms), inst.outside_start_waits)
    return HostView(state.host, state.free_mib, top, waits)


def get_acting(inst: Instance, state: Any) -> list[tuple[int, Any, Any]]:
    """(slot index, slot, params) of every slot that makes a choice in ``inst``."""
    if inst.slot is not None:
        return [(inst.slot, state.vms[inst.slot], inst.params)]
    return [(k, vm, inst.params[k]) for k, vm in enumerate(state.vms)]


@attrs.frozen
class GuardTerm:
    """A guard instantiated at a step: ``label`` (guard name, with the slot for a tick)."""

    label: str
    spec: str
    term: Term


def get_guards(ops: Ops, inst: Instance, pre: Any) -> list[GuardTerm]:
    """The guards of ``inst`` in ``pre``, one term per named conjunct (and slot, for a tick)."""
    h = host_view(ops, inst, pre)
    found = []
    for k, vm, p in get_acting(inst, pre):
        if inst.slot is None and not ops.symbolic and not vm.exists:
            continue  # a tick makes no choice for an empty slot
        prefix = f"vm{k}: " if inst.slot is None else ""
        for guard in inst.action.guards:
            term = guard.holds(ops, h, vm, p)
            if inst.slot is None and ops.symbolic:  # only a slot holding a VM chooses
                term = ops.Implies(vm.exists, term)
            found.append(GuardTerm(prefix + guard.name, guard.spec, term))
    agg = inst.action.aggregate
    if agg is not None:
        found.append(GuardTerm(agg.name, agg.spec, get_taken(ops, inst, pre) <= h.free_mib))
    return found


def get_taken(ops: Ops, inst: Instance, pre: Any) -> Term:
    """What a scope-``all`` step takes from free in total (0 for other actions)."""
    agg = inst.action.aggregate
    if agg is None:
        return 0
    return ops.Sum([*[ops.If(vm.exists, agg.taken(ops, vm, p), 0)
                      for _, vm, p in get_acting(inst, pre)], inst.outside_taken])


@attrs.frozen
class Updates:
    """The declared new values of a step: per acting slot, and of the host's fields."""

    slots: dict[int, dict[str, Term]]
    host: dict[str, Term]


_SLOT_FIELD_SET, _HOST_FIELD_SET = frozenset(SLOT_FIELDS), frozenset(HOST_FIELDS)


def get_updates(ops: Ops, inst: Instance, pre: Any, h: HostView | None = None) -> Updates:
    """The new values of exactly the fields ``inst.action`` declares modified (``h``: its
    ``host_view`` in ``pre``, when the caller has it).

    Raises ``ValueError`` when an update writes other fields than it declares (a model bug).
    """
    if h is None:
        h = host_view(ops, inst, pre)
    action = inst.action
    # a per-slot update writes every declared field; a tick's per-slot update writes the
    # slot fields and the aggregate writes free_mib
    per_slot = set(action.modifies if action.scope == "slot" else action.slot_modifies)
    slots: dict[int, dict[str, Term]] = {}
    host: dict[str, Term] = {}
    for k, vm, p in get_acting(inst, pre):
        values = action.update(ops, h, vm, p)
        if values.keys() != per_slot:
            raise ValueError(f"{action.name} updates {sorted(values)} but declares "
                             f"{sorted(per_slot)}")
        if values.keys() <= _SLOT_FIELD_SET:  # most actions write their slot alone
            slots[k] = values
            continue
        slots[k] = {f: v for f, v in values.items() if f in _SLOT_FIELD_SET}
        host.update({f: v for f, v in values.items() if f in _HOST_FIELD_SET})
    if action.aggregate is not None:
        host["free_mib"] = h.free_mib - get_taken(ops, inst, pre)
    return Updates(slots, host)
