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

from dynmem.verification.errors import InputError

# Subcommand modules under dynmem.verification.commands, in help order.
COMMANDS = (
    "simulate",
    "verify",
    "oracle",
    "check_trace",
    "vectors",
    "prove",
    "bmc",
    "mutants",
    "show",
    "shrink",
    "explore",
    "fuzz",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dynmem",
        description="Formal model, reference and verification suite for Hyper-V Dynamic "
                    "Memory balancers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"dynmem.verification.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
