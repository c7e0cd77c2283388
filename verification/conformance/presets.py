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
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import HostProfile
from dynmem.reference.settings import HostSettings
from dynmem.verification.explore.config import (
    SMALL,
    ExploreConfig,
    get_config,
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
