"""``dynmem oracle --seeds LIST``: the random phase once per seed, each against its own IUT
process, merged in the seeds' order (issue 16 item 8; the cluster run of the same seeds is
compared with this serial one in tests/verification/cluster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from oracle_helpers import EXAMPLES, PYTHON
from schema_helpers import validate

from dynmem.verification.cli.main import main
from dynmem.verification.oracle.search import SearchResult
from dynmem.verification.oracle.seeds import merge_seeds

BUGGY = f"{PYTHON} {EXAMPLES / 'buggy_iuts' / 'starts_without_free.py'}"
REFERENCE = f"{PYTHON} {EXAMPLES / 'reference_system_iut.py'}"


def test_a_buggy_iut_on_three_seeds(tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Every seed is run and listed; the report is the first failing seed's, and its case
    replays with that seed."""
    code = main(["oracle", "--iut", BUGGY, "--no-exhaustive", "--seeds", "2,1,2-3",
                 "--examples", "20", "--shrink-replays", "20", "--out", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    assert "random phase: 3 seeds, each its own run of the IUT" in out
    assert [line.split(":")[0].strip() for line in out.splitlines()
            if line.startswith("    seed ")] == ["seed 2", "seed 1", "seed 3"]
    report = json.loads((tmp_path / "report.json").read_text())
    validate("report.schema.json", report)
    assert [line["seed"] for line in report["seeds"]] == [2, 1, 3]
    first = next(line for line in report["seeds"] if line["verdict"] == "fail")
    assert report["seed"] == first["seed"] and report["steps"] == first["steps"]
    assert report["examples"] == first["examples"]


def test_a_correct_iut_passes_every_seed(capsys: pytest.CaptureFixture[str]) -> None:
    """A pass counts every seed's examples and the cells any seed met."""
    assert main(["oracle", "--iut", REFERENCE, "--no-exhaustive", "--seeds", "1-2",
                 "--examples", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(line["seed"], line["verdict"], line["examples"]) for line in report["seeds"]] \
        == [(1, "pass", 5), (2, "pass", 5)]
    assert report["examples"] == 10 and report["cells"]["hit"] > 0


def test_merge_keeps_the_seeds_order() -> None:
    """The first failing seed in the order given is the report's, whatever ran first."""
    passed = SearchResult(7, None, seed=5, cells=frozenset({("a", "b", "c", "d")}))
    assert merge_seeds([passed]).seeds[0] == {
        "seed": 5, "verdict": "pass", "class": None, "examples": 7, "shrink_runs": 0,
        "steps": 0}
    assert merge_seeds([passed, passed]).examples == 14


@pytest.mark.parametrize("value, words", [
    ("3-1", "'3-1': a range runs from a seed >= 0 up to one not below it"),
    ("1-x", "'1-x' is not a seed or a range of seeds"),
    ("0-10000", "more than 10,000 seeds"),
])
def test_bad_seed_lists(capsys: pytest.CaptureFixture[str], value: str, words: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["oracle", "--iut", "true", "--seeds", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --seeds: {words}" in err and "Traceback" not in err
