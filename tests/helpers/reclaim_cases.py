"""A full dynamic host for the start-time reclaim tests (P-RECLAIM)."""

from __future__ import annotations

from dm_builders import dyn, make, ready, settled

from dynmem.reference.settings import VmSettings
from dynmem.reference.state import DmState


def full_dynamic_host() -> DmState:
    """lo1 and lo2 (weight 2000) grown until free is 0; hi (weight 8000, startup 2048) and
    peer (weight 2000) off."""
    state = make(("lo1", dyn(maximum=8192, weight=2000)), ("lo2", dyn(maximum=8192, weight=2000)),
                 ("hi", VmSettings(dynamic=True, startup_mib=2048, weight=8000)),
                 ("peer", dyn(weight=2000)))
    state = settled(ready(ready(state, "lo1", report=4000), "lo2", report=4000))
    assert state.free_mib == 0
    return state
