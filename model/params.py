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

# The largest check of `dynmem verify` uses 114 to 133 M units (BMC of the real model at
# depth 8, N=2: its last query); `bmc --vms 3` at depth 8 needs 531 M, `bmc --symbolic` 344 M
# (measured 2026-12-04, `python3 benchmarks/measure_rlimit.py`). A count depends on what the
# process solved before (the same query took 31 M and 137 M), so the default keeps 15x over
# verify's largest and decides both larger runs; 200 M left them unknown.
MINIMAL = Preset(name="minimal", n_vms=2, bmc_depth=8, rlimit=2_000_000_000)
# Not measured at this size: the largest budget Z3 accepts; lower it to fail sooner.
STANDARD = Preset(name="standard", n_vms=8, bmc_depth=12, rlimit=4_000_000_000)

PRESETS: dict[str, Preset] = {p.name: p for p in (MINIMAL, STANDARD)}
