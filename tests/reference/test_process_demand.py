"""R-DEMAND: the guest's workload changes its committed memory (process_demand)."""

from __future__ import annotations

from dm_builders import accept, dyn, make, ready, reject, static

from dynmem.reference.events import Demand, Start


def test_demand_sets_committed_memory_and_moves_no_memory() -> None:
    """R-DEMAND: demand changes; assigned memory, reports and free memory do not."""
    before = ready(make(("a", dyn(startup=1024))), "a", report=100)
    after = accept(before, Demand("a", 3000))
    vm = after.vms[0]
    assert vm.demand_mib == 3000
    assert (vm.assigned_mib, vm.report_mib, after.free_mib) == (1024, 100, before.free_mib)


def test_demand_above_assigned_is_paged_by_the_guest() -> None:
    """R-DEMAND: demand above assigned is guest paging, max(0, demand - assigned)."""
    state = ready(make(("a", dyn(startup=1024))), "a")
    assert accept(state, Demand("a", 1500)).vms[0].guest_paged_mib == 476
    assert accept(state, Demand("a", 600)).vms[0].guest_paged_mib == 0


def test_demand_of_zero_is_allowed() -> None:
    """R-DEMAND: any value >= 0 is a valid demand."""
    state = accept(ready(make(("a", dyn())), "a"), Demand("a", 500), Demand("a", 0))
    assert state.vms[0].demand_mib == 0


def test_static_vm_demand_is_paged_by_the_guest_only() -> None:
    """R-DEMAND: a static VM's demand above its size is guest paging; it never grows."""
    state = accept(make(("s", static(1024))), Start("s"), Demand("s", 4000))
    assert (state.vms[0].assigned_mib, state.vms[0].guest_paged_mib) == (1024, 2976)


def test_negative_demand_is_refused() -> None:
    """R-DEMAND: committed memory is never negative."""
    state = ready(make(("a", dyn())), "a")
    assert reject(state, Demand("a", -2)) == "demand must be >= 0, got -2"


def test_demand_of_an_off_vm_is_refused() -> None:
    """R-DEMAND: only a running guest has a workload."""
    assert reject(make(("a", dyn())), Demand("a", 10)) == "a is not running"


def test_demand_of_an_unknown_vm_is_refused() -> None:
    """R-DEMAND: the VM must exist."""
    assert "no VM named 'z'" in reject(make(), Demand("z", 10))
