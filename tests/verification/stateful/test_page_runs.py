"""Random page-level runs by adversarial guests refine the amount level and keep every page
invariant on every step (specs/pages.md §7)."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from dynmem.reference.pages import PageState, check_page_step, initial_page_state, page_step
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.stateful.pages import PAGE_RUN_SETTINGS, describe_run, page_events

SMALL = VmSettings(dynamic=True, startup_mib=32, maximum_mib=64)


@st.composite
def small_systems(draw: st.DrawFn) -> PageState:
    """One or two running VMs of 32..48 MiB on a host with a few MiB to spare, each guest
    advertising 2 or 4 MiB hot-add alignment (drawn last)."""
    names = ("a", "b")[:draw(st.integers(1, 2))]
    ram = {n: draw(st.sampled_from((32, 34, 40, 48))) for n in names}
    spare = draw(st.sampled_from((0, 2, 4, 16)))
    host = HostSettings(physical_mib=16 + sum(ram.values()) + spare, reserve_mib=16)
    state = initial_page_state(host, tuple((n, SMALL) for n in names), ram_mib=ram)
    return attrs.evolve(state, vms=tuple(
        attrs.evolve(vm, hot_add_align_mib=draw(st.sampled_from((2, 4)))) for vm in state.vms))


@PAGE_RUN_SETTINGS
@given(small_systems(), st.data())
def test_adversarial_page_runs_refine_and_keep_invariants(initial: PageState,
                                                         data: st.DataObject) -> None:
    """Every step of a 30-step run maps to an amount step and keeps the page invariants."""
    state, events = initial, []
    for _ in range(30):
        event = data.draw(page_events(state))
        events.append(event)
        result = page_step(state, event)
        problem = check_page_step(state, event, result)
        assert problem is None, describe_run(events, problem)
        state = result.state
