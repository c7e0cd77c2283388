"""What an implementation under test reports, and how it maps onto full states.

An :class:`Observation` is the host-visible part of a state (specs/formats/oracle.md §1.2):
free memory and, per VM, power, visible/ballooned (assigned) memory and the transaction in
flight. ``observe`` projects a full state onto it, ``lift`` puts an observation back into a
full state using a template for the fields the IUT does not report, and ``diff_*`` give
field-level differences (paths like ``vms[web].assigned_mib``) for divergence reports.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dynmem.model.vocabulary import Power, TxnKind
from dynmem.reference.events import (
    BalloonRequest,
    DmRequest,
    Event,
    HotAddRequest,
    UnballoonRequest,
)
from dynmem.reference.state import DmState, Vm
from dynmem.verification.codec import (
    check_keys,
    event_from_json,
    event_to_json,
    expect_object,
    host_to_json,
    read_value,
    vm_to_json,
)
from dynmem.verification.errors import InputError

_POWER = {p.name.lower(): p for p in Power}
_TXN = {t.name.lower(): t for t in TxnKind}
OBSERVED_VM_FIELDS = ("name", "power", "assigned_mib", "visible_mib", "ballooned_mib", "txn",
                      "txn_mib", "txn_done_mib")
REQUEST_TYPES = (BalloonRequest, UnballoonRequest, HotAddRequest)


@attrs.frozen
class ObservedVm:
    """One VM as the host sees it (specs/formats/oracle.md §1.2)."""

    name: str
    power: Power
    visible_mib: int
    ballooned_mib: int
    txn: TxnKind
    txn_mib: int
    txn_done_mib: int

    @property
    def assigned_mib(self) -> int:
        return self.visible_mib - self.ballooned_mib


@attrs.frozen
class Observation:
    """Free memory and every VM's observed runtime, in the IUT's order."""

    free_mib: int
    vms: tuple[ObservedVm, ...]

    def by_name(self) -> dict[str, ObservedVm]:
        return {vm.name: vm for vm in self.vms}


@attrs.frozen
class DiffItem:
    """One field that differs: where, what was expected and what was observed."""

    path: str
    expected: Any
    observed: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "expected": self.expected, "observed": self.observed}

    def to_text(self) -> str:
        """``path: expected -> observed`` with both values as JSON (what the IUT sends).

        Examples
        --------
        >>> DiffItem("vms[web].txn", "none", None).to_text()
        'vms[web].txn: "none" -> null'
        """
        return (f"{self.path}: {json.dumps(self.expected, default=str)} -> "
                f"{json.dumps(self.observed, default=str)}")


def observe_vm(vm: Vm) -> ObservedVm:
    """The observable part of ``vm``."""
    return ObservedVm(vm.name, vm.power, vm.visible_mib, vm.ballooned_mib, vm.txn, vm.txn_mib,
                      vm.txn_done_mib)


def observe(state: DmState) -> Observation:
    """The observation a correct IUT in ``state`` reports.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings
    >>> observe(DmState(HostSettings(4096, 1024), 3072)).free_mib
    3072
    """
    return Observation(state.free_mib, tuple(observe_vm(vm) for vm in state.vms))


def lift(template: DmState, observation: Observation) -> DmState | str:
    """``template`` with every observed field replaced by ``observation``'s.

    Returns a reason string instead when the observation does not list exactly the
    template's VMs (Rule O1), since such an observation cannot be a state of this system.
    """
    seen = observation.by_name()
    names = [vm.name for vm in template.vms]
    missing = [n for n in names if n not in seen]
    extra = [n for n in seen if n not in names]
    if missing or extra:
        return (f"the observation lists VMs {sorted(seen)} but the system has {names}"
                + (f" (missing {missing})" if missing else "")
                + (f" (unknown {extra})" if extra else ""))
    vms = tuple(lift_vm(vm, seen[vm.name]) for vm in template.vms)
    return DmState(template.host, observation.free_mib, vms)


def lift_vm(template: Vm, observed: ObservedVm) -> Vm:
    """``template`` with its observed fields replaced by ``observed``'s (``template`` itself,
    the same object, when they already agree)."""
    if observe_vm(template) == observed:
        return template
    return attrs.evolve(template, power=observed.power, visible_mib=observed.visible_mib,
                        ballooned_mib=observed.ballooned_mib, txn=observed.txn,
                        txn_mib=observed.txn_mib, txn_done_mib=observed.txn_done_mib)


# --- diffs ----------------------------------------------------------------------------------


def _vm_fields(vm: ObservedVm) -> dict[str, Any]:
    return {"power": vm.power.name.lower(), "assigned_mib": vm.assigned_mib,
            "visible_mib": vm.visible_mib, "ballooned_mib": vm.ballooned_mib,
            "txn": vm.txn.name.lower(), "txn_mib": vm.txn_mib, "txn_done_mib": vm.txn_done_mib}


def diff_observations(expected: Observation, observed: Observation) -> list[DiffItem]:
    """Every field that differs, host first, then VMs in the expected order."""
    out = []
    if expected.free_mib != observed.free_mib:
        out.append(DiffItem("free_mib", expected.free_mib, observed.free_mib))
    got = observed.by_name()
    for vm in expected.vms:
        other = got.get(vm.name)
        if other is None:
            out.append(DiffItem(f"vms[{vm.name}]", "present", "missing"))
            continue
        a, b = _vm_fields(vm), _vm_fields(other)
        out += [DiffItem(f"vms[{vm.name}].{k}", a[k], b[k]) for k in a if a[k] != b[k]]
    known = {vm.name for vm in expected.vms}
    out += [DiffItem(f"vms[{vm.name}]", "absent", "present") for vm in observed.vms
            if vm.name not in known]
    return out


def diff_requests(expected: Sequence[DmRequest], observed: Sequence[DmRequest]) -> list[DiffItem]:
    """Request lists compared position by position (``sent[1]``, ``sent[1].mib``)."""
    out = []
    for index in range(max(len(expected), len(observed))):
        path = f"sent[{index}]"
        if index >= len(expected) or index >= len(observed):
            a = event_to_json(expected[index]) if index < len(expected) else None
            b = event_to_json(observed[index]) if index < len(observed) else None
            out.append(DiffItem(path, a, b))
            continue
        a, b = event_to_json(expected[index]), event_to_json(observed[index])
        out += [DiffItem(f"{path}.{k}", a.get(k), b.get(k)) for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)]
    return out


# --- JSON -----------------------------------------------------------------------------------


def observation_to_json(observation: Observation) -> dict[str, Any]:
    """The observation as in specs/formats/oracle.md §1.2."""
    return {"free_mib": observation.free_mib,
            "vms": [{"name": vm.name, **_vm_fields(vm)} for vm in observation.vms]}


def _read_enum(obj: Mapping[str, Any], key: str, table: dict[str, Any], source: str,
               path: str) -> Any:
    word = read_value(obj, key, str, source, path)
    if word not in table:
        raise InputError(source, f"{path}.{key}", word, "must be one of " + ", ".join(table))
    return table[word]


def _read_nat(obj: Mapping[str, Any], key: str, source: str, path: str) -> int:
    value: int = read_value(obj, key, int, source, path)
    if value < 0:
        raise InputError(source, f"{path}.{key}", value, "must be >= 0")
    return value


def observed_vm_from_json(data: Any, source: str, path: str) -> ObservedVm:
    """One observed VM, checked field by field and against Rules O2 and O3."""
    obj = expect_object(data, source, path)
    check_keys(obj, list(OBSERVED_VM_FIELDS), source, path)
    vm = ObservedVm(
        name=read_value(obj, "name", str, source, path),
        power=_read_enum(obj, "power", _POWER, source, path),
        visible_mib=_read_nat(obj, "visible_mib", source, path),
        ballooned_mib=_read_nat(obj, "ballooned_mib", source, path),
        txn=_read_enum(obj, "txn", _TXN, source, path),
        txn_mib=_read_nat(obj, "txn_mib", source, path),
        txn_done_mib=_read_nat(obj, "txn_done_mib", source, path),
    )
    assigned = read_value(obj, "assigned_mib", int, source, path)
    if assigned != vm.assigned_mib:
        raise InputError(source, f"{path}.assigned_mib", assigned,
                         f"must equal visible_mib - ballooned_mib = {vm.assigned_mib} (Rule O2)")
    if vm.txn == TxnKind.NONE and (vm.txn_mib or vm.txn_done_mib):
        raise InputError(source, f"{path}.txn_mib", vm.txn_mib,
                         "txn_mib and txn_done_mib must be 0 when txn is none (Rule O3)")
    return vm


def observation_from_json(data: Any, source: str, path: str = "observed") -> Observation:
    """An observation (specs/formats/oracle.md §1.2), or an InputError naming the field."""
    obj = expect_object(data, source, path)
    check_keys(obj, ["free_mib", "vms"], source, path)
    free = read_value(obj, "free_mib", int, source, path)
    raw = read_value(obj, "vms", list, source, path)
    vms = tuple(observed_vm_from_json(v, source, f"{path}.vms[{i}]") for i, v in enumerate(raw))
    names = [vm.name for vm in vms]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise InputError(source, f"{path}.vms[{index}].name", name,
                             "names a VM twice (Rule O1)")
    return Observation(free, vms)


def requests_from_json(data: Any, source: str, path: str) -> tuple[DmRequest, ...]:
    """A list of DM requests (balloon/unballoon/hot-add request events)."""
    if not isinstance(data, list):
        raise InputError(source, path, data, "must be a JSON array of DM requests")
    out = []
    for index, item in enumerate(data):
        event: Event = event_from_json(item, source, f"{path}[{index}]")
        if not isinstance(event, REQUEST_TYPES):
            raise InputError(source, f"{path}[{index}].kind", event.KIND,
                             "must be balloon_request, unballoon_request or hot_add_request")
        out.append(event)
    return tuple(out)


def view_of(state: DmState) -> DmState:
    """The host's view: ``state`` without the guests' true demand (specs §1.3)."""
    return attrs.evolve(state, vms=tuple(attrs.evolve(vm, demand_mib=0) for vm in state.vms))


def view_to_json(state: DmState) -> dict[str, Any]:
    """The view as JSON: the state's fields minus ``demand_mib``, plus ``assigned_mib``."""
    vms = []
    for vm in state.vms:
        item = vm_to_json(vm)
        del item["demand_mib"]
        item["assigned_mib"] = vm.assigned_mib
        vms.append(item)
    return {"host": host_to_json(state.host), "free_mib": state.free_mib, "vms": vms}
