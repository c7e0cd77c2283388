"""Shared flags have one definition (verification/cli/options.py), used by every command."""

from __future__ import annotations

import argparse
import ast
from collections import defaultdict
from pathlib import Path

import pytest

from dynmem.verification.cli import options
from dynmem.verification.cli.main import build_parser, main

COMMANDS_DIR = Path(options.__file__).parent / "commands"


def spelled_flags(source: str) -> list[str]:
    """The option strings a module passes literally to ``add_argument``."""
    flags = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            flags += [a.value for a in node.args
                      if isinstance(a, ast.Constant) and str(a.value).startswith("-")]
    return flags


def flags_by_module() -> dict[str, list[str]]:
    return {path.stem: spelled_flags(path.read_text(encoding="utf-8"))
            for path in sorted(COMMANDS_DIR.glob("*.py"))}


def test_no_command_spells_a_shared_flag() -> None:
    """A flag of ``options.SHARED`` is added through its ``add_*`` function only."""
    breaches = {m: sorted(set(f) & set(options.SHARED)) for m, f in flags_by_module().items()}
    assert not {m: f for m, f in breaches.items() if f}


def test_no_flag_is_spelled_by_two_commands() -> None:
    """A flag two command modules need belongs in options.py (one spelling, one help)."""
    owners: dict[str, list[str]] = defaultdict(list)
    for module, flags in flags_by_module().items():
        for flag in set(flags):
            owners[flag].append(module)
    assert {f: m for f, m in owners.items() if len(m) > 1} == {}


def test_planted_duplicate_is_caught() -> None:
    """The scan above sees a literal ``--json`` (so it can fail)."""
    assert spelled_flags('p.add_argument("--json", action="store_true")') == ["--json"]


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("flag", ["--json", "--ascii"])
def test_fixed_flags_read_the_same_everywhere(flag: str) -> None:
    """A flag with nothing command-specific has the same help in every command."""
    helps = {name: a.help for name, p in subparsers().items() for a in p._actions
             if flag in a.option_strings}
    assert len(helps) >= 2 and len(set(helps.values())) == 1, helps


def test_every_shared_flag_is_used_by_two_commands() -> None:
    """Each flag of options.SHARED is really shared (else it belongs in its command)."""
    users: dict[str, set[str]] = defaultdict(set)
    for name, parser in subparsers().items():
        for action in parser._actions:
            for flag in action.option_strings:
                users[flag].add(name)
    assert {f: sorted(users[f]) for f in options.SHARED if len(users[f]) < 2} == {}


@pytest.mark.parametrize("command", ["fuzz", "oracle"])
def test_examples_below_one_is_bad_usage(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--examples 0`` exits 2 with one line naming the option, before anything runs."""
    assert main([command, "--examples", "0", *(["--iut", "true"] * (command == "oracle"))]) == 2
    assert "--examples = 0: must be > 0" in capsys.readouterr().err
