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
    unrolling depth, ``timeout_s`` the Z3 timeout per obligation (seconds; a timeout is an
    unknown, which fails the run).
    """

    name: str
    n_vms: int
    bmc_depth: int
    timeout_s: float


MINIMAL = Preset(name="minimal", n_vms=2, bmc_depth=8, timeout_s=20.0)
STANDARD = Preset(name="standard", n_vms=8, bmc_depth=12, timeout_s=120.0)

PRESETS: dict[str, Preset] = {p.name: p for p in (MINIMAL, STANDARD)}
