"""Planted bugs of the page layer: hosts that mishandle bad pages (specs/pages.md §9).

Each :class:`PageMutant` is one bug in two forms: ``overrides`` patch the page reference's
processors (for the random runs of verification/stateful/pages.py), and ``twin`` is the same
bug in the host rule ``twin_of`` over the operator layer (``reference/pages/bitmap.py``: for
the small-scope Z3 check of verification/symbolic/pages.py). Tests check that both forms
agree on small states (the credit in full, the unballoon and hot-add guards), so the two
engines catch the same bug. ``breaks`` names the page invariants it may break; each engine
must report at least one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from dynmem.model.ops import Ops, Term
from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB, TxnKind
from dynmem.reference.events import UnballoonRequest
from dynmem.reference.pages.abstraction import abstract_state
from dynmem.reference.pages.bitmap import (
    BIT_UNIT,
    BitMessage,
    BitRange,
    BitStep,
    PageBits,
    VmBits,
    apply_credit_bits,
    credit_bits,
    credit_step,
    hot_add_region_fits,
    hot_add_request_effect,
    listed_bits,
    lowest_bits,
    unballoon_effect,
)
from dynmem.reference.pages.events import (
    PageBalloonResponse,
    PageHotAddRequest,
    PageUnballoonRequest,
)
from dynmem.reference.pages.ranges import (
    PAGES_PER_MIB,
    PAGES_PER_UNIT,
    PageSet,
    compute_listed_pages,
)
from dynmem.reference.pages.state import PageState
from dynmem.reference.pages.step import (
    PageProcessor,
    PageStep,
    PageStepResult,
    apply_balloon_credit,
    compute_balloon_credit,
    make_page_step,
    page_step,
)
from dynmem.reference.step import check_request


@attrs.frozen
class PageMutant:
    """A planted page-layer bug: its name, what it does, its two forms, what it breaks."""

    name: str
    description: str
    overrides: dict[type, PageProcessor]
    twin_of: str | None  # None: no bit-level twin (a bug that breaks no page invariant)
    twin: BitStep | None
    breaks: tuple[str, ...]

    @property
    def step(self) -> PageStep:
        return make_page_step(self.overrides)


def _balloon_vm_or_refusal(state: PageState, event: PageBalloonResponse) -> PageStepResult | None:
    vm = state.get_vm(event.vm)
    if vm is None or vm.txn != TxnKind.BALLOON:
        return page_step(state, event)  # the honest refusal
    return None


# --- credits duplicate pages by count -------------------------------------------------------


def _count_listings(state: PageState, event: PageBalloonResponse) -> PageStepResult:
    """Credits each range's backed pages separately: a page listed twice counts twice."""
    refusal = _balloon_vm_or_refusal(state, event)
    if refusal is not None:
        return refusal
    vm = state.get_vm(event.vm)
    assert vm is not None
    outstanding = vm.txn_pages - vm.txn_done_pages
    backed = [PageSet.from_ranges([r]).intersection(vm.ram).difference(vm.ballooned)
              for r in event.ranges]
    credit = PageSet.from_intervals(i for b in backed for i in b.intervals)
    counted = min(sum(b.size for b in backed), outstanding)
    return apply_balloon_credit(state, vm, credit.take_lowest(outstanding), counted,
                                event.more_pages)


def _count_listings_bits(ops: Ops, vm: VmBits, ranges: Sequence[BitRange],
                         outstanding: Term) -> tuple[VmBits, Term]:
    honest, _ = credit_bits(ops, vm, ranges, outstanding)
    credit = [ops.And(n, ops.Not(b)) for n, b in zip(honest.ballooned, vm.ballooned,
                                                     strict=True)]
    per_range = ops.Sum(ops.If(ops.And(li, r, ops.Not(b)), 1, 0)
                        for start, count in ranges
                        for li, r, b in zip(listed_bits(ops, len(vm.ram), [(start, count)]),
                                            vm.ram, vm.ballooned, strict=True))
    return apply_credit_bits(ops, vm, credit, ops.Min(per_range, outstanding))


# --- accepts pages outside RAM ---------------------------------------------------------------


def _accept_outside_ram(state: PageState, event: PageBalloonResponse) -> PageStepResult:
    """Credits every listed page not yet ballooned, in RAM or not."""
    refusal = _balloon_vm_or_refusal(state, event)
    if refusal is not None:
        return refusal
    vm = state.get_vm(event.vm)
    assert vm is not None
    credit = PageSet.from_ranges(event.ranges).difference(vm.ballooned)
    credit = credit.take_lowest(vm.txn_pages - vm.txn_done_pages)
    return apply_balloon_credit(state, vm, credit, credit.size, event.more_pages)


