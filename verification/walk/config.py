"""What a random walk runs over: a host, its VMs and the environment's value choices.

``WalkSpace`` is the shape the walk reads; the explorer's presets (``ExploreConfig``) have it,
so ``dynmem fuzz --engine walk --preset 2vm`` walks exactly the model the explorer searches.
``REAL_8VM`` is a real-sized configuration the explorer cannot search: eight VMs with GiB
sizes on a 64 GiB host, demands that swing across the whole range.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from dynmem.reference.conventions import GUEST_OS_LINUX
from dynmem.reference.environment import GuestProfile
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.verification.mutants.catalogue import Mutant


class WalkSpace(Protocol):
    """The fields of a configuration a walk reads (``ExploreConfig`` has them all)."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> HostSettings: ...
    @property
    def vms(self) -> tuple[tuple[str, VmSettings], ...]: ...
    @property
    def demands(self) -> tuple[int, ...]: ...
    @property
    def adversarial(self) -> bool: ...
    @property
    def alternatives(self) -> tuple[VmSettings, ...]: ...
    @property
    def request_amounts(self) -> tuple[int, ...]: ...
    @property
    def lifecycle(self) -> bool: ...
    @property
    def vm_lifecycle(self) -> bool: ...
    @property
    def alignments(self) -> tuple[int, ...]: ...
    @property
    def profiles(self) -> tuple[tuple[str, GuestProfile], ...]: ...

    def initial(self) -> DmState: ...


@attrs.frozen
class WalkConfig:
    """A configuration for walks only (too large to explore); fields as ``ExploreConfig``."""

    name: str
    host: HostSettings
    vms: tuple[tuple[str, VmSettings], ...]
    demands: tuple[int, ...]
    adversarial: bool = True
    alternatives: tuple[VmSettings, ...] = ()
    request_amounts: tuple[int, ...] = ()
    lifecycle: bool = False
    vm_lifecycle: bool = False
    alignments: tuple[int, ...] = ()  # hot-add alignments guests may advertise (R-HOT-ADD-ALIGN)
    # guests that may run a profile (specs/lifecycle.md §1; ``with_hibernating_guest``)
    profiles: tuple[tuple[str, GuestProfile], ...] = ()

    def initial(self) -> DmState:
        """Every VM created and off."""
        return initial_state(self.host, self.vms)


def with_vm_lifecycle(space: WalkSpace) -> WalkSpace:
    """``space`` with the events of specs/lifecycle.md (restarts, resets, save/restore,
    migration, waiting starts), as a planted bug of those events needs (``explore_lifecycle``)."""
    if space.vm_lifecycle:
        return space
    return attrs.evolve(space, name=f"{space.name}+lifecycle", vm_lifecycle=True)  # type: ignore[misc]


def with_linux_guest(space: WalkSpace) -> WalkSpace:
    """``space`` with its last VM running a Linux guest (specs/protocol.md §3.2), as a planted
    bug that misreads Linux guests needs (``explore_linux``)."""
    if not space.vms or space.vms[-1][1].guest_os == GUEST_OS_LINUX:
        return space
    *rest, (name, settings) = space.vms
    linux = attrs.evolve(settings, guest_os=GUEST_OS_LINUX)
    return attrs.evolve(space, name=f"{space.name}+linux",  # type: ignore[misc]
                        vms=(*rest, (name, linux)))


def with_hibernating_guest(space: WalkSpace) -> WalkSpace:
    """``space`` with the lifecycle events and its last VM's guest a Linux one that may run
    the ``linux_hibernate`` profile (specs/lifecycle.md §1: balloon without hot-add, never
    an answer to a balloon or an unballoon), named ``NAME+lifecycle+hibernate`` as the
    explorer's ``with_hibernating_guest``. Each episode draws whether it does
    (``run_walk``); without the lifecycle such a guest never grows above its startup."""
    if not space.vms or space.profiles:
        return space
    space = with_vm_lifecycle(space)
    *rest, (name, settings) = space.vms
    linux = attrs.evolve(settings, guest_os=GUEST_OS_LINUX)
    return attrs.evolve(space, name=f"{space.name}+hibernate",  # type: ignore[misc]
                        vms=(*rest, (name, linux)),
                        profiles=((name, GuestProfile.LINUX_HIBERNATE),))


def with_alignments(space: WalkSpace, alignments: tuple[int, ...]) -> WalkSpace:
    """``space`` whose guests may also advertise the hot-add ``alignments``
    (R-HOT-ADD-ALIGN), named ``NAME+align``, as an alignment bug needs (``explore_align``)."""
    if space.alignments:
        return space
    return attrs.evolve(space, name=f"{space.name}+align",  # type: ignore[misc]
                        alignments=alignments)


def for_planted_bug(space: WalkSpace, bug: Mutant, alignments: tuple[int, ...]) -> WalkSpace:
    """``space`` with what ``bug``'s events need, as the explorer runs it: the lifecycle
    events, a Linux or a hibernating guest, guests that may advertise ``alignments`` (its
    host profile aside: the caller applies ``explore.config.with_host_profile``)."""
    if bug.explore_lifecycle:
        space = with_vm_lifecycle(space)
    if bug.explore_linux:
        space = with_linux_guest(space)
    if bug.explore_hibernate:
        space = with_hibernating_guest(space)
    if bug.explore_align:
        space = with_alignments(space, alignments)
    return space


_GIB = 1024


def _dynamic(startup_gib: int, maximum_gib: int, weight: int = 5000) -> VmSettings:
    return VmSettings(dynamic=True, startup_mib=startup_gib * _GIB,
                      maximum_mib=maximum_gib * _GIB, weight=weight)


# Eight VMs whose startups (26 GiB) fit the host but whose maxima (84 GiB) do not: the
# balancer is always short of memory once demand rises. Two weights, one static VM, sizes
# that are not multiples of each other so partial answers and clamps happen.
REAL_8VM = WalkConfig(
    name="8vm-gib",
    host=HostSettings(physical_mib=64 * _GIB, reserve_mib=2 * _GIB),
    vms=(("sql", _dynamic(4, 16, weight=9000)), ("web1", _dynamic(2, 8)),
         ("web2", _dynamic(2, 8)), ("web3", _dynamic(2, 8)), ("batch", _dynamic(4, 16, 1000)),
         ("cache", _dynamic(6, 12, 7000)), ("dev", _dynamic(1, 4, 2000)),
         ("legacy", VmSettings(dynamic=False, startup_mib=5 * _GIB, maximum_mib=5 * _GIB))),
    demands=(0, 512, 1536, 3 * _GIB, 6 * _GIB, 10 * _GIB, 15 * _GIB),
    alternatives=(VmSettings(dynamic=False, startup_mib=2 * _GIB, maximum_mib=2 * _GIB),
                  _dynamic(1, 24, weight=100)),
    request_amounts=(128, 1000, 4 * _GIB),
    lifecycle=True,
)

WALK_PRESETS: dict[str, WalkConfig] = {REAL_8VM.name: REAL_8VM}
