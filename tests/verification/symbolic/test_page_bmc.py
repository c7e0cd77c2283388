"""``check_page_bmc`` / ``dynmem bmc --pages``: the page host's rules unrolled from real
starts (issue 15 item 2: the page bugs caught by BMC too; specs/pages.md §7)."""

from __future__ import annotations

import json

import pytest
from cli_errors import assert_usage_error

from dynmem.reference.pages.bitmap import HONEST_BIT_STEPS
from dynmem.verification.cli.main import main
from dynmem.verification.mutants.pages import PAGE_MUTANTS, PAGE_MUTANTS_BY_NAME
from dynmem.verification.symbolic.page_bmc import PAGE_BMC_DEPTH, check_page_bmc


def test_the_honest_rules_break_nothing_to_the_default_depth() -> None:
    result = check_page_bmc()
    assert result.ok and result.depth == PAGE_BMC_DEPTH and not result.broken


@pytest.mark.parametrize("name", [m.name for m in PAGE_MUTANTS])
def test_each_page_bug_is_caught_at_depth_one(name: str) -> None:
    bug = PAGE_MUTANTS_BY_NAME[name]
    result = check_page_bmc({**HONEST_BIT_STEPS, bug.twin_of: bug.twin})
    assert not result.ok and result.depth == 1 and result.unknown is None
    assert set(result.broken) & set(bug.breaks), result.broken
    assert [step.rule for step in result.steps] == [bug.twin_of]
    assert 1 <= result.ram_pages <= 6


def test_an_exhausted_budget_is_a_failure_that_says_how_to_raise_it() -> None:
    result = check_page_bmc(rlimit=1)
    assert not result.ok and result.unknown is not None and "--rlimit" in result.unknown


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bmc", "--pages", "--depth", "1"]) == 0
    assert "verdict: no violation up to depth 1 (bounded, not a proof" in \
        capsys.readouterr().out
    assert main(["bmc", "--pages", "--mutant", "accept-pages-outside-ram", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["layer"] == "pages" and not data["ok"] and data["depth"] == 1
    assert data["steps"][0]["rule"] == "balloon credit"
    assert main(["bmc", "--pages", "--rlimit", "1", "--depth", "1"]) == 1
    assert "verdict: UNKNOWN (a failure, not a pass)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["bmc", "--pages", "--mutant", "stop_leaks_in_flight"], "is no page bug"),
    (["bmc", "--pages", "--vms", "3"], "--vms = 3"),
    (["bmc", "--pages", "--depth", "9"], "--depth = 9"),
])
def test_cli_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str],
                         words: str) -> None:
    assert_usage_error(capsys, argv, words)
