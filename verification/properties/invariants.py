"""Fast concrete invariant checks for the explorer: same verdicts as the registry, less work.

The explorer checks hundreds of thousands of states and steps. ``InvariantCache`` gives the
same answer as ``model.invariants.check_state``/``check_step`` using two facts about the
registry's clause scopes, which tests/verification/test_checking.py verifies on every
registry clause:

* a ``vm`` clause reads only its VM (and the host settings), so its verdict is cached per
  (interned) ``Vm`` value;
* a ``pair`` clause holds for a VM the step left unchanged (a stutter), so only VMs whose
  value changed are checked; a pair clause is a function of (event, VM before, VM after),
  so its verdict is cached per such triple.

Whenever anything fails, the full registry check runs, so violations are reported exactly
as ``check_transition`` reports them.
"""

from __future__ import annotations

from collections.abc import Sequence

from dynmem.model.invariants import (
    INVARIANTS,
    Clause,
    Invariant,
    Violation,
    check_state,
    check_step,
)
from dynmem.model.ops import CONCRETE
from dynmem.reference.events import Event
from dynmem.reference.state import DmState, Vm


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
        self._vm_ok: dict[Vm, bool] = {}
        self._pair_ok: dict[tuple[Event, Vm, Vm], bool] = {}

    def _is_vm_ok(self, state: DmState, vm: Vm) -> bool:
        ok = self._vm_ok.get(vm)
        if ok is None:
            ok = all(c.holds(CONCRETE, state, vm) for c in self._vm_clauses)
            self._vm_ok[vm] = ok
        return ok

    def check_state(self, state: DmState) -> list[Violation]:
        """Every state clause broken by ``state`` (as ``model.invariants.check_state``)."""
        if (all(self._is_vm_ok(state, vm) for vm in state.vms)
                and all(c.holds(CONCRETE, state) for c in self._host_clauses)):
            return []
        return check_state(state, self.invariants)

    def check_step(self, pre: DmState, event: Event, post: DmState) -> list[Violation]:
        """Every pair clause broken by ``pre --event--> post`` (as ``check_step``)."""
        before, after = pre.vms, post.vms
        if len(before) != len(after):
            return check_step(pre, event, post, self.invariants)
        for a, b in zip(before, after, strict=True):
            if a is b:
                continue
            if a.name != b.name:
                return check_step(pre, event, post, self.invariants)
            key = (event, a, b)
            ok = self._pair_ok.get(key)
            if ok is None:
                ok = all(c.holds(CONCRETE, event, a, b) for c in self._pair_clauses)
                self._pair_ok[key] = ok
            if not ok:
                return check_step(pre, event, post, self.invariants)
        return []

    def check_transition(self, pre: DmState, event: Event, post: DmState) -> list[Violation]:
        """``check_step`` then ``check_state`` of ``post``, like ``trace.check_transition``."""
        return self.check_step(pre, event, post) + self.check_state(post)
