"""The situations issue 12 found missed by random runs are reachable by both phases, and
the random phase reports the cells it hit against those the exhaustive phase reaches."""

from __future__ import annotations

import attrs
import pytest

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
from dynmem.verification.oracle.generate import cell_menu, get_default_source
from dynmem.verification.oracle.iut import InProcessIut
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.report import cells_text
from dynmem.verification.oracle.search import search
from dynmem.verification.properties.cells import (
    SITUATION_NAMES,
    SituationTracker,
    get_cell,
    is_three_short,
)

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


# Cells a default run may miss, and why: a channel FAILS only when the guest's last
# negotiation attempt proposes an unsupported version, one event among the accepted version
# requests of its cell, so the cells focus rarely draws it and rarely meets what follows.
ON_FAILED_CHANNEL = {(kind, "FAILED", "NONE", answer) for kind, answer in (
    ("balloon_request", "refused"), ("configure", "refused"), ("demand", "accepted"),
    ("hot_add_request", "refused"), ("stop", "accepted"), ("unballoon_request", "refused"))}


@pytest.mark.slow  # a default-budget random run (100 examples) and the cells of presets 1-2
def test_default_run_hits_every_reachable_cell_but_the_failed_channel() -> None:
    """A default-budget run (100 examples, seed 2) on the reference IUT meets every cell
    the exhaustive phase reaches in presets 1 and 2 except some on a FAILED channel, and
    every situation of issue 12. Measured on seeds 1-3: 69, 77 and 75 of 82 (before the
    coverage-guided focus: 42 to 53); the other misses of seeds 1 and 3 are refused DM
    request events in a state met rarely (a transaction in flight, CAPS, QUIET)."""
    want = get_reachable(get_config(1)).cells | get_reachable(get_config(2)).cells
    result = search(InProcessIut(ReferenceSystem()), "system", "refinement",
                    get_default_source("system"), 100, seed=2)
    assert result.failure is None and result.examples == 100
    assert want - result.cells <= ON_FAILED_CHANNEL
    assert len(want & result.cells) == 77
    assert result.situations == set(SITUATION_NAMES)


def test_cells_focus_draws_a_cell_it_has_not_met() -> None:
    """A "cells" example never draws the same cell twice from its focus, and its menu has
    one entry per cell, each event of which is in that cell."""
    state = get_config(2).initial()
    menu = cell_menu(state)
    for cell, events in menu.items():
        for event in events:
            result = step(state, event)
            assert get_cell(state, event, result.accepted, result.sent) == cell
    seen = SituationTracker()
    seen.hit.update(SITUATION_NAMES)  # no situation left to steer to
    source = attrs.evolve(get_default_source("system"), focus="cells", met=set(menu),
                          seen=seen)
    assert source._new_cell(lambda strategy: 0, state) is None  # every cell here was met


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
