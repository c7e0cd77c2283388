"""``page_step(state, event)``: the host's rules for page-level messages (specs/pages.md §4).

Guards come first, one per line citing the rule. A guard the amount level also has (a
transaction in flight, the protocol caps, free memory, ...) is asked of the amount
reference itself on the abstraction of the state (``check_request``), so the two levels
cannot drift apart; its refusal cites ``AMOUNT``. A refusal the amount level cannot express
(page identity: a page listed twice, a page not ballooned, a region that overlaps RAM)
cites its page rule (R-PG-…). A refusal returns the unchanged state and a reason
(R-REJECT).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    BalloonRequest,
    HotAddRequest,
    UnballoonRequest,
    UnballoonResponse,
)
from dynmem.reference.pages.abstraction import abstract_state
from dynmem.reference.pages.events import (
    PageBalloonResponse,
    PageEvent,
    PageHotAddRequest,
    PageHotAddResponse,
    PageUnballoonRequest,
)
from dynmem.reference.pages.ranges import (
    PAGES_PER_MIB,
    PAGES_PER_UNIT,
    PageRange,
    PageSet,
    compute_listed_pages,
)
from dynmem.reference.pages.state import PageState, PageVm
from dynmem.reference.step import check_request

# A refusal by a guard of the amount level (specs/events.md §3), asked of the amount reference.
AMOUNT = "amount"


@attrs.frozen
class PageStepResult:
    """The next state, or the unchanged state with the refusing ``rule`` and a reason."""

    state: PageState
    reason: str | None = None
    rule: str | None = None

    @property
    def accepted(self) -> bool:
        return self.reason is None


def _reject(state: PageState, rule: str, reason: str) -> PageStepResult:
    # R-REJECT: a disallowed event returns the unchanged state and a reason, never raises.
    return PageStepResult(state, reason, rule)


def _vm_in_txn(state: PageState, name: str, kind: TxnKind) -> PageVm | str:
    vm = state.get_vm(name)
    if vm is None:
        return f"no VM named {name!r}"
    if vm.txn != kind:
        return f"{name} has no {kind.name} transaction in flight (has {vm.txn.name})"
    return vm


def _vm_or_reason(state: PageState, name: str) -> PageVm | str:
    vm = state.get_vm(name)
    return f"no VM named {name!r}" if vm is None else vm


# --- balloon ---------------------------------------------------------------------------------


def process_balloon_request(state: PageState, event: BalloonRequest) -> PageStepResult:
    vm = _vm_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, AMOUNT, vm)
    # The amount level's request guards (R-REQUEST-1..4, R-BALLOON-REQUEST)
    reason = check_request(abstract_state(state), event)
    if reason is not None:
        return _reject(state, AMOUNT, reason)
    # R-PG-FLOOR: never ask below startup in pages (the amount level sees hidden pages as
    # still assigned)
    pages = event.mib * PAGES_PER_MIB
    room = vm.assigned_pages - vm.settings.startup_mib * PAGES_PER_MIB
    if pages > room:
        return _reject(state, "R-PG-FLOOR", f"balloon {pages} pages would take {vm.name} "
                                            f"below startup: only {room} pages above it")
    nxt = attrs.evolve(vm, txn=TxnKind.BALLOON, txn_pages=pages, txn_done_pages=0)
    return PageStepResult(state.with_vm(nxt))


def compute_balloon_credit(vm: PageVm, ranges: tuple[PageRange, ...]) -> PageSet:
    """The pages of ``ranges`` the host credits: each listed page once (R-PG-DEDUP), only
    pages in the VM's RAM and not already ballooned (R-PG-RANGE, R-PG-DEDUP), and at most
    the pages still outstanding, lowest first (R-PG-CREDIT)."""
    listed = PageSet.from_ranges(ranges)
    backed = listed.intersection(vm.ram).difference(vm.ballooned)
    return backed.take_lowest(vm.txn_pages - vm.txn_done_pages)


def apply_balloon_credit(state: PageState, vm: PageVm, credit: PageSet, counted: int,
                         more_pages: bool) -> PageStepResult:
    """Add ``credit`` to the ledger and ``counted`` pages to the counter and free memory
    (an honest host counts ``credit.size``); end the transaction on the last part."""
    done = vm.txn_done_pages + counted
    # R-PG-CREDIT: the last part, or everything asked, ends the transaction; its pages
    # short of a whole 2 MiB unit stay hidden from the amount level
    finished = not more_pages or done >= vm.txn_pages
    nxt = attrs.evolve(
        vm,
        ballooned=vm.ballooned.union(credit),
        ballooned_count=vm.ballooned_count + counted,
        residue_pages=vm.residue_pages + (done % PAGES_PER_UNIT if finished else 0),
        txn=TxnKind.NONE if finished else TxnKind.BALLOON,
        txn_pages=0 if finished else vm.txn_pages,
        txn_done_pages=0 if finished else done,
    )
    return PageStepResult(state.with_vm(nxt, free_pages=state.free_pages + counted))


def process_page_balloon_response(state: PageState,
                                  event: PageBalloonResponse) -> PageStepResult:
    vm = _vm_in_txn(state, event.vm, TxnKind.BALLOON)
    if isinstance(vm, str):
        return _reject(state, AMOUNT, vm)
    # R-PG-RANGE: pages outside RAM or not backed are refused one by one (clamped, as QEMU
    # does), not the whole message: the good pages of the message are credited
    credit = compute_balloon_credit(vm, event.ranges)
    return apply_balloon_credit(state, vm, credit, credit.size, event.more_pages)


# --- unballoon -------------------------------------------------------------------------------


def process_page_unballoon_request(state: PageState,
                                   event: PageUnballoonRequest) -> PageStepResult:
    vm = _vm_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, AMOUNT, vm)
    listed = PageSet.from_ranges(event.ranges)
    pages = compute_listed_pages(event.ranges)
    # R-PG-UNIT: host requests move whole 2 MiB units
    if pages % PAGES_PER_UNIT:
        return _reject(state, "R-PG-UNIT", f"unballoon of {pages} pages is not a whole number "
                                           f"of 2 MiB units ({PAGES_PER_UNIT} pages)")
    # The amount level's request guards (R-REQUEST-1..4, R-UNBALLOON-REQUEST)
    reason = check_request(abstract_state(state), UnballoonRequest(vm.name,
                                                                   pages // PAGES_PER_MIB))
    if reason is not None:
        return _reject(state, AMOUNT, reason)
    reason = check_unballoon_pages(vm, event.ranges)
    if reason is not None:
        return _reject(state, "R-PG-UNBALLOON-EXACT", reason)
    nxt = attrs.evolve(vm, txn=TxnKind.UNBALLOON, txn_pages=pages, txn_done_pages=0,
                       txn_ranges=listed)
    return PageStepResult(state.with_vm(nxt, free_pages=state.free_pages - pages))


def check_unballoon_pages(vm: PageVm, ranges: tuple[PageRange, ...]) -> str | None:
    """Why ``ranges`` are not ballooned pages of ``vm`` each listed once, or None."""
    listed = PageSet.from_ranges(ranges)
    pages = compute_listed_pages(ranges)
    # R-PG-UNBALLOON-EXACT: no page is returned twice in one request
    if listed.size != pages:
        return f"the ranges list {pages - listed.size} pages twice"
    # R-PG-UNBALLOON-EXACT: only pages in the ballooned ledger are returned
    stray = listed.difference(vm.ballooned)
    if stray.intervals:
        return f"pages {_words(stray)} of {vm.name} are not ballooned"
    return None


def process_unballoon_response(state: PageState, event: UnballoonResponse) -> PageStepResult:
    vm = _vm_in_txn(state, event.vm, TxnKind.UNBALLOON)
    if isinstance(vm, str):
        return _reject(state, AMOUNT, vm)
    # R-PG-UNBALLOON-EXACT: exactly the pages sent leave the ledger
    returned = vm.txn_ranges
    # the counter drops by the pages asked back (the ranges list each once: the request's
    # guard), as the amount level's ballooned drops by the amount of the request
    nxt = attrs.evolve(vm, ballooned=vm.ballooned.difference(returned),
                       ballooned_count=vm.ballooned_count - vm.txn_pages, txn=TxnKind.NONE,
                       txn_pages=0, txn_ranges=PageSet())
    return PageStepResult(state.with_vm(nxt))


# --- hot-add ---------------------------------------------------------------------------------


def process_page_hot_add_request(state: PageState, event: PageHotAddRequest) -> PageStepResult:
    vm = _vm_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, AMOUNT, vm)
    region = event.region
    # R-PG-UNIT: a region is whole, aligned 2 MiB units
    if region.start % PAGES_PER_UNIT or region.count % PAGES_PER_UNIT:
        return _reject(state, "R-PG-UNIT", f"region {_words_range(region)} is not whole, "
                                           f"aligned 2 MiB units")
    # R-HOT-ADD-ALIGN at the page level: the region starts on the guest's alignment too (its
    # size is the amount level's guard, below)
    if region.start % (vm.hot_add_align_mib * PAGES_PER_MIB):
        return _reject(state, "R-HOT-ADD-ALIGN",
                       f"region {_words_range(region)} does not start on the "
                       f"{vm.hot_add_align_mib} MiB alignment {vm.name}'s guest advertised")
    # The amount level's request guards (R-REQUEST-1..4, R-HOT-ADD-REQUEST, R-HOT-ADD-ALIGN)
    reason = check_request(abstract_state(state),
                           HotAddRequest(vm.name, region.count // PAGES_PER_MIB))
    if reason is not None:
        return _reject(state, AMOUNT, reason)
    # R-PG-HOT-ADD-CREDIT: a shortfall of part of a unit disabled hot-add as well
    if not vm.hot_add_enabled:
        return _reject(state, "R-PG-HOT-ADD-CREDIT",
                       f"hot-add is disabled for {vm.name}: its last hot-add fell short")
    reason = check_region(vm, region)
    if reason is not None:
        return _reject(state, "R-PG-HOT-ADD-DISJOINT", reason)
    wanted = PageSet.from_ranges([region])
    nxt = attrs.evolve(vm, txn=TxnKind.HOT_ADD, txn_pages=region.count, txn_done_pages=0,
                       txn_ranges=wanted)
    return PageStepResult(state.with_vm(nxt, free_pages=state.free_pages - region.count))


def check_region(vm: PageVm, region: PageRange) -> str | None:
    """Why ``region`` overlaps what ``vm`` was handed out, or None."""
    # R-PG-HOT-ADD-DISJOINT: a region never overlaps the address space already handed out
    overlap = PageSet.from_ranges([region]).intersection(vm.regions)
    if overlap.intervals:
        return f"region overlaps {vm.name}'s memory at pages {_words(overlap)}"
    return None


def process_page_hot_add_response(state: PageState, event: PageHotAddResponse) -> PageStepResult:
    vm = _vm_in_txn(state, event.vm, TxnKind.HOT_ADD)
    if isinstance(vm, str):
        return _reject(state, AMOUNT, vm)
    # R-PG-HOT-ADD-CREDIT: exactly the pages added (clamped to the region) become RAM; the
    # rest of their last 2 MiB unit stays charged (stranded) and whole units are released
    added = min(event.pages, vm.txn_pages) if event.success else 0
    charged = -(-added // PAGES_PER_UNIT) * PAGES_PER_UNIT
    start = vm.txn_ranges.intervals[0][0]
    partial = event.success and added < vm.txn_pages
    nxt = attrs.evolve(
        vm,
        # a transient failure leaves the region unused (it may be retried); any success
        # uses it up, added or not
        regions=vm.regions.union(vm.txn_ranges) if event.success else vm.regions,
        ram=vm.ram.union(PageSet.from_intervals([(start, start + added)])),
        stranded_pages=vm.stranded_pages + charged - added,
        hot_add_enabled=vm.hot_add_enabled and not partial,
        short_by_part_of_unit=vm.short_by_part_of_unit or (partial and charged == vm.txn_pages),
        txn=TxnKind.NONE, txn_pages=0, txn_ranges=PageSet(),
    )
    released = vm.txn_pages - charged
    return PageStepResult(state.with_vm(nxt, free_pages=state.free_pages + released))


def _words(pages: PageSet) -> str:
    return ", ".join(f"{start:#x}-{end - 1:#x}" for start, end in pages.intervals[:3])


def _words_range(region: PageRange) -> str:
    return f"{region.start:#x}+{region.count}"


PageProcessor = Callable[[PageState, Any], PageStepResult]
PageStep = Callable[[PageState, PageEvent], PageStepResult]

_PAGE_PROCESSORS: dict[type, PageProcessor] = {
    BalloonRequest: process_balloon_request,
    PageBalloonResponse: process_page_balloon_response,
    PageUnballoonRequest: process_page_unballoon_request,
    UnballoonResponse: process_unballoon_response,
    PageHotAddRequest: process_page_hot_add_request,
    PageHotAddResponse: process_page_hot_add_response,
}


def make_page_step(overrides: dict[type, PageProcessor] | None = None) -> PageStep:
    """A ``page_step`` with some processors replaced (planted bugs); pure too."""
    table = {**_PAGE_PROCESSORS, **(overrides or {})}

    def patched(state: PageState, event: PageEvent) -> PageStepResult:
        return table[type(event)](state, event)

    return patched


def page_step(state: PageState, event: PageEvent) -> PageStepResult:
    """Apply the page-level ``event`` to ``state``: a flat dispatch over event kinds.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.pages.state import initial_page_state
    >>> s = initial_page_state(HostSettings(8192, 1024), (("a", VmSettings(True, 1024)),),
    ...                        ram_mib={"a": 2048})
    >>> s = page_step(s, BalloonRequest("a", 2)).state
    >>> twice = (PageRange(0x1200, 512), PageRange(0x1200, 512))  # the same 2 MiB twice
    >>> s = page_step(s, PageBalloonResponse("a", twice)).state
    >>> s.vms[0].ballooned.size
    512
    """
    return _PAGE_PROCESSORS[type(event)](state, event)
