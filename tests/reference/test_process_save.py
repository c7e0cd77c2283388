"""R-SAVE: saving returns the VM's memory and keeps its image size (process_save)."""

from __future__ import annotations

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

from dynmem.model.vocabulary import Channel, Power
from dynmem.reference.events import Configure, Delete, Save, Start

ALL_FREE = 7168


def test_save_returns_everything_and_keeps_the_image() -> None:
    """R-SAVE: free gets all the VM owned; saved_mib is its assigned memory."""
    after = accept(grown(), Save("a"))
    vm = after.vms[0]
    assert (vm.power, vm.saved_mib, vm.visible_mib, vm.channel) == (
        Power.SAVED, 3072, 0, Channel.NONE)
    assert after.free_mib == ALL_FREE
    assert vm.demand_mib == 3000


def test_save_resolves_work_in_flight_by_the_close_rule() -> None:
    """R-CLOSE: an unanswered hot-add and a sent unballoon are in the image; a balloon's
    outstanding pages too (never received), the received ones not."""
    assert accept(hot_add_in_flight(), Save("a")).vms[0].saved_mib == 3072
    assert accept(unballoon_in_flight(), Save("a")).vms[0].saved_mib == 3072
    assert accept(balloon_in_flight(), Save("a")).vms[0].saved_mib == 2072
    for state in (hot_add_in_flight(), unballoon_in_flight(), balloon_in_flight()):
        assert accept(state, Save("a")).free_mib == ALL_FREE


def test_a_saved_vm_is_neither_off_nor_running() -> None:
    """R-SAVE: no start, configure or delete of a saved VM; only a restore."""
    state = accept(grown(), Save("a"))
    assert reject(state, Start("a")) == "a is already saved"
    assert "settings change only while it is off" in reject(state, Configure("a", static()))
    assert "only an off VM can be deleted" in reject(state, Delete("a"))


def test_save_needs_a_running_vm() -> None:
    """R-SAVE: an off VM has nothing to save."""
    assert reject(make(("s", static(2048))), Save("s")) == "s is not running"
    assert accept(make(("s", static(2048))), Start("s"), Save("s")).vms[0].saved_mib == 2048
