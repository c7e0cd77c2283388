"""The small-scope Z3 check of the page host's rules: the honest rules keep the page
invariants, each planted page bug is caught (a balloon-credit bug's counterexample is real
in the interval reference too), and an undecided query is a failure (specs/pages.md §7, §9)."""

from __future__ import annotations

import pytest

from dynmem.reference.pages import get_page_violations
from dynmem.reference.pages.bitmap import HONEST_BIT_STEPS, BitStep
from dynmem.verification.mutants.pages import PAGE_MUTANTS, PageMutant
from dynmem.verification.symbolic.pages import check_page_rule, replay_counterexample


@pytest.mark.parametrize("rule", HONEST_BIT_STEPS.values(), ids=HONEST_BIT_STEPS.keys())
def test_the_honest_rule_keeps_every_page_invariant(rule: BitStep) -> None:
    """1 VM, 12 pages, 3 ranges a message: all four invariants proved, a step witnessed."""
    check = check_page_rule(rule)
    assert check.ok, (check.counterexamples, check.unknown)
    assert set(check.proved) == {"PINV-ONCE", "PINV-RAM", "PINV-LEDGER", "PINV-PHYSICAL"}


@pytest.mark.parametrize("mutant", PAGE_MUTANTS, ids=lambda m: m.name)
def test_a_planted_page_bug_is_caught(mutant: PageMutant) -> None:
    """The bug's twin breaks an invariant it should; a balloon-credit counterexample breaks
    that invariant in the interval-based page reference too (no artefact of the encoding)."""
    check = check_page_rule(mutant.twin)
    assert not check.ok and not check.unknown
    assert set(check.broken) & set(mutant.breaks), check.broken
    if mutant.twin_of != "balloon credit":
        return  # the other rules' small states are not whole 2 MiB units: no abstraction
    for cex in check.counterexamples:
        state, event = replay_counterexample(cex)
        assert cex.invariant not in get_page_violations(state)
        assert cex.invariant in get_page_violations(mutant.step(state, event).state), str(cex)


def test_an_exhausted_budget_is_undecided_not_proved() -> None:
    """With a tiny rlimit nothing is proved and the check fails, naming the flag."""
    check = check_page_rule(rlimit=1000)
    assert not check.ok and check.unknown
    assert "--rlimit" in check.unknown[0]
