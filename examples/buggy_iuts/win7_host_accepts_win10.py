"""Planted bug: a Windows Server 2008 R2 SP1 host that also accepts protocol 2.0 (WIN10).

The IUT says in its hello that it is a ``2008r2sp1`` host (Rule P1a), so the harness resets
it to hosts of that profile, where only 0.3 (WIN7) may be negotiated (R-VERSION). This host
accepts every version it knows, so a guest that proposes 2.0 connects on a version the
host does not speak (INV-VERSION). The observation does not show the channel; the harness
sees the bug when the IUT refuses the guest's next proposal (or accepts its capabilities
report) where the model, still negotiating, does the opposite: ``not-allowed``.
"""

from __future__ import annotations

from dynmem.model.vocabulary import HostProfile
from dynmem.verification.mutants.catalogue import BY_NAME
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl


def make_iut() -> ReferenceSystem:
    # The catalogue's planted bug of the same name: R-VERSION without the host's profile.
    return ReferenceSystem(BY_NAME["host_accepts_any_version"].reference_step,
                           name="2008 R2 SP1 host accepting 2.0",
                           host_profile=HostProfile.WS2008R2SP1)


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
