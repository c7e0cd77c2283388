"""The small-scope Z3 check of the page host's rules: the honest rules keep the page
invariants, on one VM and on two sharing the host; each planted page bug is caught (a
balloon-credit bug's counterexample is real in the interval reference too), and an
undecided query is a failure (specs/pages.md §7, §9)."""

from __future__ import annotations

import json

import pytest
from cli_errors import assert_usage_error

from dynmem.model.ops import CONCRETE
from dynmem.reference.pages import get_page_violations
from dynmem.reference.pages.bitmap import (
    BIT_ALIGNMENTS,
    BIT_UNIT,
    HONEST_BIT_STEPS,
    BitMessage,
    BitStep,
    PageBits,
    VmBits,
)
from dynmem.verification.cli.main import main
from dynmem.verification.mutants.pages import PAGE_MUTANTS, PageMutant
from dynmem.verification.symbolic.pages import (
    TWO_VM_PAGES,
    check_page_rule,
    replay_counterexample,
)

EVERY_INVARIANT = {"PINV-ONCE", "PINV-RAM", "PINV-EXTENT", "PINV-ALIGNED", "PINV-LEDGER",
                   "PINV-PHYSICAL"}


@pytest.mark.parametrize("rule", HONEST_BIT_STEPS.values(), ids=HONEST_BIT_STEPS.keys())
def test_the_honest_rule_keeps_every_page_invariant(rule: BitStep) -> None:
    """1 VM, 12 pages, 3 ranges a message, every alignment: all six invariants proved, a
    step witnessed."""
    check = check_page_rule(rule)
    assert check.ok, (check.counterexamples, check.unknown)
    assert set(check.proved) == EVERY_INVARIANT


@pytest.mark.parametrize("rule", HONEST_BIT_STEPS.values(), ids=HONEST_BIT_STEPS.keys())
def test_the_honest_rule_keeps_them_beside_another_vm(rule: BitStep) -> None:
    """2 VMs of 6 pages sharing free pages and budget, the rule on one, the other any state
    where the invariants hold: PINV-LEDGER and PINV-PHYSICAL over both are proved."""
    check = check_page_rule(rule, pages=TWO_VM_PAGES, vms=2)
    assert check.ok, (check.counterexamples, check.unknown)
    assert set(check.proved) == EVERY_INVARIANT


@pytest.mark.parametrize("vms", [1, 2])
@pytest.mark.parametrize("mutant", PAGE_MUTANTS, ids=lambda m: m.name)
def test_a_planted_page_bug_is_caught(mutant: PageMutant, vms: int) -> None:
    """The bug's twin breaks an invariant it should, on one VM and beside another; a
    balloon-credit counterexample breaks that invariant in the interval-based page
    reference too (no artefact of the encoding)."""
    assert mutant.twin is not None
    check = check_page_rule(mutant.twin, pages=TWO_VM_PAGES if vms == 2 else 12, vms=vms,
                            until_broken=True)
    assert not check.ok and not check.unknown
    assert set(check.broken) & set(mutant.breaks), check.broken
    if mutant.twin_of != "balloon credit":
        return  # the other rules' small states are not whole 2 MiB units: no abstraction
    for cex in check.counterexamples:
        state, event = replay_counterexample(cex)
        assert cex.invariant not in get_page_violations(state)
        assert cex.invariant in get_page_violations(mutant.step(state, event).state), str(cex)


def test_the_alignment_bug_is_a_region_the_guest_did_not_allow() -> None:
    """The counterexample of the host that ignores alignment is a region of whole units
    that does not start on, or span whole blocks of, an alignment above the unit."""
    bug = next(m for m in PAGE_MUTANTS if m.name == "hot-add-ignoring-alignment")
    assert bug.twin is not None
    (cex,) = check_page_rule(bug.twin, until_broken=True).counterexamples
    vm, (start, count) = cex.vms[0], cex.ranges[0]
    assert vm.align in BIT_ALIGNMENTS and vm.align > BIT_UNIT
    assert start % BIT_UNIT == 0 and count % BIT_UNIT == 0 and count > 0
    assert start % vm.align or count % vm.align


@pytest.mark.parametrize(("align", "region", "sent"), [
    (2, (2, 2), True), (4, (4, 4), True), (4, (2, 2), False), (4, (4, 2), False),
    (4, (2, 4), False), (8, (0, 8), False),  # over the address space: pages 0..1
])
def test_the_request_guard_is_the_guests_blocks(align: int, region: tuple[int, int],
                                                sent: bool) -> None:
    """Evaluated concretely over 12 pages (the address space 0..1, 12 pages free): the
    honest request takes whole blocks of the alignment only; the host that ignores it takes
    any whole units off the address space."""
    vm = VmBits(tuple(p < 2 for p in range(12)), (False,) * 12, tuple(p < 2 for p in range(12)),
                0, 0, align, False, 0, 0)
    host, msg = PageBits((vm,), 12, 14), BitMessage(0, (region,))
    guard, after = HONEST_BIT_STEPS["hot-add request"](CONCRETE, host, msg)
    assert guard == sent
    if sent:
        assert after.vms[0].hot_add and after.free == 12 - region[1]
    bug = next(m for m in PAGE_MUTANTS if m.name == "hot-add-ignoring-alignment")
    assert bug.twin is not None
    assert bug.twin(CONCRETE, host, msg)[0] == (region[0] >= 2)


def test_an_exhausted_budget_is_undecided_not_proved() -> None:
    """With a tiny rlimit nothing is proved and the check fails, naming the flag."""
    check = check_page_rule(rlimit=1000)
    assert not check.ok and check.unknown
    assert "--rlimit" in check.unknown[0]


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """``dynmem prove --pages``: every honest rule proved (exit 0); a page bug's rule broken
    with its counterexample (exit 1); JSON."""
    assert main(["prove", "--pages", "--vms", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 VMs of 6 pages" in out and "verdict: PROVED" in out
    assert out.count("proved PINV-ONCE, PINV-RAM, PINV-EXTENT, PINV-ALIGNED") == 4
    assert main(["prove", "--pages", "--mutant", "hot-add-ignoring-alignment"]) == 1
    out = capsys.readouterr().out
    assert "hot-add request: BROKEN PINV-ALIGNED" in out and "verdict: NOT PROVED" in out
    assert main(["prove", "--pages", "--mutant", "accept-pages-outside-ram", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["layer"] == "pages" and not data["ok"] and data["vms"] == 1
    assert data["rules"]["balloon credit"]["broken"] == ["PINV-RAM"]


@pytest.mark.parametrize("argv, words", [
    (["prove", "--pages", "--vms", "3"], "--vms = 3"),
    (["prove", "--pages", "--any-n"], "--any-n"),
    (["prove", "--pages", "--mutant", "stop_leaks_in_flight"], "is no page bug"),
    (["prove", "--pages", "--mutant", "round-parts-to-units"], "no bit-level form"),
    (["prove", "--mutant", "hot-add-ignoring-alignment"], "only with --pages"),
])
def test_cli_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str],
                         words: str) -> None:
    assert_usage_error(capsys, argv, words)
