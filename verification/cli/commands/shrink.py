"""``dynmem shrink TRACE.itf.json [--out FILE]``: the smallest trace that still breaks it.

Fewer steps (delta debugging), fewer VMs and smaller sizes, while the replay keeps violating
the same invariant (verification/traces/shrink.py says exactly what is kept). Works on a trace from
any source; a planted bug's trace needs the bug's step: ``--mutant NAME`` (taken from the
trace's notes when it names one). Prints the shrunk trace as ``dynmem show`` does. Exit 0:
shrunk (the result still violates, as required); 2: bad input, or nothing to shrink.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dynmem.reference.step import Step, step
from dynmem.verification.cli import options
from dynmem.verification.cli.progress import Board
from dynmem.verification.errors import InputError
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.traces.itf import read_itf, write_itf
from dynmem.verification.traces.show import render_show
from dynmem.verification.traces.shrink import MAX_REPLAYS, count, shrink_trace


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "shrink",
        help="shrink a violating trace (fewer steps, VMs, smaller sizes), same invariant",
        description="Shrink a violating trace from any source (simulate, bmc, explore, "
                    "prove, oracle) to fewer steps, fewer VMs and smaller sizes while its "
                    "replay in the reference (or a planted bug, --mutant) still violates "
                    "the same invariant. Exit 0: shrunk; 2: bad input or nothing to shrink.",
    )
    options.add_trace_file(parser, "a violating trace")
    options.add_trace_out(parser, "the shrunk trace")
    options.add_mutant(parser, "replay with",
                       "the one the trace's notes name, else the reference")
    options.add_invariant(parser, "keep breaking", "the trace's first finding's",
                          repeatable=False)
    parser.add_argument("--max-replays", type=int, default=MAX_REPLAYS, metavar="N",
                        help=f"candidate replays allowed (default {MAX_REPLAYS:,}; a count, so "
                             f"the result is the same on any machine); when they run out the "
                             f"best trace so far is kept")
    options.add_ascii(parser)
    parser.set_defaults(handler=run)


def get_mutant_step(name: str) -> Step:
    """The step function of the planted bug ``name`` (verification/mutants/catalogue.py); an unknown
    name is an InputError listing the known ones."""
    return get_mutant(name).reference_step


def run(args: argparse.Namespace) -> int:
    """Shrink ``args.file``; print the result; write it with ``--out``."""
    if args.max_replays < 0:
        raise InputError("command line", "--max-replays", args.max_replays, "must be >= 0")
    trace = read_itf(args.file)
    mutant = args.mutant or dict(trace.notes).get("mutant")
    mutant = mutant if isinstance(mutant, str) else None
    step_fn = get_mutant_step(mutant) if mutant else step
    board = Board()
    board.say(f"shrink: {args.file}: {count(len(trace.steps), 'step')}, "
              f"{count(len(trace.initial.vms), 'VM')}, replaying with "
              f"{'mutant ' + mutant if mutant else 'the reference'}")

    def line(replays: int, budget: int | None, text: str) -> str:
        return f"shrink: {replays:,} of {budget:,} replays" + (f", {text}" if text else "")

    with board.phase("shrink replays", args.max_replays, line) as phase:
        def on_round(n: int, case: Any) -> None:
            board.say(f"shrink: round {n}: {count(len(case[1]), 'step')}, "
                      f"{count(len(case[0].vms), 'VM')}")
            phase.text = f"after round {n}: {count(len(case[1]), 'step')}"  # for the row

        result = shrink_trace(trace, step_fn, invariant=args.invariant,
                              max_replays=args.max_replays, source=args.file, mutant=mutant,
                              on_round=on_round,
                              on_replays=lambda n: phase.update(n, phase.text))
    board.stop()
    if args.out:
        write_itf(result.trace, args.out)
        board.say(f"shrink: wrote {args.out}")
    sys.stdout.write(render_show(result.trace, ascii=args.ascii))
    board.finish(f"shrink: {result.describe()}")
    return 0
