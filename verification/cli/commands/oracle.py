"""``dynmem oracle --iut "CMD"``: check another implementation against the model or the
reference (specs/formats/oracle.md).

Two phases. The first is bounded-exhaustive (``verification/conformance``): every reachable
state of the explorer's presets of 1..``--vms`` VMs, every event the explorer offers there,
each answer judged; for a policy also the progress properties on its whole graph. The
second drives the IUT (a program speaking the JSON Lines protocol of §2) with generated
event sequences. The first failure ends the run: it is shrunk (random phase) or already
shortest (exhaustive phase) and written as the first-divergence report. Exit 0: both phases
passed; 1: the IUT is at fault; 2: bad usage (including an IUT that does not start, speaks
another protocol version or lacks the requested kind).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dynmem.model.concrete_steps import is_allowed as model_is_allowed
from dynmem.model.vocabulary import HostProfile
from dynmem.verification.cli import options
from dynmem.verification.cli.progress import Board, Phase
from dynmem.verification.cli.workers import open_mapper
from dynmem.verification.conformance import Phases, StatesProgress, Watch, run_phases
from dynmem.verification.errors import raise_pending_signal
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.oracle.check import hello_failure
from dynmem.verification.oracle.generate import ORACLE_ALIGNMENTS
from dynmem.verification.oracle.iut import (
    IutFault,
    IutUnusable,
    Kind,
    Mode,
    check_hello,
)
from dynmem.verification.oracle.judge import IsAllowed
from dynmem.verification.oracle.pagereport import write_page_report
from dynmem.verification.oracle.pagesession import PageRun, check_pages
from dynmem.verification.oracle.pagesession import report_json as page_report_json
from dynmem.verification.oracle.pagesession import report_text as page_report_text
from dynmem.verification.oracle.pagewire import WIRE_PAGES
from dynmem.verification.oracle.report import report_text, report_to_json, write_report
from dynmem.verification.oracle.search import SHRINK_REPLAYS, SearchResult
from dynmem.verification.oracle.seeds import SeedRun, run_seeds
from dynmem.verification.oracle.topup import TOP_UP
from dynmem.verification.oracle.wire import SubprocessIut

# A run per seed: a list past this is a typo (1-100000 for 1-10), not a plan.
MAX_SEEDS = 10_000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "oracle",
        help="check an implementation under test against the model or the reference",
        description="Drive an implementation under test (a program speaking the JSON Lines "
                    "protocol of specs/formats/oracle.md): first every reachable state of the "
                    "explorer's presets of 1..--vms VMs with every event offered there "
                    "(bounded-exhaustive; for a policy also its progress), then generated "
                    "random lifecycles; report the first divergence (a shortest trace from "
                    "the exhaustive phase, a shrunk one from the random phase). Verdicts are "
                    "deterministic: the same IUT, --seed and flags give the same verdict, "
                    "example count and shrunk trace on any machine under any load (shrinking "
                    "is bounded by --shrink-replays, a count of replays, never by seconds; "
                    "only --timeout, a protocol fault, is in seconds). An IUT whose hello says "
                    "\"wire\": 2 is driven in 4 KiB page ranges and judged by the page layer "
                    "(specs/formats/oracle.md §9). Exit 0: pass; 1: the IUT is at fault; 2: "
                    "bad usage.",
    )
    parser.add_argument("--iut", required=True, metavar="CMD",
                        help="command that starts the IUT (run with /bin/sh -c)")
    parser.add_argument("--kind", choices=("system", "policy"), default="system",
                        help="what the IUT implements (default: system)")
    parser.add_argument("--mode", choices=("refinement", "lockstep"), default="refinement",
                        help="refinement: any safe policy; lockstep: exactly the reference")
    parser.add_argument("--exhaustive", action="store_true",
                        help="run only the bounded-exhaustive phase")
    parser.add_argument("--no-exhaustive", action="store_true",
                        help="run only the random phase")
    options.add_lifecycle(parser, "to both phases, for an IUT that implements them; presets "
                                  "NAME+lifecycle: 1 VM 635 states, 2 VMs 124,087: minutes")
    options.add_linux(parser, "for an IUT that reads their reports: the random phase draws "
                              "each VM's guest, the exhaustive presets run one in their last "
                              "VM, NAME+linux")
    options.add_hibernate(parser, "for an IUT that implements the lifecycle: the random phase "
                                  "draws each VM's guest profile, the exhaustive phase adds "
                                  "2vm+lifecycle+hibernate (from --vms 2); not with --seeds")
    options.add_vms(parser, 2, "2; the exhaustive phase covers the presets of 1..N VMs, and "
                               "from 2 also 2vm-reclaim, where starts wait for reclaim; 3 is "
                               "700,978 states for a system, 305,116 with three weights for a "
                               "policy: minutes", choices=(1, 2, 3))
    options.add_examples(parser, 100, "100", "in the random phase, examples that pass before "
                         "the verdict is PASS; a failing run counts the examples up to and "
                         "including the first failure; shrink replays are counted apart")
    options.add_seed(parser, "a fresh one, printed in the report")
    parser.add_argument("--seeds", type=_seed_list, default=None, metavar="LIST",
                        help="run the random phase once per seed of LIST (such as 1-10 or "
                             "1,4,7-9), each against its own IUT process; the report lists "
                             "every seed and shows the first failing seed's trace; with "
                             "--workers or --scheduler the seeds run in parallel, the verdict "
                             "and report the same as serially")
    options.add_cluster(parser, "the seeds of --seeds")
    parser.add_argument("--max-steps", type=_positive, default=60, metavar="N",
                        help="events per example at most (default 60)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S",
                        help="seconds allowed for each request to the IUT (default: 10); a "
                             "late answer is the IUT's fault (a protocol fault)")
    parser.add_argument("--shrink-replays", type=_natural, default=SHRINK_REPLAYS,
                        metavar="N",
                        help="replays of the IUT spent shrinking a random-phase failure at "
                             f"most (default {SHRINK_REPLAYS}; a count, so the shrunk trace "
                             "does not depend on the machine's speed)")
    parser.add_argument("--top-up", type=_natural, default=TOP_UP, metavar="N",
                        help="after the random examples, witness examples at most, one for "
                             "each cell of the exhaustive presets they missed: a shortest "
                             f"reference run to it (default {TOP_UP}; a count, counted apart "
                             "from --examples; 0: none)")
    options.add_out_dir(parser, "report.json, report.txt, trace.itf.json and case/")
    options.add_json(parser)
    parser.set_defaults(handler=run)


def _seed_list(text: str) -> list[int]:
    """``1-10`` or ``1,4,7-9``: the seeds, in the order given, each once."""
    seeds: dict[int, None] = {}  # ordered, without repeats
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r} is not a seed or a range of seeds (such as 1-10)") from None
        if first < 0 or last < first:
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r}: a range runs from a seed >= 0 up to one not below it")
        if len(seeds) + last - first + 1 > MAX_SEEDS:
            raise argparse.ArgumentTypeError(f"more than {MAX_SEEDS:,} seeds")
        seeds.update(dict.fromkeys(range(first, last + 1)))
    return list(seeds)


def _natural(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _oracle_line(count: int, total: int | None, text: str) -> str:
    plural = "" if count == 1 else "s"
    return f"dynmem oracle: {count} example{plural}" + (f", {text}" if text else "")


class _Progress:
    """The random phase's progress row (opened at its first example); remembers the counts
    for the summary of an interrupted run."""

    def __init__(self, board: Board, total: int) -> None:
        self.board, self.total = board, total
        self.phase: Phase | None = None
        self.count = self.shrink_runs = 0

    def __call__(self, count: int, shrink_runs: int) -> None:
        raise_pending_signal()  # a Ctrl-C that Hypothesis's gc callback swallowed
        self.count, self.shrink_runs = count, shrink_runs
        if self.phase is None:
            self.phase = self.board.phase("oracle random phase", self.total, _oracle_line)
        self.phase.update(count, f"shrinking ({shrink_runs} runs)" if shrink_runs else "")


def _watch(board: Board, progress: _Progress) -> Watch:
    """The run's progress on the board: a line per phase, a row per exhaustive preset (states
    and requests), the random phase's row."""

    @contextlib.contextmanager
    def preset(config: ExploreConfig) -> Iterator[StatesProgress]:
        def line(states: int, total: int | None, text: str) -> str:
            return f"dynmem oracle: exhaustive {config.name}: {states:,} states, {text}"

        with board.phase(f"oracle exhaustive {config.name}", None, line) as phase:
            yield lambda states, asked: phase.update(states, f"{asked:,} requests")

    return Watch(board.say, preset, progress)


