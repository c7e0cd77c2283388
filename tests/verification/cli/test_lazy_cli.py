"""The CLI loads a command's engine only when that command runs (issue 10, item 4).

``dynmem --help`` and a mistyped command must answer without importing Z3, Hypothesis,
networkx or matplotlib (their import is most of a cold start), nor rich or Jinja2 (loaded by
a live progress display and an HTML page). Checked by which modules a
fresh interpreter has loaded, not by time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from dynmem.verification.cli.main import COMMANDS, build_parser, load_command

ENGINES = ("z3", "hypothesis", "networkx", "matplotlib", "rich", "jinja2")
PROBE = """
import sys
from dynmem.verification.cli.main import main
try:
    code = main({argv!r})
except SystemExit as stop:
    code = stop.code
print(sorted(m for m in {engines!r} if m in sys.modules))
"""


def loaded_engines(argv: list[str]) -> list[str]:
    """The engines a fresh interpreter has imported after ``dynmem ARGV``."""
    probe = PROBE.format(argv=argv, engines=ENGINES)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False)
    assert done.stdout.strip(), done.stderr
    return eval(done.stdout.strip().splitlines()[-1])  # a list literal printed above


@pytest.mark.parametrize("argv", [["--help"], [], ["no-such-command"]])
def test_help_and_usage_errors_load_no_engine(argv: list[str]) -> None:
    assert loaded_engines(argv) == []


def test_a_command_loads_its_engine() -> None:
    """The probe can see an engine load (so the test above can fail)."""
    assert "z3" in loaded_engines(["prove", "--help"])


def test_table_help_matches_each_command() -> None:
    """The help in ``COMMANDS`` is the help each command module registers."""
    for name, module, help_text in COMMANDS:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        load_command(module).register(sub)
        registered = {a.dest: a.help for a in sub._choices_actions}
        assert registered == {name: help_text}, module


def test_full_parser_has_every_command() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == {name for name, _, _ in COMMANDS}


def test_an_exploration_loads_networkx_only_for_an_oscillation() -> None:
    """``explore`` answers without Hypothesis or networkx (the oracle package and the cycle
    search load only for a page trace and an oscillation: 0.2 CPU s of every run), and
    loads networkx to report an oscillation's shortest cycle."""
    assert loaded_engines(["explore", "--vms", "1", "--json"]) == []
    found = loaded_engines(["explore", "--vms", "1", "--json", "--mutant", "oscillating_policy"])
    assert found == ["networkx"]
