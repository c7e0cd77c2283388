"""Measure the Z3 work (rlimit units) every solver check of the default runs uses.

The default budget (``MINIMAL.rlimit`` in model/params.py) must stay far above the largest
number printed here: run this after changing the model, an encoding or a check, and raise
the default if the margin falls under 10x. Counts, not seconds: the numbers are the same on
a busy machine (CPU seconds are printed beside them for scale only).

    python3 benchmarks/measure_rlimit.py
"""

from __future__ import annotations

import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import z3

from dynmem.model.params import MINIMAL
from dynmem.verification.suite import bmc_checks, proof_checks
from dynmem.verification.suite.runner import collect_checks, run_check
from dynmem.verification.symbolic.bmc import check_bmc
from dynmem.verification.symbolic.budget import get_rlimit_count
from dynmem.verification.symbolic.inductive import check_inductive
from dynmem.verification.symbolic.scope import small_scope, symbolic_scope

# (run, calling function) -> units used by each check
USED: dict[tuple[str, str], list[int]] = defaultdict(list)
_RUN = ["?"]
_CHECK = z3.Solver.check


def _measured_check(self: z3.Solver, *assumptions: Any) -> z3.CheckSatResult:
    before = get_rlimit_count(self)
    result = _CHECK(self, *assumptions)
    # the function that asked: above z3's check, BudgetSolver.check and run_check
    caller = next(f.name for f in reversed(traceback.extract_stack()[:-1])
                  if f.name not in ("check", "run_check"))
    USED[(_RUN[0], caller)].append(get_rlimit_count(self) - before)
    return result


def _run(name: str, work: Callable[[], object]) -> None:
    _RUN[0] = name
    started = time.process_time()
    work()
    print(f"  {name}: {time.process_time() - started:.1f} CPU s", file=sys.stderr)


def main() -> int:
    z3.Solver.check = _measured_check  # type: ignore[method-assign]
    for check in collect_checks((proof_checks, bmc_checks)):
        _run(f"verify {check.section}/{check.name}", lambda c=check: run_check(c))
    _run("prove --any-n", lambda: check_inductive(None))
    _run("bmc --vms 3", lambda: check_bmc(small_scope(3), MINIMAL.bmc_depth))
    _run("bmc --symbolic", lambda: check_bmc(symbolic_scope(MINIMAL.n_vms), MINIMAL.bmc_depth))
    print(f"default budget per check: {MINIMAL.rlimit:,} rlimit units\n")
    print("| run | solver call | checks | largest check | margin | all checks |")
    print("|---|---|---|---|---|---|")
    for (run, caller), used in sorted(USED.items(), key=lambda kv: -max(kv[1])):
        print(f"| {run} | {caller} | {len(used)} | {max(used):,} | "
              f"{MINIMAL.rlimit / max(1, max(used)):,.0f}x | {sum(used):,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
