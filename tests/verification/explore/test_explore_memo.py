"""The explorer's per-VM memo (verification/explore/memo.py) changes nothing it explores:
memoized and direct searches build the same graph (ids, parents, edges, fixed points) and
the same counterexamples, for the reference and for every planted bug; a step that breaks
R-LOCAL makes them differ (so the comparison can fail)."""

from __future__ import annotations

import json

import pytest
from explore_helpers import NONLOCAL, same_search

from dynmem.verification.cli.main import main
from dynmem.verification.explore.config import SYMMETRIC, ExploreConfig, get_config
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.mutants.catalogue import MUTANTS, Mutant


def _both(config: ExploreConfig, mutant: Mutant | None = None) -> list[Exploration]:
    if mutant is None:
        return [explore(config, memo=memo) for memo in (True, False)]
    return [explore(config, mutant.reference_step, mutant.policy, until_found=mutant.breaks,
                    memo=memo) for memo in (True, False)]


@pytest.mark.parametrize("config", [get_config(1), SYMMETRIC], ids=lambda c: c.name)
def test_reference_graph_is_the_direct_one(config: ExploreConfig) -> None:
    """The presets (1 VM with delete and re-create, 2 identical VMs under symmetry
    reduction) explore to the same graph with and without the memo. (The 2-VM preset is
    compared in test_explore.py: its coverage run steps directly.)"""
    memoized, direct = _both(config)
    assert memoized.complete and memoized.n_states > 100
    same_search(memoized, direct)


# Each of these explores a large preset twice (12 to 16 CPU s): CI compares two of the large
# ones (admit_without_free_memory: waiting starts; linux_report_read_as_windows: Linux
# guests), the thorough run (`bash tests/check.sh --thorough`) these four as well.
THOROUGH_ONLY = {"reclaim_squeezes_higher_weight", "restore_admitted_at_startup",
                 "restore_at_startup", "start_without_free_memory"}


@pytest.mark.parametrize("mutant", [
    pytest.param(m, marks=pytest.mark.thorough) if m.name in THOROUGH_ONLY else m
    for m in MUTANTS], ids=lambda m: m.name)
def test_planted_bug_search_is_the_direct_one(mutant: Mutant) -> None:
    """Each planted bug's search (as ``dynmem explore --mutant``: until its invariants are
    broken) finds the same first counterexamples on the same graph with the memo."""
    config = get_config(mutant.explore_vms)
    memoized, direct = _both(config, mutant)
    same_search(memoized, direct)


def test_a_nonlocal_step_makes_them_differ() -> None:
    """The comparison can fail: with a start guard that reads another VM (R-LOCAL broken),
    the memo reuses a start computed beside a VM that no longer negotiates."""
    memoized, direct = (explore(SYMMETRIC, NONLOCAL, progress=False, memo=memo)
                        for memo in (True, False))
    assert (memoized.n_states, memoized.n_edges) != (direct.n_states, direct.n_edges)


def test_cli_no_memo_gives_the_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    """``dynmem explore --no-memo`` reports the memoized run's counts and findings."""
    reports = []
    engines = []
    for flags in ([], ["--no-memo"]):
        assert main(["explore", "--vms", "1", "--mutant", "stop_leaks_in_flight", "--json",
                     *flags]) == 1
        report = json.loads(capsys.readouterr().out)
        engines.append(report.pop("engine"))  # the batch search needs the memo
        timing = ("seconds", "search_seconds", "states_per_second")
        reports.append({k: v for k, v in report.items() if k not in timing})
    assert reports[0] == reports[1] and reports[0]["violations"]
    assert engines == ["batch", "one-state"]
