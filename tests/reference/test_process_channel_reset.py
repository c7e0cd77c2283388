"""R-CHANNEL-RESET: the channel reopens, the guest regains its pages (process_channel_reset)."""

from __future__ import annotations

from dm_builders import (
    accept,
    balloon_in_flight,
    dyn,
    hot_add_in_flight,
    make,
    ready,
    reject,
    static,
    unballoon_in_flight,
)

from dynmem.model.vocabulary import Channel, TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonResponse,
    ChannelReset,
    HotAddResponse,
    Start,
    StatusReport,
)


def test_reset_mid_balloon_regains_the_received_pages() -> None:
    """R-CHANNEL-RESET: 1000 MiB received are the guest's again and leave free; the rest stays."""
    state = balloon_in_flight()
    after = accept(state, ChannelReset("a"))
    vm = after.vms[0]
    assert (vm.visible_mib, vm.ballooned_mib, vm.txn) == (3072, 0, TxnKind.NONE)
    assert after.free_mib == state.free_mib - 1000
    assert (vm.channel, vm.has_report) == (Channel.NEGOTIATING, False)


def test_reset_completes_an_unballoon_in_flight() -> None:
    """R-CLOSE: the unballooned pages were taken from free when sent; they stay the guest's."""
    state = unballoon_in_flight()
    after = accept(state, ChannelReset("a"))
    assert after.free_mib == state.free_mib
    assert after.vms[0].assigned_mib == state.vms[0].owned_mib


def test_reset_counts_a_hot_add_in_flight_as_added() -> None:
    """R-CLOSE: the guest may have onlined the memory, so the host keeps backing it."""
    state = hot_add_in_flight()
    after = accept(state, ChannelReset("a"))
    assert (after.vms[0].visible_mib, after.free_mib) == (3072, state.free_mib)


def test_reset_refused_when_the_regained_pages_cannot_be_backed() -> None:
    """R-CHANNEL-RESET: never overcommit; the host refuses the reset instead."""
    state = ready(make(("a", dyn(startup=1024, maximum=4096)), ("s", static(5144))), "a",
                  report=3000)
    state = accept(state, BalancerTick(), HotAddResponse("a", 2048), StatusReport("a", 500),
                   BalancerTick(), BalloonResponse("a", 2048), Start("s"))
    assert (state.vms[0].ballooned_mib, state.free_mib) == (2048, 1000)
    assert reject(state, ChannelReset("a")) == (
        "a reset would give a back 2048 MiB ballooned but only 1000 MiB is free")


def test_reset_needs_a_channel() -> None:
    """R-CHANNEL-RESET: a static VM has no channel to reset."""
    state = accept(make(("s", static(2048))), Start("s"))
    assert reject(state, ChannelReset("s")) == "s has no DM channel to reset"


def test_reset_keeps_hot_add_disabled() -> None:
    """R-CHANNEL-RESET: only a restart re-enables hot-add after a partial one."""
    state = accept(hot_add_in_flight(), HotAddResponse("a", 1024))
    assert state.vms[0].hot_add_enabled is False
    assert accept(state, ChannelReset("a")).vms[0].hot_add_enabled is False
