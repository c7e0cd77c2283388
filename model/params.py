"""Named presets for the symbolic checks (STYLE rule 10): bounds live here, nowhere else.

``MINIMAL`` is what CI runs (2 VM slots, seconds); ``STANDARD`` is the nightly size. What
each preset proves and how long it takes is in specs/proofs.md and the README.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Preset:
    """Bounds of one configuration of the symbolic checks.

    ``n_vms`` is the number of VM slots of the concrete-N encoding, ``bmc_depth`` the
    unrolling depth, ``rlimit`` the Z3 resource budget of each check (a count of Z3's own
    work, so the verdict does not depend on the machine's load; an exhausted budget is an
    unknown, which fails the run).
    """

    name: str
    n_vms: int
    bmc_depth: int
    rlimit: int


# Z3 reads a resource budget as an unsigned 32-bit number.
MAX_RLIMIT = 2**32 - 1

# The largest check of the MINIMAL runs (`dynmem verify`, `dynmem prove`, `dynmem bmc`) uses
# 15.4 M units (BMC of the real model at depth 8, N=2; an induction obligation at most 16,454);
# `bmc --vms 3` 65 to 73 M, `bmc --symbolic` 36 to 41 M (a count depends a little on what the
# process solved before). The default is 13x the largest CI check; measured by
# `python3 benchmarks/measure_rlimit.py`.
MINIMAL = Preset(name="minimal", n_vms=2, bmc_depth=8, rlimit=200_000_000)
# Not measured at this size: the largest budget Z3 accepts; lower it to fail sooner.
STANDARD = Preset(name="standard", n_vms=8, bmc_depth=12, rlimit=4_000_000_000)

PRESETS: dict[str, Preset] = {p.name: p for p in (MINIMAL, STANDARD)}
