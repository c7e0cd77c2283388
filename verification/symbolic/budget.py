"""Solver budgets: every Z3 check is bounded by a count of Z3's own work, not by seconds.

Z3's resource limit (``rlimit``) counts the solver's internal steps, so a check that fits its
budget gives the same answer on any machine under any load, while a wall-clock timeout flips
a verdict when the machine is busy. The budget applies to each ``check`` anew (Z3 adds it to
the context's running count, which is cumulative), so :func:`run_check` measures what one check
used as the difference of that count. A wall-clock limit remains only as a safety net far
above any normal check (:data:`SAFETY_TIMEOUT_S`) against a runaway; it never decides a
normal verdict. An unknown is never a pass: :func:`describe_unknown` names what was asked,
the budget it used and the flag that raises it.
"""

from __future__ import annotations

from typing import Any

import z3

from dynmem.model.params import MAX_RLIMIT

# What raises the budget, on every command that runs Z3 (prove, bmc, verify).
RLIMIT_FLAG = "--rlimit"
# Only against a runaway: far above the slowest normal check (seconds at CI size).
SAFETY_TIMEOUT_S = 1800


def new_solver(rlimit: int) -> z3.Solver:
    """A fresh solver whose every check may use at most ``rlimit`` units of Z3 work."""
    if not 1 <= rlimit <= MAX_RLIMIT:
        raise ValueError(f"rlimit must be 1..{MAX_RLIMIT}, got {rlimit}")
    solver = z3.Solver()
    solver.set("rlimit", rlimit)
    solver.set("timeout", SAFETY_TIMEOUT_S * 1000)
    return solver


def get_rlimit_count(solver: z3.Solver) -> int:
    """The context's running count of Z3 work (cumulative over every check so far)."""
    try:
        return int(solver.statistics().get_key_value("rlimit count"))
    except z3.Z3Exception:  # not reported before the first check
        return 0


def run_check(solver: z3.Solver, *assumptions: Any) -> tuple[z3.CheckSatResult, int]:
    """``solver.check(*assumptions)`` and the units of work that one check used."""
    before = get_rlimit_count(solver)
    result = solver.check(*assumptions)
    return result, get_rlimit_count(solver) - before


def describe_unknown(solver: z3.Solver, what: str, used: int, rlimit: int) -> str:
    """Why ``what`` is undecided: the budget it used, Z3's reason, and how to raise it."""
    reason = solver.reason_unknown() or "unknown"
    if used >= rlimit or "resource" in reason:
        why = "budget exhausted"
        hint = f"raise it with {RLIMIT_FLAG} {min(MAX_RLIMIT, rlimit * 10)}"
    elif reason in ("timeout", "canceled"):
        why = f"stopped by the {SAFETY_TIMEOUT_S} s wall-clock safety net"
        hint = f"the machine may be overloaded; rerun, or lower {RLIMIT_FLAG} to fail sooner"
    else:
        why = "not a budget problem"
        hint = f"a larger {RLIMIT_FLAG} may not help"
    return (f"Z3 gave up on {what} after {used:,} of its {rlimit:,} rlimit units ({why}; "
            f"Z3 says: {reason}): undecided, not proved; {hint}")
