"""The page-level state: per VM, its RAM extent and the host's ledger of ballooned pages
(specs/pages.md §2).

The page layer covers the memory-moving part of a connected session: every VM runs with a
READY channel that reported both capabilities. What a VM owns is counted in 4 KiB pages;
the settings stay in MiB (``VmSettings``). Sets of pages are :class:`PageSet` values.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB, HOT_ADD_ALIGNMENTS_MIB, TxnKind
from dynmem.reference.pages.ranges import PAGES_PER_MIB, PAGES_PER_UNIT, PageSet
from dynmem.reference.settings import HostSettings, VmSettings


def _nonneg(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    # TypeOK: a page count is an int >= 0
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"'{attribute.name}' must be an int >= 0, got {value!r}")


@attrs.frozen(cache_hash=True)
class PageVm:
    """One running VM at page level.

    ``regions`` is the guest-physical address space the host has handed out (the startup
    region and every answered hot-add region, whole); ``ram`` the pages of it the guest has
    online; ``stranded_pages`` the pages the host still charges to the VM in the last 2 MiB
    unit of a partially added region. ``ballooned`` is the host's ledger of pages the guest
    handed back, ``ballooned_count`` its running counter (QEMU's ``removed_*_ctr``).
    ``residue_pages`` counts ballooned pages of finished transactions that the amount level
    cannot see (the sub-2 MiB part of each one). ``txn_pages`` is the amount requested,
    ``txn_done_pages`` the balloon pages credited so far, ``txn_ranges`` the unballoon
    ranges or the hot-add region in flight.
    """

    name: str
    settings: VmSettings
    regions: PageSet = PageSet()
    ram: PageSet = PageSet()
    stranded_pages: int = attrs.field(default=0, validator=_nonneg)
    ballooned: PageSet = PageSet()
    ballooned_count: int = attrs.field(default=0, validator=_nonneg)
    residue_pages: int = attrs.field(default=0, validator=_nonneg)
    hot_add_enabled: bool = True
    # Hot-add was disabled by a shortfall of less than one 2 MiB unit (the amount level,
    # which counts whole units, sees a full success).
    short_by_part_of_unit: bool = False
    txn: TxnKind = TxnKind.NONE
    txn_pages: int = attrs.field(default=0, validator=_nonneg)
    txn_done_pages: int = attrs.field(default=0, validator=_nonneg)
    txn_ranges: PageSet = PageSet()
    # The hot-add alignment the guest advertised, at least 2 MiB (R-HOT-ADD-ALIGN): part of
    # the session's channel state, as at the amount level.
    hot_add_align_mib: int = attrs.field(default=DEFAULT_HOT_ADD_ALIGN_MIB,
                                         validator=attrs.validators.in_(HOT_ADD_ALIGNMENTS_MIB))

    @property
    def charged_pages(self) -> int:
        """Pages the host backs for the VM's address space: RAM plus stranded pages."""
        return self.ram.size + self.stranded_pages

    @property
    def assigned_pages(self) -> int:
        """Host pages backing the VM: charged minus the pages in the ballooned ledger."""
        return self.charged_pages - self.ballooned.size

    @property
    def in_flight_pages(self) -> int:
        """Pages taken from free for an unballoon or hot-add not yet answered."""
        return self.txn_pages if self.txn in (TxnKind.HOT_ADD, TxnKind.UNBALLOON) else 0

    @property
    def hidden_pages(self) -> int:
        """Ballooned pages the amount level does not see: finished residues plus the part of
        the balloon in flight short of a whole 2 MiB unit."""
        part = self.txn_done_pages % PAGES_PER_UNIT if self.txn == TxnKind.BALLOON else 0
        return self.residue_pages + part


@attrs.frozen(cache_hash=True)
class PageState:
    """The host (settings in MiB), its free-page ledger and the running VMs in order."""

    host: HostSettings
    free_pages: int
    vms: tuple[PageVm, ...] = ()

    def get_vm(self, name: str) -> PageVm | None:
        for vm in self.vms:
            if vm.name == name:
                return vm
        return None

    def with_vm(self, vm: PageVm, free_pages: int | None = None) -> PageState:
        """This state with the VM of the same name replaced (and free pages set if given)."""
        return PageState(self.host, self.free_pages if free_pages is None else free_pages,
                         tuple(vm if v.name == vm.name else v for v in self.vms))


def initial_page_state(host: HostSettings, vms: tuple[tuple[str, VmSettings], ...] = (),
                       ram_mib: Mapping[str, int] | None = None) -> PageState:
    """Every listed VM running with pages ``0 .. RAM`` online: its startup, or ``ram_mib``
    of it (as a VM that arrived by migration with that much, R-MIGRATE-IN).

    Examples
    --------
    >>> s = initial_page_state(HostSettings(8192, 1024), (("a", VmSettings(True, 1024)),))
    >>> s.free_pages // PAGES_PER_MIB, s.vms[0].ram.intervals
    (6144, ((0, 262144),))
    """
    running = []
    for name, settings in vms:
        mib = (ram_mib or {}).get(name, settings.startup_mib)
        # the amount level's rule for an arrival: whole units within startup..maximum
        if mib % 2 or not settings.startup_mib <= mib <= settings.maximum_mib:
            raise ValueError(f"ram_mib[{name!r}] = {mib} must be a multiple of 2 in "
                             f"{settings.startup_mib}..{settings.maximum_mib}")
        ram = PageSet.from_intervals([(0, mib * PAGES_PER_MIB)])
        running.append(PageVm(name=name, settings=settings, regions=ram, ram=ram))
    used = sum(vm.charged_pages for vm in running)
    free = (host.physical_mib - host.reserve_mib) * PAGES_PER_MIB - used
    return PageState(host=host, free_pages=free, vms=tuple(running))
