"""Decode a Z3 model of the symbolic state and a model step into reference values.

Counterexamples (CTIs, BMC traces) are shown as reference ``DmState``/``Event`` values, so they
render and replay like any trace. A decoded value that breaks TypeOK (a negative amount, an
enumeration out of range) cannot be a ``DmState`` (those are attrs validators); such a state
is returned as ``None`` by :func:`decode_state_or_none` and :func:`raw_state` shows its values.
"""

from __future__ import annotations

from typing import Any

import z3

from dynmem.model.fields import (
    RUNTIME_FIELDS,
    SETTINGS_BOOL_FIELDS,
    SETTINGS_FIELDS,
    SETTINGS_INT_FIELDS,
    VM_BOOL_FIELDS,
    VM_INT_FIELDS,
)
from dynmem.model.instances import Instance
from dynmem.model.vocabulary import Channel, HostProfile, Power, TxnKind
from dynmem.reference.events import (
    EVENT_TYPES,
    BalloonRequest,
    DmRequest,
    Event,
    HotAddRequest,
    UnballoonRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, Vm

_ENUMS: dict[str, Any] = {"power": Power, "channel": Channel, "txn": TxnKind}


def value_of(model: z3.ModelRef, term: Any) -> int | bool:
    """The Python value of ``term`` in ``model`` (unconstrained constants get a default)."""
    if isinstance(term, bool | int):
        return term
    got = model.eval(term, model_completion=True)
    if z3.is_true(got) or z3.is_false(got):
        return bool(z3.is_true(got))
    if z3.is_int_value(got):
        return int(got.as_long())
    raise ValueError(f"cannot decode {term} = {got}")


def raw_vm(model: z3.ModelRef, slot: Any) -> dict[str, int | bool]:
    """Every field of a symbolic VM slot, decoded to plain Python values."""
    values = {f: value_of(model, getattr(slot, f)) for f in RUNTIME_FIELDS}
    values.update({f"settings.{f}": value_of(model, getattr(slot.settings, f))
                   for f in SETTINGS_FIELDS})
    return values


def raw_state(model: z3.ModelRef, sym: Any) -> dict[str, Any]:
    """A symbolic state as plain values: host, free, and every slot that holds a VM."""
    return {
        "physical_mib": value_of(model, sym.host.physical_mib),
        "reserve_mib": value_of(model, sym.host.reserve_mib),
        "profile": value_of(model, sym.host.profile),
        "free_mib": value_of(model, sym.free_mib),
        "vms": {slot.name: raw_vm(model, slot) for slot in sym.vms
                if value_of(model, slot.exists)},
    }


def _vm_from_raw(name: str, raw: dict[str, int | bool]) -> Vm:
    values: dict[str, Any] = {f: int(raw[f"settings.{f}"]) for f in SETTINGS_INT_FIELDS}
    values.update({f: bool(raw[f"settings.{f}"]) for f in SETTINGS_BOOL_FIELDS})
    settings = VmSettings(**values)
    fields: dict[str, Any] = {f: int(raw[f]) for f in VM_INT_FIELDS}
    fields.update({f: bool(raw[f]) for f in VM_BOOL_FIELDS})
    for f, enum in _ENUMS.items():
        fields[f] = enum(fields[f])
    return Vm(name=name, settings=settings, **fields)


def host_from_raw(raw: dict[str, Any]) -> HostSettings:
    """The host of :func:`raw_state` values (ValueError for a profile out of range)."""
    return HostSettings(physical_mib=raw["physical_mib"], reserve_mib=raw["reserve_mib"],
                        profile=HostProfile(raw["profile"]))


def state_from_raw(raw: dict[str, Any], extra: tuple[Vm, ...] = ()) -> DmState:
    """A reference state from :func:`raw_state` values (raises ValueError/TypeError if the
    values break TypeOK); ``extra`` VMs are appended (the any-N rest, made concrete)."""
    host = host_from_raw(raw)
    vms = tuple(_vm_from_raw(name, values) for name, values in raw["vms"].items())
    return DmState(host=host, free_mib=raw["free_mib"], vms=vms + extra)


def decode_state(model: z3.ModelRef, sym: Any) -> DmState:
    """The reference state a symbolic state takes in ``model`` (slot ``i`` is VM ``vm<i>``)."""
    return state_from_raw(raw_state(model, sym))


def decode_state_or_none(model: z3.ModelRef, sym: Any) -> DmState | None:
    """Like :func:`decode_state`, or None when the values break TypeOK."""
    try:
        return decode_state(model, sym)
    except (ValueError, TypeError):
        return None


_REQUESTS: dict[int, type[DmRequest]] = {
    TxnKind.BALLOON: BalloonRequest, TxnKind.UNBALLOON: UnballoonRequest,
    TxnKind.HOT_ADD: HotAddRequest,
}


def decode_event(model: z3.ModelRef, inst: Instance,
                 pre: Any) -> tuple[Event, tuple[DmRequest, ...]]:
    """The reference event of a model step, and for a BalancerTick the requests it sent.

    ``pre`` is the symbolic pre-state (a tick's choice counts only for slots holding a VM).
    """
    cls: Any = EVENT_TYPES[inst.action.kind]
    if inst.slot is None:
        sent = []
        for slot, p in zip(pre.vms, inst.params, strict=True):
            kind = value_of(model, p.request)
            if value_of(model, slot.exists) and kind in _REQUESTS:
                sent.append(_REQUESTS[int(kind)](slot.name, int(value_of(model, p.mib))))
        return cls(), tuple(sent)
    values: dict[str, Any] = {}
    for param in inst.action.params:
        term = getattr(inst.params, param.name)
        if param.sort == "settings":
            chosen: dict[str, Any] = {f: value_of(model, getattr(term, f))
                                      for f in SETTINGS_FIELDS}
            values[param.name] = VmSettings(**chosen)
        else:
            values[param.name] = value_of(model, term)
    return cls(vm=pre.vms[inst.slot].name, **values), ()
