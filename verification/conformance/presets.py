"""The presets of the exhaustive phase: the explorer's, and one for policies at 3 VMs.

A system IUT is checked on the explorer's presets (``explore.config.get_config``). For a
policy IUT at 3 VMs the explorer's preset has two identical light VMs, so no tick ever has
two short VMs of different weights above a lighter donor, where a policy's donor choice
shows; ``POLICY_THREE`` gives the three VMs three weights (8000, 5000, 2000) on a host with
6 MiB above their startups, and fewer environment choices (honest guests, demand 0 or 32, no
explicit DM request events: a policy is judged on its plans, and the harness plays every
other event with the reference). It has 305,116 states.

With ``lifecycle`` (``dynmem oracle --lifecycle``) each preset also offers the events of
specs/lifecycle.md (``ExploreConfig.vm_lifecycle``: restarts, channel resets, the stuck
timer, save/restore, migration, starts that wait for reclaim), named ``NAME+lifecycle``.

Without it no explorer preset has a start that waits (the waiting start is only a probe, not
explored), so the policy's reclaim (P-RECLAIM: squeeze lower weights for a waiting start,
admit it once its startup is free, abort it when reclaim cannot cover it) went unchecked by
the default run. ``RECLAIM`` adds it: the 2-VM preset's host and VMs with starts that wait
(``ExploreConfig.waiting_starts``), honest guests and no explicit DM request events (preset
2 covers those), 13,147 states. In it ``hi``'s start waits while ``lo`` has grown above its
startup (``lo`` is squeezed, then ``hi`` admitted), and ``lo``'s start waits while ``hi`` has
grown (nothing of lower weight to squeeze: the start is aborted). ``get_presets`` runs it
after preset 2.

With ``linux`` (``dynmem oracle --linux``) the presets' last VM runs a Linux guest, but at
their sizes (startup 32, maximum 36) a Linux guest's balloon floor (24 to 26 MiB) leaves it
nothing to give back with a target above startup, so a policy that misreads a Linux report
after a give-back (P-DEMAND: the report counts the ballooned pages) was caught only by luck
of the random phase. ``LINUX_GROWN`` gives that situation a preset: one Linux VM that can
grow to 48 MiB under a 200 % buffer (demand 16 MiB asks for all 48; demand 0 gives back to
its floor), honest guests, 2,443 states with the reference policy. Reading the ballooned
pages as demand there makes the policy unballoon what it just ballooned, a cycle at
constant demand (PROG-FIXED-POINT), and the reference's plans differ from it at once
(lockstep). With buffers of 5 to 100 % no maximum up to 128 MiB gives that bug a 1-VM cycle
(searched by hand over startup 32, every demand and size), so the preset's buffer is large
rather than its sizes. ``get_presets`` runs it after preset 1 whenever ``linux``.
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import HostProfile
from dynmem.reference.conventions import GUEST_OS_LINUX
from dynmem.reference.settings import HostSettings
from dynmem.verification.explore.config import (
    SMALL,
    SMALL_HEAVY,
    ExploreConfig,
    get_config,
    with_hibernating_guest,
    with_host_profile,
    with_linux_guest,
)

POLICY_THREE = ExploreConfig(
    name="3vm-weights",
    host=HostSettings(physical_mib=134, reserve_mib=32),
    vms=(("hi", attrs.evolve(SMALL, weight=8000)), ("mid", SMALL),
         ("lo", attrs.evolve(SMALL, weight=2000))),
    demands=(32,),
    adversarial=False,
    max_states=1_000_000,
)


RECLAIM = ExploreConfig(
    name="2vm-reclaim",
    host=HostSettings(physical_mib=98, reserve_mib=32),
    vms=(("hi", SMALL_HEAVY), ("lo", SMALL)),
    demands=(0, 32),
    adversarial=False,
    waiting_starts=True,
)


LINUX_GROWN = ExploreConfig(
    name="1vm-linux-grown",
    host=HostSettings(physical_mib=80, reserve_mib=32),
    vms=(("web", attrs.evolve(SMALL, maximum_mib=48, buffer_pct=200, guest_os=GUEST_OS_LINUX)),),
    demands=(0, 16),
    adversarial=False,
)


def get_presets(kind: str, vms: int, lifecycle: bool = False, linux: bool = False,
                host_profile: HostProfile = HostProfile.QEMU,
                hibernate: bool = False) -> list[ExploreConfig]:
    """The presets of the exhaustive phase up to ``vms`` VMs, smallest first: ``get_preset``
    of 1..``vms``, and ``RECLAIM`` after preset 2 unless ``lifecycle`` (whose presets have
    waiting starts already), with the same guests and host; with ``hibernate`` (from 2 VMs)
    last the 2-VM preset with a hibernating guest (``with_hibernating_guest``,
    2vm+lifecycle+hibernate: 22,639 states); with ``linux`` ``LINUX_GROWN`` after preset 1."""
    sized = [get_preset(kind, n, lifecycle, linux, host_profile) for n in range(1, vms + 1)]
    presets = sized[:1]  # built in running order, each extra preset after its size's
    if linux:
        presets.append(with_host_profile(LINUX_GROWN, host_profile))
    presets += sized[1:2]
    if vms >= 2 and not lifecycle:
        reclaim = with_linux_guest(RECLAIM) if linux else RECLAIM
        presets.append(with_host_profile(reclaim, host_profile))
    presets += sized[2:]
    if vms >= 2 and hibernate:
        presets.append(with_host_profile(with_hibernating_guest(get_config(2)), host_profile))
    return presets


def get_preset(kind: str, vms: int, lifecycle: bool = False,
               linux: bool = False,
               host_profile: HostProfile = HostProfile.QEMU) -> ExploreConfig:
    """The preset the exhaustive phase uses for an IUT of ``kind`` with ``vms`` VMs, with the
    lifecycle events if ``lifecycle``, a Linux guest in its last VM if ``linux``
    (``with_linux_guest``, named ``NAME+linux``), on a host of ``host_profile`` (the IUT's,
    from its hello).

    Raises
    ------
    InputError
        If there is no preset of that size.
    """
    config = POLICY_THREE if kind == "policy" and vms == 3 else get_config(vms)
    config = config.with_vm_lifecycle() if lifecycle else config
    config = with_linux_guest(config) if linux else config
    return with_host_profile(config, host_profile)
