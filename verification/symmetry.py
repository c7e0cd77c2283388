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
    if len(vms) < 2:
        return state, None
    settings = [vm.settings for vm in vms]
    if len(set(settings)) == len(vms):
        return state, None
    groups: dict[VmSettings, list[int]] = {}
    for index, value in enumerate(settings):
        groups.setdefault(value, []).append(index)
    new = list(vms)
    renaming: Renaming = {}
    for positions in groups.values():
        if len(positions) < 2:
            continue
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
