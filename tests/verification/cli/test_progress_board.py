"""``cli/progress.py``: plain lines in a log, a rich display on a terminal, the summary.

No assertion here depends on how long anything took: the plain rhythm is tested with
``every`` set to 0 (every update a line) or to infinity (only the first and the last).
"""

from __future__ import annotations

import doctest
import io
import math
import sys

import pytest

from dynmem.verification.cli.main import main
from dynmem.verification.cli.progress import Board, format_summary
from dynmem.verification.suite import checks
from dynmem.verification.suite.checks import Check, Verdict, report_progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal (what rich needs to draw)."""

    def isatty(self) -> bool:
        return True


def test_a_log_gets_the_first_and_last_update_and_no_carriage_return() -> None:
    stream = io.StringIO()
    board = Board(stream, live=False, every=math.inf)
    with board.phase("fuzz", 100) as phase:
        for n in range(1, 101):
            phase.update(n, f"{n * 10} steps")
    board.finish("fuzz: ok")
    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["fuzz: 1/100 10 steps", "fuzz: 100/100 1000 steps"]
    assert lines[2].startswith("fuzz: ok (") and lines[2].endswith(" s CPU)")
    assert len(lines) == 3 and "\r" not in stream.getvalue()


def test_a_log_gets_the_last_state_of_an_open_ended_phase_when_it_closes() -> None:
    stream = io.StringIO()
    board = Board(stream, live=False, every=math.inf)
    with board.phase("explore", None, lambda d, t, x: f"explore: {d:,} states, {x}") as phase:
        for n in (1000, 2000, 3000):
            phase.update(n, "edges")
    assert stream.getvalue().splitlines() == ["explore: 1,000 states, edges",
                                              "explore: 3,000 states, edges"]


def test_forced_updates_are_lines_at_once() -> None:
    stream = io.StringIO()
    board = Board(stream, live=False, every=math.inf)
    with board.phase("prove", 10) as phase:
        phase.update(1, "proved")
        phase.update(2, "cti", force=True)
        phase.update(3, "proved")
    assert [line.split(": ")[1] for line in stream.getvalue().splitlines()] == \
        ["1/10 proved", "2/10 cti", "3/10 proved"]


def test_a_terminal_gets_a_rich_display_that_escapes_user_text() -> None:
    """On a terminal rich draws the rows (then clears them: transient) and the permanent
    lines; a VM name's escape sequence is shown escaped, never sent to the terminal."""
    stream = Terminal()
    board = Board(stream)
    assert board.live
    with board.phase("verify", 3) as phase:
        phase.update(1, "vm\x1b]0;pwned\x07")
        board.say("[1/3] scenarios/vm\x1b[2J: ok")
    board.finish("verify: ok")
    text = stream.getvalue()
    assert "\x1b]0;pwned" not in text and "\x1b[2J" not in text
    assert "\\x1b[2J: ok" in text and "verify: ok (" in text
    assert "rich" in sys.modules


def test_kept_updates_are_permanent_lines_on_a_terminal_too() -> None:
    stream = Terminal()
    board = Board(stream)
    with board.phase("bmc", 3, lambda d, t, x: f"[bmc depth {d}] {x}") as phase:
        phase.update(1, "no violation", keep=True)
        phase.update(2, "scratch")
    board.stop()
    text = stream.getvalue()
    assert "[bmc depth 1] no violation" in text and "[bmc depth 2] scratch" not in text


def test_quiet_writes_nothing() -> None:
    stream = io.StringIO()
    board = Board(stream, quiet=True)
    with board.phase("x", 2) as phase:
        phase.update(2)
    board.finish("done")
    assert stream.getvalue() == ""


@pytest.mark.parametrize("live", [False, True], ids=["log", "terminal"])
def test_a_phase_silent_at_first_shows_nothing_if_it_ends_in_time(live: bool) -> None:
    """``after``: a short run of a usually short command writes nothing at all (the rows,
    the lines and the summary wait for ``after`` seconds, here never reached)."""
    stream = Terminal() if live else io.StringIO()
    board = Board(stream, live=live, every=0)
    with board.phase("simulate", 3, after=math.inf) as phase:
        for n in range(1, 4):
            phase.update(n)
    board.finish("simulate: ok", after=math.inf)
    assert stream.getvalue() == "" and board._rich is None


def test_a_phase_silent_at_first_shows_its_updates_once_late() -> None:
    """Past ``after`` (a nanosecond here), the phase and the summary are as any other."""
    stream = io.StringIO()
    board = Board(stream, live=False, every=math.inf)
    with board.phase("simulate", 3, after=1e-9) as phase:
        for n in range(1, 4):
            phase.update(n)
    board.finish("simulate: ok", after=1e-9)
    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["simulate: 1/3", "simulate: 3/3"]
    assert lines[2].startswith("simulate: ok (") and len(lines) == 3


def test_summary_format() -> None:
    assert format_summary("bmc: no violation", 1.04, 0.5) == \
        "bmc: no violation (1.0 s wall, 0.5 s CPU)"


def test_verify_shows_a_checks_own_progress(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``report_progress`` inside a check reaches verify's stderr (also with ``--json``)."""
    def long_check() -> Verdict:
        for n in range(1, 4):
            report_progress(n, 3, f"obligations; item {n}")
        return Verdict(True, "fine")

    from dynmem.verification.cli.commands import verify as verify_command
    monkeypatch.setattr(verify_command, "collect_checks",
                        lambda **_: [Check("long", "planted", long_check)])
    monkeypatch.setattr(verify_command, "select_sections", lambda c, _: c)
    assert main(["verify", "--json"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "[1/1] planted/long: 1/3 obligations; item 1" in err
    assert "[1/1] planted/long: 3/3 obligations; item 3" in err
    assert err[-1].startswith("verify: ok, 1/1 checks passed (")


def test_report_progress_outside_a_run_is_harmless() -> None:
    report_progress(1, 2, "nobody listens")
    assert checks._TICK.get() is None


def test_doctests() -> None:
    from dynmem.verification.cli import progress

    assert doctest.testmod(progress).failed == 0
