"""The small-scope Z3 check of the page host's balloon credit: the honest rule keeps the page
invariants, each planted page bug is caught and its counterexample is real in the interval
reference, and an undecided query is a failure (specs/pages.md §7, §9)."""

from __future__ import annotations

import pytest

from dynmem.reference.pages import get_page_violations
from dynmem.verification.mutants.pages import CREDIT_MUTANTS, PageMutant
from dynmem.verification.symbolic.pages import check_page_credit, replay_counterexample


def test_the_honest_credit_rule_keeps_every_page_invariant() -> None:
    """1 VM, 16 pages, 3 ranges a message: all four invariants proved, a credit witnessed."""
    check = check_page_credit()
    assert check.ok, (check.counterexamples, check.unknown)
    assert set(check.proved) == {"PINV-ONCE", "PINV-RAM", "PINV-LEDGER", "PINV-PHYSICAL"}


@pytest.mark.parametrize("mutant", CREDIT_MUTANTS, ids=lambda m: m.name)
def test_a_planted_page_bug_is_caught_and_replays(mutant: PageMutant) -> None:
    """The bug breaks what it should, and each counterexample breaks that invariant in the
    interval-based page reference too (it is no artefact of the encoding)."""
    assert mutant.credit_rule is not None
    check = check_page_credit(mutant.credit_rule)
    assert not check.ok and not check.unknown
    assert set(mutant.breaks) <= set(check.broken)
    for cex in check.counterexamples:
        state, event = replay_counterexample(cex)
        assert cex.invariant not in get_page_violations(state)
        assert cex.invariant in get_page_violations(mutant.step(state, event).state), str(cex)


def test_an_exhausted_budget_is_undecided_not_proved() -> None:
    """With a tiny rlimit nothing is proved and the check fails, naming the flag."""
    check = check_page_credit(rlimit=1000)
    assert not check.ok and check.unknown
    assert "--rlimit" in check.unknown[0]
