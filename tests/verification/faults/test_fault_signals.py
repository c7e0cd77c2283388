"""Interrupted runs (Ctrl-C, SIGTERM): what was done is said, partial reports are kept and
marked, and the exit code is the conventional 130 (SIGINT) or 143 (SIGTERM)."""

from __future__ import annotations

import gc
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fault_cases import REPO, expect_signal_exit, interrupt_when, run_cli

from dynmem.verification.cli.commands import fuzz as fuzz_command
from dynmem.verification.cli.commands import simulate as simulate_command
from dynmem.verification.cli.commands import verify as verify_command
from dynmem.verification.cli.main import main
from dynmem.verification.errors import Terminated, clear_signals, note_signal
from dynmem.verification.suite import scenario_checks
from dynmem.verification.suite.checks import Check, CheckResult
from dynmem.verification.suite.runner import collect_checks, run_check

EXAMPLES = REPO / "examples"
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
WORDS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


class TestVerify:
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["int", "term"])
    def test_partial_reports_marked_and_counts_said(self, signum: int, tmp_path: Path) -> None:
        """Stopped at the first proof: the JUnit, HTML and the table still come out."""
        junit, page = tmp_path / "r.xml", tmp_path / "sub" / "r.html"
        outcome = interrupt_when(["verify", "--section", "scenarios", "--section", "proofs",
                                  "--junit", str(junit), "--html", str(page)],
                                 "proofs/", signum)
        expect_signal_exit(outcome, CODES[signum], f"verify: {WORDS[signum]} after ",
                           f"dynmem: {WORDS[signum]}")
        assert "passed, 0 failed" in outcome.err
        assert 'interrupted="' in junit.read_text() and "<skipped" in junit.read_text()
        assert "INTERRUPTED" in page.read_text()
        assert "verify: INTERRUPTED" in outcome.out

    def test_json_document_marked(self, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
        """SIGTERM (as the handler raises it) at the third check: one JSON document that
        says so and lists the checks not run; the counterexamples found are kept."""
        calls = []

        def stop_at_third(check: Check) -> CheckResult:
            calls.append(check)
            if len(calls) == 3:
                raise Terminated
            return run_check(check)

        monkeypatch.setattr(verify_command, "run_check", stop_at_third)
        outcome = run_cli(capsys, ["verify", "--json", "--section", "scenarios"])
        total = len(collect_checks([scenario_checks]))  # the section's checks, however many
        said = f"terminated after 2 of {total} checks: 2 passed"
        expect_signal_exit(outcome, 143, f"verify: {said}")
        document = json.loads(outcome.out)
        assert document["interrupted"] == f"{said}, 0 failed"
        assert len(document["checks"]) == 2 and len(document["not_run"]) == total - 2
        assert document["ok"] is False


class TestEngines:
    @pytest.mark.parametrize("argv,marker,summary", [
        (["fuzz", "--examples", "100000"], "fuzz [", "fuzz: interrupted after "),
        (["explore", "--vms", "3"], "explore: ", "explore: interrupted after "),
    ], ids=["fuzz", "explore"])
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["int", "term"])
    def test_summary_of_work_done(self, argv: list[str], marker: str, summary: str,
                                  signum: int) -> None:
        outcome = interrupt_when(argv, marker, signum)
        expect_signal_exit(outcome, CODES[signum], summary, f"dynmem: {WORDS[signum]}")


def test_oracle_says_how_far_it_got() -> None:
    """``oracle`` interrupted: how many examples ran, exit 130, the IUT ended. (``--vms 1``:
    the 2-VM exhaustive phase before the random one costs a CPU minute and shows nothing here.)"""
    iut = f"{sys.executable} {EXAMPLES / 'reference_system_iut.py'}"
    outcome = interrupt_when(["oracle", "--iut", iut, "--vms", "1", "--examples", "100000"],
                             "dynmem oracle: random phase", signal.SIGINT)
    expect_signal_exit(outcome, 130, "oracle: interrupted after ", " of 100000 examples",
                       "dynmem: interrupted")


def test_a_swallowed_ctrl_c_still_stops_fuzz(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A Ctrl-C whose KeyboardInterrupt Hypothesis's gc callback swallowed is noted by the
    handler (``note_signal``); the next progress checkpoint raises it again, so the campaign
    stops with its summary and exit 130 instead of running on (played here without timing:
    the campaign notes the signal itself, as the handler would have, then reports)."""
    def campaign(*args: object, on_progress: Callable[[int, int, float], None],
                 **kwargs: object) -> None:
        on_progress(3, 120, 0.5)
        note_signal(signal.SIGINT)  # the handler ran; its exception went nowhere
        on_progress(4, 160, 0.6)
        raise AssertionError("the checkpoint did not raise the noted Ctrl-C")

    monkeypatch.setattr(fuzz_command, "run_fuzz", campaign)
    try:
        outcome = run_cli(capsys, ["fuzz", "--examples", "100"])
    finally:
        clear_signals()
    expect_signal_exit(outcome, 130, "fuzz: interrupted after 3 of 100 examples (120 steps)",
                       "dynmem: interrupted (Ctrl-C)")


def test_a_signal_swallowed_by_a_gc_callback_prints_no_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGTERM that lands in a gc callback (Hypothesis installs one) is "ignored" by Python
    with a traceback on stderr, though the run then ends as terminated (seen in CI): the
    command prints only its one line. Another error in a callback still shows."""
    def terminated_in_gc(_args: object) -> int:
        def callback(_phase: str, _info: object) -> None:
            note_signal(signal.SIGTERM)  # as _terminate does, then raises
            raise Terminated("signal 15")

        gc.callbacks.append(callback)
        try:
            gc.collect()  # Python reports the exception and carries on
        finally:
            gc.callbacks.remove(callback)
        raise Terminated("signal 15")  # the pending signal, raised again at a checkpoint

    seen: list[BaseException | None] = []  # what reaches the hook the command found
    hook = seen.append
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: hook(unraisable.exc_value))
    before = sys.unraisablehook
    monkeypatch.setattr(simulate_command, "run", terminated_in_gc)
    assert main(["simulate", "any.json"]) == 143
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.rstrip().endswith("dynmem: terminated (SIGTERM)")
    assert seen == [] and sys.unraisablehook is before  # swallowed; the hook put back

    def broken_in_gc(_args: object) -> int:
        def callback(_phase: str, _info: object) -> None:
            raise ValueError("a real bug in a callback")

        gc.callbacks.append(callback)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(callback)
        return 0

    monkeypatch.setattr(simulate_command, "run", broken_in_gc)
    assert main(["simulate", "any.json"]) == 0
    assert seen and {type(e) for e in seen} == {ValueError}  # each gc phase: start, stop


def test_an_error_a_library_raises_while_interrupted_is_the_interruption(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C that lands inside a library may come back as the library's own error
    (Hypothesis before its engine has a runner: an AssertionError, seen in CI): exit 130 and
    the one line, no traceback. Without a signal the same error is still a crash."""
    def interrupted(_args: object) -> int:
        note_signal(signal.SIGINT)
        raise AssertionError("a library's own check, while unwinding")

    def crashed(_args: object) -> int:
        raise AssertionError("a real bug")

    monkeypatch.setattr(simulate_command, "run", interrupted)
    assert main(["simulate", "any.json"]) == 130
    assert capsys.readouterr().err.rstrip().endswith("dynmem: interrupted (Ctrl-C)")
    monkeypatch.setattr(simulate_command, "run", crashed)
    with pytest.raises(AssertionError, match="a real bug"):
        main(["simulate", "any.json"])
