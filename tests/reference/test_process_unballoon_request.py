"""R-UNBALLOON-REQUEST: the host returns ballooned pages to the guest (process_request)."""

from __future__ import annotations

from dm_builders import accept, dyn, grown, make, ready, reject, static

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    HotAddResponse,
    Start,
    UnballoonRequest,
)
from dynmem.reference.state import DmState


def ballooned() -> DmState:
    """``a`` grown to 3072 MiB, then ballooned by 2048 MiB back to startup (free 6144)."""
    state = accept(grown(), BalloonRequest("a", 2048), BalloonResponse("a", 2048))
    assert (state.vms[0].ballooned_mib, state.vms[0].assigned_mib, state.free_mib) == (
        2048, 1024, 6144)
    return state


def test_an_unballoon_takes_its_memory_from_free_when_sent() -> None:
    """R-UNBALLOON-REQUEST: the returned pages leave free now and are in flight (owned)."""
    after = accept(ballooned(), UnballoonRequest("a", 1024))
    vm = after.vms[0]
    assert (vm.txn, vm.txn_mib, vm.txn_done_mib) == (TxnKind.UNBALLOON, 1024, 0)
    assert (vm.ballooned_mib, vm.assigned_mib, vm.in_flight_mib, vm.owned_mib) == (
        2048, 1024, 1024, 2048)
    assert after.free_mib == 6144 - 1024


def test_all_ballooned_pages_may_be_returned() -> None:
    """R-UNBALLOON-REQUEST: returning exactly the ballooned pages is allowed."""
    assert accept(ballooned(), UnballoonRequest("a", 2048)).free_mib == 4096


def test_only_ballooned_pages_can_be_returned() -> None:
    """R-UNBALLOON-REQUEST: an unballoon never exceeds the ballooned pages."""
    state = accept(grown(), BalloonRequest("a", 1024), BalloonResponse("a", 1024))
    assert reject(state, UnballoonRequest("a", 1026)) == (
        "unballoon 1026 MiB > ballooned 1024 MiB")
    assert "ballooned 0 MiB" in reject(grown(), UnballoonRequest("a", 2))


def test_an_unballoon_returns_at_most_the_protocol_cap() -> None:
    """R-REQUEST-4: one unballoon returns at most 2048 MiB (one 2 GiB range)."""
    state = make(("a", dyn(startup=1024, maximum=8192)))
    state = ready(state, "a", report=5000)
    state = accept(state, BalancerTick(), HotAddResponse("a", 2048),
                   BalancerTick(), HotAddResponse("a", 2048))  # 5120 MiB
    state = accept(state, BalloonRequest("a", 2288), BalloonResponse("a", 2288))
    assert reject(state, UnballoonRequest("a", 2050)) == (
        "unballoon_request of 2050 MiB exceeds the protocol cap of 2048 MiB")
    assert accept(state, UnballoonRequest("a", 2048)).vms[0].txn_mib == 2048


def test_an_unballoon_needs_free_memory() -> None:
    """R-UNBALLOON-REQUEST: the pages come from free memory (INV-PHYSICAL)."""
    state = make(("a", dyn(startup=1024, maximum=4096)), ("s", static(5120)))
    state = ready(state, "a", report=3000)
    state = accept(state, BalancerTick(), HotAddResponse("a", 2048),
                   BalloonRequest("a", 2048), BalloonResponse("a", 2048), Start("s"))
    assert (state.free_mib, state.vms[0].ballooned_mib) == (1024, 2048)
    assert reject(state, UnballoonRequest("a", 1026)) == (
        "1026 MiB requested but only 1024 MiB free")
    assert accept(state, UnballoonRequest("a", 1024)).free_mib == 0


def test_one_transaction_at_a_time() -> None:
    """R-REQUEST-2: no unballoon while another transaction is in flight (INV-ONE-TXN)."""
    state = accept(ballooned(), UnballoonRequest("a", 512))
    assert "UNBALLOON transaction in flight" in reject(state, UnballoonRequest("a", 512))


def test_amounts_are_positive_multiples_of_2_mib() -> None:
    """R-REQUEST-3: an unballoon amount is a positive multiple of 2 MiB."""
    assert "positive multiple" in reject(ballooned(), UnballoonRequest("a", 0))
    assert "positive multiple" in reject(ballooned(), UnballoonRequest("a", 511))


def test_static_off_and_unready_vms_get_no_unballoon() -> None:
    """R-UNBALLOON-REQUEST: only a READY dynamic VM gets requests (R-REQUEST-1, INV-STATIC)."""
    state = accept(make(("s", static()), ("d", dyn()), ("o", dyn())), Start("s"), Start("d"))
    assert "NONE" in reject(state, UnballoonRequest("s", 2))
    assert "NEGOTIATING" in reject(state, UnballoonRequest("d", 2))
    assert reject(state, UnballoonRequest("o", 2)) == "o is not running"
