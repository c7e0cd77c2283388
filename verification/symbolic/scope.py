"""The host parameters of a bounded model check: a small concrete preset, or symbolic.

BMC explores every path from the initial states, so the size of the numbers matters little
to Z3 but which VMs exist matters a lot. The ``small`` preset fixes a host and a mix of VMs
that exercises every action within a few steps: dynamic DM-capable VMs (startup 64, maximum
256 MiB) alternate with static ones (96 MiB), on a host with a 64 MiB reserve and 192 MiB
free, so three VMs do not all fit at startup (R-START) and hot-add can run into both the
maximum and the free memory. The ``symbolic`` scope leaves the host, which slots hold a VM
and every VM's settings to the solver (any valid values, model ``is_initial``).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from dynmem.model.actions import is_initial
from dynmem.model.state import SymState, bind
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.model.vocabulary import HOST_PROFILE_WORDS, HostProfile
from dynmem.reference.conventions import GUEST_OS_LINUX
from dynmem.reference.environment import GuestProfile
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state

SMALL_HOST = HostSettings(physical_mib=256, reserve_mib=64)
SMALL_DYNAMIC = VmSettings(dynamic=True, startup_mib=64, maximum_mib=256)
SMALL_STATIC = VmSettings(dynamic=False, startup_mib=96, maximum_mib=96)

ScopeKind = Literal["small", "symbolic"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("small", "symbolic")


@attrs.frozen
class Scope:
    """What the initial states of one BMC run are (each always an initial state of the model).

    ``host`` fixes the host (None: any host with 0 <= reserve <= physical); ``vms`` fixes
    every slot to hold a VM with these settings, off (None: each of the ``n_vms`` slots
    empty or holding a VM with any valid settings). Slot ``i`` holds the VM ``vm<i>``.
    ``profiles`` name the slots whose guest says only what its profile says (slot,
    profile; ``with_hibernating_guest``); every other slot runs any guest, as the model's
    environment does (an honest Windows or Linux guest says a part of what any guest says).
    """

    name: str
    n_vms: int
    host: HostSettings | None = None
    vms: tuple[VmSettings, ...] | None = None
    profiles: tuple[tuple[int, GuestProfile], ...] = ()

    @property
    def initial(self) -> DmState | None:
        """The one initial state, when the host and every VM are fixed."""
        if self.host is None or self.vms is None:
            return None
        return initial_state(self.host, tuple((f"vm{i}", st) for i, st in enumerate(self.vms)))

    def constrain(self, s0: SymState) -> list[Any]:
        """The initial-state constraints on the symbolic state ``s0`` (model ``is_initial``)."""
        found = [is_initial(SYMBOLIC, s0)]
        if self.host is not None:
            found += [s0.host.physical_mib == self.host.physical_mib,
                      s0.host.reserve_mib == self.host.reserve_mib,
                      s0.host.profile == int(self.host.profile)]
        state = self.initial
        if state is not None:
            found += bind(s0, state)
        return found

    def describe(self) -> str:
        """One line for progress and reports."""
        host = ("any host" if self.host is None else
                f"host physical {self.host.physical_mib} reserve {self.host.reserve_mib} MiB"
                + ("" if self.host.profile == HostProfile.QEMU else
                   f" profile {HOST_PROFILE_WORDS[self.host.profile]}"))
        guests = "".join(f", vm{i}'s guest {p.value}" for i, p in self.profiles)
        if self.vms is None:
            return f"{self.n_vms} VM slots with any settings, {host}{guests}"
        vms = ", ".join(f"vm{i} {'dynamic' if st.dynamic else 'static'} "
                        f"{st.startup_mib}..{st.maximum_mib}" for i, st in enumerate(self.vms))
        return f"{self.n_vms} VMs ({vms}), {host}{guests}"


def small_scope(n_vms: int, profile: HostProfile = HostProfile.QEMU) -> Scope:
    """The concrete preset: slot i is dynamic for even i, static for odd i (VM ``vm<i>``),
    on a host of ``profile``.

    Examples
    --------
    >>> small_scope(3).initial.free_mib
    192
    """
    _check_size(n_vms)
    vms = tuple(SMALL_DYNAMIC if i % 2 == 0 else SMALL_STATIC for i in range(n_vms))
    return Scope("small", n_vms, attrs.evolve(SMALL_HOST, profile=profile), vms)


def with_hibernating_guest(scope: Scope) -> Scope:
    """``scope`` with slot 0 (dynamic in the small scope) running a ``linux_hibernate``
    guest (specs/lifecycle.md §1), named ``NAME+hibernate``: the unrolling never lets that
    slot answer a balloon or an unballoon, and its capabilities report is balloon without
    hot-add (``unrolling.get_profile_constraints``). Its settings, when fixed, name a Linux
    guest, as the reference's replay reads them. Unchanged when a slot has a profile.

    Examples
    --------
    >>> with_hibernating_guest(small_scope(1)).describe()
    "1 VMs (vm0 dynamic 64..256), host physical 256 reserve 64 MiB, vm0's guest linux_hibernate"
    """
    if scope.profiles:
        return scope
    vms = scope.vms
    if vms is not None:
        vms = (attrs.evolve(vms[0], guest_os=GUEST_OS_LINUX), *vms[1:])
    return attrs.evolve(scope, name=f"{scope.name}+hibernate", vms=vms,
                        profiles=((0, GuestProfile.LINUX_HIBERNATE),))


def symbolic_scope(n_vms: int) -> Scope:
    """Every initial state of the model with ``n_vms`` slots."""
    _check_size(n_vms)
    return Scope("symbolic", n_vms)


def get_scope(kind: ScopeKind, n_vms: int) -> Scope:
    """The scope of ``kind`` (``small`` or ``symbolic``) with ``n_vms`` slots."""
    return small_scope(n_vms) if kind == "small" else symbolic_scope(n_vms)


def _check_size(n_vms: int) -> None:
    if n_vms < 1:
        raise ValueError(f"a BMC scope needs at least one VM slot, got n_vms={n_vms}")
