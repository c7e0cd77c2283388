"""``dynmem fuzz [--engine hypothesis|walk] [--profile ci|thorough] [--examples N] [--mutant NAME]
[--seed S]``; with ``--engine walk``: ``[--preset NAME] [--episodes N] [--depth N] [--swarm K]
[--workers N | --scheduler ADDRESS]``; with ``--engine walk --pages``: ``[--preset NAME]
[--episodes N] [--depth N] [--mutant PAGE-BUG] [--out DIR]``.

A Hypothesis campaign of the stateful machine (``verification/stateful/machine.py``) with a progress
bar on stderr and statistics at the end: examples, checked steps, steps per second, the
coverage of (event kind x channel/transaction state) pairs against what exploration reaches,
and the accepted/rejected outcomes per event kind. On a failure it prints the shrunk program
(runnable) and the readable trace, and writes the ITF and text traces (``--out``). Exit 0 when
nothing fails, 1 on a failure, 2 on bad input.

``--engine walk`` runs seeded random walks instead (``verification/walk``): no Hypothesis,
every check on every step, swarm masks, over an explorer preset or a real-sized one; a
failure is minimised by the cross-engine shrinker. ``--swarm K`` runs K campaigns of seeds
S..S+K-1, here or over a Dask cluster (``--workers``/``--scheduler``), merged in seed order.
``--pages`` walks the page layer (``cli/pagewalk.py``, specs/pages.md §7).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dynmem.reference.policy import compute_plan
from dynmem.reference.step import step
from dynmem.verification.cli import options
from dynmem.verification.cli.console import write_result
from dynmem.verification.cli.pagewalk import (
    PAGE_DEPTH,
    PAGE_EPISODES,
    check_pages,
    run_page_walk_command,
)
from dynmem.verification.cli.progress import Board
from dynmem.verification.cli.workers import open_mapper
from dynmem.verification.errors import InputError, raise_pending_signal
from dynmem.verification.explore.config import EXPLORE_ALIGNMENTS, PRESETS, with_host_profile
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.properties.reachable import get_reachable_pairs
from dynmem.verification.stateful.fuzz import FuzzResult, run_fuzz
from dynmem.verification.stateful.machine import get_settings
from dynmem.verification.traces import render_text
from dynmem.verification.walk.config import (
    WALK_PRESETS,
    WalkSpace,
    for_planted_bug,
    with_hibernating_guest,
    with_linux_guest,
)
from dynmem.verification.walk.pagespace import PAGE_WALK_PRESETS, PAGES_2VM
from dynmem.verification.walk.run import WalkResult, run_walk
from dynmem.verification.walk.swarm import SwarmResult, run_swarm

_BAR = 30


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fuzz",
        help="random VM lifecycles against the reference: Hypothesis, or fast seeded random "
             "walks",
        description="Hypothesis stateful testing: random lifecycles, adversarial guests, "
                    "every invariant after every step, refinement, progress. Exit 0: no "
                    "failure; 1: a failure (its shrunk program and trace are printed); 2: "
                    "bad input.",
    )
    parser.add_argument("--engine", choices=("hypothesis", "walk"), default="hypothesis",
                        help="hypothesis (default): the stateful machine; walk: seeded random "
                             "walks, much faster, every check on every step")
    parser.add_argument("--preset", default=None, metavar="NAME",
                        help="walk: the configuration, an explorer preset (1vm, 2vm, 3vm) or "
                             f"{', '.join(WALK_PRESETS)} (default 2vm); with --pages "
                             f"{' or '.join(PAGE_WALK_PRESETS)} (default {PAGES_2VM.name})")
    parser.add_argument("--episodes", type=int, default=None, metavar="N",
                        help="walk: episodes, each from the initial state (default 200; "
                             f"{PAGE_EPISODES} with --pages)")
    options.add_depth(parser, None, "N", f"walk: steps per episode (default 500; "
                                         f"{PAGE_DEPTH} with --pages)")
    options.add_pages(parser, "walk: the page layer instead (specs/pages.md §7): several VMs "
                              "of hundreds of MiB to GiB, guests that answer honestly, with "
                              "the 4 KiB fallback or with duplicate, overlapping, "
                              "out-of-range, already-ballooned and sub-2 MiB ranges, hosts "
                              "that sometimes ask for bad pages or regions; every page "
                              "invariant and the refinement on every step")
    parser.add_argument("--swarm", type=int, default=1, metavar="K",
                        help="walk: K campaigns of seeds S..S+K-1 (default 1), reported in "
                             "seed order")
    options.add_cluster(parser, "walk: the --swarm campaigns")
    parser.add_argument("--profile", choices=("ci", "thorough"), default="ci",
                        help="settings profile (default ci: fast, derandomized; thorough: "
                             "3,000 examples, and rules that steer towards starts and "
                             "restores that wait for reclaim, saves of grown VMs and guests "
                             "that advertise hot-add without balloon)")
    options.add_examples(parser, None, "the profile's")
    options.add_mutant(parser, "run the campaign against")
    options.add_seed(parser, "the profile's; ci is derandomized")
    options.add_linux(parser, "hypothesis draws each starting VM's guest, walk runs one in "
                              "the preset's last VM")
    options.add_hibernate(parser, "hypothesis: the starting fleet's last VM; walk: the "
                                  "preset's last VM in about half the episodes; with the "
                                  "lifecycle and the watchdog in fair runs")
    parser.add_argument("--no-refinement", action="store_true",
                        help="do not check steps against the model's transition")
    options.add_out_dir(parser, "the failure's ITF and text traces (an existing one; "
                                "default: a temporary folder)")
    options.add_host_profile(parser, "every host of the campaign (a walk: the preset's host)")
    options.add_json(parser)
    parser.set_defaults(handler=run)


def _check(args: argparse.Namespace) -> None:
    options.check_examples(args.examples)
    if args.seed is not None and args.seed < 0:
        raise InputError("command line", "--seed", args.seed, "must be >= 0")
    if args.pages:
        check_pages(args)
        return
    if args.mutant:
        get_mutant(args.mutant)
    options.read_host_profile(args.host_profile)
    if args.swarm != 1 and args.engine != "walk":
        raise InputError("command line", "--swarm", args.swarm, "runs walk campaigns: only "
                         "with --engine walk")
    if options.uses_cluster(args) and args.engine != "walk":
        flag = "--workers" if args.workers is not None else "--scheduler"
        raise InputError("command line", flag, args.workers or args.scheduler,
                         "spreads walk campaigns: only with --engine walk")


def get_walk_space(name: str) -> WalkSpace:
    """The walk preset ``name``: an explorer preset (``2vm``) or a walk-only one.

    Raises
    ------
    InputError
        If there is none; the message lists the known names.
    """
    spaces: dict[str, WalkSpace] = {c.name: c for c in PRESETS.values()}
    spaces.update(WALK_PRESETS)
    if name not in spaces:
        raise InputError("command line", "--preset", name, "unknown preset; known: "
                         + ", ".join(spaces))
    return spaces[name]


def _walk_space(args: argparse.Namespace) -> WalkSpace:
    """The walked space: ``--preset``, with what ``--mutant``, ``--linux``, ``--hibernate``
    and ``--host-profile`` add."""
    space = get_walk_space(args.preset)
    bug = get_mutant(args.mutant) if args.mutant else None
    if bug is not None:
        space = for_planted_bug(space, bug, EXPLORE_ALIGNMENTS)
    if args.linux:
        space = with_linux_guest(space)
    if args.hibernate:
        space = with_hibernating_guest(space)
    profile = options.read_host_profile(args.host_profile)
    if profile is None and bug is not None:
        profile = bug.explore_profile
    if profile is not None:
        space = with_host_profile(space, profile)
    return space


def run_swarm_command(args: argparse.Namespace, space: WalkSpace) -> int:
    """``--swarm K`` (or a cluster): K campaigns, here or on the cluster's workers; the
    report lists them in seed order whichever finished first."""
    bug = get_mutant(args.mutant) if args.mutant else None
    board = Board()
    with open_mapper(args, board, "fuzz") as mapper, board.phase("walk swarm", args.swarm,
                                        _bar_line("walk swarm", "campaigns")) as phase:
        ended: list[int] = []

        def done(index: int, result: WalkResult) -> None:
            ended.append(index)
            phase.update(len(ended), f"seed {result.seed}: {'ok' if result.ok else 'FAILED'}",
                         keep=not result.ok)

        swarm = run_swarm(space, campaigns=args.swarm, seed=args.seed or 0,
                          failure_dir=Path(args.out) if args.out else None,
                          mapper=mapper,
                          on_done=done, episodes=args.episodes, depth=args.depth,
                          step_fn=bug.reference_step if bug else step,
                          plan=bug.policy if bug else compute_plan, mutant=args.mutant,
                          refinement=not args.no_refinement)
    board.stop()
    write_result(args.json, lambda: swarm.to_json(), lambda: render_swarm(swarm))
    board.finish(f"fuzz: {'ok' if swarm.ok else 'FAILED'}, {args.swarm} walk campaigns of "
                 f"{args.episodes} episodes")
    return 0 if swarm.ok else 1


def render_swarm(swarm: SwarmResult) -> str:
    """Each campaign's summary in seed order, then the first failing campaign in full."""
    lines = [swarm.summary(), *("  " + c.summary() for c in swarm.campaigns)]
    first = swarm.first_failure
    text = "\n".join(lines) + "\n"
    return text if first is None else text + "\n" + render_walk(first)


