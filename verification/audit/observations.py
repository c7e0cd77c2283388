"""What a real host lets us observe: VM settings, per-VM samples and host samples.

Every reader (``snapshot``, ``pdh``, ``qmp``) produces these values, and every judge reads only
these, so a new source of evidence is a new reader and nothing else. Amounts are integer MiB;
``None`` means "not observed in this sample" (PDH writes a single space for a missing value).
Times are integer microseconds since the Unix epoch (UTC) or since the series' first sample.
"""

from __future__ import annotations

from fractions import Fraction

import attrs


@attrs.frozen
class VmConfig:
    """A VM's memory settings as the host reports them (Get-VM / Get-VMMemory), in MiB.

    ``minimum_mib`` exists from Windows Server 2012 on; profile 2008R2SP1 (the model's) takes
    ``startup_mib`` as the floor, so the audit judges the floor as
    ``startup_mib if minimum_mib is None else minimum_mib`` only when asked
    (``--floor minimum``); by default it is the startup (specs/audit.md §3).
    ``weight`` is the model's 0..10000 (PowerShell ``Priority`` × 100).
    """

    name: str
    dynamic: bool
    startup_mib: int
    maximum_mib: int
    minimum_mib: int | None = None
    buffer_pct: int | None = None
    weight: int | None = None
    source: str = ""


@attrs.frozen
class VmObs:
    """One VM at one instant: what the evidence says, each field ``None`` when not observed.

    ``assigned_mib`` is Hyper-V's "Physical Memory" / ``MemoryAssigned`` / QEMU's balloon
    ``actual``; ``visible_mib`` the "Guest Visible Physical Memory"; ``added_mib`` and
    ``removed_mib`` the cumulative "Added Memory" / "Removed Memory" counters; ``demand_mib``
    ``MemoryDemand`` or QEMU's ``committed``; ``pressure`` the "Current Pressure" (percent,
    exact). ``running`` is ``None`` when the evidence does not say.
    """

    assigned_mib: int | None = None
    visible_mib: int | None = None
    added_mib: int | None = None
    removed_mib: int | None = None
    demand_mib: int | None = None
    pressure: int | Fraction | None = None
    status: str | None = None
    running: bool | None = None


@attrs.frozen
class HostObs:
    """The host at one instant: the balancer's counters (MiB / percent), when observed."""

    available_mib: int | None = None
    average_pressure: Fraction | None = None


@attrs.frozen
class Sample:
    """Everything observed at one instant: its time, its origin and the VMs seen.

    ``where`` names the evidence (``file:line``) for messages.
    """

    time_us: int
    where: str
    vms: tuple[tuple[str, VmObs], ...]
    host: HostObs = HostObs()