def _accept_outside_ram_bits(ops: Ops, vm: VmBits, ranges: Sequence[BitRange],
                             outstanding: Term) -> tuple[VmBits, Term]:
    listed = listed_bits(ops, len(vm.ram), ranges)
    credit = lowest_bits(ops, [ops.And(li, ops.Not(b)) for li, b in zip(listed, vm.ballooned,
                                                                       strict=True)],
                         outstanding)
    return apply_credit_bits(ops, vm, credit, ops.Sum(ops.If(c, 1, 0) for c in credit))


# --- unballoons pages that are not ballooned --------------------------------------------------


def _unballoon_unchecked(state: PageState, event: PageUnballoonRequest) -> PageStepResult:
    """Checks only the amount level's guards: listed pages need not be ballooned, nor
    listed once."""
    vm = state.get_vm(event.vm)
    pages = compute_listed_pages(event.ranges)
    if vm is None or pages % PAGES_PER_MIB or check_request(
            abstract_state(state), UnballoonRequest(event.vm, pages // PAGES_PER_MIB)):
        return page_step(state, event)  # the honest refusal
    nxt = attrs.evolve(vm, txn=TxnKind.UNBALLOON, txn_pages=pages, txn_done_pages=0,
                       txn_ranges=PageSet.from_ranges(event.ranges))
    return PageStepResult(state.with_vm(nxt, free_pages=state.free_pages - pages))


def _unballoon_unchecked_bits(ops: Ops, bits: PageBits,
                              msg: BitMessage) -> tuple[Term, PageBits]:
    listed = listed_bits(ops, len(bits.vms[msg.vm].ram), msg.ranges)
    asked = ops.Sum(n for _, n in msg.ranges)
    # the amount level's guards only: no other transaction, the pages free
    guard = ops.And(ops.Not(bits.vms[msg.vm].hot_add), asked <= bits.free)
    return guard, unballoon_effect(ops, bits, msg.vm, listed, asked)


# --- hot-adds a region overlapping RAM --------------------------------------------------------


def _hot_add_overlapping(state: PageState, event: PageHotAddRequest) -> PageStepResult:
    """Checks every guard but the region's disjointness (the honest host's last guard, so
    its refusal by R-PG-HOT-ADD-DISJOINT means every other guard passed; an earlier form
    skipped R-HOT-ADD-ALIGN and the disabled hot-add of R-PG-HOT-ADD-CREDIT too, which the
    page walk met first)."""
    honest = page_step(state, event)
    vm = state.get_vm(event.vm)
    if honest.rule != "R-PG-HOT-ADD-DISJOINT" or vm is None:
        return honest
    region = event.region
    nxt = attrs.evolve(vm, txn=TxnKind.HOT_ADD, txn_pages=region.count, txn_done_pages=0,
                       txn_ranges=PageSet.from_ranges([region]))
    return PageStepResult(state.with_vm(nxt, free_pages=state.free_pages - region.count))


def _hot_add_overlapping_bits(ops: Ops, bits: PageBits,
                              msg: BitMessage) -> tuple[Term, PageBits]:
    vm = bits.vms[msg.vm]
    start, count = msg.ranges[0]
    guard = ops.And(ops.Not(vm.hot_add), start % vm.align == 0, count % vm.align == 0,
                    count > 0, start + count <= len(vm.ram), count <= bits.free)
    return guard, hot_add_request_effect(ops, bits, msg)


# --- hot-adds a region the guest's alignment does not allow ----------------------------------


def _hot_add_unaligned(state: PageState, event: PageHotAddRequest) -> PageStepResult:
    """Checks every guard but the guest's alignment (R-HOT-ADD-ALIGN): a region of whole
    2 MiB units (R-PG-UNIT) may start anywhere and have any size, as a host that never read
    the capabilities report's alignment would send."""
    vm = state.get_vm(event.vm)
    if vm is None:
        return page_step(state, event)
    forgetful = state.with_vm(attrs.evolve(vm, hot_add_align_mib=DEFAULT_HOT_ADD_ALIGN_MIB))
    result = page_step(forgetful, event)
    if not result.accepted:
        return PageStepResult(state, result.reason, result.rule)
    nxt = result.state.get_vm(vm.name)
    assert nxt is not None
    return PageStepResult(result.state.with_vm(attrs.evolve(
        nxt, hot_add_align_mib=vm.hot_add_align_mib)))


def _hot_add_unaligned_bits(ops: Ops, bits: PageBits, msg: BitMessage) -> tuple[Term, PageBits]:
    start, count = msg.ranges[0]
    guard = ops.And(start % BIT_UNIT == 0, count % BIT_UNIT == 0,
                    hot_add_region_fits(ops, bits, msg))
    return guard, hot_add_request_effect(ops, bits, msg)


# --- rounds each part down to whole 2 MiB units -----------------------------------------------


def _round_parts_to_units(state: PageState, event: PageBalloonResponse) -> PageStepResult:
    """Credits each part's pages rounded down to whole 2 MiB units, dropping the rest: the
    amount level's rounding kept in a page host. A part of the 4 KiB fallback (fewer than
    512 pages) is credited nothing; the guest no longer uses its pages."""
    refusal = _balloon_vm_or_refusal(state, event)
    if refusal is not None:
        return refusal
    vm = state.get_vm(event.vm)
    assert vm is not None
    credit = compute_balloon_credit(vm, event.ranges)
    kept = credit.take_lowest(credit.size - credit.size % PAGES_PER_UNIT)
    return apply_balloon_credit(state, vm, kept, kept.size, event.more_pages)


PAGE_MUTANTS: tuple[PageMutant, ...] = (
    PageMutant("credit-duplicate-pages-by-count",
               "the host credits each listed range on its own, so a page listed twice is "
               "credited twice (a count-based host)",
               {PageBalloonResponse: _count_listings}, "balloon credit",
               credit_step(_count_listings_bits),
               ("PINV-ONCE", "PINV-LEDGER")),
    PageMutant("accept-pages-outside-ram",
               "the host credits pages outside the guest's RAM (beyond it, or in a hot-add "
               "region not yet added)",
               {PageBalloonResponse: _accept_outside_ram}, "balloon credit",
               credit_step(_accept_outside_ram_bits),
               ("PINV-RAM", "PINV-LEDGER")),
    PageMutant("unballoon-pages-not-ballooned",
               "the host's unballoon lists pages that are not ballooned, or a page twice "
               "(R-PG-UNBALLOON-EXACT skipped)",
               {PageUnballoonRequest: _unballoon_unchecked}, "unballoon",
               _unballoon_unchecked_bits, ("PINV-RAM", "PINV-ONCE", "PINV-LEDGER")),
    PageMutant("hot-add-overlapping-ram",
               "the host hot-adds a region that overlaps the VM's RAM (R-PG-HOT-ADD-DISJOINT "
               "skipped)",
               {PageHotAddRequest: _hot_add_overlapping}, "hot-add request",
               _hot_add_overlapping_bits, ("PINV-LEDGER", "PINV-EXTENT")),
    PageMutant("hot-add-ignoring-alignment",
               "the host hot-adds whole 2 MiB units anywhere, ignoring the alignment the "
               "guest advertised (R-HOT-ADD-ALIGN skipped at both levels)",
               {PageHotAddRequest: _hot_add_unaligned}, "hot-add request",
               _hot_add_unaligned_bits, ("PINV-ALIGNED",)),
)

# Bugs that keep every page invariant and the refinement: only the check that an honest
# answer is credited exactly (R-PG-CREDIT, reference/pages/honest.py) sees them, so they have
# no bit-level twin (the Z3 check and BMC prove invariants); exploration, the random page
# runs and the oracle catch them.
EXACT_CREDIT_MUTANTS: tuple[PageMutant, ...] = (
    PageMutant("round-parts-to-units",
               "the host credits each balloon part rounded down to whole 2 MiB units and "
               "drops the rest, so the Linux guest's 4 KiB fallback parts are lost",
               {PageBalloonResponse: _round_parts_to_units}, None, None, ("R-PG-CREDIT",)),
)

# The bugs of the balloon credit (their Z3 counterexamples replay in the page reference).
CREDIT_MUTANTS = tuple(m for m in PAGE_MUTANTS if m.twin_of == "balloon credit")

ALL_PAGE_MUTANTS = PAGE_MUTANTS + EXACT_CREDIT_MUTANTS
PAGE_MUTANTS_BY_NAME = {m.name: m for m in ALL_PAGE_MUTANTS}
