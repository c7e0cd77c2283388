"""The Node.js example IUT (examples/iut_node/): written from the spec alone, with its own
proportional-sharing policy, it passes refinement mode and differs in lockstep mode."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from oracle_helpers import EXAMPLES

from dynmem.verification.cli.main import main

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (examples/iut_node "
                                                     "needs Node.js >= 16)")
IUT = f"node {EXAMPLES}/iut_node/iut.js"


def test_node_iut_passes_refinement(capsys: pytest.CaptureFixture[str]) -> None:
    """Its own policy is safe: every step allowed by the model, every invariant kept."""
    code = main(["oracle", "--iut", IUT, "--vms", "1", "--examples", "40", "--seed", "11"])
    out = capsys.readouterr().out
    assert "verdict: PASS" in out, out  # the report first: a failure shows the divergence
    assert code == 0


@pytest.mark.thorough  # three 100-example random phases against the Node.js IUT: 90 CPU s
def test_node_iut_keeps_the_reclaim_order_on_the_seeds_that_caught_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Seeds 2, 6 and 7 caught its proportional sharing squeezing an equal-weight VM below its
    demand while a start waited (INV-RECLAIM-ORDER, 14 to 16 events); it now squeezes no one
    while a start waits, and all three pass."""
    code = main(["oracle", "--iut", IUT, "--no-exhaustive", "--seeds", "2,6,7"])
    out = capsys.readouterr().out
    assert "verdict: PASS" in out, out
    assert code == 0


@pytest.mark.slow  # a 300-example lockstep campaign against the Node.js IUT
def test_node_iut_differs_in_lockstep(tmp_path: Path) -> None:
    """Its policy is not the reference's: lockstep mode reports ``differs`` at a tick."""
    out = tmp_path / "out"
    code = main(["oracle", "--iut", IUT, "--mode", "lockstep", "--examples", "300", "--seed",
                 "1", "--shrink-replays", "300", "--out", str(out), "--json"])
    report = json.loads((out / "report.json").read_text())
    assert report["class"] == "differs" and report["event"] == {"kind": "balancer_tick"}, report
    assert code == 1
    assert report["diff"] and report["steps"] <= 20
