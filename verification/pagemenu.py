"""The menu of page-level messages, honest and adversarial, in one place (specs/pages.md §7).

The page explorer (``verification/explore/pages.py``) and the oracle's page generator
(``verification/oracle/pagegen.py``) try, in every state, the messages of this menu: what a
guest may answer to a balloon (honest, a part smaller than 2 MiB, a range listed twice,
overlapping ranges, pages beyond the address space, a range straddling RAM's end, pages
already ballooned, an empty final part), what it may answer to a hot-add (in full, short by
a page, half a unit or a unit, nothing, too many; succeeding or not) and what a host may ask
(unballoons of ballooned pages, of a range listed twice, of pages not ballooned or beyond
RAM; hot-add regions at the top of the address space, over RAM, past a gap, a page off, one
block of the guest's alignment). Every shape has a name; an engine picks the names it sends,
in its order (the order decides which of several shortest traces breadth-first meets).
Every function is pure: the menu depends on the VM's state only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dynmem.reference.pages import (
    PAGES_PER_MIB,
    PAGES_PER_UNIT,
    PageBalloonResponse,
    PageHotAddRequest,
    PageHotAddResponse,
    PageRange,
    PageUnballoonRequest,
    PageVm,
)

__all__ = [
    "BALLOON_SHAPES", "FALLBACK_RANGES", "HALF", "HOT_ADD_ANSWERS", "REGION_SHAPES",
    "SCATTER_PAGES", "UNBALLOON_SHAPES",
    "address_top", "balloon_answers", "hot_add_answers", "hot_add_requests", "ram_top",
    "scattered_pages", "unballoon_requests",
]

HALF = PAGES_PER_UNIT // 2  # 1 MiB: a part a Linux guest may send
# Ranges in one balloon response: one 4 KiB message of 8-byte ranges (domain-facts §3.3)
FALLBACK_RANGES = 510
SCATTER_PAGES = 256  # the explorer's fallback part

Ranges = tuple[PageRange, ...]


def address_top(vm: PageVm) -> int:
    """The first page past every region handed out to ``vm``."""
    return max((end for _, end in vm.regions.intervals), default=0)


def ram_top(vm: PageVm) -> int:
    """The first page past ``vm``'s RAM."""
    return max((end for _, end in vm.ram.intervals), default=0)


def _online(vm: PageVm, pages: int) -> Ranges:
    """The lowest ``pages`` pages of RAM the host does not hold."""
    return vm.ram.difference(vm.ballooned).take_lowest(pages).to_ranges()


def scattered_pages(vm: PageVm, pages: int) -> Ranges:
    """Up to ``pages`` online pages, every other one from the lowest, each its own range:
    the Linux guest's 4 KiB fallback under fragmentation (single-page allocations, none
    adjacent), honest pages in an honest count."""
    out: list[PageRange] = []
    for start, end in vm.ram.difference(vm.ballooned).intervals:
        out += (PageRange(page, 1) for page in range(start, end, 2)[: pages - len(out)])
    return tuple(out)


def _fallback(vm: PageVm) -> Ranges:
    return scattered_pages(vm, min(vm.txn_pages - vm.txn_done_pages, FALLBACK_RANGES))


def _shifted(ranges: Ranges, by: int) -> Ranges:
    return tuple(PageRange(r.start + by, r.count) for r in ranges)


# name -> (ranges, more_pages) for a VM with a balloon in flight
BALLOON_SHAPES: dict[str, Callable[[PageVm], tuple[Ranges, bool]]] = {
    # the lowest online pages, as many as are outstanding, as the last part
    "honest": lambda vm: (_online(vm, max(0, vm.txn_pages - vm.txn_done_pages)), False),
    # the lowest online 2 MiB, as the last part
    "unit": lambda vm: (_online(vm, PAGES_PER_UNIT), False),
    # a 1 MiB part with more to come, a 4 KiB part with more to come, a 1 MiB last part
    "half-more": lambda vm: (_online(vm, HALF), True),
    "page-more": lambda vm: (_online(vm, 1), True),
    "half": lambda vm: (_online(vm, HALF), False),
    # the 4 KiB fallback (honest): one message of scattered single pages, with more to
    # come, or as the last part (the guest cut the request to what it could allocate)
    "fallback-more": lambda vm: (_fallback(vm), True),
    "fallback": lambda vm: (_fallback(vm), False),
    # 1 MiB of scattered single pages, more to come: the fallback on a scope too small for 510
    "scatter-more": lambda vm: (scattered_pages(vm, min(vm.txn_pages - vm.txn_done_pages,
                                                   SCATTER_PAGES)), True),
    # the lowest online 2 MiB listed twice; it and the same shifted by 1 MiB (overlapping)
    "twice": lambda vm: (_online(vm, PAGES_PER_UNIT) * 2, False),
    "overlapping": lambda vm: ((*_online(vm, PAGES_PER_UNIT),
                                *_shifted(_online(vm, PAGES_PER_UNIT), HALF)), False),
    # 2 MiB past the address space, 2 MiB straddling RAM's end
    "beyond": lambda vm: ((PageRange(address_top(vm), PAGES_PER_UNIT),), False),
    "straddling": lambda vm: ((PageRange(max(0, ram_top(vm) - HALF), PAGES_PER_UNIT),),
                              False),
    # the lowest 2 MiB the host already holds, listed again
    "ballooned": lambda vm: (vm.ballooned.take_lowest(PAGES_PER_UNIT).to_ranges(), False),
    # an empty last part
    "empty": lambda vm: ((), False),
}


