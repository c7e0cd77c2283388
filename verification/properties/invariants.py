"""Fast concrete invariant checks for the engines: same verdicts as the registry, less work.

The explorer and the walk check hundreds of thousands of states and steps. ``InvariantCache``
gives the same answer as ``model.invariants.check_state``/``check_step`` using facts about the
registry's clause scopes and read sets (specs/invariants.md), which
tests/verification/explore/test_explore.py (``TestInvariantCache``),
tests/verification/oracle/test_vm_step.py and tests/verification/walk/test_read_sets.py check
on every registry clause:

* a ``vm`` clause reads only its VM (and the host settings), so its verdict is cached per
  (interned) ``Vm`` value; and it reads only some of the VM's fields (``model.dependence``),
  so a VM that differs from a judged one (``parent``) only in fields a clause does not
  read keeps that clause's verdict: only the clauses reading a changed field are judged;
* a ``host`` clause reads only the host settings, free memory and the sum of what the VMs
  own (the model's ``owned``), so its verdict is cached per (host, free, Σ owned) and a
  VM's owned memory per (interned) ``Vm`` value: no state is summed through the generic
  operator layer again;
* a ``pair`` clause holds for a VM the step left unchanged (a stutter), so only VMs whose
  value changed are checked; a pair clause is a function of (event, VM before, VM after),
  so its verdict is cached per such triple; and of the fields it reads, for the event's
  kind: a step that changed none of them has a stutter's verdict, so only the clauses
  reading a changed field are judged;
* a ``step`` clause (a tick's, INV-RECLAIM-ORDER) is judged on every step, uncached: it is
  true at once for every other event.

Whenever anything fails, the full registry check runs, so violations are reported exactly
as ``check_transition`` reports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dynmem.model.dependence import get_clause_reads
from dynmem.model.invariants import (
    INVARIANTS,
    Clause,
    Invariant,
    Violation,
    check_state,
    check_step,
)
from dynmem.model.ops import CONCRETE
from dynmem.model.quantities import owned
from dynmem.reference.events import Event
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import DmState, Vm
from dynmem.verification.properties.fieldmask import get_changed, get_mask

# Clauses with the bits of the VM fields each reads (``fieldmask``).
Masked = tuple[tuple[Clause, int], ...]


class InvariantCache:
    """``check_state``/``check_step`` with per-VM caching (see the module docstring)."""

    def __init__(self, invariants: Sequence[Invariant] = INVARIANTS) -> None:
        self.invariants = tuple(invariants)
        self._vm_clauses: tuple[Clause, ...] = tuple(
            c for inv in self.invariants for c in inv.clauses if c.scope == "vm")
        self._host_clauses: tuple[Clause, ...] = tuple(
            c for inv in self.invariants for c in inv.clauses if c.scope == "host")
        self._pair_clauses: tuple[Clause, ...] = tuple(
            c for inv in self.invariants for c in inv.clauses if c.scope == "pair")
        self._step_clauses: tuple[Clause, ...] = tuple(
            c for inv in self.invariants for c in inv.clauses if c.scope == "step")
        self._vm_masked: Masked = tuple(
            (c, get_mask(get_clause_reads("vm", c.holds))) for c in self._vm_clauses)
        # per (event type, whether the event names the VM): the pair clauses, each with the
        # fields it reads on such a step
        self._pair_masked: dict[tuple[type, bool], Masked] = {}
        # the clauses that read a field of a change (per its mask; for pair clauses per the
        # key of ``_pair_masked`` too): a walk meets few kinds of change
        self._vm_reading: dict[int, tuple[Clause, ...]] = {}
        self._pair_reading: dict[tuple[type, bool, int], tuple[Clause, ...]] = {}
        self._vm_ok: dict[Vm, bool] = {}
        self._owned: dict[Vm, int] = {}
        self._host_ok: dict[tuple[HostSettings, int, int], bool] = {}
        self._pair_ok: dict[tuple[Event, Vm, Vm], bool] = {}

    def is_vm_ok(self, state: DmState, vm: Vm, parent: Vm | None = None) -> bool:
        """Whether ``vm`` (a VM of ``state``) satisfies every vm clause; with ``parent``, a
        VM known to satisfy them all, only the clauses that read a field in which ``vm``
        differs from it are judged."""
        ok = self._vm_ok.get(vm)
        if ok is None:
            if parent is not None and self._vm_ok.get(parent):
                changed = get_changed(parent, vm)
                clauses = self._vm_reading.get(changed)
                if clauses is None:
                    clauses = self._vm_reading[changed] = tuple(
                        c for c, reads in self._vm_masked if reads & changed)
                ok = all(c.holds(CONCRETE, state, vm) for c in clauses)
            else:
                ok = all(c.holds(CONCRETE, state, vm) for c in self._vm_clauses)
            self._vm_ok[vm] = ok
        return ok

    def get_owned(self, vm: Vm) -> int:
        """What ``vm`` owns by the model's definition (``model.quantities.owned``)."""
        found = self._owned.get(vm)
        if found is None:
            found = self._owned[vm] = owned(CONCRETE, vm)
        return int(found)

    def is_host_ok(self, state: DmState, total_owned: int) -> bool:
        """Whether ``state``, whose VMs own ``total_owned`` in all, satisfies every host
        clause (cached per host, free memory and that total)."""
        key = (state.host, state.free_mib, total_owned)
        ok = self._host_ok.get(key)
        if ok is None:
            ok = self._host_ok[key] = all(c.holds(CONCRETE, state) for c in self._host_clauses)
        return ok

    def check_state(self, state: DmState) -> list[Violation]:
        """Every state clause broken by ``state`` (as ``model.invariants.check_state``)."""
        return self.check_state_total(state)[0]

    def check_state_total(self, state: DmState) -> tuple[list[Violation], int | None]:
        """``check_state``, and what the VMs of ``state`` own in all when nothing is broken
        (else None)."""
        vms = state.vms
        if all(self.is_vm_ok(state, vm) for vm in vms):
            total = sum(map(self.get_owned, vms))
            if self.is_host_ok(state, total):
                return [], total
        return check_state(state, self.invariants), None

    def check_successor(self, pre: DmState, post: DmState) -> list[Violation]:
        """``check_state`` of ``post``, a successor of ``pre``, which breaks no state clause:
        a VM that is the very object it was keeps its verdict, a changed VM in its place is
        judged from the one it was (``is_vm_ok``'s ``parent``)."""
        before, after = pre.vms, post.vms
        if len(before) == len(after) and all(
                a is b or self.is_vm_ok(post, b, a if a.name == b.name else None)
                for a, b in zip(before, after, strict=True)
        ) and self.is_host_ok(post, sum(map(self.get_owned, after))):
            return []
        return check_state(post, self.invariants)

    def check_step(self, pre: DmState, event: Event, post: DmState) -> list[Violation]:
        """Every pair clause broken by ``pre --event--> post`` (as ``check_step``)."""
        before, after = pre.vms, post.vms
        if not all(c.holds(CONCRETE, event, pre, post) for c in self._step_clauses):
            return check_step(pre, event, post, self.invariants)
        pairs: Iterable[tuple[Vm, Vm]]
        if len(before) == len(after):
            pairs = zip(before, after, strict=True)
        else:  # a create or a delete: VMs are paired by name, as ``all_pairs`` pairs them
            by_name = {vm.name: vm for vm in after}
            pairs = [(a, by_name[a.name]) for a in before if a.name in by_name]
        for a, b in pairs:
            if a is b:
                continue
            if a.name != b.name:
                return check_step(pre, event, post, self.invariants)
            key = (event, a, b)
            ok = self._pair_ok.get(key)
            if ok is None:
                ok = all(c.holds(CONCRETE, event, a, b) for c in self._get_pairs(event, a, b))
                self._pair_ok[key] = ok
            if not ok:
                return check_step(pre, event, post, self.invariants)
        return []

    def clear(self) -> None:
        """Forget every cached verdict (a long walk bounds its memory by counts)."""
        self._vm_ok.clear()
        self._owned.clear()
        self._host_ok.clear()
        self._pair_ok.clear()

    def _get_pairs(self, event: Event, before: Vm, after: Vm) -> tuple[Clause, ...]:
        """The pair clauses that read a field the step ``before -> after`` of ``event``
        changed (a clause's reads depend on the event's type, and on whether it names the
        VM: a clause may ask which event it judges)."""
        names = getattr(event, "vm", None) == before.name
        changed = get_changed(before, after)
        key = (type(event), names, changed)
        found = self._pair_reading.get(key)
        if found is None:
            kind = (type(event), names)
            masked = self._pair_masked.get(kind)
            if masked is None:
                masked = self._pair_masked[kind] = tuple(
                    (c, get_mask(get_clause_reads("pair", c.holds, event, names)))
                    for c in self._pair_clauses)
            found = self._pair_reading[key] = tuple(c for c, reads in masked if reads & changed)
        return found

    def check_transition(self, pre: DmState, event: Event, post: DmState) -> list[Violation]:
        """``check_step`` then ``check_state`` of ``post``, like ``trace.check_transition``."""
        return self.check_step(pre, event, post) + self.check_state(post)
