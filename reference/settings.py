"""Host and VM settings (specs/domain.md §1) and their range rules.

Settings carry only type validators (TypeOK). Range rules are checked by
:func:`check_host_settings` / :func:`check_vm_settings`, which return problems instead of
raising, so a scenario loader can name the offending field and a state that breaks
INV-CONFIG can still be built and shown.
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import (
    ACCEPTED_VERSIONS,
    DEFAULT_BUFFER_PERCENT,
    DEFAULT_MAXIMUM_MIB,
    DEFAULT_STARTUP_MIB,
    DEFAULT_WEIGHT,
    MAX_BUFFER_PERCENT,
    MAX_MAXIMUM_MIB,
    MAX_WEIGHT,
    MEMORY_UNIT_MIB,
    MIN_BUFFER_PERCENT,
    MIN_STARTUP_MIB,
    MIN_WEIGHT,
    HostProfile,
)
from dynmem.reference.conventions import GUEST_OS_NAMES, GUEST_OS_WINDOWS

_int = attrs.validators.instance_of(int)
_bool = attrs.validators.instance_of(bool)


@attrs.frozen(repr=False)
class HostSettings:
    """The host: its physical memory, the reserve kept by the parent partition, and its
    profile, which decides the protocol versions it accepts (specs/domain.md §1.1)."""

    physical_mib: int = attrs.field(validator=_int)
    reserve_mib: int = attrs.field(validator=_int)
    profile: HostProfile = attrs.field(default=HostProfile.QEMU,
                                       validator=attrs.validators.instance_of(HostProfile))

    @property
    def accepted_versions(self) -> tuple[int, ...]:
        """The protocol versions this host accepts, newest first (R-VERSION).

        Examples
        --------
        >>> HostSettings(4096, 1024, HostProfile.WS2008R2SP1).accepted_versions
        (3,)
        """
        return ACCEPTED_VERSIONS[self.profile]

    def __repr__(self) -> str:
        # Python source (Hypothesis prints it in failing programs); the default profile is
        # left out, as the host of before reads
        profile = "" if self.profile == HostProfile.QEMU else f", profile={self.profile!r}"
        return (f"HostSettings(physical_mib={self.physical_mib!r}, "
                f"reserve_mib={self.reserve_mib!r}{profile})")


@attrs.frozen(cache_hash=True)
class VmSettings:
    """A VM's memory settings, profile 2008R2SP1 (specs/domain.md §1.2)."""

    dynamic: bool = attrs.field(default=False, validator=_bool)
    startup_mib: int = attrs.field(default=DEFAULT_STARTUP_MIB, validator=_int)
    maximum_mib: int = attrs.field(default=DEFAULT_MAXIMUM_MIB, validator=_int)
    buffer_pct: int = attrs.field(default=DEFAULT_BUFFER_PERCENT, validator=_int)
    weight: int = attrs.field(default=DEFAULT_WEIGHT, validator=_int)
    dm_capable: bool = attrs.field(default=True, validator=_bool)
    # The OS family of the guest's integration components, which the host knows (as it knows
    # dm_capable): it fixes how the guest's status reports read (policy.md P-DEMAND).
    guest_os: str = attrs.field(default=GUEST_OS_WINDOWS,
                                validator=attrs.validators.instance_of(str))


@attrs.frozen
class Problem:
    """One broken settings rule: the field, its value and what it must be."""

    field: str
    value: object
    rule: str

    def __str__(self) -> str:
        return f"{self.field} = {self.value!r}: {self.rule}"


def check_host_settings(host: HostSettings) -> list[Problem]:
    """Return the range problems of ``host`` (empty when valid), specs/domain.md §1.1."""
    problems = []
    if host.physical_mib <= 0:
        problems.append(Problem("physical_mib", host.physical_mib, "must be > 0"))
    if host.reserve_mib < 0:
        problems.append(Problem("reserve_mib", host.reserve_mib, "must be >= 0"))
    elif host.reserve_mib > host.physical_mib > 0:
        problems.append(
            Problem("reserve_mib", host.reserve_mib,
                    f"must be <= physical_mib ({host.physical_mib})")
        )
    return problems


def check_vm_settings(vm: VmSettings) -> list[Problem]:
    """Return the range problems of ``vm`` (empty when valid), specs/domain.md §1.2."""
    problems = []
    if vm.startup_mib < MIN_STARTUP_MIB or vm.startup_mib % MEMORY_UNIT_MIB:
        problems.append(
            Problem("startup_mib", vm.startup_mib,
                    f"must be >= {MIN_STARTUP_MIB} and a multiple of {MEMORY_UNIT_MIB}")
        )
    if not vm.startup_mib <= vm.maximum_mib <= MAX_MAXIMUM_MIB or vm.maximum_mib % MEMORY_UNIT_MIB:
        problems.append(
            Problem("maximum_mib", vm.maximum_mib,
                    f"must be a multiple of {MEMORY_UNIT_MIB} in "
                    f"{vm.startup_mib}..{MAX_MAXIMUM_MIB} (startup_mib..64 GiB)")
        )
    if not MIN_BUFFER_PERCENT <= vm.buffer_pct <= MAX_BUFFER_PERCENT:
        problems.append(
            Problem("buffer_pct", vm.buffer_pct,
                    f"must be {MIN_BUFFER_PERCENT}..{MAX_BUFFER_PERCENT}")
        )
    if not MIN_WEIGHT <= vm.weight <= MAX_WEIGHT:
        problems.append(Problem("weight", vm.weight, f"must be {MIN_WEIGHT}..{MAX_WEIGHT}"))
    if vm.guest_os not in GUEST_OS_NAMES:
        problems.append(Problem("guest_os", vm.guest_os,
                                f"must be one of {', '.join(GUEST_OS_NAMES)}"))
    return problems


def is_valid_vm_settings(vm: VmSettings) -> bool:
    """Whether ``vm`` satisfies every range rule (INV-CONFIG's first half)."""
    return not check_vm_settings(vm)
