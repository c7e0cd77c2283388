"""R-CAPS: the guest's capabilities report (process_capabilities_report)."""

from __future__ import annotations

import pytest
from dm_builders import VERSION_WIN10, accept, dyn, make, ready, reject, static

from dynmem.model.vocabulary import Channel
from dynmem.reference.events import (
    BalloonRequest,
    CapabilitiesReport,
    HotAddRequest,
    Start,
    VersionRequest,
)
from dynmem.reference.state import DmState
from dynmem.reference.step import check_request


def negotiated() -> DmState:
    """``a`` started and its version accepted: the channel waits for capabilities."""
    return accept(make(("a", dyn(startup=1024, maximum=4096))), Start("a"),
                  VersionRequest("a", VERSION_WIN10))


@pytest.mark.parametrize("balloon", [True, False])
@pytest.mark.parametrize("hot_add", [True, False])
def test_capabilities_are_recorded_and_the_quiet_period_starts(balloon: bool,
                                                                hot_add: bool) -> None:
    """R-CAPS: the host records balloon/hot-add and starts the quiet period (QUIET)."""
    before = negotiated()
    after = accept(before, CapabilitiesReport("a", balloon=balloon, hot_add=hot_add))
    vm = after.vms[0]
    assert (vm.channel, vm.cap_balloon, vm.cap_hot_add) == (Channel.QUIET, balloon, hot_add)
    assert (vm.assigned_mib, after.free_mib) == (1024, before.free_mib)


def test_no_dm_request_during_the_quiet_period() -> None:
    """R-CAPS: capabilities alone do not allow DM requests; the quiet period must end."""
    state = accept(negotiated(), CapabilitiesReport("a"))
    assert "QUIET" in (check_request(state, HotAddRequest("a", 2)) or "")
    assert "QUIET" in reject(state, BalloonRequest("a", 2))


def test_capabilities_before_the_version_are_refused() -> None:
    """R-CAPS: capabilities come after an accepted version (NEGOTIATING refuses them)."""
    state = accept(make(("a", dyn())), Start("a"))
    assert "NEGOTIATING" in reject(state, CapabilitiesReport("a"))


def test_a_second_capabilities_report_is_refused() -> None:
    """R-CAPS: capabilities are reported once per session (QUIET and READY refuse them)."""
    state = accept(negotiated(), CapabilitiesReport("a", balloon=False))
    assert "QUIET" in reject(state, CapabilitiesReport("a"))
    assert "READY" in reject(ready(make(("b", dyn())), "b"), CapabilitiesReport("b"))


def test_a_static_or_off_vm_refuses_capabilities() -> None:
    """R-CAPS: a static VM has no channel; an off VM has no guest."""
    state = accept(make(("s", static()), ("o", dyn())), Start("s"))
    assert "NONE" in reject(state, CapabilitiesReport("s"))
    assert reject(state, CapabilitiesReport("o")) == "o is not running"
