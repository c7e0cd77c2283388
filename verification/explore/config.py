"""Small configurations for exhaustive exploration (sizes in coarse blocks, bounded demand).

Every amount is a few 2 MiB units above the 32 MiB minimum, so balloon parts, partial hot-adds
and contention all happen within a state space of 10^4..10^5 states. ``get_config(n)``
returns the preset for n VMs; CI explores ``get_config(2)``.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import attrs

from dynmem.model.vocabulary import HOST_PROFILE_WORDS, HostProfile
from dynmem.reference.conventions import GUEST_OS_LINUX
from dynmem.reference.environment import GuestProfile
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.verification.errors import InputError


@attrs.frozen
class ExploreConfig:
    """What to explore: the host, the VMs (created, off) and the environment's choices.

    ``demands`` are the workload values offered to running VMs; ``adversarial`` adds
    misbehaving guests (environment.enabled_events); ``alternatives`` are settings offered
    to ``Configure`` (tried on every VM, so a guard that lets a running VM change is caught);
    ``request_amounts`` are explicit DM requests of those sizes tried on every running VM
    (any policy, not only the reference's ticks); ``lifecycle`` adds Delete and re-Create;
    ``vm_lifecycle`` adds the events of specs/lifecycle.md (restarts, channel resets, the
    watchdog, save/restore, migration, starts that wait for reclaim); ``waiting_starts``
    adds only the last: a start without its startup free waits (R-START), then is admitted
    or aborted, for an implementation of the core events (the random phase sends them);
    ``symmetry`` merges states that differ by a renaming of same-settings VMs;
    ``all_edges`` False keeps only the progress edges in the graph (the only ones the
    progress analysis reads: a sixth of them at 3 VMs) and counts the others, for presets
    whose every edge would not fit in memory; ``renamed_keys`` False remembers only the
    canonical key of each state, not every renamed key met (half the memory of a 4-VM
    search, 4 to 10 % more CPU: renamed successors are canonicalised each time);
    ``all_versions`` offers every supported protocol version (by default only the honest
    guest's next proposal, 2.0 first: where the host accepts the others they add only
    copies, since the reference records the version and never reads it). The host's
    profile (``host.profile``) decides which versions it accepts (``with_host_profile``).
    ``alignments`` are the hot-add alignments a guest reporting hot-add may advertise
    besides 2 MiB (``with_alignments``).
    ``profiles`` name the guests that say only what their profile says (specs/lifecycle.md
    §1; ``with_hibernating_guest``); a VM not named runs any guest (every answer offered).
    """

    name: str
    host: HostSettings
    vms: tuple[tuple[str, VmSettings], ...]
    demands: tuple[int, ...] = (0, 16, 32)
    adversarial: bool = True
    alternatives: tuple[VmSettings, ...] = ()
    request_amounts: tuple[int, ...] = ()
    lifecycle: bool = False
    vm_lifecycle: bool = False
    waiting_starts: bool = False
    symmetry: bool = True
    all_versions: bool = False
    # hot-add alignments (MiB) a guest may advertise besides the honest 2 MiB (R-HOT-ADD-ALIGN)
    alignments: tuple[int, ...] = ()
    all_edges: bool = True
    renamed_keys: bool = True
    max_states: int = 200_000
    profiles: tuple[tuple[str, GuestProfile], ...] = ()

    def get_profile(self, name: str) -> GuestProfile | None:
        """The profile of the guest in VM ``name``, None if it runs any guest."""
        return next((p for n, p in self.profiles if n == name), None)

    def initial(self) -> DmState:
        """The initial state: every VM created and off."""
        return initial_state(self.host, self.vms)

    def with_vm_lifecycle(self) -> ExploreConfig:
        """This preset with the events of specs/lifecycle.md, named ``NAME+lifecycle``."""
        if self.vm_lifecycle:
            return self
        return attrs.evolve(self, name=f"{self.name}+lifecycle", vm_lifecycle=True)


# startup 32 (the minimum), maximum 36, buffer 20 %: demand 0 -> target 32, 32 -> 36 (the
# clamp). Two 2 MiB units of room keep balloon parts and partial hot-adds few. A request of
# 16 MiB exceeds every legal amount and one of 2 MiB is often legal (another policy's
# choice), so relaxed guards are exercised either way.
SMALL = VmSettings(dynamic=True, startup_mib=32, maximum_mib=36)
SMALL_HEAVY = attrs.evolve(SMALL, weight=8000)
SMALL_STATIC = VmSettings(dynamic=False, startup_mib=32, maximum_mib=36)
REQUEST_AMOUNTS = (2, 16)

PRESETS: dict[int, ExploreConfig] = {
    # One VM with the whole lifecycle: delete, re-create, reconfigure to static.
    1: ExploreConfig(
        name="1vm",
        host=HostSettings(physical_mib=72, reserve_mib=32),
        vms=(("web", SMALL),),
        demands=(0, 32),
        alternatives=(SMALL_STATIC,),
        request_amounts=REQUEST_AMOUNTS,
        lifecycle=True,
    ),
    # A heavy and a light VM on a host with 2 MiB above both startups: free memory runs out
    # (contention, weight order; a grown VM leaves too little to start the other); either
    # may be reconfigured to static while off.
    2: ExploreConfig(
        name="2vm",
        host=HostSettings(physical_mib=98, reserve_mib=32),
        vms=(("hi", SMALL_HEAVY), ("lo", SMALL)),
        demands=(0, 32),
        alternatives=(SMALL_STATIC,),
        request_amounts=REQUEST_AMOUNTS,
    ),
    # Two identical light VMs (symmetry reduction) under a heavy one.
    3: ExploreConfig(
        name="3vm",
        host=HostSettings(physical_mib=130, reserve_mib=32),
        vms=(("hi", SMALL_HEAVY), ("lo1", SMALL), ("lo2", SMALL)),
        demands=(0, 32),
        request_amounts=(16,),
        # Above the 1,392,439 states of the search without symmetry reduction.
        max_states=1_500_000,
    ),
}

# The 3-VM preset's values with a third identical light VM (host 162 = 32 reserve + four
# startups + 2 MiB): the configuration of the SPIN port's 4-VM model, which neither side had
# explored completely (issue 13). Not in CI: millions of states.
PRESETS[4] = ExploreConfig(
    name="4vm",
    host=HostSettings(physical_mib=162, reserve_mib=32),
    vms=(("hi", SMALL_HEAVY), ("lo1", SMALL), ("lo2", SMALL), ("lo3", SMALL)),
    demands=(0, 32),
    request_amounts=(16,),
    # Every edge of some 24 M states would be about 4 GiB on its own; the progress analysis
    # reads only the progress edges (under a fifth).
    all_edges=False,
    # 1.4 renamed keys a state: about 130 bytes a state of the ~350 (measured at 600,000).
    renamed_keys=False,
    max_states=30_000_000,
)

# Two identical VMs: the smallest configuration where symmetry reduction merges states.
SYMMETRIC = ExploreConfig(
    name="2vm-symmetric",
    host=HostSettings(physical_mib=98, reserve_mib=32),
    vms=(("lo1", SMALL), ("lo2", SMALL)),
    demands=(0, 32),
    request_amounts=(16,),
)

def with_linux_guest(config: ExploreConfig) -> ExploreConfig:
    """``config`` with its last VM (the lightest of every preset) running a Linux guest:
    Linux reports and balloon answers (specs/protocol.md §3.2), read by the host per
    ``guest_os`` (policy.md P-DEMAND). The 2-VM preset's ``lo`` is then a contention donor
    that gives only what is above its floor."""
    if not config.vms or config.vms[-1][1].guest_os == GUEST_OS_LINUX:
        return config
    *rest, (name, settings) = config.vms
    linux = attrs.evolve(settings, guest_os=GUEST_OS_LINUX)
    return attrs.evolve(config, name=f"{config.name}+linux", vms=(*rest, (name, linux)))


# The alignments ``with_alignments`` offers: 4 MiB, a block the small presets can hot-add
# (their VMs grow by 4 MiB), and Linux's typical 128 MiB, which they never can.
EXPLORE_ALIGNMENTS = (4, 128)


def with_alignments(config: ExploreConfig,
                    alignments: tuple[int, ...] = EXPLORE_ALIGNMENTS) -> ExploreConfig:
    """``config`` whose guests may also advertise the hot-add ``alignments`` (R-HOT-ADD-ALIGN),
    named ``NAME+align``: the presets keep their names and counts."""
    if config.alignments:
        return config
    return attrs.evolve(config, name=f"{config.name}+align", alignments=alignments)


def with_hibernating_guest(config: ExploreConfig) -> ExploreConfig:
    """``config`` with the lifecycle events and its last VM (the lightest) running a
    ``linux_hibernate`` guest (specs/lifecycle.md §1), named ``NAME+lifecycle+hibernate``:
    a guest that reports balloon without hot-add and never answers a balloon or an
    unballoon, beside the others' guests, which give every answer.

    The lifecycle comes with it: without hot-add such a guest grows above its startup only
    by arriving at its maximum (``MigrateIn``) or by a restore, and only the host's watchdog
    (``StuckTimeout``) ends the wait on its silence. In the progress graph that watchdog is
    the honest next step of a silent guest (``compute_next_word``), so a host that never
    gives up on it is stuck there (PROG-FIXED-POINT). The presets without it keep their
    event sets and counts."""
    if not config.vms or config.profiles:
        return config
    config = config.with_vm_lifecycle()
    *rest, (name, settings) = config.vms
    linux = attrs.evolve(settings, guest_os=GUEST_OS_LINUX)
    return attrs.evolve(config, name=f"{config.name}+hibernate", vms=(*rest, (name, linux)),
                        profiles=((name, GuestProfile.LINUX_HIBERNATE),))


class _Hosted(Protocol):
    """An attrs configuration with a name and a host (``ExploreConfig``, a walk's space)."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> HostSettings: ...


Hosted = TypeVar("Hosted", bound=_Hosted)


def with_host_profile(config: Hosted, profile: HostProfile) -> Hosted:
    """``config`` on a host of ``profile`` (named ``2vm@2008r2sp1``); unchanged when its host
    has that profile already, so the presets keep their names and counts."""
    if profile == config.host.profile:
        return config
    return attrs.evolve(config, name=f"{config.name}@{HOST_PROFILE_WORDS[profile]}",  # type: ignore[misc]
                        host=attrs.evolve(config.host, profile=profile))


def get_config(vms: int) -> ExploreConfig:
    """The preset for ``vms`` VMs (1..4).

    Raises
    ------
    InputError
        If there is no preset of that size.
    """
    if vms not in PRESETS:
        raise InputError("command line", "--vms", vms,
                         f"must be one of {', '.join(map(str, sorted(PRESETS)))}")
    return PRESETS[vms]
