"""The situations issue 12 found missed by random runs are reachable by both phases, and
the random phase reports the cells it hit against those the exhaustive phase reaches."""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import VERSION_WIN10
from dynmem.reference.events import (
    BalancerTick,
    CapabilitiesReport,
    Demand,
    HotAddResponse,
    QuietPeriodEnd,
    Start,
    StatusReport,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.step import step
from dynmem.verification.conformance import POLICY_THREE, get_preset, get_reachable
from dynmem.verification.explore import get_config
from dynmem.verification.explore.candidates import get_candidate_events
from dynmem.verification.oracle.generate import get_default_source
from dynmem.verification.oracle.iut import InProcessIut
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.report import cells_text
from dynmem.verification.oracle.search import search
from dynmem.verification.properties.cells import SITUATION_NAMES, is_three_short

THREE_SHORT = "three managed VMs short at once"


def test_exhaustive_phase_reaches_every_situation_of_its_presets() -> None:
    """Presets 1 and 2 reach every situation but three short VMs (which needs 3 VMs)."""
    found = get_reachable(get_config(1)).situations | get_reachable(get_config(2)).situations
    assert found == set(SITUATION_NAMES) - {THREE_SHORT}


def test_preset_three_has_three_short_vms_at_a_tick() -> None:
    """Preset 3 (``--vms 3``) reaches a tick with three managed VMs short at once: a path of
    events the explorer offers (each VM started, connected, its demand raised and reported)
    leads there, so its breadth-first search meets it too."""
    config = get_config(3)
    state = config.initial()
    for name, _settings in config.vms:
        for event in (Start(name), VersionRequest(name, VERSION_WIN10), CapabilitiesReport(name),
                      QuietPeriodEnd(name), Demand(name, 32), StatusReport(name, 32)):
            assert event in get_candidate_events(state, config, compute_plan)
            result = step(state, event)
            assert result.accepted, result.reason
            state = result.state
    assert is_three_short(state, BalancerTick(), True)


def test_random_phase_meets_every_situation() -> None:
    """The default source of a system IUT meets all five situations in 200 examples (seed
    1): swarm testing makes each rare family common in some examples."""
    result = search(InProcessIut(ReferenceSystem()), "system", "refinement",
                    get_default_source("system"), 200, seed=1)
    assert result.failure is None and result.examples == 200
    assert result.situations == set(SITUATION_NAMES)


def test_report_lists_cells_hit_and_missed() -> None:
    """The text report says how many reachable cells were hit and names each missed one."""
    reachable = get_reachable(get_config(1))
    result = search(InProcessIut(ReferenceSystem()), "system", "refinement",
                    get_default_source("system"), 20, seed=1)
    result = attrs.evolve(result, reachable_cells=reachable.cells,
                          reachable_situations=frozenset(SITUATION_NAMES))
    lines = cells_text(result)
    hit = len(reachable.cells & result.cells)
    assert lines[0].startswith(f"random phase coverage: {hit} of {len(reachable.cells)} cells")
    assert sum(line.startswith("    missed: ") for line in lines) == \
        len(reachable.cells - result.cells) + len(set(SITUATION_NAMES) - result.situations)


def test_policy_preset_three_has_two_short_vms_above_a_donor() -> None:
    """``--vms 3`` for a policy explores three weights: a path of explorer events leads to a
    tick where two VMs are short and a lighter one can give (where a policy's donor choice
    and its bookkeeping of used donors show)."""
    config = get_preset("policy", 3)
    assert config is POLICY_THREE and get_preset("system", 3) == get_config(3)
    state = config.initial()
    for name in ("lo", "hi", "mid"):
        for event in (Start(name), VersionRequest(name, VERSION_WIN10), CapabilitiesReport(name),
                      QuietPeriodEnd(name), Demand(name, 32), StatusReport(name, 32)):
            assert event in get_candidate_events(state, config, compute_plan)
            state = step(state, event).state
        while name == "lo" and compute_plan(state):  # lo grows first, while memory is free
            state = step(state, BalancerTick()).state
            lo = state.vms[2]
            state = step(state, HotAddResponse("lo", lo.txn_mib)).state
    plan = compute_plan(state)
    assert [r.vm for r in plan if r.KIND == "balloon_request"] == ["lo"]
    assert is_three_short(state, BalancerTick(), True) is False  # lo is not short
