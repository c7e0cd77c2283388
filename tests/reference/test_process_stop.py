"""R-STOP: stopping a VM returns everything it owns, with any work in flight (process_stop)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from dm_builders import (
    accept,
    balloon_in_flight,
    grown,
    hot_add_in_flight,
    make,
    reject,
    static,
    unballoon_in_flight,
)

from dynmem.reference.events import (
    BalloonResponse,
    Event,
    HotAddResponse,
    Start,
    Stop,
    UnballoonResponse,
)
from dynmem.reference.state import DmState, Vm

ALL_FREE = 7168


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
