"""R-STATUS: the guest's status report of committed memory (process_status_report)."""

from __future__ import annotations

from dm_builders import VERSION_WIN10, accept, dyn, make, ready, reject, static

from dynmem.reference.events import (
    BalancerTick,
    CapabilitiesReport,
    HotAddRequest,
    Start,
    StatusReport,
    Stop,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan, get_target


def test_a_report_is_recorded() -> None:
    """R-STATUS: the host keeps the committed memory of the report; no memory moves."""
    before = ready(make(("a", dyn())), "a")
    assert not before.vms[0].has_report
    after = accept(before, StatusReport("a", 1234))
    assert (after.vms[0].has_report, after.vms[0].report_mib) == (True, 1234)
    assert (after.vms[0].assigned_mib, after.free_mib) == (1024, before.free_mib)


def test_only_the_latest_report_counts() -> None:
    """R-STATUS: a newer report replaces the older one, and the target follows it."""
    state = ready(make(("a", dyn(startup=1024, maximum=8192))), "a", report=5000)
    state = accept(state, StatusReport("a", 2000))
    assert state.vms[0].report_mib == 2000
    assert get_target(state.vms[0]) == 2400
    assert compute_plan(state) == (HotAddRequest("a", 1376),)


def test_reports_are_accepted_from_capabilities_on() -> None:
    """R-STATUS: a connected channel (CAPS, QUIET, READY) takes reports."""
    state = accept(make(("a", dyn())), Start("a"), VersionRequest("a", VERSION_WIN10))
    state = accept(state, StatusReport("a", 10), CapabilitiesReport("a"), StatusReport("a", 20))
    assert state.vms[0].report_mib == 20


def test_a_report_before_version_negotiation_is_refused() -> None:
    """R-STATUS: a NEGOTIATING channel takes no report."""
    state = accept(make(("a", dyn())), Start("a"))
    assert "NEGOTIATING" in reject(state, StatusReport("a", 10))


def test_a_stale_report_from_before_a_restart_is_discarded() -> None:
    """R-STATUS: a stop forgets the report; the new session starts without one."""
    state = ready(make(("a", dyn())), "a", report=3000)
    state = accept(state, Stop("a"))
    assert (state.vms[0].has_report, state.vms[0].report_mib) == (False, 0)
    assert reject(state, StatusReport("a", 3000)) == "a is not running"
    state = accept(state, Start("a"))
    assert "NEGOTIATING" in reject(state, StatusReport("a", 3000))


def test_no_report_no_balancing() -> None:
    """R-STATUS: without a report the balancer has no target and sends nothing."""
    state = ready(make(("a", dyn())), "a")
    assert compute_plan(state) == ()
    assert accept(state, BalancerTick()) == state


def test_a_negative_report_is_refused() -> None:
    """R-STATUS: committed memory is never negative."""
    state = ready(make(("a", dyn())), "a")
    assert reject(state, StatusReport("a", -1)) == "committed memory must be >= 0, got -1"


def test_static_and_off_vms_send_no_reports() -> None:
    """R-STATUS: a static VM has no channel; an off VM has no guest."""
    state = accept(make(("s", static()), ("o", dyn())), Start("s"))
    assert "NONE" in reject(state, StatusReport("s", 10))
    assert reject(state, StatusReport("o", 10)) == "o is not running"
