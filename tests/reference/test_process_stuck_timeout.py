"""R-STUCK: the watchdog marks a silent transaction stuck, frees nothing (process_stuck_timeout)."""

from __future__ import annotations

from dm_builders import (
    accept,
    balloon_in_flight,
    dyn,
    grown,
    make,
    ready,
    reject,
    settled,
)

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    Demand,
    HotAddResponse,
    StatusReport,
    StuckTimeout,
)
from dynmem.reference.policy import compute_plan


def test_timeout_marks_stuck_and_frees_nothing() -> None:
    """R-STUCK: the outstanding pages were never received, so free is unchanged."""
    state = balloon_in_flight()
    after = accept(state, StuckTimeout("a"))
    assert after.vms[0].stuck is True
    assert (after.free_mib, after.vms[0].txn) == (state.free_mib, TxnKind.BALLOON)


def test_any_answer_clears_stuck() -> None:
    """R-STUCK: a late answer is progress: the VM is managed again."""
    state = accept(balloon_in_flight(), StuckTimeout("a"))
    assert accept(state, BalloonResponse("a", 2, more_pages=True)).vms[0].stuck is False


def test_a_report_does_not_clear_stuck() -> None:
    """R-STUCK: a hibernating guest keeps reporting while it ignores the balloon."""
    state = accept(balloon_in_flight(), StuckTimeout("a"))
    assert accept(state, StatusReport("a", 400)).vms[0].stuck is True


def test_needs_a_transaction_and_fires_once() -> None:
    """R-STUCK: no transaction, nothing to give up on; a stuck VM is not timed out twice."""
    assert reject(grown(), StuckTimeout("a")) == "a has no transaction in flight"
    state = accept(balloon_in_flight(), StuckTimeout("a"))
    assert reject(state, StuckTimeout("a")) == "a is already stuck"


def test_stuck_balloon_is_not_incoming() -> None:
    """P-STUCK: once the silent donor is stuck, the lower-weight donor is squeezed instead."""
    state = make(("hi", dyn(maximum=8192, weight=8000)), ("mid", dyn(maximum=8192, weight=3000)),
                 ("lo", dyn(maximum=8192, weight=1000)))
    state = settled(ready(state, "mid", report=3000))
    state = settled(ready(state, "lo", report=2000))
    state = ready(state, "hi", report=0)
    # mid now wants little (its balloon will never be answered); hi wants a lot.
    state = accept(state, StatusReport("mid", 500), Demand("hi", 3000), StatusReport("hi", 3000))
    state = accept(state, BalancerTick(), HotAddResponse("hi", 144), BalloonResponse("lo", 144))
    assert state.vms[1].txn == TxnKind.BALLOON  # mid's balloon counts as incoming for hi
    assert not [r for r in compute_plan(state) if r.vm == "lo"]
    stuck = accept(state, StuckTimeout("mid"))
    assert [r for r in compute_plan(stuck) if r.vm == "lo"] == [BalloonRequest("lo", 1232)]
