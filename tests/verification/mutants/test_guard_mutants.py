"""The planted bugs of the protocol guards that are claims (INV-ADVERTISED,
INV-NO-HOT-ADD-AFTER-PARTIAL, INV-UNBALLOON-FIRST): a tick of each buggy policy sends the
request the reference never sends, and the registry names the broken invariant on the state
it leaves. The reference's own tick from the same state keeps every invariant.

Exploration, the stateful campaign and BMC run these bugs with the rest of the catalogue
(test_mutants_caught.py, test_model_mutants.py); the proofs' CTIs are in
tests/verification/symbolic/test_guard_proofs.py.
"""

from __future__ import annotations

import pytest
from dm_builders import accept, dyn, grown, make, ready

from dynmem.model.invariants import check_state, check_step
from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    Demand,
    HotAddResponse,
    StatusReport,
)
from dynmem.reference.state import DmState
from dynmem.reference.step import step
from dynmem.verification.mutants.catalogue import BY_NAME, plan_hot_add_first


def _without_hot_add() -> DmState:
    """``a`` READY, reporting 3000 MiB (target 3600), whose guest advertised no hot-add."""
    return ready(make(("a", dyn())), "a", hot_add=False, report=3000)


def _without_balloon() -> DmState:
    """``a`` grown to 3072 MiB by hot-add and now reporting 500 MiB, whose guest advertised
    no balloon: the reference has nothing to send it."""
    state = ready(make(("a", dyn())), "a", balloon=False, report=3000)
    state = accept(state, BalancerTick(), HotAddResponse("a", 2048))
    return accept(state, Demand("a", 500), StatusReport("a", 500))


def _after_partial() -> DmState:
    """``a`` whose guest added only 1024 of 2048 MiB: hot-add is disabled until restart."""
    state = ready(make(("a", dyn())), "a", report=3000)
    state = accept(state, BalancerTick(), HotAddResponse("a", 1024))
    assert not state.vms[0].hot_add_enabled and state.vms[0].visible_mib == 2048
    return state


def _ballooned_and_short() -> DmState:
    """``a`` grown to 3072 MiB, 512 MiB of it ballooned, still short of its 3600 target."""
    state = accept(grown(), BalloonRequest("a", 512), BalloonResponse("a", 512))
    assert (state.vms[0].ballooned_mib, state.vms[0].visible_mib) == (512, 3072)
    return state


CASES = {
    # bug name -> (state, the kind the buggy tick sends, the invariant it breaks)
    "hot_add_without_capability": (_without_hot_add, TxnKind.HOT_ADD, "INV-ADVERTISED"),
    "balloon_without_capability": (_without_balloon, TxnKind.BALLOON, "INV-ADVERTISED"),
    "hot_add_after_partial": (_after_partial, TxnKind.HOT_ADD, "INV-NO-HOT-ADD-AFTER-PARTIAL"),
    "hot_add_before_unballoon": (_ballooned_and_short, TxnKind.HOT_ADD, "INV-UNBALLOON-FIRST"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_buggy_tick_breaks_the_invariant(name: str) -> None:
    build, kind, invariant = CASES[name]
    state = build()
    bug = BY_NAME[name]
    assert invariant in bug.breaks
    result = bug.reference_step(state, BalancerTick())
    assert result.accepted, result.reason
    assert result.state.vms[0].txn == kind
    assert invariant in {v.invariant for v in check_state(result.state)}
    # the reference, from the same state, keeps every invariant and sends no such request
    reference = step(state, BalancerTick())
    assert check_state(reference.state) == []
    assert reference.state.vms[0].txn != kind


def test_hot_add_first_policy_replaces_the_unballoon() -> None:
    """Where the reference unballoons 512 MiB, plan_hot_add_first hot-adds 512 MiB."""
    state = _ballooned_and_short()
    plan = plan_hot_add_first(state)
    assert [(r.KIND, r.mib) for r in plan] == [("hot_add_request", 512)]
    assert [r.KIND for r in step(state, BalancerTick()).sent] == ["unballoon_request"]


def test_partial_answer_keeps_hot_add_in_the_buggy_host() -> None:
    """hot_add_kept_after_partial: the partial answer leaves hot-add enabled, which the
    two-state clause of INV-NO-HOT-ADD-AFTER-PARTIAL reports on that very step."""
    state = accept(ready(make(("a", dyn())), "a", report=3000), BalancerTick())
    event = HotAddResponse("a", 1024)
    bug = BY_NAME["hot_add_kept_after_partial"]
    post = bug.reference_step(state, event).state
    assert post.vms[0].hot_add_enabled and post.vms[0].visible_mib == 2048
    from_registry = {(v.invariant, v.clause) for v in check_step(state, event, post)}
    assert ("INV-NO-HOT-ADD-AFTER-PARTIAL",
            "a partial hot-add disables hot-add until restart") in from_registry
