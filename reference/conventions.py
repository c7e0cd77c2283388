"""How a guest's status report reads, per OS family of its integration components (P-DEMAND).

A Windows guest reports its committed memory alone. A Linux guest (``hv_balloon.c``) reports
committed memory *plus* the pages it has ballooned out and its own balloon floor, "otherwise
[the host] can try asking us to balloon them out" (domain-facts §3.3). The host must know
which convention a VM's reports follow (the VM setting ``guest_os``) to read the guest's own
demand out of a report. The Linux guest never pages itself for the balloon: it gives only
what it has available above its floor (``compute_linux_balloon_allowance``).

Everything is in integer MiB, as the rest of the model (specs/domain.md); Linux computes in
4 KiB pages, whose halving is exact in pages and rounds down here.
"""

from __future__ import annotations

GUEST_OS_WINDOWS = "windows"
GUEST_OS_LINUX = "linux"
GUEST_OS_NAMES = (GUEST_OS_WINDOWS, GUEST_OS_LINUX)


def compute_balloon_floor(total_mib: int) -> int:
    """The Linux guest's balloon floor for ``total_mib`` of RAM (``compute_balloon_floor``).

    Piecewise linear in the guest's ``totalram_pages``: 8 + t/2 below 128 MiB, 40 + t/4 below
    512, 104 + t/8 below 2048, 232 + t/16 below 8192, 488 + t/32 above. Ballooned pages leave
    ``totalram_pages``, so the floor shrinks as the balloon grows.

    Examples
    --------
    The table points of ``hv_balloon.c``:

    >>> [compute_balloon_floor(t) for t in (16, 32, 128, 512, 2048, 8192, 32768)]
    [16, 24, 72, 168, 360, 744, 1512]
    >>> compute_balloon_floor(4800)
    532
    """
    if total_mib < 128:
        return 8 + total_mib // 2
    if total_mib < 512:
        return 40 + total_mib // 4
    if total_mib < 2048:
        return 104 + total_mib // 8
    if total_mib < 8192:
        return 232 + total_mib // 16
    return 488 + total_mib // 32


def compute_linux_committed(demand_mib: int, ballooned_mib: int, assigned_mib: int) -> int:
    """What an honest Linux guest reports as committed (its ``num_committed``).

    Its committed memory, plus the pages it ballooned out, plus its balloon floor of the RAM
    it has (``assigned``: visible minus ballooned); hot-added memory is all online here.

    Examples
    --------
    >>> compute_linux_committed(1000, 0, 4800)
    1532
    """
    return demand_mib + ballooned_mib + compute_balloon_floor(assigned_mib)


def compute_reported_demand(report_mib: int, guest_os: str, ballooned_mib: int,
                            assigned_mib: int) -> int:
    """The guest's own demand read out of a report that follows ``guest_os``'s convention.

    For a Linux report the host subtracts the ballooned pages and the floor of the assigned
    memory (P-DEMAND), never below 0 (a lying report cannot make demand negative).

    Examples
    --------
    >>> compute_reported_demand(1532, "linux", 0, 4800)
    1000
    >>> compute_reported_demand(1532, "windows", 0, 4800)
    1532
    """
    if guest_os != GUEST_OS_LINUX:
        return report_mib
    return max(0, report_mib - ballooned_mib - compute_balloon_floor(assigned_mib))


def compute_linux_balloon_allowance(demand_mib: int, assigned_mib: int) -> int:
    """The most a Linux guest with ``assigned_mib`` of RAM gives to a balloon, in MiB.

    ``balloon_up`` cuts a request to ``max(0, avail − floor)``; the guest's available memory
    is what it has not committed (``assigned − demand``). Rounded down to whole 2 MiB units.

    Examples
    --------
    >>> compute_linux_balloon_allowance(1000, 4800)
    3268
    >>> compute_linux_balloon_allowance(1000, 1200)
    0
    """
    allowance = max(0, assigned_mib - demand_mib - compute_balloon_floor(assigned_mib))
    return allowance - allowance % 2


__all__ = [
    "GUEST_OS_LINUX",
    "GUEST_OS_NAMES",
    "GUEST_OS_WINDOWS",
    "compute_balloon_floor",
    "compute_linux_balloon_allowance",
    "compute_linux_committed",
    "compute_reported_demand",
]
