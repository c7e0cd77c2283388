"""Attacks on output paths: special files, symlinks, missing folders, ``-``, stdout itself.

The promise (specs/formats.md §5): an output path that exists and is not a regular file is
refused with exit 2 before the run, and is still what it was afterwards; a symlink to a
regular file is written through (the link stays); missing folders are created.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fault_cases import (
    OK_SCENARIO,
    Outcome,
    expect_exit_2,
    expect_signal_exit,
    expect_verdict,
    file_kind,
    run_cli,
    run_process,
)

from dynmem.verification.cli.main import build_parser
from dynmem.verification.cli.paths import OUTPUTS

# (command words, the output option): every command that writes a file.
FILE_OUTPUTS = [
    (["simulate", str(OK_SCENARIO)], "--out"),
    (["verify", "--section", "scenarios"], "--junit"),
    (["verify", "--section", "scenarios"], "--html"),
    (["explore", "--vms", "1"], "--dot"),
    (["explore", "--vms", "1"], "--out"),
]
FOLDER_OUTPUTS = [
    (["fuzz", "--examples", "1"], "--out"),
    (["vectors"], ""),
]


def _special(tmp_path: Path, kind: str) -> Path:
    """A path that exists and is not a regular file (nothing outside ``tmp_path`` changes)."""
    path = tmp_path / f"special-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "link-to-devnull":
        path.symlink_to("/dev/null")
    elif kind == "link-to-devfull":
        path.symlink_to("/dev/full")
    elif kind == "dangling-link":
        path.symlink_to(tmp_path / "nowhere")
    elif kind == "link-to-folder":
        path.symlink_to(tmp_path)
    return path


SPECIALS = ["fifo", "folder", "link-to-devnull", "link-to-devfull", "dangling-link",
            "link-to-folder"]


class TestSpecialFilesAreRefused:
    @pytest.mark.parametrize("words,option", FILE_OUTPUTS, ids=lambda v: str(v))
    @pytest.mark.parametrize("kind", SPECIALS)
    def test_refused_before_the_run_and_untouched(
            self, words: list[str], option: str, kind: str, tmp_path: Path,
            capsys: pytest.CaptureFixture[str]) -> None:
        """Exit 2 naming the path; the special file is still what it was."""
        target = _special(tmp_path, kind)
        before = file_kind(target)
        outcome = run_cli(capsys, [*words, option, str(target)])
        expect_exit_2(outcome, str(target))
        assert file_kind(target) == before
        assert os.path.realpath("/dev/null") == "/dev/null"

    @pytest.mark.parametrize("words,option", FOLDER_OUTPUTS, ids=lambda v: str(v))
    @pytest.mark.parametrize("kind", ["fifo", "link-to-devnull", "file"])
    def test_folder_output_that_is_not_a_folder(
            self, words: list[str], option: str, kind: str, tmp_path: Path,
            capsys: pytest.CaptureFixture[str]) -> None:
        """A folder option naming a file or a device: exit 2, nothing replaced."""
        target = tmp_path / "plain" if kind == "file" else _special(tmp_path, kind)
        if kind == "file":
            target.write_text("keep me")
        before = file_kind(target)
        outcome = run_cli(capsys, [*words, *([option] if option else []), str(target)])
        expect_exit_2(outcome, str(target), "must be a folder")
        assert file_kind(target) == before
        if kind == "file":
            assert target.read_text() == "keep me"


class TestSymlinksAndFolders:
    def test_symlink_to_a_regular_file_is_written_through(
            self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The link stays a link; its target gets the trace."""
        real = tmp_path / "real.itf.json"
        real.write_text("old")
        link = tmp_path / "link.itf.json"
        link.symlink_to(real)
        expect_verdict(run_cli(capsys, ["simulate", str(OK_SCENARIO), "--out", str(link)]), 0)
        assert file_kind(link) == "symlink" and real.read_text().startswith('{"#meta"')

    @pytest.mark.parametrize("words,option", [*FILE_OUTPUTS, *FOLDER_OUTPUTS],
                             ids=lambda v: str(v))
    def test_missing_folders_are_created_by_every_command(
            self, words: list[str], option: str, tmp_path: Path,
            capsys: pytest.CaptureFixture[str]) -> None:
        """One folder behaviour for every command: missing parents are made (when it writes:
        a passing fuzz campaign and an explore without a counterexample write nothing)."""
        target = tmp_path / "a" / "b" / ("out.txt" if option in ("--dot", "--junit")
                                         else "out.html" if option == "--html"
                                         else "out")
        outcome = run_cli(capsys, [*words, *([option] if option else []), str(target)])
        expect_verdict(outcome, 0)
        assert target.exists() or option == "--out" and words[0] in ("explore", "fuzz")

    def test_html_whose_traces_folder_is_a_file(
            self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """``verify --html r.html`` with ``r-traces`` a file: refused before the run."""
        (tmp_path / "r-traces").write_text("x")
        outcome = run_cli(capsys, ["verify", "--section", "scenarios", "--html",
                                   str(tmp_path / "r.html")])
        expect_exit_2(outcome, "r-traces", "must be a folder")


class TestStdout:
    def test_dash_writes_the_trace_to_stdout_and_the_report_to_stderr(
            self, capsys: pytest.CaptureFixture[str]) -> None:
        outcome = run_cli(capsys, ["simulate", str(OK_SCENARIO), "--out", "-"])
        expect_verdict(outcome, 0)
        assert outcome.out.startswith('{"#meta"') and "verdict: ok" in outcome.err

    @pytest.mark.parametrize("argv", [["fuzz", "--out", "-"], ["vectors", "-"],
                                      ["verify", "--html", "-"],
                                      ["verify", "--junit", "-", "--section", "nothing"]])
    def test_dash_where_it_makes_no_sense(self, argv: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
        outcome = run_cli(capsys, argv)
        if argv[-1] == "nothing":  # --junit - is fine; the section is not
            expect_exit_2(outcome, "unknown section")
        else:
            expect_exit_2(outcome, "cannot write this to stdout")

    def test_two_outputs_on_stdout(self, capsys: pytest.CaptureFixture[str]) -> None:
        outcome = run_cli(capsys, ["explore", "--vms", "1", "--dot", "-", "--out", "-"])
        expect_exit_2(outcome, "only one output can go to stdout")

    def test_stdout_is_dev_full(self) -> None:
        """``dynmem simulate ok.json > /dev/full``: exit 2, one line, no traceback."""
        with open("/dev/full", "w") as full:
            outcome = run_process(["simulate", str(OK_SCENARIO)], stdout=full)
        expect_exit_2(outcome, "No space left on device")

    def test_broken_pipe_ends_quietly(self) -> None:
        """``dynmem simulate ok.json | head -1``: nothing on stderr; 141 (128 + SIGPIPE) when
        the write met the closed pipe, 0 when the output fit in the pipe's buffer first."""
        proc = subprocess.Popen([sys.executable, "-m", "dynmem.verification.cli", "simulate",
                                 str(OK_SCENARIO)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
        expect_signal_exit(Outcome(code, "", err), 141 if code else 0)
        assert err == ""


def test_every_output_option_is_checked_before_the_run() -> None:
    """Each command's options that name an output are in ``paths.OUTPUTS`` (so checked
    before the run), and nothing there names an option that does not exist."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    output_like = {"out", "html", "plot", "junit", "dot"}
    for name, command in sub.choices.items():
        dests = {a.dest for a in command._actions}
        assert dests & output_like == set(OUTPUTS.get(name, {})) & output_like, name
        assert set(OUTPUTS.get(name, {})) <= dests, name


@pytest.mark.parametrize("path", ["/dev/stdout", "/proc/self/fd/1", "/dev/full", "/dev/null"])
def test_system_paths_are_refused(path: str, tmp_path: Path) -> None:
    """``--out /dev/stdout`` with stdout redirected to a file would replace that file (the
    link leads there): every path under /dev, /proc and /sys is refused; ``-`` is stdout."""
    captured = tmp_path / "stdout.txt"
    with open(captured, "w") as handle:
        outcome = run_process(["simulate", str(OK_SCENARIO), "--out", path], stdout=handle)
    expect_exit_2(outcome, path, "is a system path", "give '-' for stdout")
    assert file_kind(captured) == "file" and captured.read_text() == ""
