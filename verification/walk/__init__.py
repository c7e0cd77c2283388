"""Seeded random walks over the reference: long lifecycles, every check on every step.

``run_walk`` runs a campaign (episodes of ``depth`` steps, swarm masks of event kinds, a
fair settle and the progress properties at each episode's end) over a ``WalkSpace`` (an
explorer preset or ``REAL_8VM``; ``with_vm_lifecycle`` adds the lifecycle events,
``with_linux_guest`` a Linux guest, ``with_hibernating_guest`` one that may
hibernate, drawn per episode, ``with_alignments`` hot-add alignments; ``for_planted_bug``
what a planted bug's events need) and returns a ``WalkResult``; a failure is replayed
into the usual trace and minimised by the cross-engine shrinker. No Hypothesis, no clock.
``run_swarm`` runs campaigns of consecutive seeds, serially or on a cluster's workers.
``run_page_walk`` walks the page layer (``page_step``) over a ``PageWalkSpace``
(``PAGE_WALK_PRESETS``: several VMs of hundreds of MiB to GiB), sending every shape of the
shared page menu, and returns a ``PageWalkResult`` (specs/pages.md §7).
"""

from dynmem.verification.walk.config import (
    REAL_8VM,
    WALK_PRESETS,
    WalkConfig,
    WalkSpace,
    for_planted_bug,
    with_alignments,
    with_hibernating_guest,
    with_linux_guest,
    with_vm_lifecycle,
)
from dynmem.verification.walk.engine import Walker
from dynmem.verification.walk.pagespace import PAGE_WALK_PRESETS, PageWalkSpace
from dynmem.verification.walk.pagewalk import PageWalkResult, run_page_walk
from dynmem.verification.walk.run import WalkFailure, WalkResult, run_walk
from dynmem.verification.walk.swarm import SwarmResult, run_swarm

__all__ = [
    "PAGE_WALK_PRESETS", "REAL_8VM", "WALK_PRESETS", "PageWalkResult", "PageWalkSpace",
    "SwarmResult", "WalkConfig", "WalkFailure", "WalkResult",
    "WalkSpace", "Walker", "for_planted_bug", "run_page_walk", "run_swarm", "run_walk",
    "with_alignments", "with_hibernating_guest", "with_linux_guest", "with_vm_lifecycle",
]
