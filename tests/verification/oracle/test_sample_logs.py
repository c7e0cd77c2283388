"""The sample host logs of examples/ (issue 16): regenerated identically, and checked.

``examples/make_sample_logs.py`` writes them from the reference (and one planted bug); the
README shows ``dynmem check-trace`` on both: the clean log passes, the other fails at line 3.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dynmem.verification.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
LOGS = ("sample_host.log.jsonl", "sample_host_overcommit.log.jsonl")


def test_the_shipped_logs_are_what_the_script_writes(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "make_sample_logs.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for name in LOGS:
        assert (tmp_path / name).read_text() == (EXAMPLES / name).read_text(), name


def test_the_clean_log_conforms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-trace", str(EXAMPLES / LOGS[0])]) == 0
    assert "verdict: the log conforms to the model" in capsys.readouterr().out


def test_the_overcommit_log_fails_at_its_second_start(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["check-trace", str(EXAMPLES / LOGS[1])]) == 1
    out = capsys.readouterr().out
    assert "verdict: VIOLATION at line 3 (event 2): invariant broken" in out
    assert 'vms[vm1].power: "starting" -> "running"' in out and "INV-PHYSICAL" in out
