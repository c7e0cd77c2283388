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


class BudgetSolver:
    """A Z3 solver in a context of its own, asked with terms built in the main context.

    Z3's search depends on its terms' internal ids, which follow the order in which the
    context first saw them. In the shared main context that order includes every term any
    earlier query, decode or cache made, some of them in Python's hash order, so one query's
    rlimit use changed with ``PYTHONHASHSEED`` (a BMC witness query took 53M units or ran out
    of 200M). Here each term is translated into a private context when it is added, so a
    query's work depends only on the query. Models and cores come back in the main context.
    """

    def __init__(self, rlimit: int) -> None:
        self._ctx = z3.Context()
        self._solver = z3.Solver(ctx=self._ctx)
        self._solver.set("rlimit", rlimit)
        self._solver.set("timeout", SAFETY_TIMEOUT_S * 1000)

    def _own(self, term: Any) -> Any:
        if isinstance(term, bool):
            return z3.BoolVal(term, self._ctx)
        return term.translate(self._ctx)

    def set(self, key: str, value: Any) -> None:
        self._solver.set(key, value)

    def add(self, *terms: Any) -> None:
        self._solver.add(*(self._own(t) for t in terms))

    def assert_and_track(self, term: Any, label: z3.BoolRef) -> None:
        self._solver.assert_and_track(self._own(term), self._own(label))

    def check(self, *assumptions: Any) -> z3.CheckSatResult:
        return self._solver.check(*(self._own(a) for a in assumptions))

    def model(self) -> z3.ModelRef:
        return self._solver.model().translate(z3.main_ctx())

    def unsat_core(self) -> list[z3.BoolRef]:
        return [t.translate(z3.main_ctx()) for t in self._solver.unsat_core()]

    def reason_unknown(self) -> str:
        return str(self._solver.reason_unknown())

    def statistics(self) -> z3.Statistics:
        return self._solver.statistics()

    def sexpr(self) -> str:
        return str(self._solver.sexpr())


def new_solver(rlimit: int) -> BudgetSolver:
    """A fresh solver whose every check may use at most ``rlimit`` units of Z3 work."""
    if not 1 <= rlimit <= MAX_RLIMIT:
        raise ValueError(f"rlimit must be 1..{MAX_RLIMIT}, got {rlimit}")
    return BudgetSolver(rlimit)


def get_rlimit_count(solver: BudgetSolver) -> int:
    """The context's running count of Z3 work (cumulative over every check so far)."""
    try:
        return int(solver.statistics().get_key_value("rlimit count"))
    except z3.Z3Exception:  # not reported before the first check
        return 0


def run_check(solver: BudgetSolver, *assumptions: Any) -> tuple[z3.CheckSatResult, int]:
    """``solver.check(*assumptions)`` and the units of work that one check used."""
    before = get_rlimit_count(solver)
    result = solver.check(*assumptions)
    return result, get_rlimit_count(solver) - before


def describe_unknown(solver: BudgetSolver, what: str, used: int, rlimit: int) -> str:
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