def run_walk_command(args: argparse.Namespace) -> int:
    """``--engine walk``: run the walks; print the summary (or JSON); 0 if nothing failed."""
    args.preset = args.preset or "2vm"
    args.episodes = 200 if args.episodes is None else args.episodes
    args.depth = 500 if args.depth is None else args.depth
    for flag in ("episodes", "depth", "swarm"):
        if getattr(args, flag) <= 0:
            raise InputError("command line", f"--{flag}", getattr(args, flag), "must be > 0")
    space = _walk_space(args)
    if args.swarm > 1 or options.uses_cluster(args):
        return run_swarm_command(args, space)
    bug = get_mutant(args.mutant) if args.mutant else None
    board = Board()
    with board.phase("walk", args.episodes, _bar_line("walk", "episodes")) as phase:
        result = run_walk(space, episodes=args.episodes, depth=args.depth,
                          seed=args.seed or 0, step_fn=bug.reference_step if bug else step,
                          plan=bug.policy if bug else compute_plan, mutant=args.mutant,
                          refinement=not args.no_refinement,
                          failure_dir=Path(args.out) if args.out else None,
                          on_progress=lambda n, steps: phase.update(n, f"{steps:,} steps"))
    board.stop()
    write_result(args.json, lambda: result.to_json(), lambda: render_walk(result))
    board.finish(f"fuzz: {'ok' if result.ok else 'FAILED'}, {args.episodes} walk episodes")
    return 0 if result.ok else 1


