"""Symmetry reduction for exploration: VMs with identical settings are interchangeable.

``canonicalize`` permutes the runtime values of VMs that have equal settings so that, within
each such group, runtimes appear in sorted order over the group's positions; VM names and
positions stay. Two states that differ only by a renaming of same-settings VMs get the same
canonical form.

The reference breaks ties between equal weights by VM name (policy.md, weight order), so a
renaming is not an exact automorphism of every step. The explorer therefore replays each
counterexample on real states (``rename_event`` maps the canonical path back) and, if the
replay does not reproduce it, searches again without reduction; tests compare the reduced
state space with the full one on the CI configurations.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable
from typing import Any, cast

import attrs

from dynmem.reference.events import Event
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import DmState, Vm

_RUNTIME_FIELDS = tuple(f.name for f in attrs.fields(Vm) if f.name not in ("name", "settings"))
get_runtime = operator.attrgetter(*_RUNTIME_FIELDS)

Renaming = dict[str, str]


def canonicalize(state: DmState) -> tuple[DmState, Renaming | None]:
    """The canonical form of ``state`` and the renaming real name -> canonical name.

    The renaming is None when ``state`` is already canonical.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings
    >>> from dynmem.model.vocabulary import Power
    >>> same = VmSettings(dynamic=True, startup_mib=32, maximum_mib=64)
    >>> s = DmState(HostSettings(128, 32), 64,
    ...             (Vm("lo1", same, power=Power.RUNNING, visible_mib=32), Vm("lo2", same)))
    >>> canon, renaming = canonicalize(s)
    >>> [(vm.name, vm.power.name) for vm in canon.vms], renaming
    ([('lo1', 'OFF'), ('lo2', 'RUNNING')], {'lo2': 'lo1', 'lo1': 'lo2'})
    """
    vms = state.vms
    new = list(vms)
    renaming: Renaming = {}
    for positions in get_groups(tuple(vm.settings for vm in vms)):
        order = sorted(positions, key=lambda i: get_runtime(vms[i]))
        if order == positions:
            continue
        for slot, source in zip(positions, order, strict=True):
            if slot != source:
                new[slot] = attrs.evolve(vms[source], name=vms[slot].name)
                renaming[vms[source].name] = vms[slot].name
    if not renaming:
        return state, None
    return DmState(state.host, state.free_mib, tuple(new)), renaming


class Canonicalizer:
    """``canonicalize(state)[0].vms`` for many states, faster, with every VM value taken from
    ``pool`` (one object per value). The groups of same-settings positions are computed once
    per settings layout, a VM's runtime sort key and its renamed copies once per value.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings
    >>> from dynmem.model.vocabulary import Power
    >>> same = VmSettings(dynamic=True, startup_mib=32, maximum_mib=64)
    >>> vms = (Vm("lo1", same, power=Power.RUNNING, visible_mib=32), Vm("lo2", same))
    >>> [vm.power.name for vm in Canonicalizer()(vms)]
    ['OFF', 'RUNNING']
    """

    def __init__(self, pool: dict[Vm, Vm] | None = None) -> None:
        self.pool: dict[Vm, Vm] = {} if pool is None else pool
        self._groups: dict[tuple[VmSettings, ...], list[list[int]]] = {}
        self._keys: dict[Vm, tuple[Any, ...]] = {}
        self._renamed: dict[tuple[Vm, str], Vm] = {}

    def __call__(self, vms: tuple[Vm, ...]) -> tuple[Vm, ...]:
        pool = self.pool
        layout = tuple(vm.settings for vm in vms)
        groups = self._groups.get(layout)
        if groups is None:
            groups = self._groups[layout] = get_groups(layout)
        if not groups:
            return tuple(pool.setdefault(vm, vm) for vm in vms)
        new = list(vms)
        keys = self._keys
        for positions in groups:
            order = sorted(positions, key=lambda i: keys.get(vms[i]) or keys.setdefault(
                vms[i], get_runtime(vms[i])))
            for slot, source in zip(positions, order, strict=True):
                if slot != source:
                    new[slot] = self._rename(vms[source], vms[slot].name)
        return tuple(pool.setdefault(vm, vm) for vm in new)

    def _rename(self, vm: Vm, name: str) -> Vm:
        found = self._renamed.get((vm, name))
        if found is None:
            found = self._renamed[(vm, name)] = attrs.evolve(vm, name=name)
        return found


def get_groups(layout: tuple[Hashable, ...]) -> list[list[int]]:
    """The positions of each settings value held by two VMs or more."""
    groups: dict[Hashable, list[int]] = {}
    for index, value in enumerate(layout):
        groups.setdefault(value, []).append(index)
    return [positions for positions in groups.values() if len(positions) > 1]


def rename_event(event: Event, renaming: Renaming) -> Event:
    """``event`` with its VM renamed through ``renaming`` (events without a VM unchanged)."""
    name = getattr(event, "vm", None)
    if name is None or name not in renaming:
        return event
    renamed: Event = attrs.evolve(cast(Any, event), vm=renaming[name])
    return renamed


def invert(renaming: Renaming) -> Renaming:
    """The inverse renaming."""
    return {new: old for old, new in renaming.items()}
