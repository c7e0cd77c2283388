"""R-BALLOON-REQUEST and the request guards R-REQUEST-1..3 (process_request, check_request)."""

from __future__ import annotations

import attrs
import pytest
from dm_builders import accept, dyn, grown, make, ready, reject, static

from dynmem.model.vocabulary import Channel, TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    HotAddRequest,
    HotAddResponse,
    Start,
)
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, check_request, make_step
from dynmem.verification.traces.trace import check_transition


def test_a_balloon_request_opens_a_transaction_and_frees_nothing_yet() -> None:
    """R-BALLOON-REQUEST: the host records the request; memory is free only on response."""
    before = grown()
    after = accept(before, BalloonRequest("a", 1024))
    vm = after.vms[0]
    assert (vm.txn, vm.txn_mib, vm.txn_done_mib) == (TxnKind.BALLOON, 1024, 0)
    assert (vm.assigned_mib, vm.ballooned_mib, after.free_mib) == (3072, 0, before.free_mib)


def test_a_balloon_may_ask_down_to_exactly_startup() -> None:
    """R-BALLOON-REQUEST: asking assigned - startup is allowed (the floor is kept)."""
    assert accept(grown(), BalloonRequest("a", 2048)).vms[0].txn_mib == 2048


def test_a_balloon_below_startup_is_refused() -> None:
    """R-BALLOON-REQUEST: a request never asks the guest below startup (INV-FLOOR)."""
    reason = reject(grown(), BalloonRequest("a", 2050))
    assert reason == ("balloon 2050 MiB would take a below startup 1024 MiB "
                      "(assigned 3072 MiB)")
    assert "below startup" in reject(ready(make(("b", dyn())), "b"), BalloonRequest("b", 2))


def test_a_balloon_asks_at_most_the_protocol_cap() -> None:
    """R-REQUEST-4: one balloon request asks at most 2288 MiB (QEMU's HR_CHUNK_PAGES)."""
    state = ready(make(("a", dyn(startup=1024, maximum=8192))), "a", report=6000)
    state = accept(state, BalancerTick(), HotAddResponse("a", 2048),
                   BalancerTick(), HotAddResponse("a", 2048))  # 5120 MiB: 4096 above startup
    assert reject(state, BalloonRequest("a", 2290)) == (
        "balloon_request of 2290 MiB exceeds the protocol cap of 2288 MiB")
    assert accept(state, BalloonRequest("a", 2288)).vms[0].txn_mib == 2288


def test_a_guest_without_the_balloon_capability_gets_no_balloon() -> None:
    """R-BALLOON-REQUEST: the guest must have reported the balloon capability."""
    state = ready(make(("a", dyn())), "a", balloon=False)
    assert "balloon capability" in reject(state, BalloonRequest("a", 2))


def test_one_transaction_at_a_time() -> None:
    """R-REQUEST-2: no request while a transaction is in flight (INV-ONE-TXN)."""
    state = accept(grown(), BalloonRequest("a", 512))
    assert reject(state, BalloonRequest("a", 512)) == (
        "a already has a BALLOON transaction in flight")
    assert "in flight" in reject(state, HotAddRequest("a", 2))


@pytest.mark.parametrize("mib", [0, -2, 3, 1023])
def test_amounts_are_positive_multiples_of_2_mib(mib: int) -> None:
    """R-REQUEST-3: a request amount is a positive multiple of 2 MiB."""
    assert "positive multiple of 2 MiB" in reject(grown(), BalloonRequest("a", mib))


def test_static_vms_never_get_dm_requests() -> None:
    """R-REQUEST-1: a static VM has no DM channel, so no request reaches it (INV-STATIC)."""
    state = accept(make(("s", static(2048))), Start("s"))
    assert "NONE" in reject(state, BalloonRequest("s", 2))


def test_the_static_guard_holds_even_on_a_ready_channel() -> None:
    """R-REQUEST-1: even a (corrupt) static VM with a READY channel is refused requests."""
    state = accept(make(("s", static(2048))), Start("s"))
    corrupt = state.with_vm(attrs.evolve(state.vms[0], channel=Channel.READY, cap_balloon=True))
    assert check_request(corrupt, BalloonRequest("s", 2)) == (
        "s is static: it never gets DM requests")


def test_no_balloon_before_the_channel_is_ready() -> None:
    """R-BALLOON-REQUEST: before negotiation and the quiet period no request is sent."""
    state = accept(make(("a", dyn())), Start("a"))
    assert "NEGOTIATING" in reject(state, BalloonRequest("a", 2))


def test_off_and_unknown_vms_get_no_balloon() -> None:
    """R-BALLOON-REQUEST: the VM must exist and run."""
    assert reject(make(("a", dyn())), BalloonRequest("a", 2)) == "a is not running"
    assert "no VM named 'x'" in reject(make(), BalloonRequest("x", 2))


def resend_balloon(state: DmState, request: BalloonRequest) -> StepResult:
    """A planted bug: the host sends a balloon without checking R-REQUEST-2."""
    vm = state.get_vm(request.vm)
    assert vm is not None
    sent = attrs.evolve(vm, txn=TxnKind.BALLOON, txn_mib=request.mib, txn_done_mib=0)
    return StepResult(state=state.with_vm(sent))


def test_a_balloon_sent_again_mid_transaction_breaks_one_txn() -> None:
    """R-REQUEST-2: re-sending the same balloon after part of it arrived breaks INV-ONE-TXN."""
    state = accept(grown(), BalloonRequest("a", 512), BalloonResponse("a", 100, more_pages=True))
    buggy = make_step({BalloonRequest: resend_balloon})
    event = BalloonRequest("a", 512)
    after = buggy(state, event).state
    broken = [(v.invariant, v.clause) for v in check_transition(state, event, after)]
    assert broken == [("INV-ONE-TXN", "a transaction in flight is never replaced")]
