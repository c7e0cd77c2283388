"""The model's state vocabulary as Z3 terms, with the same shape as the reference state.

A symbolic state has a fixed number of VM slots; ``exists`` says whether a slot holds a VM
(creation and deletion toggle it). Attribute names equal the reference's, so one invariant
definition reads both. ``bind`` ties a symbolic state to a concrete reference state.
"""

from __future__ import annotations

from typing import Any

import attrs
import z3

from dynmem.model.fields import (
    SETTINGS_BOOL_FIELDS,
    SETTINGS_INT_FIELDS,
    VM_BOOL_FIELDS,
    VM_INT_FIELDS,
)


@attrs.frozen
class SymSettings:
    dynamic: Any
    startup_mib: Any
    maximum_mib: Any
    buffer_pct: Any
    weight: Any
    dm_capable: Any


@attrs.frozen
class SymVm:
    """One VM slot: the reference ``Vm``'s fields as Z3 terms, plus ``exists``."""

    name: str
    exists: Any
    settings: SymSettings
    power: Any
    visible_mib: Any
    ballooned_mib: Any
    demand_mib: Any
    has_report: Any
    report_mib: Any
    channel: Any
    protocol_version: Any
    cap_balloon: Any
    cap_hot_add: Any
    hot_add_enabled: Any
    txn: Any
    txn_mib: Any
    txn_done_mib: Any
    stuck: Any
    saved_mib: Any
    hot_add_align_mib: Any


@attrs.frozen
class SymHost:
    physical_mib: Any
    reserve_mib: Any
    profile: Any  # a HostProfile value: which protocol versions the host accepts


def make_host() -> SymHost:
    """The host's constants as Z3 terms, shared by every step of a trace."""
    return SymHost(z3.Int("host.physical_mib"), z3.Int("host.reserve_mib"),
                   z3.Int("host.profile"))


@attrs.frozen
class SymState:
    """A symbolic state: host constants, the free-memory ledger and the VM slots."""

    host: SymHost
    free_mib: Any
    vms: tuple[SymVm, ...]


def make_vm(slot: int, suffix: str) -> SymVm:
    """Fresh Z3 constants for VM slot ``slot``; ``suffix`` names the time step (e.g. ``@0``)."""
    name = f"vm{slot}"

    def var(field: str, sort: str) -> Any:
        full = f"{name}.{field}{suffix}"
        return z3.Bool(full) if sort == "bool" else z3.Int(full)

    settings = SymSettings(**{f: var(f, "int") for f in SETTINGS_INT_FIELDS},
                           **{f: var(f, "bool") for f in SETTINGS_BOOL_FIELDS})
    return SymVm(name=name, exists=var("exists", "bool"), settings=settings,
                 **{f: var(f, "int") for f in VM_INT_FIELDS},
                 **{f: var(f, "bool") for f in VM_BOOL_FIELDS})


def make_state(n_vms: int, suffix: str = "", host: SymHost | None = None) -> SymState:
    """A symbolic state with ``n_vms`` slots; ``host`` is shared across the steps of a trace."""
    shared = host or make_host()
    return SymState(host=shared, free_mib=z3.Int(f"host.free_mib{suffix}"),
                    vms=tuple(make_vm(i, suffix) for i in range(n_vms)))


def bind(sym: SymState, state: Any) -> list[Any]:
    """Equalities that fix ``sym`` to the concrete reference ``state`` (extra slots absent)."""
    eqs = [sym.host.physical_mib == state.host.physical_mib,
           sym.host.reserve_mib == state.host.reserve_mib,
           sym.host.profile == int(state.host.profile),
           sym.free_mib == state.free_mib]
    if len(state.vms) > len(sym.vms):
        raise ValueError(f"state has {len(state.vms)} VMs, symbolic state {len(sym.vms)} slots")
    for i, slot in enumerate(sym.vms):
        if i >= len(state.vms):
            eqs.append(z3.Not(slot.exists))
            continue
        vm = state.vms[i]
        eqs.append(slot.exists)
        eqs += [getattr(slot, f) == int(getattr(vm, f)) for f in VM_INT_FIELDS]
        eqs += [getattr(slot, f) == bool(getattr(vm, f)) for f in VM_BOOL_FIELDS]
        eqs += [getattr(slot.settings, f) == int(getattr(vm.settings, f))
                for f in SETTINGS_INT_FIELDS]
        eqs += [getattr(slot.settings, f) == bool(getattr(vm.settings, f))
                for f in SETTINGS_BOOL_FIELDS]
    return eqs
