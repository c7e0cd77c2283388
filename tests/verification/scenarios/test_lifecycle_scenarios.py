"""The lifecycle scenarios (specs/lifecycle.md): the watchdog ends the silent guest's starvation,
and each scenario's fixed point is what it claims."""

from __future__ import annotations

from pathlib import Path

from dynmem.model.vocabulary import Power, TxnKind
from dynmem.reference.environment import STUCK_AFTER_TICKS, settle
from dynmem.reference.state import DmState
from dynmem.reference.step import step
from dynmem.verification.properties.progress import PROG_WEIGHT_ORDER, check_fixed_point
from dynmem.verification.scenarios.scenario import Scenario, Settle, load_scenario
from dynmem.verification.scenarios.simulate import simulate

SCENARIOS = Path(__file__).resolve().parents[3] / "verification" / "scenarios"
LIFECYCLE = ("hibernating-guest-no-starvation", "restart-under-contention",
             "channel-reset-mid-balloon", "restore-needs-current-memory",
             "reclaim-admits-start", "restore-succeeds-after-reclaim")


def _run(scenario: Scenario, stuck_after: int | None) -> DmState:
    """The scenario's final state, its settles run with or without the watchdog."""
    state = scenario.initial_state()
    for event in scenario.events:
        if isinstance(event, Settle):
            settled = settle(state, event.max_steps, profiles=dict(scenario.profiles),
                             stuck_after=stuck_after)
            assert settled.converged and settled.state is not None
            state = settled.state
        else:
            state = step(state, event).state
    return state


def test_every_lifecycle_scenario_meets_its_expectations() -> None:
    """Each scenario runs without a violation and reaches the fixed point it names."""
    for name in LIFECYCLE:
        sim = simulate(load_scenario(SCENARIOS / f"{name}.json"))
        assert sim.ok, name
        assert sim.trace.final is not None


def test_a_silent_guest_starves_the_short_vm_without_the_watchdog() -> None:
    """Without R-STUCK the silent guest's balloon counts as incoming forever: hi stays short
    while lo keeps memory above its startup (PROG-WEIGHT-ORDER broken, a txn in flight)."""
    scenario = load_scenario(SCENARIOS / "hibernating-guest-no-starvation.json")
    final = _run(scenario, stuck_after=None)
    hib = final.get_vm("hib")
    assert hib is not None and hib.txn == TxnKind.BALLOON and not hib.stuck
    assert {v.invariant for v in check_fixed_point(final)} == {PROG_WEIGHT_ORDER}


def test_with_the_watchdog_no_vm_starves() -> None:
    """With R-STUCK (P-STUCK) lo is squeezed to its startup and nothing is violated."""
    scenario = load_scenario(SCENARIOS / "hibernating-guest-no-starvation.json")
    final = _run(scenario, stuck_after=STUCK_AFTER_TICKS)
    hib, lo = final.get_vm("hib"), final.get_vm("lo")
    assert hib is not None and hib.stuck and hib.txn == TxnKind.BALLOON
    assert lo is not None and lo.assigned_mib == lo.settings.startup_mib
    assert check_fixed_point(final) == []


def test_a_restore_succeeds_after_reclaim() -> None:
    """The heavier VM's restore waits (its image is not free), the balancer squeezes the
    lighter VM for it, never below its startup, and it is admitted at its image with the
    demand it was saved with (R-RESTORE, P-RECLAIM, R-START-ADMIT; lifecycle.md §4.7)."""
    sim = simulate(load_scenario(SCENARIOS / "restore-succeeds-after-reclaim.json"))
    assert sim.ok
    kinds = [step.event.KIND for step in sim.trace.steps]
    restore = kinds.index("restore")
    assert sim.trace.steps[restore].state.get_vm("hi").power == Power.STARTING
    assert "start_admit" in kinds[restore:] and "start_abort" not in kinds[restore:]
    final = sim.trace.final
    assert final is not None and final.free_mib == 0
    hi, lo = final.get_vm("hi"), final.get_vm("lo")
    assert hi is not None and (hi.assigned_mib, hi.demand_mib) == (3600, 3000)
    assert lo is not None and lo.assigned_mib == 3568 > lo.settings.startup_mib


def test_an_equal_weight_restore_fails_back_to_saved() -> None:
    """restore-needs-current-memory: b weighs as much as a, so reclaim cannot cover a's image
    and the waiting restore fails at once, a saved again with its image (R-START-ABORT)."""
    sim = simulate(load_scenario(SCENARIOS / "restore-needs-current-memory.json"))
    steps = sim.trace.steps
    aborted = [i for i, s in enumerate(steps) if s.event.KIND == "start_abort"]
    assert len(aborted) == 1
    a = steps[aborted[0]].state.get_vm("a")
    assert a is not None and a.power == Power.SAVED and a.saved_mib == 3600
