"""``dynmem oracle --exhaustive`` through the command line: the scope in the verdict and in
report.json, and a planted bug caught with its shortest trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from oracle_helpers import EXAMPLES, PYTHON
from schema_helpers import validate

from dynmem.verification.cli.main import main


def test_reference_conforms_on_every_reachable_state(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The verdict names the scope covered, and report.json records it per preset."""
    out = tmp_path / "out"
    code = main(["oracle", "--iut", f"{PYTHON} {EXAMPLES}/reference_system_iut.py",
                 "--exhaustive", "--vms", "1", "--mode", "lockstep", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert ("conforms on every reachable state of preset 1vm (223 states, 1,441 transitions, "
            "3,930 requests)") in text
    assert "random phase" not in text
    report = json.loads((out / "report.json").read_text())
    validate("report.schema.json", report)
    (phase,) = report["phases"]
    assert phase["complete"] and phase["states"] == 223 and report["verdict"] == "pass"


def test_planted_bug_fails_the_exhaustive_phase(tmp_path: Path) -> None:
    """A system bug is caught by the first phase with a shortest (breadth-first) trace."""
    out = tmp_path / "out"
    code = main(["oracle", "--iut", f"{PYTHON} {EXAMPLES}/buggy_iuts/partial_hot_add_leak.py",
                 "--exhaustive", "--out", str(out)])
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    validate("report.schema.json", report)
    assert report["class"] == "invariant" and report["steps"] == 7
    assert report["phases"][0]["complete"] is False
    assert (out / "case" / "events.ndjson").exists()


def test_exhaustive_flags_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    """--exhaustive and --no-exhaustive together are bad usage (exit 2)."""
    assert main(["oracle", "--iut", "true", "--exhaustive", "--no-exhaustive"]) == 2
    assert "exclude" in capsys.readouterr().err


def test_help_states_determinism(capsys: pytest.CaptureFixture[str]) -> None:
    """`dynmem oracle --help` says verdicts are deterministic and shrinking is counted."""
    with pytest.raises(SystemExit):
        main(["oracle", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "deterministic" in text and "--shrink-replays" in text
