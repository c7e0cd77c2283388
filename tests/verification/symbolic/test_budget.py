"""The budgeted solver: terms built in the main context are asked in a private one, and what
comes back (models, cores, the work one check used) reads as if asked in the main context."""

from __future__ import annotations

import pytest
import z3

from dynmem.verification.symbolic.budget import describe_unknown, new_solver, run_check


def test_model_answers_main_context_terms() -> None:
    x, y = z3.Ints("x y")
    solver = new_solver(10_000_000)
    solver.add(x + y == 7, x > 5, True)
    result, used = run_check(solver)
    assert result == z3.sat and used > 0
    m = solver.model()
    assert m.eval(x).as_long() == 6 and m.eval(y).as_long() == 1


def test_unsat_core_and_assumptions_in_main_context() -> None:
    x = z3.Int("x")
    p, q = z3.Bools("p q")
    solver = new_solver(10_000_000)
    solver.assert_and_track(x > 3, p)
    solver.assert_and_track(x < 1, q)
    flag = z3.Bool("flag")
    solver.add(z3.Implies(flag, x == 10))
    assert run_check(solver, flag)[0] == z3.unsat
    assert {str(t) for t in solver.unsat_core()} == {"p", "q"}


def test_exhausted_budget_is_unknown_and_says_how_to_raise_it() -> None:
    """Killable: a budget too small for the query gives unknown, reported as exhausted."""
    xs = z3.Ints(" ".join(f"x{i}" for i in range(12)))
    solver = new_solver(1)
    solver.add(z3.Distinct(*xs), *[z3.And(v >= 0, v < 11) for v in xs])
    result, used = run_check(solver)
    assert result == z3.unknown
    text = describe_unknown(solver, "the pigeons", used, 1)
    assert "budget exhausted" in text and "--rlimit 10" in text


def test_budget_outside_z3_range_is_refused() -> None:
    with pytest.raises(ValueError, match="rlimit must be"):
        new_solver(0)
