"""Running an attack through the real CLI and judging its outcome (the fault-injection tests).

Every attack must end in one of the promised outcomes: a clean exit 2 (one stderr line,
``dynmem: ...``, naming the problem), a verdict (exit 0 or 1, no traceback), or the
conventional code of a signal or a broken pipe. ``TALLY`` counts them over the session; the
faults folder's conftest prints it (the README's numbers come from there).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import attrs

from dynmem.verification.cli.main import main

TALLY: Counter[str] = Counter()
REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "verification" / "scenarios"
OK_SCENARIO = SCENARIOS / "no-dm-guest.json"


@attrs.frozen
class Outcome:
    code: int
    out: str
    err: str


def run_cli(capsys: object, argv: Sequence[str]) -> Outcome:
    """``dynmem argv`` in this process (fast); ``capsys`` is pytest's capture fixture."""
    code = main(list(argv))
    out, err = capsys.readouterr()  # type: ignore[attr-defined]
    return Outcome(code, out, err)


def run_process(argv: Sequence[str], stdout: object = subprocess.PIPE) -> Outcome:
    """``dynmem argv`` as a real process (``python -m dynmem.verification.cli``)."""
    done = subprocess.run([sys.executable, "-m", "dynmem.verification.cli", *argv],
                          stdout=stdout, stderr=subprocess.PIPE, text=True,
                          errors="replace", timeout=600)  # type: ignore[call-overload]
    return Outcome(done.returncode, done.stdout or "", done.stderr)


def expect_exit_2(outcome: Outcome, *words: str) -> None:
    """A clean refusal: exit 2, nothing on stdout, one stderr line with each of ``words``."""
    TALLY["inputs tried"] += 1
    assert "Traceback" not in outcome.err, outcome.err
    lines = outcome.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dynmem: "), outcome.err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert outcome.code == 2, outcome
    assert outcome.out == "", outcome.out[:400]
    TALLY["clean exit 2"] += 1


def expect_verdict(outcome: Outcome, code: int | None = None) -> None:
    """A verdict: exit 0 or 1 (``code`` if given), no traceback."""
    TALLY["inputs tried"] += 1
    assert "Traceback" not in outcome.err, outcome.err
    assert outcome.code in ((0, 1) if code is None else (code,)), outcome
    TALLY["verdicts"] += 1


def expect_signal_exit(outcome: Outcome, code: int, *words: str) -> None:
    """An interrupted or cut-off run: the conventional code, a message, no traceback."""
    TALLY["inputs tried"] += 1
    assert "Traceback" not in outcome.err, outcome.err
    for word in words:
        assert word in outcome.err, (word, outcome.err)
    assert outcome.code == code, outcome
    TALLY["signal or pipe exits"] += 1


def file_kind(path: Path) -> str:
    """What ``path`` is, without following a symlink (to see that nothing was replaced)."""
    mode = os.lstat(path).st_mode
    for test, word in ((stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISCHR, "char"), (stat.S_ISDIR, "folder"),
                       (stat.S_ISREG, "file")):
        if test(mode):
            return word
    return "other"


def _hear_ctrl_c() -> None:
    """In the child: SIGINT as a terminal delivers it. A test run started in the background
    of a non-interactive shell (`cmd &`, as some CI runners do) inherits SIGINT ignored, and
    the command under test would then never hear the Ctrl-C the test sends."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def interrupt_when(argv: Sequence[str], marker: str, signum: int,
                   cwd: Path | None = None) -> Outcome:
    """Start ``dynmem argv``, send ``signum`` once ``marker`` appears on its stderr, and
    return how it ended (stdout, all of stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "dynmem.verification.cli", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            preexec_fn=_hear_ctrl_c)
    assert proc.stderr is not None and proc.stdout is not None
    seen = b""
    while marker.encode() not in seen:
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:  # ended before the marker: the test's premise is broken
            break
        seen += chunk
    proc.send_signal(signum)
    out, rest = proc.communicate(timeout=600)
    return Outcome(proc.returncode, out.decode(errors="replace"),
                   (seen + rest).decode(errors="replace"))
