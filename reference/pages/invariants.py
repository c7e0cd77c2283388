"""The page-level invariants: a registry of named conjuncts, checked on every page state
(specs/pages.md §6).

They are exact in pages, where the amount level's invariants hold only on the abstraction.
Ids are ``PINV-…`` (the amount level's ``INV-…`` registry is model/invariants.py).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.pages.ranges import PAGES_PER_MIB, PAGES_PER_UNIT, PageSet
from dynmem.reference.pages.state import PageState, PageVm


@attrs.frozen
class PageInvariant:
    """One registry entry: id, name, the statement of specs/pages.md and its check."""

    id: str
    name: str
    statement: str
    holds: Callable[[PageState], bool]


def _each(check: Callable[[PageVm], bool]) -> Callable[[PageState], bool]:
    return lambda state: all(check(vm) for vm in state.vms)


def _used_pages(state: PageState) -> int:
    """Reserve plus what every VM owns: the RAM pages not ballooned, stranded pages and pages
    in flight (RAM minus ballooned equals the assigned pages under PINV-RAM)."""
    reserve = state.host.reserve_mib * PAGES_PER_MIB
    return reserve + sum(vm.ram.difference(vm.ballooned).size + vm.stranded_pages
                         + vm.in_flight_pages for vm in state.vms)


def _ledger_agrees(state: PageState) -> bool:
    return state.free_pages + _used_pages(state) == state.host.physical_mib * PAGES_PER_MIB


def _ballooned_in_ram(vm: PageVm) -> bool:
    unballooning = vm.txn_ranges if vm.txn == TxnKind.UNBALLOON else vm.ballooned
    return vm.ram.contains(vm.ballooned) and vm.ballooned.contains(unballooning)


def _within_regions(vm: PageVm) -> bool:
    in_flight = vm.txn_ranges if vm.txn == TxnKind.HOT_ADD else PageSet()
    return (vm.regions.contains(vm.ram) and vm.charged_pages <= vm.regions.size
            and not in_flight.intersection(vm.regions).intervals)


def _hot_add_aligned(vm: PageVm) -> bool:
    if vm.txn != TxnKind.HOT_ADD:
        return True
    align = vm.hot_add_align_mib * PAGES_PER_MIB
    return all(start % align == 0 for start, _ in vm.txn_ranges.intervals[:1]) \
        and vm.txn_pages % align == 0


def _whole_units(vm: PageVm) -> bool:
    seen = vm.ballooned.size - vm.hidden_pages
    return (seen >= 0 and seen % PAGES_PER_UNIT == 0 and vm.charged_pages % PAGES_PER_UNIT == 0
            and vm.txn_pages % PAGES_PER_UNIT == 0)


PAGE_INVARIANTS: tuple[PageInvariant, ...] = (
    PageInvariant("PINV-ONCE", "each_ballooned_page_counted_once",
                  "the host's ballooned counter of a VM equals the pages in its ledger: no page "
                  "is credited twice",
                  _each(lambda vm: vm.ballooned_count == vm.ballooned.size)),
    PageInvariant("PINV-LEDGER", "free_ledger_matches_ballooned_ranges",
                  "free pages + reserve + Σ(RAM pages not ballooned + stranded + in flight) = "
                  "physical: the free ledger is exactly what the union of ballooned ranges freed",
                  _ledger_agrees),
    PageInvariant("PINV-RAM", "ballooned_pages_in_ram",
                  "every ballooned page is in the VM's RAM (so credited pages ≤ RAM pages), and "
                  "an unballoon in flight returns ballooned pages only",
                  _each(_ballooned_in_ram)),
    PageInvariant("PINV-PHYSICAL", "no_overcommit_in_pages",
                  "reserve + Σ(RAM pages not ballooned + stranded + in flight) ≤ physical pages",
                  lambda s: _used_pages(s) <= s.host.physical_mib * PAGES_PER_MIB),
    PageInvariant("PINV-EXTENT", "ram_within_regions",
                  "RAM lies within the regions handed out, the pages charged do not exceed "
                  "them, and a hot-add region in flight shares no page with them",
                  _each(_within_regions)),
    PageInvariant("PINV-ALIGNED", "hot_add_region_aligned",
                  "a hot-add region in flight starts on, and spans whole blocks of, the "
                  "alignment the guest advertised",
                  _each(_hot_add_aligned)),
    PageInvariant("PINV-FLOOR", "assigned_pages_at_least_startup",
                  "a VM's assigned pages never fall below its startup in pages",
                  _each(lambda vm: vm.assigned_pages >= vm.settings.startup_mib * PAGES_PER_MIB)),
    PageInvariant("PINV-ABSTRACT", "amounts_in_whole_units",
                  "charged pages, requests and ledger pages minus hidden pages are whole 2 MiB "
                  "units, so the abstraction is defined",
                  _each(_whole_units)),
)


def get_page_violations(state: PageState) -> tuple[str, ...]:
    """The ids of the page invariants ``state`` breaks, in registry order."""
    return tuple(inv.id for inv in PAGE_INVARIANTS if not inv.holds(state))
