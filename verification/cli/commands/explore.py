"""``dynmem explore [--vms N] [--max-states N] [--json] [--dot FILE] [--mutant NAME]``:
exhaustive exploration.

Explores every reachable state of a small preset configuration (``verification/
explore_config.py``), checking every invariant on every state and step and the progress
properties on the graph. Prints the counts, the violations with their shortest lengths, and
the shortest counterexample as a readable trace. Exit 0 when clean, 1 on a violation, an
oscillation or another progress finding (or an incomplete search), 2 on bad input.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from dynmem.verification.cli import options
from dynmem.verification.cli.console import write_result
from dynmem.verification.cli.main import load_command
from dynmem.verification.cli.progress import Board, Phase
from dynmem.verification.errors import InputError
from dynmem.verification.explore.config import PRESETS
from dynmem.verification.explore.dot import get_neighbourhood, to_dot, write_text
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.explore.run import ExploreResult, run_exploration
from dynmem.verification.explore.symmetry import canonicalize
from dynmem.verification.traces import render_text
from dynmem.verification.traces.itf import write_itf


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explore",
        help="explore every reachable state of a small configuration (BFS)",
        description="Breadth-first exploration of the reference on a small preset: every "
                    "invariant on every state and step, progress on the graph. Exit 0: "
                    "clean; 1: a violation, an oscillation or an incomplete search; 2: bad "
                    "input.",
    )
    options.add_vms(parser, 2, f"2; presets: {', '.join(map(str, sorted(PRESETS)))}")
    options.add_mutant(parser, "explore")
    parser.add_argument("--no-symmetry", action="store_true",
                        help="do not merge states that differ by renaming identical VMs")
    parser.add_argument("--no-memo", action="store_true",
                        help="step every candidate of every state instead of once per (VM, "
                             "free memory) (slower; the same graph: specs/events.md R-LOCAL)")
    parser.add_argument("--one-state", action="store_true",
                        help="expand one state at a time in Python instead of batches of "
                             "states as arrays (slower; the same graph; 'engine' in --json "
                             "says which ran)")
    parser.add_argument("--max-states", type=int, metavar="N",
                        help="stop after N states (default: the preset's; 3 VMs without "
                             "symmetry need 1,392,439); an incomplete search exits 1")
    options.add_lifecycle(parser, "to the preset, named NAME+lifecycle")
    options.add_linux(parser, "in the preset's last, lightest VM, named NAME+linux")
    options.add_align(parser, "4 and 128 MiB, in a preset named NAME+align")
    options.add_hibernate(parser, "in the preset's last VM, with the lifecycle events, named "
                                  "NAME+lifecycle+hibernate")
    options.add_host_profile(parser, "the preset (named NAME@PROFILE)")
    options.add_pages(parser, "explore the page layer instead (specs/pages.md §7): one small "
                              "VM, every page message of a fixed menu (honest, ranges listed "
                              "twice, overlapping, beyond RAM, sub-2 MiB parts, unballoons of "
                              "pages not ballooned, hot-adds over RAM) in every reachable state")
    options.add_json(parser)
    parser.add_argument("--dot", metavar="FILE",
                        help="write the graph in Graphviz DOT (around the counterexample if "
                             "there is one)")
    options.add_trace_out(parser, "the counterexample trace (with --pages a page-level "
                                  "trace, specs/formats/itf.md §7b)")
    parser.set_defaults(handler=run)


def _explore_line(states: int, total: int | None, text: str) -> str:
    return f"explore: {states:,} states, {text}"


class _Progress:
    """Feeds the search's counts to its progress row; remembers them for a summary."""

    def __init__(self, phase: Phase) -> None:
        self.phase, self.counts = phase, (0, 0, 0)

    def __call__(self, states: int, edges: int, queued: int) -> None:
        self.counts = (states, edges, queued)
        self.phase.update(states, f"{edges:,} edges, {queued:,} queued")

    def interrupted(self) -> str:
        states, edges, queued = self.counts
        return (f"explore: interrupted after {states:,} states and {edges:,} edges "
                f"({queued:,} still queued); no verdict")

    def out_of_memory(self) -> str:
        states, edges, queued = self.counts
        return (f"explore: out of memory after about {states:,} states and {edges:,} edges "
                f"({queued:,} still queued); no verdict: rerun with a --max-states below "
                f"{states:,} for an incomplete report, or with more memory")


def run(args: argparse.Namespace) -> int:
    """Run the exploration, print the report, write DOT/ITF if asked; exit code."""
    if args.pages:  # the page layer loads only for --pages, as a command does (start-up)
        run_pages: Callable[[argparse.Namespace], int] = load_command(
            "explore_pages").run_pages
        return run_pages(args)
    if args.vms not in PRESETS:
        raise InputError("command line", "--vms", args.vms,
                         f"must be one of {', '.join(map(str, sorted(PRESETS)))}")
    if args.max_states is not None and args.max_states <= 0:
        raise InputError("command line", "--max-states", args.max_states, "must be > 0")
    if args.dot and not PRESETS[args.vms].all_edges:
        raise InputError("command line", "--dot", args.dot,
                         f"the {args.vms}-VM preset keeps only its progress edges; draw a "
                         "smaller preset")
    profile = options.read_host_profile(args.host_profile)
    board = Board()
    progress = _Progress(board.phase("explore", args.max_states, _explore_line))
    try:
        result = run_exploration(args.vms, mutant=args.mutant,
                                 symmetry=False if args.no_symmetry else None,
                                 on_progress=progress, memo=not args.no_memo,
                                 max_states=args.max_states, lifecycle=args.lifecycle,
                                 linux=args.linux, hibernate=args.hibernate,
                                 host_profile=profile, align=args.align,
                                 batch=not args.one_state)
    except KeyboardInterrupt:
        board.finish(progress.interrupted())
        raise
    except MemoryError:  # the graph is released by now: a line, not a traceback
        board.finish(progress.out_of_memory())
        return 1
    board.stop()
    if args.dot:
        write_text(args.dot, to_dot(result.exploration, *_dot_part(result)))
    if args.out and result.trace is not None:
        write_itf(result.trace, args.out)
    write_result(args.json, lambda: result.to_json(), lambda: render_report(result))
    board.finish(f"explore: {'ok' if result.ok else 'FAILED'}, {result.states:,} states, "
                 f"{result.edges:,} edges")
    return 0 if result.ok else 1


def render_report(result: ExploreResult) -> str:
    """The text report: the summary, each finding, then the trace."""
    lines = [result.summary()]
    for inv, length in result.violations:
        lines.append(f"  {inv}: shortest counterexample {length} steps")
    for pid, count in result.progress:
        lines.append(f"  {pid}: {count} finding{'s' if count != 1 else ''}")
    if result.trace is not None:
        lines += ["", render_text(result.trace).rstrip("\n")]
    return "\n".join(lines) + "\n"


def _dot_part(result: ExploreResult) -> tuple[set[int] | None, list[int]]:
    """The nodes to draw and the path to highlight: around the trace, or everything."""
    x = result.exploration
    if result.trace is None:
        return None, []
    path = _trace_states(x, result)
    return get_neighbourhood(x, path, radius=1), path


def _trace_states(x: Exploration, result: ExploreResult) -> list[int]:
    assert result.trace is not None
    ids = [0]
    for item in result.trace.steps:
        canon = canonicalize(item.state)[0] if x.config.symmetry else item.state
        sid = x.get_id(canon)
        if sid is None:  # the violating state of a step the explorer did not keep
            break
        ids.append(sid)
    return ids


__all__ = ["register", "render_report", "run"]
