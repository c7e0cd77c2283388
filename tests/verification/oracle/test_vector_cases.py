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
    cases = sum(1 for p in tmp_path.iterdir() if p.is_dir())  # every vector written
    assert f"0 passed, {cases - 2} failed, 2 not run" in hung.stdout


ALIGNED = ("hot_add_aligned_down_to_the_guests_blocks",
           "aligned_hot_add_with_nothing_left_is_not_sent")


def test_vectors_with_a_hot_add_alignment_are_pinned_and_catch_an_unaligned_host(
        tmp_path: Path) -> None:
    """A guest advertising 128 MiB blocks (R-HOT-ADD-ALIGN): the vector's hot-add is aligned
    down (1376 -> 1280 MiB), and with 56 MiB short none is sent. The reference passes both;
    the host that aligns to 2 MiB only (buggy_iuts/hot_add_unaligned.py) fails both."""
    main(["vectors", str(tmp_path)])
    pre = json.loads((tmp_path / ALIGNED[0] / "pre.json").read_text())
    assert pre["vms"][0]["hot_add_align_mib"] == 128
    events = [json.loads(line) for line in
              (tmp_path / ALIGNED[0] / "events.ndjson").read_text().splitlines()[1:]]
    assert events[-1] == {"kind": "hot_add_response", "vm": "web", "mib": 1280,
                          "success": True}
    post = json.loads((tmp_path / ALIGNED[0] / "post.json").read_text())
    assert (post["vms"][0]["visible_mib"], post["free_mib"]) == (2304, 4864)
    idle = json.loads((tmp_path / ALIGNED[1] / "post.json").read_text())
    assert (idle["vms"][0]["visible_mib"], idle["vms"][0]["txn"]) == (1024, "none")
    assert idle["free_mib"] == 6144
    for other in tmp_path.iterdir():  # keep only the two aligned cases for the runner
        if other.is_dir() and other.name not in ALIGNED:
            for file in other.iterdir():
                file.unlink()
            other.rmdir()
    good = _runner(tmp_path, f"{PYTHON} {EXAMPLES}/reference_system_iut.py --hot-add-alignment")
    assert good.returncode == 0 and "2 passed, 0 failed" in good.stdout, good.stdout
    # Rule P1c: an IUT whose hello does not promise alignment is not sent them
    plain = _runner(tmp_path, f"{PYTHON} {EXAMPLES}/reference_system_iut.py")
    assert plain.returncode == 0 and "0 passed, 0 failed, 2 not run" in plain.stdout
    bad = _runner(tmp_path, f"{PYTHON} {EXAMPLES}/buggy_iuts/hot_add_unaligned.py")
    assert bad.returncode == 1, bad.stdout
    assert all(f"FAIL {name}" in bad.stdout for name in ALIGNED), bad.stdout
