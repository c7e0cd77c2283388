"""R-QUIET: the end of the post-connect quiet period (process_quiet_period_end)."""

from __future__ import annotations

from dm_builders import VERSION_WIN10, accept, dyn, make, reject, static

from dynmem.model.vocabulary import Channel, TxnKind
from dynmem.reference.events import (
    BalancerTick,
    CapabilitiesReport,
    HotAddRequest,
    QuietPeriodEnd,
    Start,
    StatusReport,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState


def quiet() -> DmState:
    """``a`` with capabilities accepted and the quiet period running, reported 3000 MiB."""
    return accept(make(("a", dyn(startup=1024, maximum=4096))), Start("a"),
                  VersionRequest("a", VERSION_WIN10), CapabilitiesReport("a"),
                  StatusReport("a", 3000))


def test_quiet_period_end_makes_the_channel_ready() -> None:
    """R-QUIET: after the quiet period the channel is READY; nothing else changes."""
    before = quiet()
    after = accept(before, QuietPeriodEnd("a"))
    assert after.vms[0].channel == Channel.READY
    assert after.free_mib == before.free_mib
    assert after.vms[0].report_mib == 3000


def test_requests_wait_for_the_end_of_the_quiet_period() -> None:
    """R-QUIET: the balancer sends nothing during the quiet period, and grows the VM after."""
    state = quiet()
    assert compute_plan(state) == ()
    assert "QUIET" in reject(state, HotAddRequest("a", 2))
    after = accept(state, QuietPeriodEnd("a"), BalancerTick())
    assert after.vms[0].txn == TxnKind.HOT_ADD


def test_quiet_period_end_is_refused_before_capabilities() -> None:
    """R-QUIET: the quiet period starts with the capabilities report, not before."""
    state = accept(make(("a", dyn())), Start("a"))
    assert "NEGOTIATING" in reject(state, QuietPeriodEnd("a"))
    state = accept(state, VersionRequest("a", VERSION_WIN10))
    assert "CAPS" in reject(state, QuietPeriodEnd("a"))


def test_quiet_period_ends_once() -> None:
    """R-QUIET: a second end of the quiet period is refused (the channel is READY)."""
    state = accept(quiet(), QuietPeriodEnd("a"))
    assert "READY" in reject(state, QuietPeriodEnd("a"))


def test_static_and_off_vms_have_no_quiet_period() -> None:
    """R-QUIET: only a negotiated DM channel has a quiet period."""
    state = accept(make(("s", static()), ("o", dyn())), Start("s"))
    assert "NONE" in reject(state, QuietPeriodEnd("s"))
    assert reject(state, QuietPeriodEnd("o")) == "o is not running"
