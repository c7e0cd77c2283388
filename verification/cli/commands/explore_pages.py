"""``dynmem explore --pages [--mutant NAME] [--out FILE] [--json]``: the page layer's own
small scope (specs/pages.md), explored breadth-first under the page host's step, then under
the honest guest's 4 KiB fallback; with ``--mutant``, a planted page bug's step. Loaded by
``explore`` only when ``--pages`` is given, so that the amount-level search starts without
the page layer and the oracle package.
"""

from __future__ import annotations

import argparse

from dynmem.reference.pages import page_step
from dynmem.reference.pages.step import PageStep
from dynmem.verification.cli.console import write_result
from dynmem.verification.cli.progress import Board
from dynmem.verification.errors import InputError
from dynmem.verification.explore.pages import (
    explore_pages,
    get_fallback_menu,
    page_report_to_json,
    render_page_report,
)
from dynmem.verification.mutants.pages import PAGE_MUTANTS_BY_NAME
from dynmem.verification.oracle.pageitf import write_page_itf
from dynmem.verification.traces.pagetrace import replay_page_trace

__all__ = ["run_pages"]


def run_pages(args: argparse.Namespace) -> int:
    """``explore --pages``: the page layer's own small scope, with a page bug if named."""
    fixed = [(flag, value) for flag, value in (
        ("--vms", args.vms if args.vms != 2 else None), ("--lifecycle", args.lifecycle or None),
        ("--linux", args.linux or None), ("--align", args.align or None),
        ("--hibernate", args.hibernate or None),
        ("--dot", args.dot),
        ("--max-states", args.max_states), ("--host-profile", args.host_profile))
        if value is not None]
    if fixed:
        raise InputError("command line", fixed[0][0], fixed[0][1],
                         "does not apply to --pages (the page layer has its own scope)")
    step_fn: PageStep = page_step
    if args.mutant is not None:
        if args.mutant not in PAGE_MUTANTS_BY_NAME:
            raise InputError("command line", "--mutant", args.mutant,
                             f"is no page bug; --pages takes one of "
                             f"{', '.join(PAGE_MUTANTS_BY_NAME)}")
        step_fn = PAGE_MUTANTS_BY_NAME[args.mutant].step
    board = Board()
    with board.phase("explore --pages", None):
        result = explore_pages(step_fn)
        # then the honest guest's 4 KiB fallback (its own scope), unless already failed
        fallback = explore_pages(step_fn, menu=get_fallback_menu) if result.ok else None
    board.stop()
    failed = result if fallback is None else fallback
    if args.out and failed.finding is not None:  # the shortest trace, replayed by that host
        finding = failed.finding
        source = f"explore --pages{f' --mutant {args.mutant}' if args.mutant else ''}"
        write_page_itf(replay_page_trace(finding.initial, finding.events, source,
                                         finding.problem, step_fn), args.out)
    write_result(args.json, lambda: {**page_report_to_json(result, args.mutant), "fallback": (
                     None if fallback is None else page_report_to_json(fallback, args.mutant))},
                 lambda: render_page_report(result, args.mutant) + (
                     "" if fallback is None else render_page_report(fallback, args.mutant,
                                                                    fallback=True)))
    ok = result.ok and fallback is not None and fallback.ok
    board.finish(f"explore --pages: {'ok' if ok else 'FAILED'}, {result.states:,} + "
                 f"{0 if fallback is None else fallback.states:,} states")
    return 0 if ok else 1
