"""The page host's rules refine the model counted in pages, on small scopes
(verification/symbolic/page_refinement.py, specs/pages.md §7)."""

from __future__ import annotations

import json

import pytest

from dynmem.verification.cli.main import main
from dynmem.verification.mutants.pages import PAGE_MUTANTS_BY_NAME
from dynmem.verification.symbolic.page_refinement import AMOUNT_PREMISES, check_page_refinement
from dynmem.verification.symbolic.pages import TWO_VM_PAGES


@pytest.mark.parametrize("rule", sorted(AMOUNT_PREMISES))
@pytest.mark.parametrize("vms", [1, 2])
def test_every_honest_rule_refines_the_model_in_pages(rule: str, vms: int) -> None:
    check = check_page_refinement(rule, vms=vms, **({} if vms == 1 else
                                                     {"pages": TWO_VM_PAGES}))
    assert check.refined and not check.unknown, check


@pytest.mark.parametrize(("bug", "refines"), [
    # the counts move as no model step does: caught by the refinement
    ("unballoon-pages-not-ballooned", False),
    ("hot-add-overlapping-ram", False),
    ("hot-add-ignoring-alignment", False),
    # page identity, which counts cannot see (PINV-ONCE, PINV-RAM catch them)
    ("credit-duplicate-pages-by-count", True),
    ("accept-pages-outside-ram", True),
])
def test_planted_bugs_that_change_the_counts_do_not_refine(bug: str, refines: bool) -> None:
    mutant = PAGE_MUTANTS_BY_NAME[bug]
    assert mutant.twin_of is not None and mutant.twin is not None
    check = check_page_refinement(mutant.twin_of, mutant.twin)
    assert check.refined is refines and not check.unknown, check
    if not refines:
        assert "no model step does that" in check.counterexample


def test_prove_pages_reports_the_refinement(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["prove", "--pages", "--mutant", "hot-add-ignoring-alignment"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "hot-add request: BROKEN PINV-ALIGNED" in out
    assert "does NOT refine the model in pages, given nothing is ballooned" in out
    assert main([*argv, "--json"]) == 1
    rule = json.loads(capsys.readouterr().out)["rules"]["hot-add request"]
    assert rule["refines"]["ok"] is False and "no model step" in rule["refines"]["counterexample"]
