"""The conformance vectors: every case generator of the suite runs (its assertions are the
test), ``dynmem vectors`` writes them in the documented layout with stable fingerprints, and
the tiny runner of examples/ passes the reference and catches buggy IUTs (specs §6)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from oracle_helpers import EXAMPLES, PYTHON

from dynmem.verification.cli.main import main
from dynmem.verification.oracle.vectors import case_from_yields, case_functions, collect_cases


@pytest.mark.parametrize("fn", case_functions(), ids=lambda fn: fn.__name__)
def test_case(fn: object) -> None:
    """Each case runs against the reference with its own assertions, and is well formed."""
    case = case_from_yields(fn)  # type: ignore[arg-type]
    assert case.kind == ("reject" if fn.__name__.startswith("test_invalid_")  # type: ignore[attr-defined]
                         else case.kind)
    assert case.events


def test_must_reject_cases_are_the_invalid_tests() -> None:
    """``test_invalid_*`` cases are exactly the ``reject`` ones (STYLE rule 14)."""
    for case in collect_cases():
        assert (case.kind == "reject") == case.name.startswith("invalid_")


def test_vectors_are_written_with_stable_fingerprints(tmp_path: Path) -> None:
    """Two writes give identical files; the index lists every case with its fingerprint."""
    assert main(["vectors", str(tmp_path / "a")]) == 0
    assert main(["vectors", str(tmp_path / "b")]) == 0
    index = json.loads((tmp_path / "a" / "index.json").read_text())
    assert len(index["cases"]) == len(case_functions())
    for item in index["cases"]:
        case = tmp_path / "a" / item["name"]
        for name in ("meta.json", "pre.json", "events.ndjson"):
            assert (case / name).read_text() == (tmp_path / "b" / item["name"] / name).read_text()
        wanted = {"exact": "post.json", "reject": None, "refinement": "checks.json"}[item["kind"]]
        assert (wanted is None and not (case / "post.json").exists()) or (case / wanted).exists()
        header = json.loads((case / "events.ndjson").read_text().splitlines()[0])
        assert header["format"] == "dynmem-vector"


def test_refinement_checks_sample_allowed_and_refused_plans(tmp_path: Path) -> None:
    """A refinement case carries plans the guards allow and plans they refuse, with reasons."""
    main(["vectors", str(tmp_path)])
    checks = json.loads((tmp_path / "refinement_contention" / "checks.json").read_text())
    allowed = [p for p in checks["plans"] if p["allowed"]]
    refused = [p for p in checks["plans"] if not p["allowed"]]
    assert allowed and refused and all(p["reason"] for p in refused)
    assert "INV-PHYSICAL" in checks["invariants"]


def _runner(vectors: Path, command: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, str(EXAMPLES / "vectors_runner.py"), str(vectors), command,
                           *extra], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow  # the stand-alone runner over every vector, twice, in subprocesses
def test_tiny_runner_passes_the_reference_and_catches_a_bug(tmp_path: Path) -> None:
    """examples/vectors_runner.py: the reference passes every case; a buggy IUT fails."""
    main(["vectors", str(tmp_path)])
    good = _runner(tmp_path, f"{PYTHON} {EXAMPLES}/reference_system_iut.py")
    assert good.returncode == 0 and "FAIL" not in good.stdout and "PASS" in good.stdout
    bad = _runner(tmp_path, f"{PYTHON} {EXAMPLES}/buggy_iuts/starts_without_free.py")
    assert bad.returncode == 1
    assert "FAIL start_without_free_memory_waits_then_fails" in bad.stdout


def test_promote_a_shrunk_failure(tmp_path: Path) -> None:
    """An oracle's shrunk case/ is promoted into the vectors, keeping its fingerprint."""
    out = tmp_path / "oracle"
    main(["oracle", "--iut", f"{PYTHON} {EXAMPLES}/buggy_iuts/starts_without_free.py",
          "--examples", "200", "--seed", "3", "--shrink-replays", "300", "--out", str(out)])
    report = json.loads((out / "report.json").read_text())
    vectors = tmp_path / "vectors"
    assert main(["vectors", str(vectors), "--promote", str(out / "case")]) == 0
    index = json.loads((vectors / "index.json").read_text())
    promoted = [c for c in index["cases"] if c["fingerprint"] == report["fingerprint"]]
    assert len(promoted) == 1 and promoted[0]["kind"] == "refinement"


def test_runner_usage_and_bad_folders_exit_2(tmp_path: Path) -> None:
    """Without arguments: the usage, exit 2 (not a traceback); a missing or empty folder: 2."""
    bare = subprocess.run([PYTHON, str(EXAMPLES / "vectors_runner.py")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert bare.returncode == 2 and bare.stderr.startswith("usage: vectors_runner.py")
    assert "Traceback" not in bare.stderr
    missing = _runner(tmp_path / "nowhere", "true")
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    empty = _runner(tmp_path, "true")
    assert empty.returncode == 2 and "no vectors in it" in empty.stderr


def test_runner_times_out_a_hanging_iut(tmp_path: Path) -> None:
    """An IUT that never answers fails each case at the per-case timeout, then the run ends."""
    main(["vectors", str(tmp_path)])
    hung = _runner(tmp_path, "sleep 600", "--timeout", "0.2")
    assert hung.returncode == 1
    assert "FAIL start_static_vm: timed out after 0.2 s" in hung.stdout
    assert "0 passed, 30 failed, 2 not run" in hung.stdout
