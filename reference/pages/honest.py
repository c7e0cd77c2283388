"""What an honest guest's balloon answer must earn (specs/pages.md §4, R-PG-CREDIT).

The page invariants say the host's ledger is consistent; they cannot say it is complete. A
host that rounds a part down to whole 2 MiB units and drops the rest (the amount level's
rounding, applied to pages) keeps every invariant and refines the amount level, yet the
pages a Linux guest gave under fragmentation (its 4 KiB fallback: parts smaller than 2 MiB,
scattered single-page ranges) are lost to its ledger. This check states the other half of
R-PG-CREDIT on every step: an honest answer is accepted and credited exactly.
"""

from __future__ import annotations

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.pages.events import PageBalloonResponse, PageEvent
from dynmem.reference.pages.ranges import PageRange, PageSet, compute_listed_pages
from dynmem.reference.pages.state import PageState, PageVm
from dynmem.reference.pages.step import PageStepResult

__all__ = ["check_honest_credit", "is_honest_answer"]


def is_honest_answer(vm: PageVm, ranges: tuple[PageRange, ...]) -> bool:
    """Whether ``ranges`` answer ``vm``'s balloon in flight honestly: each page listed once,
    in RAM and not already ballooned, and no more pages than are outstanding. Any split into
    parts and ranges is honest: whole 2 MiB units, or the 4 KiB fallback's single pages."""
    listed = PageSet.from_ranges(ranges)
    return (vm.txn == TxnKind.BALLOON and listed.size == compute_listed_pages(ranges)
            and vm.ram.contains(listed) and listed.is_disjoint(vm.ballooned)
            and listed.size <= vm.txn_pages - vm.txn_done_pages)


def check_honest_credit(pre: PageState, event: PageEvent, result: PageStepResult) -> str | None:
    """Why the step fails R-PG-CREDIT on an honest answer (it must be accepted, and the
    ledger, the counter and free memory must grow by exactly the pages listed), or None."""
    if not isinstance(event, PageBalloonResponse):
        return None
    vm = pre.get_vm(event.vm)
    if vm is None or not is_honest_answer(vm, event.ranges):
        return None
    given = PageSet.from_ranges(event.ranges)
    if not result.accepted:
        return f"R-PG-CREDIT: an honest answer of {given.size} pages was refused"
    post = result.state.get_vm(event.vm)
    assert post is not None  # a balloon response never removes a VM
    credited = post.ballooned.difference(vm.ballooned)
    counted = post.ballooned_count - vm.ballooned_count
    freed = result.state.free_pages - pre.free_pages
    if credited != given or counted != given.size or freed != given.size:
        return (f"R-PG-CREDIT: an honest answer of {given.size} pages was credited "
                f"{credited.size} pages to the ledger, {counted} to the counter and {freed} to "
                f"free memory")
    return None
