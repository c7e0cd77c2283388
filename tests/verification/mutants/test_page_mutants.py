"""Each planted page-layer bug is caught by the random adversarial page runs, and its two forms
(interval processor, bitmap twin for Z3) agree on small cases (specs/pages.md §9)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynmem.model.ops import CONCRETE
from dynmem.reference.events import BalloonRequest
from dynmem.reference.pages import (
    PageBalloonResponse,
    PageRange,
    check_refinement_step,
    initial_page_state,
    page_step,
)
from dynmem.reference.pages.bitmap import HONEST_BIT_STEPS, BitStep, PageBits
from dynmem.reference.pages.step import PageStep, check_region, check_unballoon_pages
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.mutants.pages import CREDIT_MUTANTS, PAGE_MUTANTS, PageMutant
from dynmem.verification.stateful.pages import PAGE_RUN_SETTINGS, find_page_problem
from dynmem.verification.symbolic.pages import build_page_case

SMALL = VmSettings(dynamic=True, startup_mib=32, maximum_mib=64)


@pytest.mark.parametrize("mutant", PAGE_MUTANTS, ids=lambda m: m.name)
def test_the_adversarial_runs_catch_the_bug(mutant: PageMutant) -> None:
    """The random runs find a step breaking an invariant the bug should break."""
    problem = find_page_problem(mutant.step).problem
    assert problem is not None
    assert any(inv in problem for inv in mutant.breaks), problem


def test_the_honest_host_passes_the_same_runs() -> None:
    assert find_page_problem(page_step).problem is None


@st.composite
def small_cases(draw: st.DrawFn) -> tuple[list[int], list[int], list[tuple[int, int]], int]:
    ram = sorted(draw(st.sets(st.integers(0, 15))))
    ballooned = sorted(draw(st.sets(st.sampled_from(ram)))) if ram else []
    # within the 16 pages: beyond them the bitmap has no bits (every such page is outside
    # RAM, which the honest rule refuses anyway)
    ranges = draw(st.lists(st.integers(0, 16).flatmap(
        lambda start: st.tuples(st.just(start), st.integers(0, 16 - start))), max_size=3))
    return ram, ballooned, ranges, draw(st.integers(0, 20))


@pytest.mark.parametrize(("processor", "rule"), [
    (page_step, HONEST_BIT_STEPS["balloon credit"]),
    *((m.step, m.twin) for m in CREDIT_MUTANTS),
], ids=["honest", *(m.name for m in CREDIT_MUTANTS)])
@PAGE_RUN_SETTINGS
@given(case=small_cases())
def test_interval_and_bitmap_credits_agree(
        processor: PageStep, rule: BitStep,
        case: tuple[list[int], list[int], list[tuple[int, int]], int]) -> None:
    """On 16 pages, the page reference (intervals) and the Z3 rule (bits, evaluated
    concretely) credit the same pages and count the same number."""
    ram, ballooned, ranges, outstanding = case
    budget = 256
    free = budget - (len(ram) - len(ballooned))
    state, event = build_page_case(ram, ballooned, len(ballooned), free, budget, ranges,
                                   outstanding)
    after = processor(state, event).state.vms[0]
    guard, expected = rule(CONCRETE, bits_of(ram, ballooned, free, budget), ranges, outstanding)
    credited = {p for s, e in after.ballooned.intervals for p in range(s, e)}
    assert guard and credited == {p for p in range(16) if expected.ballooned[p]}
    assert after.ballooned_count == expected.count


@PAGE_RUN_SETTINGS
@given(case=small_cases())
def test_interval_and_bitmap_guards_agree(
        case: tuple[list[int], list[int], list[tuple[int, int]], int]) -> None:
    """On 16 pages, R-PG-UNBALLOON-EXACT and R-PG-HOT-ADD-DISJOINT refuse the same
    messages as intervals (the page reference) and as bits (the Z3 rules)."""
    ram, ballooned, ranges, _ = case
    state, _event = build_page_case(ram, ballooned, len(ballooned), 0, 256, ranges, 0)
    vm, bits = state.vms[0], bits_of(ram, ballooned, 0, 256)
    page_ranges = tuple(PageRange(s, n) for s, n in ranges)
    unballoon_ok, _ = HONEST_BIT_STEPS["unballoon"](CONCRETE, bits, ranges, 0)
    assert unballoon_ok == (check_unballoon_pages(vm, page_ranges) is None)
    if ranges:
        hot_add_ok, _ = HONEST_BIT_STEPS["hot-add"](CONCRETE, bits, ranges[:1], 0)
        assert hot_add_ok == (check_region(vm, page_ranges[0]) is None)


def bits_of(ram: list[int], ballooned: list[int], free: int, budget: int) -> PageBits:
    return PageBits(tuple(p in ram for p in range(16)), tuple(p in ballooned for p in range(16)),
                    len(ballooned), free, budget)


def test_the_refinement_check_alone_catches_counting_duplicates() -> None:
    """A count-based host credits the same 2 MiB listed twice as 4 MiB: the amount level
    sees more free memory than it could have reached (the acceptance example, planted)."""
    mutant = PAGE_MUTANTS[0]
    state = initial_page_state(HostSettings(16 + 64, 16), (("a", SMALL),), ram_mib={"a": 48})
    state = page_step(state, BalloonRequest("a", 4)).state
    event = PageBalloonResponse("a", (PageRange(0x1200, 512), PageRange(0x1200, 512)))
    result = mutant.step(state, event)
    assert result.state.free_pages - state.free_pages == 1024  # 4 MiB for 2 MiB of pages
    assert check_refinement_step(state, event, result) is not None
