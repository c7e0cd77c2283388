"""The situations issue 12 found missed by random runs are reachable by both phases, and
the random phase reports the cells it hit against those the exhaustive phase reaches."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from oracle_helpers import EXAMPLES, PYTHON
from schema_helpers import validate

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.vocabulary import VERSION_WIN10, Channel
from dynmem.reference.events import (
    BalancerTick,
    CapabilitiesReport,
    Demand,
    Event,
    HotAddResponse,
    QuietPeriodEnd,
    Start,
    StatusReport,
    Stop,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, step
from dynmem.verification.cli.main import main
from dynmem.verification.conformance import POLICY_THREE, get_preset, get_reachable
from dynmem.verification.explore import get_config
from dynmem.verification.explore.candidates import get_candidate_events
from dynmem.verification.oracle.generate import cell_menu, get_default_source
from dynmem.verification.oracle.iut import InProcessIut
from dynmem.verification.oracle.judge import INVARIANT
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.report import cells_text
from dynmem.verification.oracle.search import search
from dynmem.verification.oracle.topup import top_up
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
    """The default source of a system IUT meets all five situations in 100 examples (seed
    1; measured 2026-12-04, 200 before): swarm testing makes each rare family common in some
    examples."""
    result = search(InProcessIut(ReferenceSystem()), "system", "refinement",
                    get_default_source("system"), 100, seed=1)
    assert result.failure is None and result.examples == 100
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


@pytest.mark.parametrize("lifecycle", [False, True])
def test_every_reachable_cell_has_a_witness_that_meets_it(lifecycle: bool) -> None:
    """Each cell of presets 1vm and 1vm+lifecycle has a witness: a run of the reference from
    the preset's initial state, every event accepted but the last, which is in the cell."""
    found = get_reachable(get_preset("system", 1, lifecycle))
    assert set(found.witnesses) == found.cells
    for cell, (state, events) in found.witnesses.items():
        for event in events[:-1]:
            result = step(state, event)
            assert result.accepted, (cell, event, result.reason)
            state = result.state
        result = step(state, events[-1])
        assert get_cell(state, events[-1], result.accepted, result.sent) == cell


@pytest.mark.slow  # a default-budget random run (100 examples) and the cells of presets 1-2
def test_top_up_hits_every_reachable_cell() -> None:
    """The default run of seed 2 misses five cells of a FAILED channel; the top-up runs one
    witness example for each and then every cell of presets 1 and 2 is hit, the generated
    examples unchanged (100). Measured on seeds 1-10: 69, 77, 75, 73, 75, 76, 81, 81, 73
    and 70 of 82 before, 82 of 82 after 1 to 13 top-up examples; with --lifecycle (the
    cells of 1vm+lifecycle too) 88 to 112 of 124 before, 124 after 11 to 35."""
    want = get_reachable(get_config(1)).cells | get_reachable(get_config(2)).cells
    witnesses = {**get_reachable(get_config(2)).witnesses,
                 **get_reachable(get_config(1)).witnesses}
    iut = InProcessIut(ReferenceSystem())
    found = search(iut, "system", "refinement", get_default_source("system"), 100, seed=2)
    assert len(want - found.cells) == 5
    result = top_up(iut, "system", "refinement", found, witnesses)
    assert result.failure is None and result.examples == 100 and result.top_up == 5
    assert want <= result.cells and result.top_up_cells == want - found.cells


def _stop_leaks_on_a_failed_channel(state: DmState, event: Event) -> StepResult:
    """A planted bug in a cell the generator rarely meets: stopping a VM whose channel
    FAILED keeps 2 MiB of its memory (INV-CONSERVATION)."""
    result = step(state, event)
    vm = state.get_vm(event.vm) if isinstance(event, Stop) else None
    if result.accepted and vm is not None and vm.running and vm.channel == Channel.FAILED:
        return attrs.evolve(result, state=attrs.evolve(
            result.state, free_mib=result.state.free_mib - 2))
    return result


def test_top_up_catches_a_bug_the_generated_examples_missed() -> None:
    """A bug on a FAILED channel passes 30 generated examples (seed 2) and is caught by the
    top-up's witness of ("stop", "FAILED", "NONE", "accepted"), shrunk, with a note."""
    iut = InProcessIut(ReferenceSystem(_stop_leaks_on_a_failed_channel))
    found = search(iut, "system", "refinement", get_default_source("system"), 30, seed=2,
                   is_allowed=is_allowed)
    assert found.failure is None
    reachable = get_reachable(get_config(1))
    result = top_up(iut, "system", "refinement", found, reachable.witnesses,
                    is_allowed=is_allowed, shrink_replays=100)
    assert result.failure is not None and result.failure.divergence is not None
    assert result.failure.divergence.cls == INVARIANT
    assert isinstance(result.failure.events[-1], Stop)
    assert len(result.failure.events) == 3  # start, the refused last version, stop
    assert "top-up" in result.notes[-1] and result.examples == 30
    again = top_up(iut, "system", "refinement", found, reachable.witnesses,
                   is_allowed=is_allowed, shrink_replays=100)
    assert again.failure is not None and again.failure.events == result.failure.events
    assert top_up(iut, "system", "refinement", found, reachable.witnesses, budget=0) == found


def test_cli_reports_the_top_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`dynmem oracle --no-exhaustive`: after 10 examples the top-up meets every cell of
    preset 1vm; report.json counts its examples apart; --top-up 0 leaves cells missed."""
    out = tmp_path / "out"
    command = ["oracle", "--iut", f"{PYTHON} {EXAMPLES}/reference_system_iut.py",
               "--no-exhaustive", "--vms", "1", "--examples", "10", "--seed", "1"]
    assert main([*command, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    validate("report.schema.json", report)
    cells = report["cells"]
    assert cells["hit"] == cells["reachable"] and cells["missed"] == []
    # each witness meets its cell, and some meet others on the way
    assert 0 < cells["top_up"] <= cells["top_up_hit"] and report["examples"] == 10
    assert "first by the top-up" in capsys.readouterr().out
    assert main([*command, "--top-up", "0", "--json"]) == 0
    bare = json.loads(capsys.readouterr().out)["cells"]
    assert bare["top_up"] == 0 and bare["hit"] == cells["hit"] - cells["top_up_hit"]
