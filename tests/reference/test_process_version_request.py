"""R-VERSION: protocol version negotiation (process_version_request)."""

from __future__ import annotations

import pytest
from dm_builders import accept, dyn, make, ready, reject, static

from dynmem.model.vocabulary import (
    SUPPORTED_VERSIONS,
    VERSION_WIN7,
    VERSION_WIN8,
    VERSION_WIN10,
    Channel,
)
from dynmem.reference.environment import settle
from dynmem.reference.events import (
    BalloonRequest,
    CapabilitiesReport,
    Demand,
    HotAddRequest,
    Start,
    StatusReport,
    VersionRequest,
)
from dynmem.reference.state import DmState
from dynmem.reference.step import check_request

UNKNOWN_VERSION = 0x00030000  # 3.0: newer than the host knows


def started() -> DmState:
    """``a`` (dynamic, DM guest) just started: its channel is NEGOTIATING."""
    return accept(make(("a", dyn(startup=1024, maximum=4096))), Start("a"))


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_a_supported_version_is_accepted(version: int) -> None:
    """R-VERSION: 2.0, 1.0 and 0.3 are accepted; the channel waits for capabilities."""
    vm = accept(started(), VersionRequest("a", version)).vms[0]
    assert (vm.channel, vm.protocol_version) == (Channel.CAPS, version)


def test_an_unknown_version_is_declined_and_the_guest_may_try_the_next() -> None:
    """R-VERSION: an unknown version that is not the last attempt leaves negotiation open."""
    state = started()
    after = accept(state, VersionRequest("a", UNKNOWN_VERSION))
    assert after == state
    assert after.vms[0].channel == Channel.NEGOTIATING
    after = accept(after, VersionRequest("a", VERSION_WIN8))
    assert (after.vms[0].channel, after.vms[0].protocol_version) == (Channel.CAPS, VERSION_WIN8)


def test_the_last_attempt_with_a_supported_version_is_accepted() -> None:
    """R-VERSION: WIN7 0.3 sent as the last attempt is still accepted."""
    vm = accept(started(), VersionRequest("a", VERSION_WIN7, last_attempt=True)).vms[0]
    assert vm.channel == Channel.CAPS


def test_a_declined_last_attempt_fails_negotiation_for_good() -> None:
    """R-VERSION: a declined last attempt ends negotiation (DM_INIT_ERROR): no DM ever."""
    state = accept(started(), VersionRequest("a", UNKNOWN_VERSION, last_attempt=True))
    vm = state.vms[0]
    assert (vm.channel, vm.protocol_version) == (Channel.FAILED, 0)
    assert "FAILED" in reject(state, VersionRequest("a", VERSION_WIN10))
    assert "FAILED" in reject(state, CapabilitiesReport("a"))
    assert "FAILED" in reject(state, StatusReport("a", 3000))
    assert "FAILED" in (check_request(state, HotAddRequest("a", 2)) or "")
    # A hungry guest without DM stays at startup and pages itself.
    state = accept(state, Demand("a", 3000))
    settled = settle(state)
    assert settled.converged and settled.steps == ()
    assert state.vms[0].assigned_mib == 1024


def test_a_second_version_request_is_refused() -> None:
    """R-VERSION: only a NEGOTIATING channel takes a version request (CAPS, QUIET refuse)."""
    state = accept(started(), VersionRequest("a", VERSION_WIN10))
    assert "the message needs NEGOTIATING" in reject(state, VersionRequest("a", VERSION_WIN10))
    state = accept(state, CapabilitiesReport("a"))
    assert "QUIET" in reject(state, VersionRequest("a", VERSION_WIN8))


def test_a_ready_vm_refuses_a_version_request() -> None:
    """R-VERSION: a connected channel does not renegotiate."""
    state = ready(make(("a", dyn())), "a")
    assert "READY" in reject(state, VersionRequest("a", VERSION_WIN10))


def test_static_and_non_dm_vms_never_negotiate() -> None:
    """R-VERSION: a static VM, or a guest without a VSC, has no channel (INV-STATIC)."""
    state = accept(make(("s", static()), ("n", dyn(dm_capable=False))), Start("s"), Start("n"))
    assert "NONE" in reject(state, VersionRequest("s", VERSION_WIN10))
    assert "NONE" in reject(state, VersionRequest("n", VERSION_WIN10))


def test_an_off_vm_refuses_a_version_request() -> None:
    """R-VERSION: only a running VM has a guest to negotiate with."""
    assert reject(make(("a", dyn())), VersionRequest("a", VERSION_WIN10)) == "a is not running"


def test_no_dm_request_is_allowed_before_negotiation() -> None:
    """R-VERSION: while negotiating, the host may send no DM request (INV-ONE-TXN)."""
    reason = check_request(started(), BalloonRequest("a", 2))
    assert reason == "a's channel is NEGOTIATING, the message needs READY"
