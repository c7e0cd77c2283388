"""Time the page layer's checks: the small-scope Z3 check of each host rule (honest, and each
planted page bug's twin; one VM of 12 pages, two of 6, and the honest rules on two of 8) and
the adversarial page runs (honest host and each planted bug).

A script, not a test: run it once (under ``nice -n 19`` on a shared machine) and paste its
markdown tables into the README. Times are wall clock and CPU (user+sys of this process);
Z3's own work is the rlimit count, which does not depend on the machine. Exit 1 if the honest
rule is not proved or a planted bug is not caught.

    python3 benchmarks/bench_pages.py [--runs 150]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from dynmem.reference.pages import page_step
from dynmem.reference.pages.bitmap import HONEST_BIT_STEPS
from dynmem.verification.mutants.pages import ALL_PAGE_MUTANTS, PAGE_MUTANTS
from dynmem.verification.stateful.pages import find_page_problem
from dynmem.verification.symbolic.pages import SCOPE_PAGES, TWO_VM_PAGES, check_page_rule


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    before, started = os.times(), time.perf_counter()
    result = fn()
    after = os.times()
    cpu = after.user - before.user + after.system - before.system
    return result, time.perf_counter() - started, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=150, help="examples of the page runs")
    args = parser.parse_args()
    ok = True
    print("| Z3 small scope (3 ranges) | VMs x pages | verdict | rlimit used (costliest query) "
          "| wall s | CPU s |")
    print("|---|---|---|---|---|---|")
    rules = [(f"honest {name}", rule, True) for name, rule in HONEST_BIT_STEPS.items()]
    rules += [(m.name, m.twin, False) for m in PAGE_MUTANTS if m.twin is not None]
    for vms, pages in ((1, SCOPE_PAGES), (2, TWO_VM_PAGES), (2, 8)):
        for name, rule, honest in rules:
            if vms == 2 and pages == 8 and not honest:
                continue  # the larger scope is measured for the honest rules only
            check, wall, cpu = _timed(lambda r=rule, v=vms, p=pages, h=honest: check_page_rule(
                r, pages=p, vms=v, until_broken=not h))
            verdict = ("proved " + ", ".join(check.proved) if check.ok
                       else "caught: " + ", ".join(check.broken) if check.broken
                       else "UNDECIDED")
            ok &= check.ok if honest else bool(check.broken) and not check.unknown
            print(f"| {name} | {vms} x {pages} | {verdict} | {check.rlimit_used:,} "
                  f"({check.rlimit_max:,}) | {wall:.1f} | {cpu:.1f} |")
    print()
    print(f"| page runs (up to {args.runs} x 30 steps) | verdict | steps | wall s | CPU s |")
    print("|---|---|---|---|---|")
    for name, step_fn in [("honest host", page_step),
                          *((m.name, m.step) for m in ALL_PAGE_MUTANTS)]:
        outcome, wall, cpu = _timed(lambda f=step_fn: find_page_problem(f, args.runs))
        problem, steps = outcome.problem, outcome.steps
        verdict = ("no problem" if problem is None
                   else "caught: " + problem.split(" broken")[0].split(":")[0])
        ok &= (problem is None) == (step_fn is page_step)
        print(f"| {name} | {verdict} | {steps} | {wall:.1f} | {cpu:.1f} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
