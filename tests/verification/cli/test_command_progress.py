"""Progress and the closing summary of check-trace, shrink and audit (issue 16, item 4).

Each of them can run for minutes on a long log, trace or series: a log (stderr not a
terminal) gets plain progress lines, never a carriage return, and the last stderr line is
the verdict with the wall and CPU time. The progress rhythm is set by counts (lines,
replays, samples) made small here; nothing is asserted about how long anything took.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import report_cases as rc

from dynmem.verification.audit import run as audit_run
from dynmem.verification.cli.commands import simulate as simulate_command
from dynmem.verification.cli.main import main
from dynmem.verification.oracle import checktrace
from dynmem.verification.traces import shrink
from dynmem.verification.traces.itf import write_itf

ROOT = Path(__file__).resolve().parents[3]
TIMES = re.compile(r" \(\d+\.\d s wall, \d+\.\d s CPU\)$")


def _stderr(capsys: pytest.CaptureFixture[str]) -> list[str]:
    err = capsys.readouterr().err
    assert "\r" not in err and "Traceback" not in err
    return err.splitlines()


def test_check_trace_counts_events_then_sums_up(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(checktrace, "PROGRESS_LINES", 100)
    log = str(ROOT / "examples" / "sample_host.log.jsonl")
    assert main(["check-trace", log, "--json"]) == 0
    err = _stderr(capsys)
    assert re.fullmatch(rf"check-trace {re.escape(log)}: 98 events, \d+% of 0\.\d MB read",
                        err[0])
    assert err[-1].startswith("check-trace: conforms, 300 events (") and TIMES.search(err[-1])


def test_check_trace_summary_names_the_violation(capsys: pytest.CaptureFixture[str]) -> None:
    log = str(ROOT / "examples" / "sample_host_overcommit.log.jsonl")
    assert main(["check-trace", log]) == 1
    err = _stderr(capsys)  # a short log: no progress line, only the summary
    assert len(err) == 1 and err[0].startswith("check-trace: VIOLATION at line 3, 2 events (")
    assert TIMES.search(err[0])


def test_shrink_counts_replays_against_the_budget(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(shrink, "REPLAY_TICK", 1)
    source = tmp_path / "t.itf.json"
    write_itf(rc.padded_overcommit(), source)
    assert main(["shrink", str(source), "--mutant", "start_without_free_memory",
                 "--max-replays", "500"]) == 0
    err = _stderr(capsys)
    assert any(re.fullmatch(r"shrink: \d+ of 500 replays(, after round \d+: \d+ steps?)?", e)
               for e in err)
    assert any(e.startswith("shrink: round 1: ") for e in err)
    assert err[-1].startswith("shrink: shrunk ") and TIMES.search(err[-1])


def test_audit_counts_samples_and_z3_windows(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(audit_run, "PROGRESS_SAMPLES", 50)
    hosts = ROOT / "examples" / "hosts"
    assert main(["audit", str(hosts / "day-settings.json"), str(hosts / "day-floor.csv"),
                 "--reserve-mib", "2048"]) == 1
    err = _stderr(capsys)
    assert re.fullmatch(r"audit: \d+ samples?, \d+ Z3 windows? decided in .*day-floor\.csv",
                        err[0])
    assert err[-1].startswith("audit: FINDING, 300 samples, 2 Z3 windows (")
    assert TIMES.search(err[-1])


def test_simulate_shows_progress_only_when_it_runs_long(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario usually ends within ``QUIET_S``: then stderr stays empty; past it (0 here),
    scenario events and steps so far, then the closing line."""
    scenario = str(ROOT / "verification" / "scenarios" / "weight-contention-hi-lo.json")
    assert main(["simulate", scenario, "--json"]) == 0
    assert _stderr(capsys) == []
    monkeypatch.setattr(simulate_command, "QUIET_S", 0.0)
    assert main(["simulate", scenario, "--json"]) == 0
    err = _stderr(capsys)
    assert re.fullmatch(r"dynmem simulate: 1 of \d+ scenario events, 1 steps", err[0]), err[0]
    assert re.fullmatch(r"simulate: ok, [\d,]+ steps", TIMES.sub("", err[-1])), err[-1]
