"""``dynmem oracle --iut "CMD"``: check another implementation against the model or the
reference (specs/formats/oracle.md).

Drives the IUT (a program speaking the JSON Lines protocol of §2) with generated event
sequences; on a failure shrinks the example and writes the first-divergence report. Exit 0:
every example passed; 1: the IUT is at fault; 2: bad usage (including an IUT that does not
start, speaks another protocol version or lacks the requested kind).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dynmem.model.concrete_steps import is_allowed as model_is_allowed
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import initial_state
from dynmem.verification.oracle.generate import get_default_source
from dynmem.verification.oracle.iut import (
    IutFault,
    IutUnusable,
    Kind,
    Mode,
    check_hello,
)
from dynmem.verification.oracle.judge import CaseResult, Divergence, IsAllowed
from dynmem.verification.oracle.report import report_text, report_to_json, write_report
from dynmem.verification.oracle.search import SearchResult, search
from dynmem.verification.oracle.wire import SubprocessIut
from dynmem.verification.traces.trace import Trace


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "oracle",
        help="check an implementation under test against the model or the reference",
        description="Drive an implementation under test (a program speaking the JSON Lines "
                    "protocol of specs/formats/oracle.md) with generated events; shrink and "
                    "report the first divergence. Exit 0: pass; 1: the IUT is at fault; "
                    "2: bad usage.",
    )
    parser.add_argument("--iut", required=True, metavar="CMD",
                        help="command that starts the IUT (run with /bin/sh -c)")
    parser.add_argument("--kind", choices=("system", "policy"), default="system",
                        help="what the IUT implements (default: system)")
    parser.add_argument("--mode", choices=("refinement", "lockstep"), default="refinement",
                        help="refinement: any safe policy; lockstep: exactly the reference")
    parser.add_argument("--examples", type=_positive, default=100, metavar="N",
                        help="generated examples to run (default 100)")
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="random seed (default: a fresh one, printed in the report)")
    parser.add_argument("--max-steps", type=_positive, default=60, metavar="N",
                        help="events per example at most (default 60)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per-request timeout (default 10)")
    parser.add_argument("--shrink-seconds", type=float, default=60.0, metavar="SECONDS",
                        help="time budget for shrinking a failure (default 60)")
    parser.add_argument("--out", metavar="DIR",
                        help="write report.json, report.txt, trace.itf.json and case/ here")
    parser.add_argument("--json", action="store_true",
                        help="print report.json on stdout instead of the text report")
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


class _Progress:
    """The one-line progress on stderr (rewritten with ``\\r``; ended by ``done``)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.shown = quiet, False
        self.count = self.shrink_runs = 0  # for the summary of an interrupted run

    def __call__(self, count: int, shrink_runs: int) -> None:
        self.count, self.shrink_runs = count, shrink_runs
        if self.quiet or (count % 10 and not shrink_runs) or shrink_runs % 10:
            return
        text = f"{count} examples" + (f", shrinking ({shrink_runs} runs)" if shrink_runs
                                      else "")
        print(f"\rdynmem oracle: {text}", end="", file=sys.stderr, flush=True)
        self.shown = True

    def done(self) -> None:
        """End the progress line so that what follows starts on a line of its own."""
        if self.shown:
            print("", file=sys.stderr, flush=True)
            self.shown = False


def _hello_failure(fault: IutFault, kind: Kind, mode: Mode) -> SearchResult:
    """A fault at hello is the IUT's: report it like any divergence at step 0."""

    empty = initial_state(HostSettings(1, 0))
    divergence = Divergence("protocol", 0, None, fault.message, fault.detail,
                            stderr_tail=fault.stderr_tail)
    # The state is a placeholder: the "phase" note keeps it out of the report.
    trace = Trace(empty, source="oracle", notes=(("phase", "hello"),))
    return SearchResult(0, CaseResult(empty, (), divergence, trace), 0)


def run(args: argparse.Namespace) -> int:
    """Run the oracle; print and write the report; return the exit code."""
    kind: Kind = args.kind
    mode: Mode = args.mode
    is_allowed: IsAllowed = model_is_allowed
    model = "dynmem.model.concrete_steps.is_allowed"
    driver = SubprocessIut(args.iut, timeout=args.timeout)
    progress = _Progress(args.json)
    try:
        try:
            check_hello(driver.hello(kind, mode), kind)
        except IutFault as fault:
            result = _hello_failure(fault, kind, mode)
        else:
            result = search(driver, kind, mode, get_default_source(kind, args.max_steps),
                            args.examples, args.seed, is_allowed, args.shrink_seconds,
                            progress)
    except IutUnusable as err:
        progress.done()
        print(f"dynmem: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        progress.done()
        shrinking = (f"; a failure was being shrunk ({progress.shrink_runs} runs)"
                     if progress.shrink_runs else "; no failure found in them")
        print(f"oracle: interrupted after {progress.count} of {args.examples} examples"
              f"{shrinking}", file=sys.stderr, flush=True)
        raise
    finally:
        progress.done()
        driver.close()
    if args.out:
        write_report(Path(args.out), result, kind, mode, args.iut, model)
    if args.json:

        print(json.dumps(report_to_json(result, kind, mode, args.iut, model), indent=2))
    else:
        sys.stdout.write(report_text(result, kind, mode, args.iut, model))
    return 0 if result.failure is None else 1
