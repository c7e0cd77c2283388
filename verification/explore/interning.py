"""VM values interned to small integers, and states packed into one integer each.

A state of one exploration is keyed by its free memory and the ids of its VMs in order (the
host never changes in one exploration), packed into one Python int::

    key = free * 2**(WIDTH * slots) + sum((id_i + 1) * 2**(WIDTH * i))

``slots`` is the most VMs a state of the exploration has (the preset's VMs), and an empty
slot holds 0, so the packing is one-to-one (free memory may be negative in a planted bug's
state: the high part is then negative, the low part still exact). An int hashes and compares
in C, where a tuple of ``Vm`` objects calls ``Vm.__hash__`` once per VM on every lookup; and
a successor that changes VM ``i`` and free memory is ``key`` plus a number that depends only
on that VM's step (``SlotMemo``), one addition per edge.

What the search asks of a VM value is computed once per id: the value, its name and
settings, its runtime sort key (symmetry), whether the reference balancer reads it
(``is_balanced`` or a waiting start, with its workload's demand left out: the plan's key),
and its invariant verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import attrs

from dynmem.reference.policy import is_balanced, is_waiting_start
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, Vm, evolve_vm
from dynmem.verification.explore.symmetry import get_groups, get_runtime

WIDTH = 24  # bits per VM slot: up to 2**24 - 1 VM values in one exploration

StateKey = int  # see the module docstring
Vids = tuple[int, ...]  # VM ids in state order


class VmTable:
    """One id per VM value met, what the search reads of each id, and the packing of
    states with at most ``slots`` VMs into ints.

    Examples
    --------
    >>> from dynmem.model.vocabulary import Power
    >>> same = VmSettings(dynamic=True, startup_mib=32, maximum_mib=64)
    >>> t = VmTable(2)
    >>> on, off = t.id(Vm("lo1", same, power=Power.RUNNING)), t.id(Vm("lo2", same))
    >>> canon = t.canonical((on, off))
    >>> [(t.vms[i].name, t.vms[i].power.name) for i in canon]
    [('lo1', 'OFF'), ('lo2', 'RUNNING')]
    >>> t.unpack(t.pack(-4, canon)) == (-4, canon)
    True
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.free_unit = 1 << (WIDTH * slots)  # free memory's place in a key
        self._free_shift = WIDTH * slots
        self._shifts = tuple(WIDTH * i for i in range(slots))
        self._mask = (1 << WIDTH) - 1
        self.index: dict[Vm, int] = {}
        self.vms: list[Vm] = []
        self.names: list[str] = []
        self.layouts: list[int] = []  # the id of each VM's settings
        self.runtimes: list[tuple[Any, ...]] = []
        # what the reference plan reads of each VM: if it is managed or a waiting start, the
        # id of its value without the workload's demand (the plan reads the guest's report,
        # never ``demand_mib``: specs/policy.md), else -1 (see search.py)
        self.planned_as: list[int] = []
        self._plan_views: dict[Vm, int] = {}
        self.vm_ok: list[bool | None] = []  # vm-scope invariant clauses hold (None: unknown)
        self.owned: list[int | None] = []  # the model's owned memory (None: not yet needed)
        self._settings: dict[VmSettings, int] = {}
        self._groups: dict[tuple[int, ...], list[list[int]]] = {}
        self._renamed: dict[tuple[int, str], int] = {}

    def id(self, vm: Vm) -> int:
        """The id of ``vm``'s value (a new one the first time it is met)."""
        found = self.index.get(vm)
        if found is not None:
            return found
        vid = len(self.vms)
        if vid + 1 >= 1 << WIDTH:
            raise OverflowError(f"more than {(1 << WIDTH) - 2} VM values in one exploration")
        self.index[vm] = vid
        self.vms.append(vm)
        self.names.append(vm.name)
        self.layouts.append(self.get_settings_id(vm.settings))
        self.runtimes.append(get_runtime(vm))
        self.planned_as.append(
            self._plan_views.setdefault(evolve_vm(vm, demand_mib=0), len(self._plan_views))
            if is_balanced(vm) or is_waiting_start(vm) else -1)
        self.vm_ok.append(None)
        self.owned.append(None)
        return vid

    def get_settings_id(self, settings: VmSettings) -> int:
        """The id of ``settings`` (``layouts`` holds each VM value's)."""
        return self._settings.setdefault(settings, len(self._settings))

    def ids(self, vms: tuple[Vm, ...]) -> Vids:
        return tuple(map(self.id, vms))

    def pack(self, free_mib: int, vids: Vids) -> StateKey:
        """The key of a state with ``free_mib`` free and VMs ``vids``."""
        if len(vids) > self.slots:
            raise ValueError(f"a state with {len(vids)} VMs in an exploration of at most "
                             f"{self.slots}")
        key = free_mib * self.free_unit
        for i, vid in enumerate(vids):
            key += (vid + 1) << (WIDTH * i)
        return key

    def unpack(self, key: StateKey) -> tuple[int, Vids]:
        """(free memory, VM ids) of ``key``."""
        mask = self._mask
        vids = tuple([((key >> shift) & mask) - 1 for shift in self._shifts])
        if -1 in vids:  # fewer VMs than slots (after a Delete)
            vids = vids[:vids.index(-1)]
        return key >> self._free_shift, vids

    def get_slot_part(self, index: int, free_mib: int, vid: int) -> int:
        """What free memory ``free_mib`` and VM ``vid`` at position ``index`` add to a key:
        a successor that changes only them is ``key - part(before) + part(after)``."""
        return free_mib * self.free_unit + ((vid + 1) << (WIDTH * index))

    def canonical(self, vids: Vids) -> Vids:
        """``vids`` with the runtimes of same-settings VMs in sorted order over their
        positions, as ``symmetry.Canonicalizer`` orders them (names stay in place)."""
        layouts = self.layouts
        layout = tuple([layouts[v] for v in vids])
        groups = self._groups.get(layout)
        if groups is None:
            groups = self._groups[layout] = get_groups(layout)
        if not groups:
            return vids
        runtimes = self.runtimes
        new = list(vids)
        changed = False
        for positions in groups:
            if len(positions) == 2:  # most groups: one comparison (sorted() is stable)
                first, second = positions
                if not runtimes[vids[second]] < runtimes[vids[first]]:
                    continue
                order = [second, first]
            else:
                order = sorted(positions, key=lambda i: runtimes[vids[i]])
            for slot, source in zip(positions, order, strict=True):
                if slot != source:
                    new[slot] = self.rename(vids[source], self.names[vids[slot]])
                    changed = True
        return tuple(new) if changed else vids

    def rename(self, vid: int, name: str) -> int:
        """The id of VM ``vid``'s value under the name ``name``."""
        found = self._renamed.get((vid, name))
        if found is None:
            found = self._renamed[(vid, name)] = self.id(attrs.evolve(self.vms[vid], name=name))
        return found


class PackedStates(Sequence[DmState]):
    """The states of an exploration by id, each built from its packed key when read: a
    ``DmState`` per state and its tuple would be a third of a 3-VM search's memory.
    Equal to any sequence of the same states in the same order."""

    def __init__(self, host: HostSettings, table: VmTable, keys: Sequence[StateKey],
                 unpack: Callable[[StateKey], tuple[int, Vids]] | None = None) -> None:
        self.host = host
        self.table = table
        self.keys = keys
        # how a key unpacks: ``table.unpack``, or the batch search's own packing
        self.unpack = unpack or table.unpack

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> DmState: ...
    @overload
    def __getitem__(self, index: slice) -> list[DmState]: ...
    def __getitem__(self, index: int | slice) -> DmState | list[DmState]:
        if isinstance(index, slice):
            return [self.get(key) for key in self.keys[index]]
        return self.get(self.keys[index])

    def __iter__(self) -> Iterator[DmState]:
        return map(self.get, self.keys)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return repr(list(self))

    def get(self, key: StateKey) -> DmState:
        """The state of ``key``."""
        free, vids = self.unpack(key)
        vms = self.table.vms
        return DmState(self.host, free, tuple([vms[v] for v in vids]))
