"""``dynmem fuzz --engine walk --pages``: the page-level walk (verification/walk/pagewalk.py).

Its flags are those of the amount-level walk: ``--preset`` (a page preset), ``--episodes``,
``--depth``, ``--seed``, ``--mutant`` (a page bug), ``--out DIR``, ``--json``. A failure's
shortened trace is written to DIR (default: a temporary folder) as
``walk-pages-NAME.itf.json`` (the page trace ITF of ``explore --pages --out``, which
``dynmem show`` reads and re-checks) and ``walk-pages-NAME.txt``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from dynmem.reference.pages import page_step
from dynmem.reference.pages.step import PageStep
from dynmem.verification.atomic import write_atomic
from dynmem.verification.cli.console import write_result
from dynmem.verification.cli.progress import Board
from dynmem.verification.errors import InputError
from dynmem.verification.mutants.pages import PAGE_MUTANTS_BY_NAME
from dynmem.verification.oracle.pageitf import write_page_itf
from dynmem.verification.walk.pagereport import render_failure_trace, render_page_walk
from dynmem.verification.walk.pagespace import PAGE_WALK_PRESETS, PAGES_2VM, PageWalkSpace
from dynmem.verification.walk.pagewalk import (
    PAGE_DEPTH,
    PAGE_EPISODES,
    PageWalkResult,
    run_page_walk,
)

__all__ = ["PAGE_DEPTH", "PAGE_EPISODES", "check_pages", "run_page_walk_command"]


def check_pages(args: argparse.Namespace) -> None:
    """One-line errors for flags the page walk does not take or values it cannot use."""
    if args.engine != "walk":
        raise InputError("command line", "--pages", True, "walks the page layer: only with "
                         "--engine walk")
    for flag, value in (("--swarm", args.swarm if args.swarm != 1 else None),
                        ("--workers", args.workers), ("--scheduler", args.scheduler),
                        ("--examples", args.examples), ("--linux", args.linux or None),
                        ("--hibernate", args.hibernate or None),
                        ("--host-profile", args.host_profile),
                        ("--no-refinement", args.no_refinement or None)):
        if value is not None:
            raise InputError("command line", flag, value, "does not apply to --pages (the "
                             "page walk runs one campaign and always checks the refinement)")
    if args.preset is not None and args.preset not in PAGE_WALK_PRESETS:
        raise InputError("command line", "--preset", args.preset, "is no page preset; "
                         f"--pages takes one of {', '.join(PAGE_WALK_PRESETS)}")
    if args.mutant is not None and args.mutant not in PAGE_MUTANTS_BY_NAME:
        raise InputError("command line", "--mutant", args.mutant, "is no page bug; --pages "
                         f"takes one of {', '.join(PAGE_MUTANTS_BY_NAME)}")
    for flag in ("episodes", "depth"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            raise InputError("command line", f"--{flag}", getattr(args, flag), "must be > 0")


def _write(result: PageWalkResult, folder: Path) -> tuple[str, ...]:
    """The failure's trace as page ITF and as text in ``folder``; their paths."""
    failure = result.failure
    assert failure is not None
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"walk-pages-{result.mutant or 'reference'}"
    write_page_itf(failure.trace, f"{stem}.itf.json")
    write_atomic(f"{stem}.txt", render_failure_trace(failure))
    return f"{stem}.itf.json", f"{stem}.txt"


def run_page_walk_command(args: argparse.Namespace) -> int:
    """Run one page walk campaign; print its report (or JSON); 0 if nothing failed."""
    space: PageWalkSpace = PAGE_WALK_PRESETS[args.preset or PAGES_2VM.name]
    episodes = PAGE_EPISODES if args.episodes is None else args.episodes
    depth = PAGE_DEPTH if args.depth is None else args.depth
    step_fn: PageStep = page_step
    if args.mutant is not None:
        step_fn = PAGE_MUTANTS_BY_NAME[args.mutant].step
    board = Board()
    with board.phase("walk --pages", episodes) as phase:
        result = run_page_walk(space, episodes=episodes, depth=depth, seed=args.seed or 0,
                               step_fn=step_fn, mutant=args.mutant,
                               on_progress=lambda n, steps: phase.update(n, f"{steps:,} steps"))
    board.stop()
    files: tuple[str, ...] = ()
    if result.failure is not None:
        folder = Path(args.out) if args.out else Path(tempfile.gettempdir()) / "dynmem-failures"
        files = _write(result, folder)
    write_result(args.json, lambda: {**result.to_json(), "files": list(files)},
                 lambda: render_page_walk(result)
                 + (f"trace written to {' and '.join(files)}\n" if files else ""))
    board.finish(f"fuzz: {'ok' if result.ok else 'FAILED'}, {result.episodes} page walk "
                 f"episodes, {result.steps:,} steps")
    return 0 if result.ok else 1
