"""What a page-level walk runs over: a host, several running VMs with real sizes, and the
sizes of the host's requests (specs/pages.md §7).

The page explorer's scope is one VM of a few MiB; the page state is interval-based, so a
walk can afford VMs of hundreds of MiB to GiB. Each VM starts online with more than its
startup (so the host can balloon it at once) and some advertise the Linux guest's 128 MiB
memory-block alignment (R-HOT-ADD-ALIGN), so hot-adds of 2 MiB are refused there and whole
blocks are not.
"""

from __future__ import annotations

import attrs

from dynmem.reference.pages import PageState, initial_page_state
from dynmem.reference.settings import HostSettings, VmSettings

__all__ = ["PAGES_2VM", "PAGES_4VM", "PAGE_WALK_PRESETS", "PageVmSpec", "PageWalkSpace"]


@attrs.frozen
class PageVmSpec:
    """One VM: its settings, the MiB it starts with online and its guest's hot-add
    alignment in MiB."""

    name: str
    settings: VmSettings
    ram_mib: int
    align_mib: int = 2


@attrs.frozen
class PageWalkSpace:
    """A host, its running VMs and the sizes (MiB) the host's requests are drawn from."""

    name: str
    host: HostSettings
    vms: tuple[PageVmSpec, ...]
    balloon_mib: tuple[int, ...]
    unballoon_mib: tuple[int, ...]
    hot_add_mib: tuple[int, ...]

    def initial(self) -> PageState:
        """Every VM running with ``ram_mib`` online from page 0, nothing ballooned."""
        state = initial_page_state(self.host, tuple((v.name, v.settings) for v in self.vms),
                                   ram_mib={v.name: v.ram_mib for v in self.vms})
        aligned = {v.name: v.align_mib for v in self.vms}
        return attrs.evolve(state, vms=tuple(
            attrs.evolve(vm, hot_add_align_mib=aligned[vm.name]) for vm in state.vms))


def _vm(name: str, startup: int, maximum: int, ram: int, align: int = 2) -> PageVmSpec:
    return PageVmSpec(name, VmSettings(dynamic=True, startup_mib=startup, maximum_mib=maximum),
                      ram, align)


# Two VMs on a 4 GiB host with 1 GiB free: one with 2 MiB hot-adds, one a Linux-style guest
# with 128 MiB blocks. Balloons of 2 MiB to 256 MiB, so a 4 KiB fallback answer (510
# pages) is a small part of one; hot-adds up to 256 MiB, so free memory binds.
PAGES_2VM = PageWalkSpace(
    name="pages-2vm",
    host=HostSettings(physical_mib=4096, reserve_mib=512),
    vms=(_vm("a", 512, 2048, 1024), _vm("b", 1024, 3072, 1536, align=128)),
    balloon_mib=(2, 64, 256), unballoon_mib=(2, 64, 256), hot_add_mib=(2, 128, 256),
)

# Four VMs on a 16 GiB host with 7.5 GiB free, sizes from 256 MiB to 8 GiB.
PAGES_4VM = PageWalkSpace(
    name="pages-4vm",
    host=HostSettings(physical_mib=16384, reserve_mib=1024),
    vms=(_vm("sql", 2048, 8192, 4096, align=128), _vm("web", 512, 2048, 1024),
         _vm("cache", 1024, 4096, 2048, align=128), _vm("dev", 256, 1024, 512)),
    balloon_mib=(2, 64, 256, 1024), unballoon_mib=(2, 64, 256, 1024),
    hot_add_mib=(2, 128, 512),
)

PAGE_WALK_PRESETS: dict[str, PageWalkSpace] = {s.name: s for s in (PAGES_2VM, PAGES_4VM)}
