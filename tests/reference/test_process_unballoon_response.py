"""R-UNBALLOON-RESPONSE: the guest acknowledges returned pages (process_unballoon_response)."""

from __future__ import annotations

from dm_builders import accept, grown, reject

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    BalloonRequest,
    BalloonResponse,
    HotAddRequest,
    Stop,
    UnballoonRequest,
    UnballoonResponse,
)
from dynmem.reference.state import DmState


def unballooning(mib: int = 1024) -> DmState:
    """``a`` ballooned by 2048 MiB (assigned 1024), now being given ``mib`` back."""
    state = accept(grown(), BalloonRequest("a", 2048), BalloonResponse("a", 2048))
    return accept(state, UnballoonRequest("a", mib))


def test_the_acknowledged_pages_become_assigned_again() -> None:
    """R-UNBALLOON-RESPONSE: ballooned pages drop, assigned grows; free was already taken."""
    before = unballooning(1024)
    after = accept(before, UnballoonResponse("a"))
    vm = after.vms[0]
    assert (vm.ballooned_mib, vm.assigned_mib, vm.visible_mib) == (1024, 2048, 3072)
    assert (vm.txn, vm.txn_mib, vm.in_flight_mib) == (TxnKind.NONE, 0, 0)
    assert after.free_mib == before.free_mib == 6144 - 1024


def test_returning_every_page_restores_the_visible_size() -> None:
    """R-UNBALLOON-RESPONSE: after a full unballoon nothing is ballooned."""
    vm = accept(unballooning(2048), UnballoonResponse("a")).vms[0]
    assert (vm.ballooned_mib, vm.assigned_mib) == (0, 3072)


def test_a_duplicate_acknowledgement_is_refused() -> None:
    """R-UNBALLOON-RESPONSE: a second acknowledgement has no transaction to end."""
    state = accept(unballooning(), UnballoonResponse("a"))
    assert reject(state, UnballoonResponse("a")) == (
        "a has no UNBALLOON transaction in flight (has NONE)")


def test_an_unsolicited_acknowledgement_is_refused() -> None:
    """R-UNBALLOON-RESPONSE: an acknowledgement nobody asked for changes nothing."""
    assert "no UNBALLOON transaction" in reject(grown(), UnballoonResponse("a"))


def test_an_acknowledgement_during_another_transaction_is_refused() -> None:
    """R-UNBALLOON-RESPONSE: the answer must match the transaction in flight."""
    state = accept(grown(), HotAddRequest("a", 512))
    assert "(has HOT_ADD)" in reject(state, UnballoonResponse("a"))
    state = accept(grown(), BalloonRequest("a", 512))
    assert "(has BALLOON)" in reject(state, UnballoonResponse("a"))


def test_an_acknowledgement_after_stop_is_refused() -> None:
    """R-UNBALLOON-RESPONSE: a stopped VM's unballoon was dropped (R-STOP)."""
    state = accept(unballooning(), Stop("a"))
    assert reject(state, UnballoonResponse("a")) == "a is not running"
