"""The ``dynmem`` command line: a flat registry of subcommands, one module each.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` (a function ``(args) -> int`` exit code). Exit codes: 0 all good, 1 a finding
(violation, counterexample, unknown), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from dynmem.verification.errors import InputError

# Every subcommand: (name, module under dynmem.verification.cli.commands, one-line help), in
# help order. The help is written here so that ``dynmem --help`` imports no command module (and
# so no engine: Z3, Hypothesis, networkx, matplotlib); a test checks it against each module's.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("simulate", "simulate",
     "run a scenario through the reference, checking every invariant at every step"),
    ("verify", "verify",
     "run every verification check (scenarios, proofs, bmc, exploration, fuzzing)"),
    ("oracle", "oracle",
     "check an implementation under test against the model or the reference"),
    ("check-trace", "check_trace",
     "check a recorded log of a real system against the model (streaming)"),
    ("vectors", "vectors", "write conformance vectors (any language can run them)"),
    ("prove", "prove", "prove every invariant inductive with Z3 (CTIs and unknowns fail)"),
    ("bmc", "bmc",
     "bounded model checking: the shortest trace breaking an invariant, replayed"),
    ("mutants", "mutants", "list the planted bugs (mutated models) every check must catch"),
    ("show", "show",
     "show a trace (ITF JSON) readably: changes per step, events in words, blame"),
    ("shrink", "shrink",
     "shrink a violating trace (fewer steps, VMs, smaller sizes), same invariant"),
    ("explore", "explore", "explore every reachable state of a small configuration (BFS)"),
    ("fuzz", "fuzz",
     "run a Hypothesis campaign of random VM lifecycles against the reference"),
    ("audit", "audit",
     "judge real hosts' evidence (Hyper-V snapshots, PDH counters, QEMU QMP) against the "
     "model and give right-sizing advice"),
)


def load_command(module: str) -> ModuleType:
    """The command module ``module``, imported now (a deliberate lazy load: start-up time)."""
    return importlib.import_module(f"dynmem.verification.cli.commands.{module}")


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (its first word that is not an option), if any."""
    names = {name for name, _, _ in COMMANDS}
    for word in argv:
        if not word.startswith("-"):
            return word if word in names else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the command chosen in ``argv`` gets its full parser (all without argv).

    Every other command is a stub with its name and help, enough for ``dynmem --help`` and
    for argparse to tell a mistyped command from a real one.
    """
    parser = argparse.ArgumentParser(
        prog="dynmem",
        description="Formal model, reference and verification suite for Hyper-V Dynamic "
                    "Memory balancers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = chosen_command(argv) if argv is not None else None
    for name, module, help_text in COMMANDS:
        if argv is None or name == chosen:
            load_command(module).register(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except InputError as err:
        print(f"dynmem: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dynmem: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``dynmem ... | head``): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1