def balloon_answers(vm: PageVm, shapes: Sequence[str]) -> list[PageBalloonResponse]:
    """The answers of ``shapes`` (names of ``BALLOON_SHAPES``) to ``vm``'s balloon in
    flight, in that order, each distinct message once."""
    seen: set[tuple[Ranges, bool]] = set()
    answers = []
    for name in shapes:
        ranges, more = BALLOON_SHAPES[name](vm)
        if (ranges, more) not in seen:
            seen.add((ranges, more))
            answers.append(PageBalloonResponse(vm.name, ranges, more))
    return answers


# name -> (pages added, success) for a VM with a hot-add of ``asked`` pages in flight
HOT_ADD_ANSWERS: dict[str, Callable[[int], tuple[int, bool]]] = {
    "full": lambda asked: (asked, True),
    "page-short": lambda asked: (asked - 1, True),
    "half-short": lambda asked: (asked - HALF, True),
    "unit-short": lambda asked: (asked - PAGES_PER_UNIT, True),
    "none": lambda asked: (0, True),
    "over": lambda asked: (asked + 7, True),
    "failed": lambda asked: (asked, False),
}


def hot_add_answers(vm: PageVm, shapes: Sequence[str],
                    failures: bool = False) -> list[PageHotAddResponse]:
    """The answers of ``shapes`` (names of ``HOT_ADD_ANSWERS``) to ``vm``'s hot-add in
    flight, each distinct and non-negative once; with ``failures``, each also as a transient
    failure, by ascending page count (the explorer's order)."""
    asked = vm.txn_pages
    picked = [HOT_ADD_ANSWERS[name](asked) for name in shapes]
    if failures:
        counts = sorted({pages for pages, _ in picked})
        picked = [(pages, success) for pages in counts for success in (True, False)]
    out: list[PageHotAddResponse] = []
    for pages, success in picked:
        if pages >= 0 and PageHotAddResponse(vm.name, pages, success) not in out:
            out.append(PageHotAddResponse(vm.name, pages, success))
    return out


# name -> unballoon ranges of ``pages`` pages (2 MiB in the explorer and the oracle; the
# random walk asks more) for an idle VM (None: nothing to send)
UNBALLOON_SHAPES: dict[str, Callable[[PageVm, int], Ranges | None]] = {
    # the lowest ballooned pages (honest); them listed twice
    "lowest": lambda vm, pages: vm.ballooned.take_lowest(pages).to_ranges() or None,
    "twice": lambda vm, pages: vm.ballooned.take_lowest(pages).to_ranges() * 2 or None,
    # the lowest pages of RAM not ballooned; pages past the address space
    "not-ballooned": lambda vm, pages: _online(vm, pages) or None,
    "beyond": lambda vm, pages: (PageRange(address_top(vm), pages),),
}


def unballoon_requests(vm: PageVm, shapes: Sequence[str],
                       pages: int = PAGES_PER_UNIT) -> list[PageUnballoonRequest]:
    """The unballoons of ``shapes`` (names of ``UNBALLOON_SHAPES``) of ``pages`` pages for
    ``vm``, in order."""
    out = []
    for name in shapes:
        ranges = UNBALLOON_SHAPES[name](vm, pages)
        if ranges is not None:
            out.append(PageUnballoonRequest(vm.name, ranges))
    return out


# name -> region start for a hot-add to an idle VM
REGION_SHAPES: dict[str, Callable[[PageVm], int]] = {
    "top": address_top,  # right after the address space (honest)
    "over-ram": lambda vm: address_top(vm) - PAGES_PER_UNIT,  # overlapping its last unit
    "gap": lambda vm: address_top(vm) + PAGES_PER_UNIT,  # past a 2 MiB gap
    "page-off": lambda vm: address_top(vm) + 1,  # not on a unit
}


def hot_add_requests(vm: PageVm, shapes: Sequence[str], aligned_block: bool = False,
                     pages: int = PAGES_PER_UNIT) -> list[PageHotAddRequest]:
    """The hot-adds of ``pages`` pages (2 MiB unless said) of ``shapes`` (names of
    ``REGION_SHAPES``) for ``vm``, in order; with ``aligned_block``, also one block of the
    guest's alignment at the next aligned page when that alignment is above 2 MiB."""
    out = [PageHotAddRequest(vm.name, PageRange(start, pages))
           for start in (REGION_SHAPES[name](vm) for name in shapes) if start >= 0]
    align = vm.hot_add_align_mib * PAGES_PER_MIB
    if aligned_block and align > PAGES_PER_UNIT:
        top = address_top(vm)
        out.append(PageHotAddRequest(vm.name, PageRange(-(-top // align) * align, align)))
    return out