def run(args: argparse.Namespace) -> int:
    """Run the oracle; print and write the report; return the exit code."""
    options.check_examples(args.examples)
    kind: Kind = args.kind
    mode: Mode = args.mode
    if args.exhaustive and args.no_exhaustive:
        print("dynmem: --exhaustive and --no-exhaustive exclude each other", file=sys.stderr)
        return 2
    if args.seeds is not None and args.seed is not None:
        print("dynmem: --seed and --seeds exclude each other", file=sys.stderr)
        return 2
    if args.seeds is not None and args.hibernate:
        print("dynmem: --hibernate runs one seed's random phase; give --seed, not --seeds",
              file=sys.stderr)
        return 2
    if options.uses_cluster(args) and (args.seeds is None or args.exhaustive):
        print("dynmem: --workers and --scheduler spread the seeds of --seeds over a cluster; "
              "give --seeds (and a random phase)", file=sys.stderr)
        return 2
    is_allowed: IsAllowed = model_is_allowed
    model = "dynmem.model.concrete_steps.is_allowed"
    driver = SubprocessIut(args.iut, timeout=args.timeout)
    board = Board()
    progress = _Progress(board, args.examples)
    try:
        try:
            hello = driver.hello(kind, mode)
            check_hello(hello, kind)
        except IutFault as fault:
            result = hello_failure(fault)
        else:
            if hello.wire == WIRE_PAGES:  # specs/formats/oracle.md §9
                _check_page_flags(args)
                board.say("dynmem oracle: page-level wire 2 ...")
                page_run = check_pages(driver, examples=args.examples, seed=args.seed,
                                       exhaustive_phase=not args.no_exhaustive,
                                       random_examples=not args.exhaustive,
                                       max_steps=args.max_steps,
                                       shrink_replays=args.shrink_replays,
                                       vms=min(args.vms, 2),
                                       alignments=(ORACLE_ALIGNMENTS
                                                   if hello.hot_add_alignment else ()))
                board.stop()
                driver.close()
                return _page_output(args, page_run)
            aligned = ORACLE_ALIGNMENTS if hello.hot_add_alignment else ()
            result = _phases(args, driver, kind, mode, is_allowed, progress, hello.host_profile,
                             aligned)
    except IutUnusable as err:
        board.stop()
        print(f"dynmem: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        shrinking = (f"; a failure was being shrunk ({progress.shrink_runs} runs)"
                     if progress.shrink_runs else "; no failure found in them")
        driver.close()  # before the summary: the IUT's CPU time counts once it has ended
        board.finish(f"oracle: interrupted after {progress.count} of {args.examples} "
                     f"examples{shrinking}")
        raise
    finally:
        board.stop()
        driver.close()
    if args.out:
        write_report(Path(args.out), result, kind, mode, args.iut, model)
    if args.json:
        print(json.dumps(report_to_json(result, kind, mode, args.iut, model), indent=2))
    else:
        sys.stdout.write(report_text(result, kind, mode, args.iut, model))
    board.finish(f"oracle: {'pass' if result.failure is None else 'FAIL'}, "
                 f"{result.examples} random examples")
    return 0 if result.failure is None else 1


