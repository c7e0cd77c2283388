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
    HostProfile,
)
from dynmem.reference.environment import compute_version_proposal, settle
from dynmem.reference.events import (
    BalloonRequest,
    CapabilitiesReport,
    Demand,
    HotAddRequest,
    Start,
    StatusReport,
    VersionRequest,
)
from dynmem.reference.settings import HostSettings
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
    """R-VERSION: an unknown version that is not the last attempt leaves negotiation open;
    the host records the refusal, so the honest guest's next proposal is the version below."""
    state = started()
    after = accept(state, VersionRequest("a", UNKNOWN_VERSION))
    assert after.vms[0].channel == Channel.NEGOTIATING
    assert after.vms[0].protocol_version == UNKNOWN_VERSION  # refused, not negotiated
    assert compute_version_proposal(after.vms[0]) == VersionRequest("a", VERSION_WIN10)
    assert accept(after, VersionRequest("a", UNKNOWN_VERSION)) == after  # nothing new
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


def on_host(profile: HostProfile) -> DmState:
    """``a`` just started on a host of ``profile``."""
    host = HostSettings(physical_mib=8192, reserve_mib=1024, profile=profile)
    return accept(make(("a", dyn(startup=1024, maximum=4096)), host=host), Start("a"))


@pytest.mark.parametrize(("profile", "accepted"), [
    (HostProfile.QEMU, {VERSION_WIN10, VERSION_WIN8, VERSION_WIN7}),
    (HostProfile.WS2012, {VERSION_WIN8, VERSION_WIN7}),
    (HostProfile.WS2008R2SP1, {VERSION_WIN7}),
])
def test_the_host_profile_decides_the_accepted_versions(profile: HostProfile,
                                                        accepted: set[int]) -> None:
    """R-VERSION: a host accepts exactly the versions of its profile (2008 R2 SP1: 0.3)."""
    for version in SUPPORTED_VERSIONS:
        vm = accept(on_host(profile), VersionRequest("a", version)).vms[0]
        want = Channel.CAPS if version in accepted else Channel.NEGOTIATING
        assert (vm.channel, vm.protocol_version) == (want, version)
        last = accept(on_host(profile), VersionRequest("a", version, last_attempt=True)).vms[0]
        assert last.channel == (Channel.CAPS if version in accepted else Channel.FAILED)


@pytest.mark.parametrize(("profile", "proposals", "negotiated"), [
    (HostProfile.QEMU, 1, VERSION_WIN10),
    (HostProfile.WS2012, 2, VERSION_WIN8),
    (HostProfile.WS2008R2SP1, 3, VERSION_WIN7),
])
def test_honest_negotiation_ends_at_the_highest_common_version(
        profile: HostProfile, proposals: int, negotiated: int) -> None:
    """R-VERSION: the honest guest proposes 2.0, then 1.0, then 0.3 as its last attempt, and
    the channel connects on the first version the host's profile accepts."""
    settled = settle(on_host(profile))
    assert settled.converged
    tried = [e for e, _ in settled.steps if isinstance(e, VersionRequest)]
    assert tried == [VersionRequest("a", VERSION_WIN10), VersionRequest("a", VERSION_WIN8),
                     VersionRequest("a", VERSION_WIN7, last_attempt=True)][:proposals]
    vm = settled.state.vms[0] if settled.state is not None else None
    assert vm is not None and (vm.channel, vm.protocol_version) == (Channel.READY, negotiated)
