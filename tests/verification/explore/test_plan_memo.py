"""The explorer's plan memo (verification/explore/search.py) rests on a property of the
reference policy (specs/policy.md, managed VMs): the plan of a state is the plan of the same
state with only its managed VMs and waiting starts kept, their workload demand set to 0 (the
plan sees demand only through status reports). Checked here on the reachable states of the
presets; a policy that reads another VM or a demand is reported (the check can fail), and the
explorer memoizes only the reference's plan, so a planted policy is computed per state."""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import pytest

from dynmem.model.vocabulary import Power
from dynmem.reference.events import DmRequest
from dynmem.reference.policy import compute_plan, is_balanced, is_waiting_start
from dynmem.reference.state import DmState, evolve_vm
from dynmem.reference.step import Plan
from dynmem.verification.explore.config import SYMMETRIC, ExploreConfig, get_config
from dynmem.verification.explore.explorer import explore

CONFIGS = (get_config(1), get_config(1).with_vm_lifecycle(), get_config(2), SYMMETRIC)


def restricted(state: DmState) -> DmState:
    """``state`` with only what the plan may read: managed VMs and waiting starts, without
    their workload's demand."""
    return attrs.evolve(state, vms=tuple(evolve_vm(vm, demand_mib=0) for vm in state.vms
                                         if is_balanced(vm) or is_waiting_start(vm)))


def find_plan_reading_others(plan: Plan, states: Iterable[DmState]) -> DmState | None:
    """The first state whose plan changes when the VMs it should not read are left out."""
    for state in states:
        if plan(state) != plan(restricted(state)):
            return state
    return None


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_reference_plan_reads_only_managed_vms_and_waiting_starts(
        config: ExploreConfig) -> None:
    x = explore(config, progress=False)
    assert x.complete
    if len(config.vms) > 1:  # teeth: states with a VM left out and a non-empty plan
        assert any(restricted(s) != s and compute_plan(s) for s in x.states)
    # teeth: managed VMs with a demand, and a non-empty plan
    assert any(compute_plan(s) and any(vm.demand_mib and is_balanced(vm) for vm in s.vms)
               for s in x.states)
    assert find_plan_reading_others(compute_plan, x.states) is None


def _plan_waits_for_every_vm(state: DmState) -> tuple[DmRequest, ...]:
    """A planted policy that reads unmanaged VMs: nothing while some VM is off."""
    if any(vm.power == Power.OFF for vm in state.vms):
        return ()
    return compute_plan(state)


def test_a_plan_reading_other_vms_is_reported() -> None:
    """The check can fail: a plan that looks at VMs which are off is reported."""
    x = explore(get_config(2), progress=False)
    assert find_plan_reading_others(_plan_waits_for_every_vm, x.states) is not None


def _plan_waits_for_demand(state: DmState) -> tuple[DmRequest, ...]:
    """A planted policy that reads the workload's demand: nothing while a VM has none."""
    if any(vm.demand_mib == 0 for vm in state.vms if is_balanced(vm)):
        return ()
    return compute_plan(state)


def test_a_plan_reading_demand_is_reported() -> None:
    """The check can fail: a plan that reads ``demand_mib`` of a managed VM is reported."""
    x = explore(get_config(2), progress=False)
    assert find_plan_reading_others(_plan_waits_for_demand, x.states) is not None


def test_another_policy_is_computed_per_state() -> None:
    """The memo applies to the reference plan only: with the planted policy above the
    memoized search builds the graph of direct stepping (which computes every plan)."""
    config = get_config(2)
    memoized = explore(config, plan=_plan_waits_for_every_vm, progress=False)
    direct = explore(config, plan=_plan_waits_for_every_vm, progress=False, memo=False)
    assert (memoized.n_states, memoized.n_edges, memoized.fixed) == (
        direct.n_states, direct.n_edges, direct.fixed)
