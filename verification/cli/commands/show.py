"""``dynmem show TRACE.itf.json``: read a trace, say what happened and why it failed.

Prints only what changed at each step, the events in domain words and, at the failing step,
the failing part of the invariant with its values. ``--plot`` writes the memory timeline
(PNG or SVG), ``--html`` one self-contained report. Exit 0: the trace has no finding; 1: it
has one; 2: bad input (the message names the file and the JSON path). The verdict is the
re-check's (``traces/recheck.py``: every step replayed, every invariant checked), never the
file's own findings list; where they differ, a ``re-check:`` line says so. A page-level trace
(``explore --pages --out``) is shown in the page layer's words and re-checked by its checks.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dynmem.verification.cli import options
from dynmem.verification.codec import load_json, read_text
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.pageitf import is_page_itf, page_trace_from_itf
from dynmem.verification.traces.html import write_report
from dynmem.verification.traces.itf import checked_trace_from_itf
from dynmem.verification.traces.pagetext import render_page_trace
from dynmem.verification.traces.pagetrace import recheck_page_trace
from dynmem.verification.traces.plot import check_plot_path, write_plot
from dynmem.verification.traces.show import check_vm_names, parse_steps, render_show


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "show",
        help="show a trace (ITF JSON) readably: changes per step, events in words, blame",
        description="Show a trace file written by any dynmem producer (simulate, bmc, "
                    "prove, explore, oracle, shrink): only what changed at each step, the "
                    "events in domain words and, at the failing step, which part of the "
                    "invariant failed with its values. Exit 0: no finding; 1: a finding; "
                    "2: bad input.",
    )
    options.add_trace_file(parser, "the trace to show")
    parser.add_argument("--full", action="store_true",
                        help="show every VM and field at every step, not only changes")
    parser.add_argument("--steps", metavar="A:B",
                        help="show steps A..B only (both included; A:, :B and N work too; "
                             "0 is the initial state); the plot and the page too")
    parser.add_argument("--vm", metavar="NAME", action="append",
                        help="show rows for this VM only (repeatable); events and findings "
                             "are always shown; the plot's and the page's VM panels and "
                             "columns too")
    options.add_ascii(parser)
    options.add_plot(parser, "the memory timeline as a PNG or SVG image", "FILE.png|svg")
    options.add_html(parser, "the plot, the step table, the blame and the settings")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the trace; write the plot and report if asked; 0 ok, 1 finding."""
    data = load_json(read_text(args.file), args.file)
    if is_page_itf(data):
        return _run_page(args, data)
    trace, check = checked_trace_from_itf(data, args.file)
    steps = parse_steps(args.steps, len(trace.steps)) if args.steps is not None else None
    vms = check_vm_names(trace, args.vm) if args.vm else None
    if args.plot:
        check_plot_path(args.plot)
        write_plot(trace, args.plot, steps, vms)
    if args.html:
        write_report(trace, args.html, title=args.file, steps=steps, vms=vms)
    sys.stdout.write(render_show(trace, full=args.full, vms=vms, steps=steps,
                                 ascii=args.ascii))
    for sentence in check.sentences():  # where the file's own verdict was wrong
        print(f"re-check: {sentence}")
    return 0 if trace.ok else 1


def _run_page(args: argparse.Namespace, data: Any) -> int:
    """A page-level trace (specs/formats/itf.md §7b): its messages in words, re-checked."""
    for flag, value in (("--full", args.full or None), ("--steps", args.steps),
                        ("--vm", args.vm), ("--plot", args.plot), ("--html", args.html)):
        if value is not None:
            raise InputError("command line", flag, value,
                             f"does not apply to a page trace ({args.file}): it is shown whole")
    trace = page_trace_from_itf(data, args.file)
    recheck = recheck_page_trace(trace)
    sys.stdout.write(render_page_trace(trace, recheck))
    return 0 if recheck is None else 1