def _bar_line(name: str, unit: str) -> Callable[[int, int | None, str], str]:
    """The plain progress line of a campaign: ``fuzz [####......] 12 examples, ...``."""
    def line(done: int, total: int | None, text: str) -> str:
        share = min(1.0, done / total) if total else 0.0
        bar = "#" * int(share * _BAR) + "." * (_BAR - int(share * _BAR))
        return f"{name} [{bar}] {done} {unit}" + (f", {text}" if text else "")
    return line


def render_walk(result: WalkResult) -> str:
    """The summary and, on a failure, the (shrunk) trace and where it was written."""
    lines = [result.summary()]
    f = result.failure
    if f is not None:
        lines.append(f"episode {f.episode} kinds: {', '.join(f.kinds)}")
        if f.shrunk is not None:
            lines.append(f.shrunk.describe())
        lines += ["", render_text(f.shown),
                  f"trace written to {' and '.join(f.files)}"]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Run the campaign; print statistics (or JSON); 0 if nothing failed, else 1."""
    _check(args)
    if args.pages:
        return run_page_walk_command(args)
    if args.engine == "walk":
        return run_walk_command(args)
    # The bar runs to the profile's max_examples: Hypothesis counts valid examples only, so a
    # campaign may start a few more than that (the bar then stays full).
    total = args.examples or get_settings(args.profile).max_examples

    seen = [0, 0]  # examples and steps so far: the summary of an interrupted campaign
    board = Board()
    phase = board.phase("fuzz", total, _bar_line("fuzz", "examples"))

    def progress(examples: int, steps: int, seconds: float) -> None:
        raise_pending_signal()  # a Ctrl-C that Hypothesis's gc callback swallowed
        seen[:] = [examples, steps]
        phase.update(min(examples, total) if total else examples, f"{steps:,} steps")

    try:
        result = run_fuzz(args.profile, examples=args.examples, mutant=args.mutant,
                          seed=args.seed, refinement=not args.no_refinement,
                          failure_dir=Path(args.out) if args.out else None,
                          on_progress=progress, linux_guests=args.linux,
                          host_profile=options.read_host_profile(args.host_profile),
                          hibernate=args.hibernate)
    except KeyboardInterrupt:
        board.finish(f"fuzz: interrupted after {seen[0]} of {total} examples "
                     f"({seen[1]:,} steps); no failure found in them")
        raise
    board.stop()
    reachable = get_reachable_pairs()
    write_result(args.json,
                 lambda: result.to_json(reachable),
                 lambda: render_statistics(result, reachable))
    board.finish(f"fuzz: {'ok' if result.ok else 'FAILED'}, {result.examples} examples, "
                 f"{result.steps:,} steps")
    return 0 if result.ok else 1


def render_statistics(result: FuzzResult, reachable: set[tuple[str, str]]) -> str:
    """The text report: summary, coverage, outcomes per kind, and the failure if any."""
    cov = result.coverage
    lines = [result.summary(),
             f"coverage: {len(reachable & set(cov.pairs))}/{len(reachable)} reachable "
             f"(event kind x channel/transaction) pairs ({100 * cov.share_of(reachable):.0f}%)"
             + ("" if result.refinement_checked else "; refinement off (--no-refinement)")]
    missing = cov.missing(reachable)
    if missing:
        lines.append("  not reached: " + ", ".join(f"{k}@{s}" for k, s in missing))
    accepted = Counter({k: n for (k, o), n in cov.outcomes.items() if o == "accepted"})
    rejected = Counter({k: 0 for k in accepted})
    for (k, o), n in cov.outcomes.items():
        if o != "accepted":
            rejected[k] += n
    lines.append("outcomes per event kind (accepted / rejected):")
    for kind in sorted(set(accepted) | set(rejected)):
        lines.append(f"  {kind:20s} {accepted[kind]:7d} / {rejected[kind]:d}")
    lines.append(f"guard outcomes seen: {len(cov.outcomes)}")
    if not result.ok:
        lines += ["", f"FAILURE: {result.message}"]
        if result.program:
            lines += ["", result.program]
    return "\n".join(lines) + "\n"
