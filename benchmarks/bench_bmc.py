"""Time BMC to each planted bug's shortest counterexample at N <= 3 (goal: < 10 s each).

A script, not a test: run it once and paste its markdown table into the README. For every
model-level mutant (verification/mutants/model_edits.py) and N in ``--sizes``, two searches on
the small concrete scope: for ANY invariant of the registry (what ``dynmem bmc --mutant NAME`` does)
and for the mutant's expected invariant only. Each row gives the depth of the shortest
trace, what broke, the wall-clock time (search, decoding and the replay through the
reference-level bug), and whether the replay reproduced it. A last table times the real
model's "no violation up to depth K". Exit 1 if a mutant is not caught and reproduced.

    python3 benchmarks/bench_bmc.py [--sizes 2,3] [--depth 10] [--clean-depth 6]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from dynmem.model.invariants import BY_ID, INVARIANTS
from dynmem.model.params import STANDARD
from dynmem.verification.mutants.models import list_variants
from dynmem.verification.symbolic.bmc import Counterexample, NoViolation, check_bmc
from dynmem.verification.symbolic.scope import small_scope

GOAL_S = 10.0


def _search(name: str, n: int, depth: int, expected: str | None) -> tuple[str, bool]:
    variant = next(v for v in list_variants() if v.name == name)
    assert variant.model is not None and variant.step is not None
    invariants = [BY_ID[expected]] if expected else list(INVARIANTS)
    started = time.perf_counter()
    outcome = check_bmc(small_scope(n), depth, variant.model.apply(), invariants, variant.step,
                        rlimit=STANDARD.rlimit)
    wall = time.perf_counter() - started
    if not isinstance(outcome, Counterexample):
        return f"{outcome.status} at depth {outcome.depth} | - | {wall:.2f}", False
    over = "" if wall < GOAL_S else " (over goal)"
    return (f"{outcome.depth} | {', '.join(outcome.invariants)} | {wall:.2f}{over}",
            wall < GOAL_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,3")
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--clean-depth", type=int, default=6)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"dynmem bmc, small concrete scope, depth <= {args.depth}; {os.cpu_count()} cores, "
          f"load {load:.1f} at the start; Python {platform.python_version()}\n")
    print("| mutant | N | any invariant: depth | broken | time (s) | expected invariant: "
          "depth | broken | time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    failed = []
    for variant in (v for v in list_variants() if v.model is not None):
        for n in sizes:
            anything, ok_any = _search(variant.name, n, args.depth, None)
            expected, ok_exp = _search(variant.name, n, args.depth, variant.invariant)
            print(f"| {variant.name} | {n} | {anything} | {expected} |", flush=True)
            if not (ok_any and ok_exp):
                failed.append(f"{variant.name} N={n}")
    print("\n| model | N | result | time (s) |\n|---|---|---|---|")
    for n in sizes:
        started = time.perf_counter()
        outcome = check_bmc(small_scope(n), args.clean_depth, rlimit=STANDARD.rlimit)
        wall = time.perf_counter() - started
        word = (f"no violation up to depth {args.clean_depth}"
                if isinstance(outcome, NoViolation) else outcome.status)
        print(f"| real model (no mutant) | {n} | {word} | {wall:.2f} |", flush=True)
        if not isinstance(outcome, NoViolation):
            failed.append(f"real model N={n}")
    if failed:
        print(f"\nFAILED or over the {GOAL_S:g} s goal: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
