"""``dynmem check-trace LOG.jsonl``: check a recorded log against the model, streaming.

The log (specs/formats/oracle.md §5) is a header with the initial state, then one entry
per event with the observation after it. Nothing is run: every step is judged as the oracle
judges a system IUT in refinement mode. Exit 0: the log conforms; 1: a violation (the first
one is shown with its line, class, diff and the readable trace of the last steps); 2: the
log cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from dynmem.model.concrete_steps import is_allowed
from dynmem.verification.cli import options
from dynmem.verification.cli.progress import Board
from dynmem.verification.codec import read_lines
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.checktrace import LogResult, check_log
from dynmem.verification.oracle.judge import CLASS_WORDS
from dynmem.verification.oracle.pagelog import check_page_log, is_page_header, report_page_log
from dynmem.verification.traces import render_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-trace",
        help="check a recorded log of a real system against the model (streaming)",
        description="Check a recorded log (JSON Lines: a header, then one entry per event "
                    "with the observed state after it) against the model and every "
                    "invariant. Exit 0: conforms; 1: a violation; 2: unreadable log.",
    )
    parser.add_argument("log", metavar="LOG.jsonl", help="the log (specs/formats/oracle.md §5)")
    options.add_window(parser, 8, "N", "steps of context shown before the violation")
    parser.add_argument("--no-fast", action="store_true",
                        help="judge every step with the full check (slower, same verdicts)")
    options.add_json(parser)
    parser.set_defaults(handler=run)


def _summary(result: LogResult, log: str, seconds: float) -> dict[str, Any]:
    d = result.divergence
    return {"ok": d is None, "log": log, "events": result.events, "seconds": round(seconds, 3),
            "line": result.line, "class": d.cls if d else None,
            "reason": d.headline() if d else None,
            "diff": [item.to_json() for item in d.diff] if d else [],
            "violations": [{"invariant": v.invariant, "clause": v.clause, "vm": v.vm,
                            "message": v.message} for v in d.violations] if d else []}


def run(args: argparse.Namespace) -> int:
    """Check ``args.log``; print the verdict; return the exit code."""
    started = time.perf_counter()
    found = _check_page_log(args)  # a header with "wire": 2 (specs/formats/oracle.md §9.7)
    if found is not None:
        return found
    board = Board()
    try:
        with open(args.log, encoding="utf-8") as handle, \
                board.phase("check-trace", None, _line(args.log, handle)) as phase:
            result = check_log(handle, args.log, is_allowed, not args.no_fast,
                               max(1, args.window), on_progress=phase.update)
    except OSError as err:
        raise InputError(args.log, "", None, f"cannot read the log: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise InputError(args.log, "", None, f"is not UTF-8 text: {err}") from None
    finally:
        board.stop()
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps(_summary(result, args.log, seconds), indent=2))
    else:
        _print(result, args.log, seconds)
    verdict = "conforms" if result.divergence is None else f"VIOLATION at line {result.line}"
    board.finish(f"check-trace: {verdict}, {result.events:,} events")
    return 0 if result.divergence is None else 1


def _check_page_log(args: argparse.Namespace) -> int | None:
    """Check a page-level log and return the exit code; None if the log is not one."""
    try:
        with open(args.log, encoding="utf-8") as handle:
            numbered = enumerate(read_lines(handle, args.log), start=1)
            first = next(numbered, None)
            if first is None:
                return None
            try:
                header = json.loads(first[1])
            except ValueError:
                return None  # the amount-level reader reports it
            if not is_page_header(header):
                return None
            result = check_page_log(numbered, header, args.log)
    except OSError as err:
        raise InputError(args.log, "", None, f"cannot read the log: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise InputError(args.log, "", None, f"is not UTF-8 text: {err}") from None
    d = result.divergence
    if args.json:
        print(json.dumps({"ok": d is None, "log": args.log, "wire": 2, "events": result.events,
                          "line": result.line, "class": d.cls if d else None,
                          "detail": d.detail if d else None,
                          "reason": d.headline() if d else None}, indent=2))
    else:
        sys.stdout.write(report_page_log(result, args.log))
    return 0 if d is None else 1


def _line(log: str, handle: Any) -> Any:
    """The plain progress line: events so far and the share of the file read (its size is
    known; the read position is the buffered one, a little ahead of the events)."""
    size = os.fstat(handle.fileno()).st_size

    def line(events: int, total: int | None, text: str) -> str:
        where = os.lseek(handle.fileno(), 0, os.SEEK_CUR)  # text files forbid tell() here
        share = f", {100 * where // size}% of {size / 1e6:,.1f} MB read" if size else ""
        return f"check-trace {log}: {events:,} events{share}"
    return line


def _print(result: LogResult, log: str, seconds: float) -> None:
    rate = result.events / seconds if seconds > 0 else 0.0
    print(f"dynmem check-trace {log}: {result.events} events in {seconds:.2f} s "
          f"({rate:,.0f} events/s)")
    d = result.divergence
    if d is None:
        print("verdict: the log conforms to the model; no invariant violated")
        return
    print(f"verdict: VIOLATION at line {result.line} (event {d.step}): {CLASS_WORDS[d.cls]}")
    print(f"first violation: {d.headline()}")
    if d.diff:
        print("diff (path: expected -> observed):")
    for item in d.diff:
        print(f"    {item.to_text()}")
    if result.window is not None:
        print(f"\nthe last {len(result.window.steps)} steps (step 1 here is event "
              f"{dict(result.window.notes).get('first_step')} of the log):")
        sys.stdout.write(render_text(result.window))
