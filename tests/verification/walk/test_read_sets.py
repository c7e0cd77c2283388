"""The checks that judge a step by the fields it changed give the plain checks' verdicts.

``RefinementCache`` evaluates a slot action's guards and update once per values of the
fields they read (``model.dependence.get_action_reads``); ``InvariantCache`` judges a new VM
value from the one it came from by the vm clauses reading a changed field, and a step by the
pair clauses reading one (``get_clause_reads``). On every step of the 1-VM preset (with and
without the lifecycle events) under the reference and every planted bug, they must agree
with ``is_allowed`` and the registry; a read set missing a field must be caught here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dynmem.model.actions import BY_KIND
from dynmem.model.concrete_steps import is_allowed
from dynmem.model.dependence import get_action_reads
from dynmem.model.invariants import INVARIANTS, check_state, check_step
from dynmem.model.ops import CONCRETE
from dynmem.reference.events import Event
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import StepResult
from dynmem.verification.explore import explore
from dynmem.verification.explore.config import get_config
from dynmem.verification.mutants.catalogue import MUTANTS
from dynmem.verification.properties import fieldmask, refinement
from dynmem.verification.properties.invariants import InvariantCache
from dynmem.verification.properties.locality import is_slot_change

Step = tuple[DmState, Event, StepResult]
VM_CLAUSES = [c for inv in INVARIANTS for c in inv.clauses if c.scope == "vm"]


def _explored() -> Iterator[Step]:
    """Every step of the 1-VM preset, with and without the lifecycle, under the reference
    and each planted bug (whose steps break invariants and refinement)."""
    plain = get_config(1)
    runs = [(plain, None), (plain.with_vm_lifecycle(), None)]
    runs += [(plain.with_vm_lifecycle() if bug.explore_lifecycle else plain, bug)
             for bug in MUTANTS]
    for config, bug in runs:
        x = (explore(config, bug.reference_step, bug.policy, progress=False) if bug
             else explore(config, progress=False))
        for sid in range(x.n_states):
            for event, result, _ in x.successors(sid):
                yield x.states[sid], event, result


@pytest.fixture(scope="module")
def all_steps() -> list[Step]:
    """The distinct accepted steps among them (most bugs share most steps)."""
    found: dict[tuple[DmState, Event, DmState], Step] = {}
    for pre, event, result in _explored():
        if result.accepted:
            found.setdefault((pre, event, result.state), (pre, event, result))
    return list(found.values())


@pytest.fixture(scope="module")
def steps(all_steps: list[Step]) -> list[Step]:
    """Those that change the VM and free memory only (every one, on one VM)."""
    return [s for s in all_steps if is_slot_change(s[0], 0, s[2].state)]


def test_the_refinement_cache_is_is_allowed(steps: list[Step]) -> None:
    """The same verdict and message on every accepted single-VM step, the model's
    refusals (planted bugs) included, with most evaluations shared."""
    host = steps[0][0].host
    cache = refinement.RefinementCache(host)
    refused = 0
    for pre, event, result in steps:
        assert pre.host is host
        want = is_allowed(pre, event, result.state, result.sent)
        assert cache(pre, event, result.state, result.sent) == want, (pre, event)
        refused += want is not None
    assert refused > 20
    assert len(cache) < len(steps) / 2


def test_a_refinement_key_missing_a_field_is_caught(steps: list[Step],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: a cache that keys a configure without the VM's power (its guard 'off'
    reads it) lets a planted bug's change of settings while running through."""
    real = refinement._get_reads

    def without_power(kind: str) -> object:
        found = real(kind)
        if kind != "configure" or found is None:
            return found
        reads = get_action_reads(BY_KIND[kind])
        assert reads == {"power"}
        return (lambda vm: ()), found[1]

    monkeypatch.setattr(refinement, "_get_reads", without_power)
    cache = refinement.RefinementCache(steps[0][0].host)
    assert any(cache(pre, e, r.state, r.sent) != is_allowed(pre, e, r.state, r.sent)
               for pre, e, r in steps)


def _vm_ok(state: DmState, vm: Vm) -> bool:
    """Every vm clause of the registry on ``vm``, evaluated."""
    return all(c.holds(CONCRETE, state, vm) for c in VM_CLAUSES)


def _from_parent(cache: InvariantCache, pre: DmState, post: DmState) -> bool:
    """``is_vm_ok`` of the VM after a step, from the VM before it, nothing else cached."""
    cache.clear()
    assert cache.is_vm_ok(pre, pre.vms[0])
    return cache.is_vm_ok(post, post.vms[0], pre.vms[0])


def test_a_vm_judged_by_what_changed_is_judged_as_whole(steps: list[Step]) -> None:
    """``is_vm_ok`` from a good parent: the verdict of every vm clause on the new value, on
    every step from a good VM, also where a planted bug breaks a clause."""
    cache, bad = InvariantCache(), 0
    for pre, _event, result in steps:
        if _vm_ok(pre, pre.vms[0]):
            whole = _vm_ok(result.state, result.state.vms[0])
            assert _from_parent(cache, pre, result.state) == whole
            bad += not whole
    assert bad > 0


def test_pair_clauses_by_what_changed_agree_with_the_registry(steps: list[Step]) -> None:
    """``check_step`` skips the pair clauses reading nothing the step changed: the
    registry's violations on every step, some of them broken by planted bugs."""
    cache = InvariantCache()
    bad = 0
    for pre, event, result in steps:
        want = check_step(pre, event, result.state)
        assert cache.check_step(pre, event, result.state) == want
        bad += bool(want)
    assert bad > 0


def test_a_clause_mask_missing_a_field_is_caught(steps: list[Step],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: with every clause's read set missing the visible memory and the
    transaction, both checks disagree with the registry somewhere."""
    real = fieldmask.get_mask
    dropped = real(frozenset({"visible_mib", "txn", "txn_mib"}))
    monkeypatch.setattr("dynmem.verification.properties.invariants.get_mask",
                        lambda reads: real(reads) & ~dropped)
    cache = InvariantCache()
    assert any(_from_parent(cache, pre, r.state) != _vm_ok(r.state, r.state.vms[0])
               for pre, _e, r in steps if _vm_ok(pre, pre.vms[0]))
    assert any(cache.check_step(pre, e, r.state) != check_step(pre, e, r.state)
               for pre, e, r in steps)


def test_a_successor_is_judged_as_whole(all_steps: list[Step]) -> None:
    """``check_successor`` (a settled walk's check) gives ``check_state``'s verdict on every
    successor of a good state, some of them broken by planted bugs."""
    cache, bad = InvariantCache(), 0
    for pre, _event, result in all_steps:
        if not check_state(pre):
            want = check_state(result.state)
            assert cache.check_successor(pre, result.state) == want
            bad += bool(want)
    assert bad > 0
