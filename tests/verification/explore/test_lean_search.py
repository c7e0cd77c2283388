"""The 4-VM preset's memory savings must not change the search or its verdicts.

``ExploreConfig.all_edges`` False: only the progress edges are kept, the others counted; the
same states, parent pointers, fixed points, edge count, counterexamples and progress findings
as with every edge kept, on the reference and on the planted progress bugs (which the
progress analysis must still catch from the progress edges alone).
``ExploreConfig.renamed_keys`` False: only canonical keys are remembered; the same graph."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from explore_helpers import same_search

from dynmem.verification.cli.main import main
from dynmem.verification.explore.config import (
    PRESETS,
    SYMMETRIC,
    ExploreConfig,
    get_config,
    with_linux_guest,
)
from dynmem.verification.explore.dot import to_dot
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.mutants.catalogue import BY_NAME

CASES = (
    ("reference", get_config(2)),
    ("oscillating_policy", get_config(1)),
    ("linux_report_read_as_windows", with_linux_guest(get_config(2))),
)


def _explore(mutant: str, config: ExploreConfig, all_edges: bool) -> Exploration:
    config = attrs.evolve(config, all_edges=all_edges)
    if mutant == "reference":
        return explore(config)
    bug = BY_NAME[mutant]
    return explore(config, bug.reference_step, bug.policy)


@pytest.mark.parametrize(("mutant", "config"), CASES, ids=[c[0] for c in CASES])
def test_progress_edges_alone_give_the_same_verdicts(mutant: str, config: ExploreConfig
                                                     ) -> None:
    full = _explore(mutant, config, all_edges=True)
    kept = _explore(mutant, config, all_edges=False)
    assert kept.states == full.states
    assert (kept.parent, kept.depth, kept.via, kept.fixed) == (
        full.parent, full.depth, full.via, full.fixed)
    assert (kept.n_edges, kept.counterexamples, kept.violating_steps, kept.complete) == (
        full.n_edges, full.counterexamples, full.violating_steps, full.complete)
    assert kept.progress == full.progress
    if mutant != "reference":  # teeth: the planted progress bug is caught either way
        assert kept.progress
    # the kept edges are exactly the progress edges of the full graph, in order
    keep = np.frombuffer(full.edge_progress, dtype=np.uint8).astype(bool)
    assert list(kept.edge_src) == np.frombuffer(full.edge_src, dtype=np.intc)[keep].tolist()
    assert list(kept.edge_dst) == np.frombuffer(full.edge_dst, dtype=np.intc)[keep].tolist()
    assert list(kept.edge_kind) == np.frombuffer(full.edge_kind, dtype=np.int8)[keep].tolist()
    assert all(kept.edge_progress) and kept.n_edges > len(kept.edge_src)


def test_a_graph_of_progress_edges_is_not_drawn() -> None:
    x = explore(attrs.evolve(get_config(1), all_edges=False))
    with pytest.raises(ValueError, match="progress edges"):
        to_dot(x)
    with pytest.raises(ValueError, match="progress edges"):
        x.graph()


def test_the_four_vm_preset_keeps_progress_edges_and_refuses_dot(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert not PRESETS[4].all_edges and all(PRESETS[n].all_edges for n in (1, 2, 3))
    assert not PRESETS[4].renamed_keys and all(PRESETS[n].renamed_keys for n in (1, 2, 3))
    assert main(["explore", "--vms", "4", "--dot", "g.dot"]) == 2
    assert "--dot" in capsys.readouterr().err


@pytest.mark.parametrize("config", (SYMMETRIC, get_config(1)), ids=lambda c: c.name)
def test_canonical_keys_alone_give_the_same_graph(config: ExploreConfig) -> None:
    same_search(explore(attrs.evolve(config, renamed_keys=False)), explore(config))


def test_a_planted_bug_is_caught_as_fast_with_canonical_keys_alone() -> None:
    bug = BY_NAME["stop_leaks_in_flight"]
    lean = attrs.evolve(SYMMETRIC, renamed_keys=False, all_edges=False)
    a = explore(lean, bug.reference_step, bug.policy, stop_at_first=True)
    b = explore(SYMMETRIC, bug.reference_step, bug.policy, stop_at_first=True)
    assert a.counterexamples and a.counterexamples == b.counterexamples
