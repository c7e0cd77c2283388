"""The preset 1vm-linux-grown (conformance/presets.py ``LINUX_GROWN``): a Linux guest that
can give back with a target above startup, so a policy misreading its reports after a
give-back (P-DEMAND) is caught by the exhaustive phase, not by luck of the random one."""

from __future__ import annotations

import attrs

from dynmem.model.concrete_steps import is_allowed
from dynmem.reference.conventions import GUEST_OS_LINUX
from dynmem.reference.events import DmRequest
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState
from dynmem.verification.conformance import LINUX_GROWN, check_policy, check_system, get_presets
from dynmem.verification.oracle.iut import InProcessIut
from dynmem.verification.oracle.judge import DIFFERS, NO_PROGRESS
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem


def plan_ballooned_read_as_demand(view: DmState) -> tuple[DmRequest, ...]:
    """The reference policy that subtracts a Linux report's balloon floor but not its
    ballooned pages (py_policy_bug_linux_ballooned's bug): as if each Linux report were
    higher by what the VM has ballooned."""
    return compute_plan(attrs.evolve(view, vms=tuple(
        attrs.evolve(vm, report_mib=vm.report_mib + vm.ballooned_mib)
        if vm.settings.guest_os == GUEST_OS_LINUX else vm for vm in view.vms)))


def test_linux_runs_the_grown_preset_after_preset_one() -> None:
    assert [c.name for c in get_presets("policy", 2, linux=True)] == \
        ["1vm+linux", "1vm-linux-grown", "2vm+linux", "2vm-reclaim+linux"]
    assert [c.name for c in get_presets("system", 2, lifecycle=True, linux=True)] == \
        ["1vm+lifecycle+linux", "1vm-linux-grown", "2vm+lifecycle+linux"]
    assert "1vm-linux-grown" not in [c.name for c in get_presets("system", 2)]


def test_reference_conforms_and_settles_on_the_grown_preset() -> None:
    """Both reference IUTs in lockstep on every state; the policy's graph has a fixed point
    for every constant demand (progress checked)."""
    policy = check_policy(InProcessIut(ReferencePolicy()), LINUX_GROWN, "lockstep", is_allowed)
    assert policy.ok and policy.complete and policy.progress_checked
    assert policy.states == 2_443
    system = check_system(InProcessIut(ReferenceSystem()), LINUX_GROWN, "lockstep", is_allowed)
    assert system.ok and system.complete


def test_ballooned_pages_read_as_demand_oscillate() -> None:
    """The bug never settles at constant demand: refinement names the cycle
    (PROG-FIXED-POINT) and lockstep the first plan that differs, both with a shortest
    trace."""
    bug = ReferencePolicy(plan_ballooned_read_as_demand, "ballooned read as demand")
    found = check_policy(InProcessIut(bug), LINUX_GROWN, "refinement", is_allowed)
    assert found.failure is not None and found.failure.divergence is not None
    assert found.failure.divergence.cls == NO_PROGRESS
    assert found.failure.divergence.detail == "PROG-FIXED-POINT"
    lockstep = check_policy(InProcessIut(bug), LINUX_GROWN, "lockstep", is_allowed)
    assert lockstep.failure is not None and lockstep.failure.divergence is not None
    assert lockstep.failure.divergence.cls == DIFFERS
