"""A hash of what random walks find, to show that a speed-up of the walk changed no verdict.

A script, not a test. Runs ``run_walk`` (seed 1, every invariant and refinement on every
step) on 8vm-gib and the 2-VM preset, and prints the SHA-256 (first 16 digits) of every
episode's last state and what stopped it, with the campaign's counts; then walks every
planted bug (2-VM preset, or the bug's own host and guest, seed 0, with and without
refinement, no shrinking) and hashes what each finds: its message, episode and step count.
``--baseline REF`` runs the same with that commit's code (``git archive``, as
``bench_explore.py``) in a child process first: equal digests are the same walks and verdicts.

    python3 benchmarks/walk_digest.py [--episodes 1000] [--depth 500] [--baseline REF]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from pathlib import Path

from bench_explore import run_in_trees

import dynmem.verification.walk.run as walk_run
from dynmem.reference.state import DmState
from dynmem.verification.explore.config import get_config, with_host_profile
from dynmem.verification.mutants.catalogue import MUTANTS
from dynmem.verification.walk import REAL_8VM, WalkSpace, run_walk, with_linux_guest
from dynmem.verification.walk.engine import EpisodeProfiles, Stopped, Walker


class _Recording(Walker):
    """A walker that hashes each episode's last state and what stopped it."""

    digest = hashlib.sha256()

    def walk(self, rng: random.Random, mask: int, depth: int,
             profiles: EpisodeProfiles = ()) -> tuple[DmState, Stopped | None]:
        last, stopped = super().walk(rng, mask, depth, profiles)
        _Recording.digest.update(repr((mask, profiles, last, stopped)).encode())
        return last, stopped


def walks(space: WalkSpace, episodes: int, depth: int) -> str:
    """One line: the campaign's counts, its digest and CPU seconds."""
    _Recording.digest = hashlib.sha256()
    started = time.process_time()
    r = run_walk(space, episodes=episodes, depth=depth, seed=1, refinement=True)
    cpu = time.process_time() - started
    return (f"{space.name}: {r.steps:,} steps ({r.accepted:,} accepted), {r.settle_steps:,} "
            f"settling, {'ok' if r.ok else r.failure}, digest "
            f"{_Recording.digest.hexdigest()[:16]}, {cpu:.1f} CPU s")


def mutants() -> str:
    """One line: the planted bugs' findings' digest, how many are caught, CPU seconds."""
    h = hashlib.sha256()
    caught = 0
    started = time.process_time()
    for bug in MUTANTS:
        space = with_linux_guest(get_config(2)) if bug.explore_linux else get_config(2)
        space = with_host_profile(space, bug.explore_profile)
        for refinement in (True, False):
            r = run_walk(space, episodes=1000, depth=500, seed=0, step_fn=bug.reference_step,
                         plan=bug.policy, mutant=bug.name, refinement=refinement,
                         shrink=False, failure_dir=Path(tempfile.gettempdir()) / "walk-digest")
            f = r.failure
            caught += f is not None
            found = None if f is None else (f.message, f.episode, f.steps)
            h.update(repr((bug.name, refinement, r.steps, r.accepted, found)).encode())
    cpu = time.process_time() - started
    return (f"planted bugs: {caught} of {2 * len(MUTANTS)} walks caught, digest "
            f"{h.hexdigest()[:16]}, {cpu:.1f} CPU s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=500)
    parser.add_argument("--baseline", metavar="REF")
    parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.here:
        walk_run.Walker = _Recording  # type: ignore[misc]
        for space in (REAL_8VM, get_config(2)):
            print(walks(space, args.episodes, args.depth), flush=True)
        print(mutants(), flush=True)
        return 0
    run_in_trees(__file__, ["--episodes", str(args.episodes), "--depth", str(args.depth)],
                 args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
