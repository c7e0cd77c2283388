"""Per planted bug: which engine catches it, how fast, and how long the counterexample is.

A script, not a test: it prints a markdown table. For every mutant of the shared catalogue
(``verification/mutants/catalogue.py``):

* exploration of its preset (``explore_vms``), stopping once each expected invariant has a
  counterexample (a progress bug is explored fully): time, what broke, the BFS shortest
  counterexample length (for an oscillation, the length of the trace that goes once around
  the cycle);
* the stateful campaign (profile ``--profile``, invariants only, refinement off so that the
  invariant the bug targets is what fails): time to the first failure, total time with
  shrinking, what broke, the length of the shrunk trace.

Exit 1 if some mutant is caught by neither engine.

    python3 benchmarks/mutant_table.py [--profile ci] [--examples N] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from dynmem.verification.explore.run import run_exploration
from dynmem.verification.mutants.catalogue import MUTANTS, Mutant
from dynmem.verification.stateful.fuzz import run_fuzz


def explore_cells(bug: Mutant) -> tuple[bool, str]:
    started = time.perf_counter()
    r = run_exploration(bug.explore_vms, mutant=bug.name)
    wall = time.perf_counter() - started
    found = sorted({inv for inv, _ in r.violations} | {p for p, _ in r.progress})
    if r.ok or r.trace is None:
        return False, f"no | {wall:.2f} | - | -"
    length = min((n for _, n in r.violations), default=len(r.trace.steps))
    return True, f"yes ({r.states:,} states) | {wall:.2f} | {', '.join(found)} | {length}"


def fuzz_cells(bug: Mutant, profile: str, examples: int | None) -> tuple[bool, str]:
    r = run_fuzz(profile, mutant=bug.name, examples=examples, refinement=False)
    if r.ok or r.trace is None or r.message is None:
        return False, f"no ({r.examples} examples) | - | {r.seconds:.2f} | - | -"
    first = f"{r.first_failure_seconds:.2f}" if r.first_failure_seconds is not None else "-"
    broke = r.message.split(" ")[0].rstrip(":")
    return True, f"yes | {first} | {r.seconds:.2f} | {broke} | {len(r.trace.steps)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("ci", "thorough"), default="ci")
    parser.add_argument("--examples", type=int, help="override the profile's max_examples")
    parser.add_argument("--only", help="comma-separated mutant names")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{load:.1f} at the start (shared machine); stateful profile {args.profile}"
          f"{f', {args.examples} examples' if args.examples else ''}\n")
    print("| mutant | should break | explore: caught | explore s | explore broke | BFS "
          "shortest | stateful: caught | s to first failure | s with shrinking | stateful "
          "broke | shrunk length |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    missed = []
    for bug in MUTANTS:
        if wanted and bug.name not in wanted:
            continue
        by_explore, explore_text = explore_cells(bug)
        by_fuzz, fuzz_text = fuzz_cells(bug, args.profile, args.examples)
        if not (by_explore or by_fuzz):
            missed.append(bug.name)
        print(f"| {bug.name} | {', '.join(bug.breaks)} | {explore_text} | {fuzz_text} |",
              flush=True)
    if missed:
        print(f"\nNOT CAUGHT by any engine: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
