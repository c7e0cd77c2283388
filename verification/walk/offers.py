"""The events a walk may pick for one VM, and swarm masks of event kinds.

A VM offers what its guest and the admin may send (``reference.environment``'s
``enabled_vm_events``: every one accepted) plus events that are tried and may be refused: a
start without memory, explicit DM requests of the configured sizes (any policy's choice,
not only the reference's ticks), a configure to another setting, a delete. Refused events
exercise the guards (a planted bug that relaxes one is caught) and R-REJECT.

Everything here reads only the VM value (a start is offered whether or not it fits, and with
the lifecycle events every restore, admission, arrival and reset too), so a VM's offer is
computed once per VM value and reused on every step that has it.

A swarm mask (Groce et al., "Swarm testing", ISSTA 2012) is the set of event kinds one
episode may pick, as a bit mask over ``KINDS``: leaving kinds out lets the others run
longer (no stop cutting every lifecycle short, no demand changes, ...). Only the optional
kinds (``OPTIONAL``) are left out.
"""

from __future__ import annotations

import functools
import random

from dynmem.reference.environment import (
    GuestProfile,
    compute_aligned_reports,
    enabled_vm_events,
)
from dynmem.reference.events import (
    EVENT_TYPES,
    BalloonRequest,
    Configure,
    Delete,
    Event,
    HotAddRequest,
    Start,
    UnballoonRequest,
)
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import Vm
from dynmem.verification.walk.config import WalkSpace

# The free memory the offer assumes: enough for everything, so the events that need memory
# are offered too and refused by their guards when it is not there.
_ANY_FREE = 1 << 62

KINDS: tuple[str, ...] = tuple(EVENT_TYPES)
KIND_BIT: dict[str, int] = {kind: 1 << i for i, kind in enumerate(KINDS)}
ALL_KINDS = (1 << len(KINDS)) - 1
# Kinds a swarm mask may leave out: the admin's and the workload's moves and explicit DM
# requests. Every other kind (start, the guest's protocol messages and answers, the tick) is
# always kept: a mask without one of them would end most lifecycles before READY.
OPTIONAL = ("stop", "delete", "create", "configure", "demand", "balloon_request",
            "unballoon_request", "hot_add_request",
            # the lifecycle's (offered with ``vm_lifecycle``): a save or a migration out ends
            # a VM's run, so masks without them let balloons, resets and stuck timers happen
            "start_admit", "start_abort", "guest_restart", "channel_reset", "stuck_timeout",
            "save", "restore", "migrate_out", "migrate_in")
ALWAYS = ALL_KINDS & ~sum(KIND_BIT[kind] for kind in OPTIONAL)
_REQUESTS = (BalloonRequest, UnballoonRequest, HotAddRequest)


def get_offer(vm: Vm, space: WalkSpace) -> tuple[Event, ...]:
    """Every event the walk may pick for ``vm``."""
    name = vm.name
    if not vm.running:
        events: list[Event] = [Start(name)]
        if space.vm_lifecycle:
            events += [e for e in enabled_vm_events(vm, _ANY_FREE, lifecycle=True)
                       if not isinstance(e, Start)]
        if space.lifecycle:
            events.append(Delete(name))
    else:
        events = enabled_vm_events(vm, _ANY_FREE, space.demands, space.adversarial,
                                   space.vm_lifecycle)
        events += compute_aligned_reports(events, space.alignments)
        events += _get_requests(name, space.request_amounts)
    events += _get_configures(name, vm.settings, space.alternatives)
    return tuple(events)


# A VM's explicit DM requests and configures depend on its name and settings only: built
# once per value (an offer is built for every new VM value a walk meets).
@functools.lru_cache(maxsize=1024)
def _get_requests(name: str, amounts: tuple[int, ...]) -> tuple[Event, ...]:
    return tuple(cls(name, mib) for cls in _REQUESTS for mib in amounts)


@functools.lru_cache(maxsize=1024)
def _get_configures(name: str, settings: VmSettings, alternatives: tuple[VmSettings, ...]
                    ) -> tuple[Event, ...]:
    return tuple(Configure(name, s) for s in alternatives if s != settings)


def get_unsaid(vm: Vm, space: WalkSpace, profile: GuestProfile) -> frozenset[Event]:
    """The events of ``vm``'s offer that a guest of ``profile`` never sends (a
    ``linux_hibernate`` guest: a report with hot-add, an answer to a balloon or an
    unballoon; specs/lifecycle.md §1). A profile's guest says a subset of what any guest
    says, so an episode runs it by leaving these out of the offer it picks from."""
    if not vm.running:
        return frozenset()
    said = enabled_vm_events(vm, _ANY_FREE, space.demands, space.adversarial,
                             space.vm_lifecycle, profile)
    unsaid = set(enabled_vm_events(vm, _ANY_FREE, space.demands, space.adversarial,
                                   space.vm_lifecycle)).difference(said)
    return frozenset(unsaid.union(compute_aligned_reports(unsaid, space.alignments)))


def pick_mask(rng: random.Random) -> int:
    """A swarm mask: each optional kind kept with probability 1/2, plus ``ALWAYS``."""
    return rng.getrandbits(len(KINDS)) | ALWAYS


def pick_profiles(rng: random.Random, space: WalkSpace, episode: int
                  ) -> tuple[tuple[str, GuestProfile], ...]:
    """The guests that run their profile (``space.profiles``) in episode ``episode``: every
    one in the first, each with probability 1/2 in the others (a hibernating guest beside
    answering ones, or none). Nothing is drawn for a space without profiles, so its walks
    stay those of before."""
    if not space.profiles or episode == 0:
        return space.profiles
    return tuple(named for named in space.profiles if rng.random() < 0.5)


def describe_mask(mask: int) -> list[str]:
    """The kinds in ``mask``, in ``KINDS`` order."""
    return [kind for kind in KINDS if mask & KIND_BIT[kind]]
