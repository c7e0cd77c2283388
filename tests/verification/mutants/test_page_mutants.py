"""Each planted page-layer bug is caught by the random adversarial page runs, and its two forms
(interval processor, bitmap twin for Z3) agree on small cases (specs/pages.md §9)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynmem.model.ops import CONCRETE
from dynmem.reference.events import BalloonRequest
from dynmem.reference.pages import (
    PAGES_PER_MIB,
    PageBalloonResponse,
    PageHotAddRequest,
    PageHotAddResponse,
    PageRange,
    PageSet,
    PageState,
    PageVm,
    check_refinement_step,
    initial_page_state,
    page_step,
)
from dynmem.reference.pages.bitmap import (
    BIT_ALIGNMENTS,
    HONEST_BIT_STEPS,
    BitMessage,
    BitStep,
    PageBits,
    VmBits,
)
from dynmem.reference.pages.step import PageStep, check_unballoon_pages
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.mutants.pages import (
    CREDIT_MUTANTS,
    PAGE_MUTANTS,
    PAGE_MUTANTS_BY_NAME,
    PageMutant,
)
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
    guard, expected = rule(CONCRETE, bits_of(ram, ballooned, free, budget),
                           BitMessage(0, tuple(ranges), outstanding))
    credited = {p for s, e in after.ballooned.intervals for p in range(s, e)}
    assert guard and credited == {p for p in range(16) if expected.vms[0].ballooned[p]}
    assert after.ballooned_count == expected.vms[0].count


@PAGE_RUN_SETTINGS
@given(case=small_cases())
def test_interval_and_bitmap_unballoon_guards_agree(
        case: tuple[list[int], list[int], list[tuple[int, int]], int]) -> None:
    """On 16 pages, R-PG-UNBALLOON-EXACT refuses the same messages as intervals (the page
    reference) and as bits (the Z3 rule)."""
    ram, ballooned, ranges, _ = case
    state, _event = build_page_case(ram, ballooned, len(ballooned), 256, 256, ranges, 0)
    vm, bits = state.vms[0], bits_of(ram, ballooned, 256, 256)
    page_ranges = tuple(PageRange(s, n) for s, n in ranges)
    unballoon_ok, _ = HONEST_BIT_STEPS["unballoon"](CONCRETE, bits, BitMessage(0, tuple(ranges)))
    assert unballoon_ok == (check_unballoon_pages(vm, page_ranges) is None)


def bits_of(ram: list[int], ballooned: list[int], free: int, budget: int,
            regions: list[int] | None = None, align: int = 2) -> PageBits:
    space = ram if regions is None else regions
    vm = VmBits(tuple(p in ram for p in range(16)), tuple(p in ballooned for p in range(16)),
                tuple(p in space for p in range(16)), len(ballooned), 0, align, False, 0, 0)
    return PageBits((vm,), free, budget)


# --- hot-add: a page of the bit scope stands for 1 MiB, its unit (2 pages) for 2 MiB -----

_FREE_MIB = 64
_ALIGNED = PAGE_MUTANTS_BY_NAME["hot-add-ignoring-alignment"]


@st.composite
def hot_add_cases(draw: st.DrawFn) -> tuple[list[int], int, int, int]:
    """An address space of whole units of the 16 MiB, an alignment, a region in them."""
    units = draw(st.sets(st.integers(0, 7)))
    start = draw(st.integers(0, 15))
    return (sorted(p for u in units for p in (2 * u, 2 * u + 1)),
            draw(st.sampled_from(BIT_ALIGNMENTS)), start, draw(st.integers(0, 16 - start)))


def hot_add_state(regions: list[int], align: int) -> PageState:
    """One idle VM whose RAM is ``regions`` (MiB), aligned to ``align`` MiB, 64 MiB free."""
    space = PageSet.from_intervals((p * PAGES_PER_MIB, (p + 1) * PAGES_PER_MIB) for p in regions)
    vm = PageVm(name="a", settings=VmSettings(dynamic=True, startup_mib=2, maximum_mib=64),
                regions=space, ram=space, hot_add_align_mib=align)
    host = HostSettings(physical_mib=16 + len(regions) + _FREE_MIB, reserve_mib=16)
    return PageState(host, _FREE_MIB * PAGES_PER_MIB, (vm,))


def hot_add_request(start: int, count: int) -> PageHotAddRequest:
    return PageHotAddRequest("a", PageRange(start * PAGES_PER_MIB, count * PAGES_PER_MIB))


@pytest.mark.parametrize(("processor", "rule"), [
    (page_step, HONEST_BIT_STEPS["hot-add request"]), (_ALIGNED.step, _ALIGNED.twin),
], ids=["honest", _ALIGNED.name])
@PAGE_RUN_SETTINGS
@given(case=hot_add_cases())
def test_interval_and_bitmap_hot_add_guards_agree(
        processor: PageStep, rule: BitStep, case: tuple[list[int], int, int, int]) -> None:
    """Over 16 MiB, R-HOT-ADD-ALIGN, R-PG-UNIT and R-PG-HOT-ADD-DISJOINT refuse the same
    regions as intervals and as bits; the host that ignores the alignment too."""
    regions, align, start, count = case
    bits = bits_of(regions, [], _FREE_MIB, _FREE_MIB + len(regions), regions, align)
    accepted, _ = rule(CONCRETE, bits, BitMessage(0, ((start, count),)))
    result = processor(hot_add_state(regions, align), hot_add_request(start, count))
    assert accepted == result.accepted, result.reason


@st.composite
def honest_hot_adds(draw: st.DrawFn) -> tuple[list[int], int, int, int]:
    """An alignment, a region of whole blocks of it, and an address space of whole units of
    the 16 MiB outside the region: a hot-add the host sends."""
    align = draw(st.sampled_from(BIT_ALIGNMENTS[:2]))
    start = align * draw(st.integers(0, 16 // align - 1))
    count = align * draw(st.integers(1, (16 - start) // align))
    units = draw(st.sets(st.integers(0, 7)))
    regions = [p for u in sorted(units) for p in (2 * u, 2 * u + 1)
               if not start <= p < start + count]
    return regions, align, start, count


@PAGE_RUN_SETTINGS
@given(case=honest_hot_adds(), answered=st.integers(0, 18), success=st.booleans())
def test_interval_and_bitmap_hot_adds_agree(case: tuple[list[int], int, int, int],
                                            answered: int, success: bool) -> None:
    """A hot-add request and any answer to it (R-PG-HOT-ADD-CREDIT: a partial one strands
    the rest of its last unit) leave the same RAM, address space, stranded pages and free
    memory as intervals and as bits."""
    regions, align, start, count = case
    state = hot_add_state(regions, align)
    requested = page_step(state, hot_add_request(start, count))
    assert requested.accepted, requested.reason
    after = page_step(requested.state, PageHotAddResponse("a", answered * PAGES_PER_MIB,
                                                          success)).state
    bits = bits_of(regions, [], _FREE_MIB, _FREE_MIB + len(regions), regions, align)
    _, bits = HONEST_BIT_STEPS["hot-add request"](CONCRETE, bits, BitMessage(0, ((start, count),)))
    _, bits = HONEST_BIT_STEPS["hot-add response"](CONCRETE, bits,
                                                   BitMessage(0, (), answered, success))
    vm, got = after.vms[0], bits.vms[0]

    def mib(pages: PageSet) -> set[int]:
        return {p // PAGES_PER_MIB for s, e in pages.intervals for p in range(s, e)}
    assert mib(vm.ram) == {p for p in range(16) if got.ram[p]}
    assert mib(vm.regions) == {p for p in range(16) if got.regions[p]}
    assert vm.stranded_pages == got.stranded * PAGES_PER_MIB
    assert after.free_pages == bits.free * PAGES_PER_MIB and not got.hot_add


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
