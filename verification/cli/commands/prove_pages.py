"""``dynmem prove --pages [--vms 1|2] [--mutant NAME] [--rlimit N] [--json]``: the page
host's rules proved on a small scope (specs/pages.md §7, ``check_page_rule``), each also
shown to refine the model counted in pages (``check_page_refinement``).

For each honest rule of ``HONEST_BIT_STEPS`` (or, with ``--mutant``, the planted bug's twin
in place of the rule it replaces) it proves every page invariant inductive over one VM of
12 pages or two of 6 sharing the host, and prints a line per rule: the invariants proved,
the counterexamples found, the rlimit units used and the costliest query's. Exit 0 only if
every honest rule is proved (with ``--mutant``: 1, since the bug's rule is not); 1 on a
counterexample or an unknown (an exhausted ``--rlimit`` budget); 2 on bad usage.
"""

from __future__ import annotations

import argparse
from typing import Any

from dynmem.model.params import MAX_RLIMIT
from dynmem.reference.pages.bitmap import HONEST_BIT_STEPS, BitStep
from dynmem.verification.cli.console import write_result
from dynmem.verification.cli.pagebugs import get_bit_bug
from dynmem.verification.cli.progress import Board
from dynmem.verification.errors import InputError
from dynmem.verification.symbolic.page_refinement import (
    AMOUNT_PREMISES,
    RefinementCheck,
    check_page_refinement,
)
from dynmem.verification.symbolic.pages import (
    PAGE_RLIMIT,
    SCOPE_PAGES,
    SCOPE_RANGES,
    TWO_VM_PAGES,
    PageCheck,
    check_page_rule,
)

__all__ = ["PAGE_HELP", "run_pages"]

PAGE_HELP = (f"prove the page host's rules instead (specs/pages.md §7): every page invariant "
             f"inductive for the balloon credit, the unballoon, the hot-add request and its "
             f"answer, over one VM of {SCOPE_PAGES} pages (--vms 2: two of {TWO_VM_PAGES} "
             f"sharing the host), every alignment, messages of up to {SCOPE_RANGES} ranges; "
             f"--rlimit per query (the tests give each {PAGE_RLIMIT:,})")


def _rules(mutant: str | None) -> dict[str, BitStep]:
    rules = dict(HONEST_BIT_STEPS)
    if mutant is None:
        return rules
    rule, bug = get_bit_bug(mutant)
    return {rule: bug}


def run_pages(args: argparse.Namespace) -> int:
    """``prove --pages``: each rule checked; the table (or JSON); 0 if all proved."""
    vms = 1 if args.vms is None else args.vms
    if vms not in (1, 2):
        raise InputError("command line", "--vms", vms, "must be 1 or 2 with --pages")
    for flag, on in (("--any-n", args.any_n), ("--support", args.support),
                     ("--triage", args.triage)):
        if on:
            raise InputError("command line", flag, True,
                             "does not apply to --pages (the page layer has its own scope)")
    rlimit = args.rlimit  # per query, as --rlimit is per depth for bmc --pages
    if not 1 <= rlimit <= MAX_RLIMIT:
        raise InputError("command line", "--rlimit", rlimit,
                         f"must be 1..{MAX_RLIMIT} (Z3 work units per query)")
    rules = _rules(args.mutant)
    pages = SCOPE_PAGES if vms == 1 else TWO_VM_PAGES
    board = Board()
    checks: dict[str, PageCheck] = {}
    refines: dict[str, RefinementCheck] = {}
    with board.phase("prove --pages", len(rules)) as phase:
        for done, (name, rule) in enumerate(rules.items(), 1):
            checks[name] = check_page_rule(rule, pages=pages, vms=vms, rlimit=rlimit,
                                           until_broken=args.mutant is not None)
            refines[name] = check_page_refinement(name, rule, pages=pages, vms=vms,
                                                  rlimit=rlimit)
            verdict = checks[name].ok and refines[name].refined
            phase.update(done, f"{name}: {'proved' if verdict else 'NOT proved'}")
    board.stop()
    ok = all(c.ok for c in checks.values()) and all(r.refined for r in refines.values())
    write_result(args.json, lambda: _to_json(checks, refines, vms, pages, args.mutant, ok),
                 lambda: _render(checks, refines, vms, pages, args.mutant, ok))
    rules_word = "rule" if len(checks) == 1 else "rules"
    board.finish(f"prove --pages: {'PROVED' if ok else 'NOT PROVED'}, {len(checks)} {rules_word}")
    return 0 if ok else 1


def _refinement_line(check: RefinementCheck) -> list[str]:
    premise = AMOUNT_PREMISES[check.rule]
    given = f", given {premise}" if premise else ""
    if check.refined:
        return [f"    refines the model in pages{given} ({check.rlimit_used:,} rlimit units)"]
    if check.unknown:
        return [f"    refinement UNKNOWN (a failure, not a pass): {check.unknown}"]
    return [f"    does NOT refine the model in pages{given}: {check.counterexample}"]


def _render(checks: dict[str, PageCheck], refines: dict[str, RefinementCheck], vms: int,
            pages: int, mutant: str | None, ok: bool) -> str:
    what = f"the page bug {mutant}" if mutant else "the page host's rules"
    lines = [f"prove --pages: {what}, {vms} VM{'s' if vms > 1 else ''} of {pages} pages, "
             f"messages of up to {SCOPE_RANGES} ranges, every alignment"]
    for name, check in checks.items():
        verdict = ("proved " + ", ".join(check.proved) if check.ok
                   else "UNKNOWN (a failure, not a pass)" if check.unknown
                   else "not witnessed (vacuous)" if not check.counterexamples
                   and not check.witnessed
                   else "BROKEN " + ", ".join(check.broken))
        lines.append(f"  {name}: {verdict} ({check.rlimit_used:,} rlimit units, costliest "
                     f"query {check.rlimit_max:,})")
        lines += [f"    {cex}" for cex in check.counterexamples]
        lines += [f"    {why}" for why in check.unknown]
        lines += _refinement_line(refines[name])
    lines.append(f"verdict: {'PROVED' if ok else 'NOT PROVED'} (a small scope: "
                 f"specs/pages.md §7 says what it covers)")
    return "\n".join(lines) + "\n"


def _to_json(checks: dict[str, PageCheck], refines: dict[str, RefinementCheck], vms: int,
             pages: int, mutant: str | None, ok: bool) -> dict[str, Any]:
    return {"layer": "pages", "mutant": mutant, "vms": vms, "pages": pages, "ok": ok,
            "rules": {name: {"ok": c.ok, "proved": list(c.proved), "broken": list(c.broken),
                             "unknown": list(c.unknown), "witnessed": c.witnessed,
                             "rlimit_used": c.rlimit_used, "rlimit_max": c.rlimit_max,
                             "counterexamples": [str(x) for x in c.counterexamples],
                             "refines": {"ok": refines[name].refined,
                                         "premise": AMOUNT_PREMISES[name] or None,
                                         "counterexample": refines[name].counterexample or None,
                                         "unknown": refines[name].unknown or None,
                                         "rlimit_used": refines[name].rlimit_used}}
                      for name, c in checks.items()}}
