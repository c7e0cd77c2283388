"""R-HOT-ADD-RESPONSE: the guest's answer to a hot-add, all four outcomes."""

from __future__ import annotations

from dm_builders import accept, dyn, make, ready, reject

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    BalloonRequest,
    BalloonResponse,
    HotAddRequest,
    HotAddResponse,
    Stop,
)
from dynmem.reference.state import DmState

FREE = 7168 - 1024 - 2048  # free once ``a`` runs and 2048 MiB are in flight


def hot_adding() -> DmState:
    """``a`` (startup 1024, maximum 8192) READY with a 2048 MiB hot-add in flight."""
    state = ready(make(("a", dyn(startup=1024, maximum=8192))), "a", report=6000)
    state = accept(state, HotAddRequest("a", 2048))
    assert state.free_mib == FREE
    return state


def test_full_success_adds_everything_asked() -> None:
    """R-HOT-ADD-RESPONSE: full success: visible grows by the amount; free is unchanged."""
    after = accept(hot_adding(), HotAddResponse("a", 2048, success=True))
    vm = after.vms[0]
    assert (vm.visible_mib, vm.assigned_mib, vm.hot_add_enabled) == (3072, 3072, True)
    assert (vm.txn, vm.txn_mib, after.free_mib) == (TxnKind.NONE, 0, FREE)


def test_partial_success_releases_the_rest_and_disables_hot_add() -> None:
    """R-HOT-ADD-RESPONSE: partial: the difference returns to free; no more hot-add."""
    after = accept(hot_adding(), HotAddResponse("a", 512, success=True))
    vm = after.vms[0]
    assert (vm.visible_mib, vm.hot_add_enabled, vm.txn) == (1536, False, TxnKind.NONE)
    assert after.free_mib == FREE + 1536
    assert reject(after, HotAddRequest("a", 2)) == "hot-add is not possible for a"


def test_permanent_failure_releases_everything_and_disables_hot_add() -> None:
    """R-HOT-ADD-RESPONSE: result ok with 0 pages is a permanent failure."""
    after = accept(hot_adding(), HotAddResponse("a", 0, success=True))
    vm = after.vms[0]
    assert (vm.visible_mib, vm.hot_add_enabled, vm.txn) == (1024, False, TxnKind.NONE)
    assert after.free_mib == FREE + 2048


def test_transient_failure_releases_everything_and_allows_a_retry() -> None:
    """R-HOT-ADD-RESPONSE: result fail is transient: nothing added, hot-add stays possible."""
    after = accept(hot_adding(), HotAddResponse("a", 0, success=False))
    vm = after.vms[0]
    assert (vm.visible_mib, vm.hot_add_enabled, vm.txn) == (1024, True, TxnKind.NONE)
    assert after.free_mib == FREE + 2048
    assert accept(after, HotAddRequest("a", 2048)).vms[0].txn == TxnKind.HOT_ADD


def test_pages_claimed_with_a_failed_result_are_ignored() -> None:
    """R-HOT-ADD-RESPONSE: a failed result adds nothing, whatever page count it carries."""
    after = accept(hot_adding(), HotAddResponse("a", 2048, success=False))
    assert (after.vms[0].visible_mib, after.vms[0].hot_add_enabled) == (1024, True)
    assert after.free_mib == FREE + 2048


def test_an_oversized_answer_is_clamped_to_the_request() -> None:
    """R-HOT-ADD-RESPONSE: a guest claiming more than asked gets only what was asked."""
    after = accept(hot_adding(), HotAddResponse("a", 10_000, success=True))
    vm = after.vms[0]
    assert (vm.visible_mib, vm.hot_add_enabled) == (3072, True)
    assert after.free_mib == FREE


def test_an_odd_page_count_counts_whole_2_mib_units() -> None:
    """R-HOT-ADD-RESPONSE: amounts move in 2 MiB units; a stray MiB is released."""
    after = accept(hot_adding(), HotAddResponse("a", 1023, success=True))
    assert (after.vms[0].visible_mib, after.free_mib) == (1024 + 1022, FREE + 1026)
    assert not after.vms[0].hot_add_enabled


def test_a_duplicate_answer_is_refused() -> None:
    """R-HOT-ADD-RESPONSE: a second answer has no transaction to end."""
    state = accept(hot_adding(), HotAddResponse("a", 2048))
    assert reject(state, HotAddResponse("a", 2048)) == (
        "a has no HOT_ADD transaction in flight (has NONE)")


def test_an_unsolicited_or_mismatched_answer_is_refused() -> None:
    """R-HOT-ADD-RESPONSE: no hot-add in flight (none, or a balloon) means no answer."""
    state = ready(make(("a", dyn(startup=1024, maximum=8192))), "a", report=6000)
    assert "(has NONE)" in reject(state, HotAddResponse("a", 512))
    state = accept(hot_adding(), HotAddResponse("a", 2048), BalloonRequest("a", 512))
    assert "(has BALLOON)" in reject(state, HotAddResponse("a", 512))
    assert accept(state, BalloonResponse("a", 512)).vms[0].txn == TxnKind.NONE


def test_a_negative_page_count_is_refused() -> None:
    """R-HOT-ADD-RESPONSE: a negative page count is malformed."""
    assert reject(hot_adding(), HotAddResponse("a", -2)) == (
        "hot-add response amount must be >= 0, got -2")


def test_an_answer_after_stop_is_refused() -> None:
    """R-HOT-ADD-RESPONSE: a stopped VM's hot-add was dropped (R-STOP)."""
    state = accept(hot_adding(), Stop("a"))
    assert state.free_mib == 7168
    assert reject(state, HotAddResponse("a", 2048)) == "a is not running"
