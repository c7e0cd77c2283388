"""R-BALLOON-RESPONSE: the guest's balloon answers, one or many parts (process_balloon_response)."""

from __future__ import annotations

from dm_builders import accept, grown, reject

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import BalloonRequest, BalloonResponse, HotAddRequest
from dynmem.reference.state import DmState

FREE = 4096  # free memory of ``grown()``


def asked(mib: int = 2048) -> DmState:
    """``a`` at 3072 MiB (startup 1024) asked to balloon ``mib``."""
    return accept(grown(), BalloonRequest("a", mib))


def test_a_single_final_response_completes_the_balloon() -> None:
    """R-BALLOON-RESPONSE: the pages carried become free; the transaction ends."""
    after = accept(asked(2048), BalloonResponse("a", 2048))
    vm = after.vms[0]
    assert (vm.ballooned_mib, vm.assigned_mib, vm.visible_mib) == (2048, 1024, 3072)
    assert (vm.txn, vm.txn_mib, vm.txn_done_mib) == (TxnKind.NONE, 0, 0)
    assert after.free_mib == FREE + 2048


def test_a_multi_part_response_frees_each_part_when_it_arrives() -> None:
    """R-BALLOON-RESPONSE: each part frees only its pages; more_pages keeps the transaction."""
    state = accept(asked(2048), BalloonResponse("a", 1020, more_pages=True))
    vm = state.vms[0]
    assert (vm.txn, vm.txn_mib, vm.txn_done_mib, vm.ballooned_mib) == (
        TxnKind.BALLOON, 2048, 1020, 1020)
    assert state.free_mib == FREE + 1020
    state = accept(state, BalloonResponse("a", 1020, more_pages=True))
    assert (state.vms[0].txn_done_mib, state.free_mib) == (2040, FREE + 2040)
    state = accept(state, BalloonResponse("a", 8, more_pages=False))
    vm = state.vms[0]
    assert (vm.txn, vm.ballooned_mib, vm.assigned_mib, state.free_mib) == (
        TxnKind.NONE, 2048, 1024, FREE + 2048)


def test_an_empty_final_response_means_at_floor() -> None:
    """R-BALLOON-RESPONSE: an empty final response ends the balloon; nothing more is freed."""
    state = accept(asked(2048), BalloonResponse("a", 512, more_pages=True))
    after = accept(state, BalloonResponse("a", 0, more_pages=False))
    vm = after.vms[0]
    assert (vm.txn, vm.ballooned_mib, vm.assigned_mib) == (TxnKind.NONE, 512, 2560)
    assert after.free_mib == FREE + 512
    # The host does not wait on the 1536 MiB it never received: it may send again.
    assert accept(after, BalloonRequest("a", 2)).vms[0].txn == TxnKind.BALLOON


def test_an_empty_part_with_more_pages_keeps_waiting() -> None:
    """R-BALLOON-RESPONSE: an empty non-final part changes nothing but the wait goes on."""
    before = asked(1024)
    after = accept(before, BalloonResponse("a", 0, more_pages=True))
    assert after == before


def test_the_last_page_ends_the_transaction_even_with_more_pages_set() -> None:
    """R-BALLOON-RESPONSE: once every asked page arrived the balloon is complete."""
    state = accept(asked(1024), BalloonResponse("a", 1024, more_pages=True))
    assert (state.vms[0].txn, state.vms[0].ballooned_mib) == (TxnKind.NONE, 1024)
    # The guest's trailing final part is a duplicate after completion: refused, no effect.
    reason = reject(state, BalloonResponse("a", 0, more_pages=False))
    assert reason == "a has no BALLOON transaction in flight (has NONE)"


def test_an_oversized_response_is_clamped_to_what_was_asked() -> None:
    """R-BALLOON-RESPONSE: a guest answering more than asked counts only what was asked."""
    after = accept(asked(1024), BalloonResponse("a", 4096))
    vm = after.vms[0]
    assert (vm.ballooned_mib, vm.assigned_mib, vm.txn) == (1024, 2048, TxnKind.NONE)
    assert after.free_mib == FREE + 1024


def test_an_oversized_later_part_is_clamped_to_what_is_still_outstanding() -> None:
    """R-BALLOON-RESPONSE: the clamp counts the parts already received (never below floor)."""
    state = accept(asked(2048), BalloonResponse("a", 1500, more_pages=True),
                   BalloonResponse("a", 1500, more_pages=True))
    vm = state.vms[0]
    assert (vm.ballooned_mib, vm.assigned_mib, vm.txn) == (2048, 1024, TxnKind.NONE)
    assert vm.assigned_mib >= vm.settings.startup_mib
    assert state.free_mib == FREE + 2048


def test_an_odd_amount_counts_whole_2_mib_units_only() -> None:
    """R-BALLOON-RESPONSE: amounts move in 2 MiB units; a stray MiB is not counted."""
    after = accept(asked(1024), BalloonResponse("a", 513, more_pages=True))
    assert (after.vms[0].ballooned_mib, after.free_mib) == (512, FREE + 512)


def test_a_duplicate_after_completion_is_refused() -> None:
    """R-BALLOON-RESPONSE: an answer repeated after the balloon ended has no transaction."""
    state = accept(asked(1024), BalloonResponse("a", 1024))
    assert "no BALLOON transaction" in reject(state, BalloonResponse("a", 1024))


def test_an_unsolicited_response_is_refused() -> None:
    """R-BALLOON-RESPONSE: pages nobody asked for are refused; memory stays with the VM."""
    assert "no BALLOON transaction" in reject(grown(), BalloonResponse("a", 512))


def test_a_balloon_response_to_a_hot_add_is_refused() -> None:
    """R-BALLOON-RESPONSE: the answer must match the transaction in flight."""
    state = accept(grown(), HotAddRequest("a", 512))
    assert reject(state, BalloonResponse("a", 2)) == (
        "a has no BALLOON transaction in flight (has HOT_ADD)")


def test_a_negative_amount_is_refused() -> None:
    """R-BALLOON-RESPONSE: a negative page count is malformed."""
    assert reject(asked(), BalloonResponse("a", -2)) == (
        "balloon response amount must be >= 0, got -2")