def _check_page_flags(args: argparse.Namespace) -> None:
    """The page-level wire is for system IUTs in refinement mode, without the lifecycle or
    Linux guests (§9); asking for more is bad usage, not silently ignored."""
    wrong = [flag for flag, on in (("--kind policy", args.kind == "policy"),
                                   ("--mode lockstep", args.mode == "lockstep"),
                                   ("--lifecycle", args.lifecycle), ("--linux", args.linux),
                                   ("--seeds", args.seeds is not None))
             if on]
    if wrong:
        raise IutUnusable(f"the IUT speaks the page-level wire (hello \"wire\": 2), where "
                          f"{', '.join(wrong)} does not apply (specs/formats/oracle.md §9)")


def _page_output(args: argparse.Namespace, run: PageRun) -> int:
    """Print (and with --out write) a page session's report; the exit code."""
    if args.out:
        write_page_report(Path(args.out), run, args.iut)
    if args.json:
        print(json.dumps(page_report_json(run, args.iut), indent=2))
    else:
        sys.stdout.write(page_report_text(run, args.iut))
    return 0 if run.ok else 1


def _phases(args: argparse.Namespace, driver: SubprocessIut, kind: Kind, mode: Mode,
            is_allowed: IsAllowed | None, progress: _Progress,
            profile: HostProfile = HostProfile.QEMU,
            alignments: tuple[int, ...] = ()) -> SearchResult:
    """The exhaustive phase (unless --no-exhaustive), then the random one (unless
    --exhaustive) and the top-up (``conformance.run_phases``), on hosts of the IUT's
    ``profile``, with guests that advertise ``alignments`` beside 2 MiB (an IUT that follows
    them, Rule P1c: presets NAME+align); the first failure ends the run."""
    phases = Phases(kind=kind, mode=mode, vms=args.vms, exhaustive=not args.no_exhaustive,
                    random=not args.exhaustive, examples=args.examples, seed=args.seed,
                    max_steps=args.max_steps, lifecycle=args.lifecycle, linux=args.linux,
                    top_up=args.top_up, shrink_replays=args.shrink_replays,
                    alignments=alignments, hibernate=args.hibernate)
    seeds = None
    if args.seeds is not None:
        def seeds() -> SearchResult:
            return _seeds(args, kind, mode, profile, progress.board, alignments)
    return run_phases(driver, phases, is_allowed, profile, _watch(progress.board, progress),
                      random_phase=seeds)


def _seeds_line(done: int, total: int | None, text: str) -> str:
    return f"dynmem oracle: {done} of {total} seeds done" + (f", {text}" if text else "")


def _seeds(args: argparse.Namespace, kind: Kind, mode: Mode, profile: HostProfile,
           board: Board, alignments: tuple[int, ...] = ()) -> SearchResult:
    """The random phase once per seed of ``--seeds``, on the cluster if one is asked for;
    merged in the seeds' order (``oracle.seeds``)."""
    run = SeedRun(args.iut, kind, mode, args.examples, args.max_steps, args.lifecycle,
                  args.linux, profile, args.shrink_replays, args.timeout, os.getcwd(),
                  alignments)
    failed: list[int] = []
    with open_mapper(args, board, "oracle") as mapper, \
            board.phase("oracle seeds", len(args.seeds), _seeds_line) as phase:
        board.say(f"dynmem oracle: random phase, {args.examples} examples on each of "
                  f"{len(args.seeds)} seeds ...")

        def on_done(index: int, result: SearchResult) -> None:
            if result.failure is not None:
                failed.append(args.seeds[index])
            phase.update(phase.done + 1, f"failing: {sorted(failed)}" if failed else "")

        return run_seeds(run, args.seeds, mapper, on_done)
