"""``dynmem bmc [--vms N] [--depth K] [--mutant NAME] [--invariant ID] [--symbolic]
[--rlimit N] [--out TRACE.itf.json] [--json]``: bounded model checking.

Searches the model (or a planted-bug variant of it, ``--mutant``) for the SHORTEST path of
at most K steps that breaks an invariant, replays it through the reference (the mutant's
own reference step when the catalogue has one) and prints it like any trace. Exit 1 on a
violation, on a model/reference mismatch (the model's path does not replay: a bug to fix)
and on a Z3 unknown (an exhausted ``--rlimit`` budget); 0 when no path of up to K steps
breaks anything (bounded, not a proof: ``dynmem prove`` is the proof); 2 on bad usage.
Progress goes to stderr (quiet with ``--json``, which prints exactly one JSON document).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dynmem.model.actions import ACTIONS
from dynmem.model.invariants import BY_ID, INVARIANTS, Invariant
from dynmem.model.params import MAX_RLIMIT, MINIMAL
from dynmem.model.vocabulary import HostProfile
from dynmem.reference.pages.bitmap import HONEST_BIT_STEPS
from dynmem.reference.step import step
from dynmem.verification.cli import options
from dynmem.verification.cli.console import write_result
from dynmem.verification.cli.pagebugs import get_bit_bug
from dynmem.verification.cli.progress import Board
from dynmem.verification.errors import InputError
from dynmem.verification.mutants.models import MutantVariant, get_variant, list_variants
from dynmem.verification.symbolic.bmc import (
    BmcOutcome,
    Counterexample,
    Mismatch,
    NoViolation,
    check_bmc,
)
from dynmem.verification.symbolic.page_bmc import (
    PAGE_BMC_DEPTH,
    PAGE_BMC_PAGES,
    PageBmcResult,
    check_page_bmc,
)
from dynmem.verification.symbolic.scope import (
    Scope,
    small_scope,
    symbolic_scope,
    with_hibernating_guest,
)
from dynmem.verification.traces import render_text
from dynmem.verification.traces.itf import trace_to_itf, write_itf

MAX_VMS = 16
MAX_DEPTH = 60
MAX_PAGE_DEPTH = 6  # each step of the page unrolling costs far more than the last


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bmc",
        help="bounded model checking: the shortest trace breaking an invariant, replayed",
        description="Search every path of at most K steps from the initial states for the "
                    "shortest one that breaks an invariant; replay it through the reference. "
                    "Exit 1: a violation, a model/reference mismatch or a Z3 unknown; 0: "
                    "none up to K steps (bounded, not a proof); 2: bad usage.",
    )
    options.add_vms(parser, MINIMAL.n_vms, f"{MINIMAL.n_vms}, the MINIMAL preset")
    options.add_depth(parser, None, "K", f"largest number of steps unrolled (default "
                      f"{MINIMAL.bmc_depth}; {PAGE_BMC_DEPTH} with --pages)")
    options.add_mutant(parser, "check the model with")
    options.add_invariant(parser, "look only for violations of", "every invariant",
                          repeatable=True)
    parser.add_argument("--symbolic", action="store_true",
                        help="symbolic host and VM settings instead of the small concrete "
                             "preset (slower, more general)")
    options.add_host_profile(parser, "the small scope (default: the mutant's, else qemu; "
                                     "--symbolic leaves the profile to the solver)")
    options.add_hibernate(parser, "in slot 0, vm0: the unrolling never lets it answer a "
                                  "balloon or an unballoon, and it reports no hot-add")
    options.add_pages(parser, f"check the page layer instead (specs/pages.md §7): one VM over "
                              f"{PAGE_BMC_PAGES} pages, from RAM a prefix with nothing "
                              "ballooned and any alignment, balloon credits of up to 3 "
                              "ranges, unballoons, hot-add requests and any answer to them")
    options.add_rlimit(parser, MINIMAL.rlimit, "depth")
    options.add_trace_out(parser, "the counterexample trace")
    options.add_json(parser)
    parser.set_defaults(handler=run)


def _check_usage(args: argparse.Namespace) -> tuple[MutantVariant | None, list[Invariant]]:
    if args.depth is None:
        args.depth = PAGE_BMC_DEPTH if args.pages else MINIMAL.bmc_depth
    if not 1 <= args.vms <= MAX_VMS:
        raise InputError("command line", "--vms", args.vms, f"must be 1..{MAX_VMS}")
    if not 0 <= args.depth <= MAX_DEPTH:
        raise InputError("command line", "--depth", args.depth, f"must be 0..{MAX_DEPTH}")
    if not 1 <= args.rlimit <= MAX_RLIMIT:
        raise InputError("command line", "--rlimit", args.rlimit,
                         f"must be 1..{MAX_RLIMIT} (Z3 work units per depth)")
    unknown = [i for i in args.invariant or () if i not in BY_ID]
    if unknown:
        raise InputError("command line", "--invariant", unknown[0],
                         f"unknown invariant; known: {', '.join(BY_ID)}")
    invariants = [BY_ID[i] for i in args.invariant] if args.invariant else list(INVARIANTS)
    if args.mutant is None:
        return None, invariants
    variant = get_variant(args.mutant)
    if variant is None:
        names = ", ".join(v.name for v in list_variants() if v.model is not None)
        raise InputError("command line", "--mutant", args.mutant,
                         f"no model-level mutant of that name; known: {names}")
    return variant, invariants


def run(args: argparse.Namespace) -> int:
    """Run BMC; print the trace (or JSON); write ITF if asked; exit 0/1 as documented."""
    if args.pages:
        return run_pages(args)
    variant, invariants = _check_usage(args)
    profile = options.read_host_profile(args.host_profile)
    if profile is None and variant is not None:
        profile = variant.host_profile
    scope = (symbolic_scope(args.vms) if args.symbolic
             else small_scope(args.vms, profile or HostProfile.QEMU))
    if args.hibernate:
        scope = with_hibernating_guest(scope)
    board = Board()
    what = f"mutant {variant.name}" if variant else "the model"
    board.say(f"[bmc] {what}, {scope.describe()}, depth 0..{args.depth}")

    def line(done: int, total: int | None, text: str) -> str:
        return f"[bmc depth {done - 1}] {text}"

    actions = variant.model.apply() if variant and variant.model else ACTIONS
    step_fn = variant.step if variant and variant.step else step
    with board.phase("bmc depths", args.depth + 1, line) as phase:
        def progress(depth: int, verdict: str, seconds: float) -> None:
            word = {"unsat": "no violation", "sat": "VIOLATION"}.get(verdict, verdict)
            # every depth is a line of a log: a depth can take minutes at a larger scope
            phase.update(depth + 1, f"{word} ({seconds:.2f} s)", keep=True)

        outcome = check_bmc(scope, args.depth, actions, invariants, step_fn, args.rlimit,
                            progress, (("mutant", variant.name),) if variant else ())
    board.stop()
    trace = getattr(outcome, "trace", None)
    if args.out and trace is not None:
        write_itf(trace, args.out)
    elif args.out and not args.json:
        print(f"[bmc] no counterexample: {args.out} not written", file=sys.stderr)
    write_result(args.json,
                 lambda: outcome_to_json(outcome, scope, variant, args.depth),
                 lambda: render_outcome(outcome, scope, variant, args.depth))
    board.finish(f"bmc: no violation up to depth {args.depth}"
                 if isinstance(outcome, NoViolation)
                 else f"bmc: {outcome.status} at depth {outcome.depth}")
    return 0 if isinstance(outcome, NoViolation) else 1


def _replayed_by(variant: MutantVariant | None) -> str:
    if variant is None:
        return "reference.step"
    if variant.step is None:
        return "reference.step (this mutant has no reference-level variant)"
    return f"the reference-level mutant {variant.name}"


def render_outcome(outcome: BmcOutcome, scope: Scope, variant: MutantVariant | None,
                   depth: int) -> str:
    """The readable report: the trace(s), then one verdict line."""
    where = f"{scope.describe()}"
    if isinstance(outcome, Counterexample):
        expected = ""
        if variant is not None:
            other = ("" if variant.invariant in outcome.invariants
                     else f" (another invariant broke first; --invariant {variant.invariant} "
                          f"looks for it)")
            expected = f"; the catalogue expects {variant.invariant}{other}"
        return (render_text(outcome.trace)
                + f"bmc: VIOLATION of {', '.join(outcome.invariants)} after {outcome.depth} "
                  f"steps, the shortest ({where}); reproduced by {_replayed_by(variant)}"
                  f"{expected}\n")
    if isinstance(outcome, Mismatch):
        text = "the model's path:\n"
        text += render_text(outcome.trace) if outcome.trace else "    (a state breaks TypeOK)\n"
        text += "the reference's replay, up to where it parts from the model:\n"
        text += render_text(outcome.replayed)
        return (text + f"bmc: MODEL/REFERENCE MISMATCH at depth {outcome.depth} "
                       f"({', '.join(outcome.failed)} in the model): {outcome.reason}; "
                       f"replayed by {_replayed_by(variant)}\n")
    if isinstance(outcome, NoViolation):
        return (f"bmc: no violation up to depth {depth} ({where}): bounded, not a proof "
                f"({outcome.seconds:.2f} s)\n")
    return f"bmc: UNKNOWN at depth {outcome.depth}: {outcome.reason}\n"


def outcome_to_json(outcome: BmcOutcome, scope: Scope, variant: MutantVariant | None,
                    depth: int) -> dict[str, Any]:
    """``{"ok", "status", "depth", "max_depth", "scope", "mutant", ...}``; ``trace`` is the
    ITF document of the (replayed) counterexample."""
    data: dict[str, Any] = {
        "ok": isinstance(outcome, NoViolation), "status": outcome.status,
        "depth": outcome.depth, "max_depth": depth, "scope": scope.describe(),
        "mutant": variant.name if variant else None, "seconds": round(outcome.seconds, 3),
    }
    if isinstance(outcome, Counterexample):
        data.update(invariants=list(outcome.invariants), failed=list(outcome.failed),
                    trace=trace_to_itf(outcome.trace))
    elif isinstance(outcome, Mismatch):
        data.update(reason=outcome.reason, failed=list(outcome.failed),
                    trace=trace_to_itf(outcome.trace) if outcome.trace else None,
                    replayed=trace_to_itf(outcome.replayed))
    elif not isinstance(outcome, NoViolation):
        data["reason"] = outcome.reason
    return data


def run_pages(args: argparse.Namespace) -> int:
    """``bmc --pages``: the page host's rules unrolled from real starts (``page_bmc``)."""
    if args.depth is None:
        args.depth = PAGE_BMC_DEPTH
    given = [(flag, value) for flag, value, on in (
        ("--vms", args.vms, args.vms != MINIMAL.n_vms), ("--invariant", args.invariant, None),
        ("--symbolic", True, args.symbolic), ("--host-profile", args.host_profile, None),
        ("--hibernate", True, args.hibernate),
        ("--out", args.out, None)) if on or (on is None and value)]
    if given:
        raise InputError("command line", given[0][0], given[0][1],
                         "does not apply to --pages (the page layer has its own scope)")
    if not 1 <= args.depth <= MAX_PAGE_DEPTH:
        raise InputError("command line", "--depth", args.depth, f"must be 1..{MAX_PAGE_DEPTH}")
    if not 1 <= args.rlimit <= MAX_RLIMIT:
        raise InputError("command line", "--rlimit", args.rlimit,
                         f"must be 1..{MAX_RLIMIT} (Z3 work units per depth)")
    rules = dict(HONEST_BIT_STEPS)
    if args.mutant is not None:
        rule, bug = get_bit_bug(args.mutant)
        rules[rule] = bug
    board = Board()
    with board.phase("bmc --pages", None):
        result = check_page_bmc(rules, args.depth, rlimit=args.rlimit)
    board.stop()
    write_result(args.json, lambda: page_bmc_to_json(result, args.mutant),
                 lambda: render_page_bmc(result, args.mutant, args.depth))
    verdict = ("no violation up to depth " + str(result.depth) if result.ok else
               f"UNKNOWN at depth {result.depth + 1}" if result.unknown else
               f"VIOLATION at depth {result.depth}")
    board.finish(f"bmc --pages: {verdict}")
    return 0 if result.ok else 1


