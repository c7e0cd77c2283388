"""The batch search (explore/batch.py) builds the one-state search's graph.

Same state ids, parent pointers, depths, first events, edges, fixed points, counterexamples
and progress findings as ``_Search`` on the small presets (with and without symmetry, with
the lifecycle events, a Linux guest), on planted bugs (step bugs, planted policies, progress
bugs) where the search stops at their counterexamples, and where it stops at the state limit
or the first finding. A planted bug is caught by the batch search with the same shortest
trace. Its hash table is checked against a dict."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
from explore_helpers import same_search

from dynmem.reference.settings import HostSettings
from dynmem.verification.cli.main import main
from dynmem.verification.explore import run
from dynmem.verification.explore.config import (
    SYMMETRIC,
    ExploreConfig,
    get_config,
    with_linux_guest,
)
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.explore.keytable import KeyTable
from dynmem.verification.mutants.catalogue import BY_NAME

CONFIGS = {
    "1vm": get_config(1),
    "2vm": get_config(2),
    "2vm-no-symmetry": attrs.evolve(get_config(2), symmetry=False),
    "symmetric": SYMMETRIC,
    "1vm+lifecycle": get_config(1).with_vm_lifecycle(),
    "2vm-linux": with_linux_guest(get_config(2)),
    "2vm-lean": attrs.evolve(get_config(2), all_edges=False, renamed_keys=False),
}


def _both(config: ExploreConfig, **kwargs: object) -> tuple[Exploration, Exploration]:
    batch = explore(config, **kwargs)  # type: ignore[arg-type]
    one = explore(config, batch=False, **kwargs)  # type: ignore[arg-type]
    assert (batch.engine, one.engine) == ("batch", "one-state")
    return batch, one


@pytest.mark.parametrize("name", CONFIGS)
def test_same_graph_as_the_one_state_search(name: str) -> None:
    batch, one = _both(CONFIGS[name])
    same_search(batch, one)
    assert batch.n_edges == one.n_edges and batch.queued == one.queued == 0


def test_the_pinned_counts() -> None:
    assert explore(get_config(1)).n_states == 223
    assert explore(get_config(2)).n_states == 20_773
    assert explore(attrs.evolve(get_config(2), symmetry=False)).n_states == 20_776


MUTANTS = ("stop_leaks_in_flight", "balloon_below_startup", "second_txn_while_in_flight",
           "start_without_free_memory", "oscillating_policy", "hot_add_ignores_reserve",
           "settings_change_while_running", "reclaim_squeezes_higher_weight",
           "linux_report_read_as_windows")


@pytest.mark.parametrize("mutant", MUTANTS)
@pytest.mark.parametrize("vms", [1, 2])
def test_planted_bugs_give_the_same_results(mutant: str, vms: int) -> None:
    """``dynmem explore --mutant``: the same summary (shortest trace per invariant, states,
    edges, progress findings) from either search, and the batch search finds what the
    planted bug breaks."""
    batch = run.run_exploration(vms, mutant=mutant)
    one = run.run_exploration(vms, mutant=mutant, batch=False)
    assert batch.exploration.engine == "batch"
    assert one.exploration.engine == "one-state"
    assert attrs.evolve(batch, seconds=0, search_seconds=0) == attrs.evolve(
        one, seconds=0, search_seconds=0)
    assert (batch.trace is None) == (one.trace is None)
    if batch.trace is not None and one.trace is not None:
        assert batch.trace.steps == one.trace.steps
    same_search(batch.exploration, one.exploration)


def test_cli_one_state_gives_the_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    """``dynmem explore --one-state`` runs the one-state search: the same report."""
    reports = []
    for flags in ([], ["--one-state"]):
        assert main(["explore", "--vms", "2", "--mutant", "balloon_below_startup", "--json",
                     *flags]) == 1
        reports.append(json.loads(capsys.readouterr().out))
    assert [r.pop("engine") for r in reports] == ["batch", "one-state"]
    for r in reports:
        for timing in ("seconds", "search_seconds", "states_per_second"):
            del r[timing]
    assert reports[0] == reports[1] and reports[0]["violations"]


def test_a_planted_bug_is_caught_by_the_batch_search() -> None:
    r = run.run_exploration(1, mutant="stop_leaks_in_flight")
    assert r.exploration.engine == "batch"
    assert r.violations == (("INV-CONSERVATION", 6),)
    assert r.stopped_early and r.trace is not None


@pytest.mark.parametrize("limit", [1, 700, 5_000])
def test_stops_at_the_same_state_limit(limit: int) -> None:
    batch, one = _both(attrs.evolve(get_config(2), max_states=limit))
    same_search(batch, one)
    assert batch.queued == one.queued > 0


def test_stops_at_the_same_first_finding() -> None:
    bug = BY_NAME["stop_leaks_in_flight"]
    batch, one = _both(get_config(2), step_fn=bug.reference_step, plan=bug.policy,
                       stop_at_first=True)
    same_search(batch, one)
    assert batch.stopped_early and batch.queued == one.queued


def test_keys_that_do_not_fit_fall_back_to_the_one_state_search() -> None:
    # free memory up to 20,000 MiB does not fit the batch search's tables
    config = attrs.evolve(get_config(1), host=HostSettings(physical_mib=20_000,
                                                           reserve_mib=19_928))
    x = explore(config)
    assert x.engine == "one-state"
    same_search(x, explore(config, batch=False))


def test_key_table_matches_a_dict() -> None:
    rng = np.random.default_rng(7)
    table = KeyTable(bits=3)  # grows many times
    expected: dict[int, int] = {}
    for _ in range(20):
        keys = np.unique(rng.integers(0, 1 << 62, 500, dtype=np.int64))
        keys = keys[[int(k) not in expected for k in keys]]
        ids = np.arange(len(expected), len(expected) + len(keys))
        table.insert(keys, ids)
        expected.update(zip(keys.tolist(), ids.tolist(), strict=True))
    probe = np.concatenate([np.array(list(expected), np.int64),
                            rng.integers(0, 1 << 62, 1000, dtype=np.int64)])
    assert table.lookup(probe).tolist() == [expected.get(k, -1) for k in probe.tolist()]
