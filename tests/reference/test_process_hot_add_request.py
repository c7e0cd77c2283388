"""R-HOT-ADD-REQUEST: the host hot-adds memory to the guest (process_request)."""

from __future__ import annotations

from dm_builders import accept, dyn, grown, make, ready, reject, static

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    BalloonRequest,
    BalloonResponse,
    HotAddRequest,
    HotAddResponse,
    Start,
    UnballoonRequest,
)
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import DmState


def at_startup() -> DmState:
    """``a`` (startup 1024, maximum 4096) READY at startup, reported 3000 MiB."""
    return ready(make(("a", dyn(startup=1024, maximum=4096))), "a", report=3000)


def test_a_hot_add_takes_its_memory_from_free_when_sent() -> None:
    """R-HOT-ADD-REQUEST: the memory leaves free now; visible grows only on the response."""
    before = at_startup()
    after = accept(before, HotAddRequest("a", 1024))
    vm = after.vms[0]
    assert (vm.txn, vm.txn_mib, vm.txn_done_mib) == (TxnKind.HOT_ADD, 1024, 0)
    assert (vm.visible_mib, vm.assigned_mib, vm.in_flight_mib) == (1024, 1024, 1024)
    assert after.free_mib == before.free_mib - 1024


def test_a_hot_add_may_reach_exactly_maximum() -> None:
    """R-HOT-ADD-REQUEST: visible + amount = maximum is allowed."""
    assert accept(grown(), HotAddRequest("a", 1024)).vms[0].txn_mib == 1024  # 3072 + 1024


def test_a_hot_add_above_maximum_is_refused() -> None:
    """R-HOT-ADD-REQUEST: visible never exceeds maximum (INV-CEILING)."""
    assert reject(grown(), HotAddRequest("a", 1026)) == (
        "hot-add 1026 MiB would take a to 4098 MiB > maximum 4096 MiB")


def test_a_hot_add_asks_at_most_the_protocol_cap() -> None:
    """R-REQUEST-4: one hot-add carries at most 2048 MiB (QEMU's HA_CHUNK)."""
    state = ready(make(("a", dyn(startup=1024, maximum=8192))), "a", report=6000)
    assert reject(state, HotAddRequest("a", 2050)) == (
        "hot_add_request of 2050 MiB exceeds the protocol cap of 2048 MiB")
    assert accept(state, HotAddRequest("a", 2048)).vms[0].txn_mib == 2048


def test_a_hot_add_needs_free_memory() -> None:
    """R-HOT-ADD-REQUEST: no overcommit: the amount must be free (INV-PHYSICAL)."""
    host = HostSettings(physical_mib=2048, reserve_mib=0)
    state = ready(make(("a", dyn(startup=1024, maximum=4096)), host=host), "a", report=3000)
    assert reject(state, HotAddRequest("a", 1026)) == "1026 MiB requested but only 1024 MiB free"
    assert accept(state, HotAddRequest("a", 1024)).free_mib == 0


def test_unballoon_before_hot_add() -> None:
    """R-HOT-ADD-REQUEST: while pages are ballooned the host returns those first."""
    state = accept(grown(), BalloonRequest("a", 512), BalloonResponse("a", 512))
    assert reject(state, HotAddRequest("a", 2)) == (
        "a has 512 MiB ballooned: unballoon before hot-add")
    assert accept(state, UnballoonRequest("a", 512)).vms[0].txn == TxnKind.UNBALLOON


def test_a_guest_without_hot_add_gets_none() -> None:
    """R-HOT-ADD-REQUEST: the guest must have reported the hot-add capability."""
    state = ready(make(("a", dyn())), "a", hot_add=False)
    assert reject(state, HotAddRequest("a", 2)) == "hot-add is not possible for a"


def test_hot_add_is_disabled_after_a_partial_answer() -> None:
    """R-HOT-ADD-REQUEST: after a partial or permanently failed hot-add none is sent again."""
    state = accept(at_startup(), HotAddRequest("a", 1024), HotAddResponse("a", 512))
    assert reject(state, HotAddRequest("a", 2)) == "hot-add is not possible for a"


def test_one_transaction_at_a_time() -> None:
    """R-REQUEST-2: no hot-add while a transaction is in flight (INV-ONE-TXN)."""
    state = accept(at_startup(), HotAddRequest("a", 512))
    assert "HOT_ADD transaction in flight" in reject(state, HotAddRequest("a", 512))


def test_amounts_are_positive_multiples_of_2_mib() -> None:
    """R-REQUEST-3: a hot-add amount is a positive multiple of 2 MiB."""
    assert "positive multiple" in reject(at_startup(), HotAddRequest("a", 0))
    assert "positive multiple" in reject(at_startup(), HotAddRequest("a", 127))


def test_static_off_and_unready_vms_get_no_hot_add() -> None:
    """R-HOT-ADD-REQUEST: only a READY dynamic VM grows (R-REQUEST-1, INV-STATIC)."""
    state = accept(make(("s", static()), ("d", dyn()), ("o", dyn())), Start("s"), Start("d"))
    assert "NONE" in reject(state, HotAddRequest("s", 2))
    assert "NEGOTIATING" in reject(state, HotAddRequest("d", 2))
    assert reject(state, HotAddRequest("o", 2)) == "o is not running"