def render_page_bmc(result: PageBmcResult, mutant: str | None, depth: int) -> str:
    """The page BMC verdict for people: the clean depth, or the broken invariants and path."""
    what = f"the page bug {mutant}" if mutant else "the page host's rules"
    head = (f"bmc --pages: {what}, one VM over {PAGE_BMC_PAGES} pages (RAM a prefix, nothing "
            f"ballooned at the start, any alignment), depth 1..{depth}")
    if result.unknown:
        return f"{head}\nverdict: UNKNOWN (a failure, not a pass): {result.unknown}\n"
    if result.ok:
        return (f"{head}\nverdict: no violation up to depth {result.depth} (bounded, not a "
                f"proof; {result.rlimit_used:,} rlimit units)\n")
    lines = [head, f"verdict: VIOLATION of {', '.join(result.broken)} at depth {result.depth}",
             f"from RAM pages 0..{result.ram_pages - 1}, nothing ballooned:"]
    lines += [f"  {i}. {step}" for i, step in enumerate(result.steps, 1)]
    return "\n".join(lines) + "\n"


def page_bmc_to_json(result: PageBmcResult, mutant: str | None) -> dict[str, Any]:
    """``bmc --pages --json``."""
    return {"layer": "pages", "mutant": mutant, "ok": result.ok, "depth": result.depth,
            "broken": list(result.broken), "unknown": result.unknown,
            "ram_pages": result.ram_pages, "rlimit_used": result.rlimit_used,
            "steps": [{"rule": s.rule, "ranges": [list(r) for r in s.ranges],
                       "outstanding": s.outstanding, "success": s.success}
                      for s in result.steps]}
