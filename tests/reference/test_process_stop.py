"""R-STOP: stopping a VM returns everything it owns, with any work in flight (process_stop)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from dm_builders import accept, dyn, grown, make, ready, reject, static

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonResponse,
    Event,
    HotAddResponse,
    Start,
    StatusReport,
    Stop,
    UnballoonResponse,
)
from dynmem.reference.state import DmState, Vm

ALL_FREE = 7168


def balloon_in_flight() -> DmState:
    """``a`` at 3072 MiB asked to balloon 2048 MiB, 1000 MiB of it received so far."""
    state = accept(grown(), StatusReport("a", 500), BalancerTick(),
                   BalloonResponse("a", 1000, more_pages=True))
    vm = state.vms[0]
    assert (vm.txn, vm.txn_mib, vm.txn_done_mib, vm.ballooned_mib) == (
        TxnKind.BALLOON, 2048, 1000, 1000)
    return state


def unballoon_in_flight() -> DmState:
    """``a`` ballooned by 2048 MiB, then given 2048 MiB back, not yet acknowledged."""
    state = accept(grown(), StatusReport("a", 500), BalancerTick(), BalloonResponse("a", 2048))
    state = accept(state, StatusReport("a", 3000), BalancerTick())
    vm = state.vms[0]
    assert (vm.txn, vm.txn_mib, vm.ballooned_mib) == (TxnKind.UNBALLOON, 2048, 2048)
    return state


def hot_add_in_flight() -> DmState:
    """``a`` at startup with a 2048 MiB hot-add sent and not answered."""
    state = ready(make(("a", dyn(startup=1024, maximum=4096))), "a", report=3000)
    state = accept(state, BalancerTick())
    assert (state.vms[0].txn, state.vms[0].txn_mib) == (TxnKind.HOT_ADD, 2048)
    return state


def test_stop_static_vm_returns_its_startup() -> None:
    """R-STOP: a static VM's memory returns to free."""
    state = accept(make(("s", static(2048))), Start("s"))
    assert state.free_mib == ALL_FREE - 2048
    after = accept(state, Stop("s"))
    assert after.free_mib == ALL_FREE
    assert after.vms[0] == Vm(name="s", settings=static(2048))


def test_stop_returns_hot_added_memory() -> None:
    """R-STOP: memory that grew by hot-add returns with the rest (visible - ballooned)."""
    state = grown()
    assert state.free_mib == ALL_FREE - 3072
    assert accept(state, Stop("a")).free_mib == ALL_FREE


@pytest.mark.parametrize(
    ("build", "returned"),
    [
        # assigned 3072 - 1000 received; the 1048 MiB not yet received are still the VM's.
        (balloon_in_flight, 2072),
        # assigned 1024 plus the 2048 MiB taken from free when the unballoon was sent.
        (unballoon_in_flight, 1024 + 2048),
        # assigned 1024 plus the 2048 MiB taken from free when the hot-add was sent.
        (hot_add_in_flight, 1024 + 2048),
    ],
    ids=["balloon", "unballoon", "hot-add"],
)
def test_stop_with_a_transaction_in_flight_returns_everything(
    build: Callable[[], DmState], returned: int
) -> None:
    """R-STOP: assigned memory and anything in flight return; the transaction is dropped."""
    state = build()
    assert state.vms[0].owned_mib == returned
    after = accept(state, Stop("a"))
    assert after.free_mib == state.free_mib + returned == ALL_FREE
    assert after.vms[0] == Vm(name="a", settings=state.vms[0].settings)


@pytest.mark.parametrize(
    ("build", "late"),
    [(balloon_in_flight, BalloonResponse("a", 1048)),
     (unballoon_in_flight, UnballoonResponse("a")),
     (hot_add_in_flight, HotAddResponse("a", 2048))],
    ids=["balloon", "unballoon", "hot-add"],
)
def test_a_late_answer_after_stop_is_refused(build: Callable[[], DmState], late: Event) -> None:
    """R-STOP: in-flight work is dropped, so the guest's late answer changes nothing."""
    after = accept(build(), Stop("a"))
    assert "not running" in reject(after, late)


def test_stop_is_refused_when_off() -> None:
    """R-STOP: the VM must be running."""
    assert reject(make(("a", static())), Stop("a")) == "a is not running"


def test_stop_rejects_an_unknown_vm() -> None:
    """R-STOP: the VM must exist."""
    assert "no VM named 'b'" in reject(make(("a", static())), Stop("b"))
