"""The host's rules for bad pages, one test per rule, and the acceptance examples of issue 15
(specs/pages.md §4, §8)."""

from __future__ import annotations

import pytest

from dynmem.reference.events import BalloonRequest, BalloonResponse, UnballoonResponse
from dynmem.reference.pages import (
    AMOUNT,
    PAGES_PER_MIB,
    PageBalloonResponse,
    PageEvent,
    PageHotAddRequest,
    PageHotAddResponse,
    PageRange,
    PageSet,
    PageState,
    PageUnballoonRequest,
    abstract_state,
    check_refinement_step,
    get_page_violations,
    initial_page_state,
    page_step,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.step import step

MIB = PAGES_PER_MIB
VM = VmSettings(dynamic=True, startup_mib=1024, maximum_mib=4096)


def system(ram_mib: int = 2048, spare_mib: int = 1024) -> PageState:
    host = HostSettings(physical_mib=1024 + ram_mib + spare_mib, reserve_mib=1024)
    return initial_page_state(host, (("a", VM),), ram_mib={"a": ram_mib})


def run(state: PageState, *events: PageEvent) -> PageState:
    """Apply ``events``; each must be accepted, refine the amount level and keep every
    page invariant."""
    for event in events:
        result = page_step(state, event)
        assert result.accepted, result.reason
        assert check_refinement_step(state, event, result) is None
        assert get_page_violations(result.state) == ()
        state = result.state
    return state


def refused(state: PageState, event: PageEvent) -> str | None:
    result = page_step(state, event)
    assert not result.accepted and result.state == state
    assert check_refinement_step(state, event, result) is None
    return result.rule


class TestAcceptance:
    """The examples issue 15 asks for."""

    def test_four_1_mib_parts_and_an_empty_final_part_credit_exactly_4_mib(self) -> None:
        """Fed four 1 MiB parts and an empty final part, the host credits 1024 pages."""
        s = run(system(), BalloonRequest("a", 8))
        free = s.free_pages
        parts = [PageBalloonResponse("a", (PageRange(0x20000 + i * MIB, MIB),), more_pages=True)
                 for i in range(4)]
        s = run(s, *parts, PageBalloonResponse("a", (), more_pages=False))
        assert s.vms[0].ballooned.size == 1024 == s.free_pages - free
        assert s.vms[0].txn.name == "NONE"

    def test_the_amount_reference_credits_such_parts_0_mib(self) -> None:
        """The amount level, fed the same parts in MiB, credits nothing: why pages matter."""
        a = abstract_state(run(system(), BalloonRequest("a", 8)))
        free = a.free_mib
        for mib, more in ((1, True),) * 4 + ((0, False),):
            a = step(a, BalloonResponse("a", mib, more)).state
        assert (a.vms[0].ballooned_mib, a.free_mib) == (0, free)

    def test_the_same_2_mib_twice_is_credited_2_mib_not_4(self) -> None:
        """The duplicate-page guest listing one 2 MiB range twice is credited 512 pages."""
        s = run(system(), BalloonRequest("a", 4))
        free = s.free_pages
        twice = (PageRange(0x1200, 512), PageRange(0x1200, 512))
        s = run(s, PageBalloonResponse("a", twice, more_pages=False))
        assert s.vms[0].ballooned.size == 512 == s.free_pages - free
        assert abstract_state(s).vms[0].ballooned_mib == 2

    def test_the_duplicate_page_guest_cannot_make_the_host_overcommit(self) -> None:
        """However often it repeats its pages, free memory grows only by pages it gave."""
        s = system(spare_mib=0)
        for _ in range(5):
            s = run(s, BalloonRequest("a", 2),
                    PageBalloonResponse("a", (PageRange(0x1200, 512),) * 3, more_pages=False))
        assert s.free_pages == 512  # the one 2 MiB range, once
        assert get_page_violations(s) == ()


class TestBalloonCredit:
    """R-PG-DEDUP, R-PG-RANGE, R-PG-CREDIT."""

    def test_overlapping_ranges_credit_their_union(self) -> None:
        s = run(system(), BalloonRequest("a", 8))
        s = run(s, PageBalloonResponse("a", (PageRange(0, 600), PageRange(300, 600))))
        assert s.vms[0].ballooned.intervals == ((0, 900),)

    def test_pages_already_ballooned_are_not_credited_again(self) -> None:
        s = run(system(), BalloonRequest("a", 2), PageBalloonResponse("a", (PageRange(0, 512),)),
                BalloonRequest("a", 2))
        s = run(s, PageBalloonResponse("a", (PageRange(0, 1024),)))
        assert s.vms[0].ballooned.size == 1024

    def test_pages_outside_ram_are_refused_and_the_rest_credited(self) -> None:
        """Clamped page by page (as QEMU does), not a refusal of the whole message."""
        s = run(system(ram_mib=2048), BalloonRequest("a", 4))
        ram_end = 2048 * MIB
        s = run(s, PageBalloonResponse("a", (PageRange(ram_end - 256, 768),)))
        assert s.vms[0].ballooned.intervals == ((ram_end - 256, ram_end),)

    def test_more_than_asked_is_clamped_lowest_pages_first(self) -> None:
        s = run(system(), BalloonRequest("a", 2))
        s = run(s, PageBalloonResponse("a", (PageRange(4096, 1024),), more_pages=True))
        assert s.vms[0].ballooned.intervals == ((4096, 4608),)
        assert s.vms[0].txn.name == "NONE"  # everything asked arrived

    def test_a_response_without_a_balloon_in_flight_is_refused_by_the_amount_rule(self) -> None:
        assert refused(system(), PageBalloonResponse("a", (PageRange(0, 512),))) == AMOUNT

    def test_a_balloon_below_startup_in_pages_is_refused(self) -> None:
        """Hidden sub-unit pages are assigned at the amount level, ballooned in pages."""
        s = run(system(ram_mib=1026), BalloonRequest("a", 2),
                PageBalloonResponse("a", (PageRange(0, 256),)))
        assert refused(s, BalloonRequest("a", 2)) == "R-PG-FLOOR"


class TestUnballoon:
    """R-PG-UNBALLOON-EXACT, R-PG-UNIT."""

    def ballooned(self) -> PageState:
        return run(system(), BalloonRequest("a", 4),
                   PageBalloonResponse("a", (PageRange(0x4000, 1024),)))

    def test_exactly_the_ballooned_pages_return(self) -> None:
        s = run(self.ballooned(), PageUnballoonRequest("a", (PageRange(0x4000, 512),)),
                UnballoonResponse("a"))
        assert s.vms[0].ballooned.intervals == ((0x4200, 0x4400),)

    @pytest.mark.parametrize("ranges", [
        (PageRange(0x4000, 256), PageRange(0x4000, 256)),  # a page twice
        (PageRange(0x3f00, 512),),  # pages not ballooned
    ])
    def test_pages_twice_or_not_ballooned_are_refused(self, ranges: tuple[PageRange, ...]) -> None:
        assert refused(self.ballooned(), PageUnballoonRequest("a", ranges)) == \
            "R-PG-UNBALLOON-EXACT"

    def test_part_of_a_unit_is_refused(self) -> None:
        assert refused(self.ballooned(), PageUnballoonRequest("a", (PageRange(0x4000, 256),))) \
            == "R-PG-UNIT"


class TestHotAdd:
    """R-PG-HOT-ADD-DISJOINT, R-PG-HOT-ADD-CREDIT."""

    def test_a_region_overlapping_ram_is_refused(self) -> None:
        region = PageRange(2048 * MIB - 512, 1024)
        assert refused(system(), PageHotAddRequest("a", region)) == "R-PG-HOT-ADD-DISJOINT"

    def test_a_region_after_ram_is_added_exactly(self) -> None:
        s = run(system(), PageHotAddRequest("a", PageRange(2048 * MIB, 1024)),
                PageHotAddResponse("a", 1024))
        assert s.vms[0].ram == PageSet(((0, 2052 * MIB),))

    def test_a_partial_hot_add_of_2047_of_2048_mib_charges_2048_and_disables(self) -> None:
        """The 1 MiB short of the last unit stays charged (stranded), nothing is lost."""
        s = run(system(spare_mib=2048), PageHotAddRequest("a", PageRange(2048 * MIB, 2048 * MIB)),
                PageHotAddResponse("a", 2047 * MIB))
        vm = s.vms[0]
        assert (vm.ram.size, vm.stranded_pages, vm.hot_add_enabled) == (4095 * MIB, MIB, False)
        assert abstract_state(s).vms[0].visible_mib == 4096
        assert refused(s, PageHotAddRequest("a", PageRange(4096 * MIB, 512))) in (
            AMOUNT, "R-PG-HOT-ADD-CREDIT")

    def test_a_partial_hot_add_short_by_whole_units_releases_them(self) -> None:
        s = run(system(), PageHotAddRequest("a", PageRange(2048 * MIB, 2048)))
        free = s.free_pages
        s = run(s, PageHotAddResponse("a", 700))
        assert s.vms[0].stranded_pages == 1024 - 700 and s.free_pages - free == 1024
