"""The abstraction function: a page-level state seen at the amount level (specs/pages.md §5).

``abstract_state`` maps a :class:`PageState` to today's :class:`DmState` in MiB. Every VM is
running with a READY channel that reported both capabilities (the part of a session the
page layer covers). The amount level counts whole 2 MiB units, so:

- visible = charged pages (RAM plus stranded pages) / 256: always whole units;
- ballooned = (ledger pages − hidden pages) / 256, where hidden pages are the sub-unit parts
  of balloon transactions (``PageVm.hidden_pages``): the amount level sees the floor, in
  whole units, of what each transaction credited;
- free = (free pages − Σ hidden pages) / 256: the hidden pages are free at page level and
  still assigned at the amount level. The amount level therefore never sees more free memory
  than there is, so its no-overcommit guarantee carries over to pages.
"""

from __future__ import annotations

from dynmem.model.vocabulary import VERSION_WIN10, Channel, Power, TxnKind
from dynmem.reference.pages.ranges import PAGES_PER_MIB, compute_mib_floor_unit
from dynmem.reference.pages.state import PageState, PageVm
from dynmem.reference.state import DmState, Vm


def _exact_mib(pages: int, what: str) -> int:
    # The abstraction is defined only where the amounts are whole MiB (PINV-ABSTRACT).
    if pages % PAGES_PER_MIB:
        raise ValueError(f"{what} = {pages} pages is not a whole number of MiB")
    return pages // PAGES_PER_MIB


def abstract_vm(vm: PageVm) -> Vm:
    """``vm`` at the amount level (see the module docstring)."""
    balloon = vm.txn == TxnKind.BALLOON
    return Vm(
        name=vm.name, settings=vm.settings, power=Power.RUNNING,
        visible_mib=_exact_mib(vm.charged_pages, f"{vm.name} charged"),
        ballooned_mib=_exact_mib(vm.ballooned.size - vm.hidden_pages,
                                 f"{vm.name} ballooned minus hidden"),
        channel=Channel.READY, protocol_version=VERSION_WIN10,
        cap_balloon=True, cap_hot_add=True,
        # a shortfall of part of a unit is a full success for whole units
        hot_add_enabled=vm.hot_add_enabled or vm.short_by_part_of_unit,
        txn=vm.txn,
        txn_mib=_exact_mib(vm.txn_pages, f"{vm.name} requested"),
        txn_done_mib=compute_mib_floor_unit(vm.txn_done_pages) if balloon else 0,
        hot_add_align_mib=vm.hot_add_align_mib,
    )


def abstract_state(state: PageState) -> DmState:
    """``state`` at the amount level; ValueError where an amount is not whole MiB.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.pages.state import initial_page_state
    >>> s = initial_page_state(HostSettings(8192, 1024), (("a", VmSettings(True, 1024)),))
    >>> a = abstract_state(s)
    >>> a.free_mib, a.vms[0].assigned_mib
    (6144, 1024)
    """
    hidden = sum(vm.hidden_pages for vm in state.vms)
    return DmState(host=state.host,
                   free_mib=_exact_mib(state.free_pages - hidden, "free minus hidden"),
                   vms=tuple(abstract_vm(vm) for vm in state.vms))
