"""The lifecycle scenarios (specs/lifecycle.md): the watchdog ends the silent guest's starvation,
and each scenario's fixed point is what it claims."""

from __future__ import annotations

from pathlib import Path

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.environment import STUCK_AFTER_TICKS, settle
from dynmem.reference.state import DmState
from dynmem.reference.step import step
from dynmem.verification.properties.progress import PROG_WEIGHT_ORDER, check_fixed_point
from dynmem.verification.scenarios.scenario import Scenario, Settle, load_scenario
from dynmem.verification.scenarios.simulate import simulate

SCENARIOS = Path(__file__).resolve().parents[3] / "verification" / "scenarios"
LIFECYCLE = ("hibernating-guest-no-starvation", "restart-under-contention",
             "channel-reset-mid-balloon", "restore-needs-current-memory",
             "reclaim-admits-start")


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
