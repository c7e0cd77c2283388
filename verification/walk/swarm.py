"""``run_swarm``: several walk campaigns, one per seed, merged in seed order.

A campaign is one random stream (``run_walk``): its episodes cannot be split without
changing what it draws. A swarm is independent campaigns of seeds ``seed``, ``seed + 1``,
...; each can run anywhere (``mapper``: a Dask cluster, verification/cluster) and the merge
is by seed, never by completion order, so a swarm's verdict and report are those of the
serial run. Each campaign writes a failure into its own folder (``seed-S``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from dynmem.verification.tasks import Mapper, serial_map
from dynmem.verification.walk.config import WalkSpace
from dynmem.verification.walk.run import WalkResult, run_walk


@attrs.frozen
class SwarmResult:
    """The campaigns of a swarm in seed order."""

    campaigns: tuple[WalkResult, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.campaigns)

    @property
    def first_failure(self) -> WalkResult | None:
        """The failing campaign of the lowest seed (the one the report shows in full)."""
        return next((c for c in self.campaigns if not c.ok), None)

    @property
    def steps(self) -> int:
        return sum(c.steps for c in self.campaigns)

    def summary(self) -> str:
        failed = [c.seed for c in self.campaigns if not c.ok]
        seeds = [c.seed for c in self.campaigns]
        head = (f"walk swarm: {len(seeds)} campaigns (seeds {seeds[0]}..{seeds[-1]}), "
                f"{self.steps:,} steps checked")
        return head + (": ok" if not failed else
                       f": FAILED in {len(failed)} (seeds {', '.join(map(str, failed))})")

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "engine": "walk-swarm", "steps": self.steps,
                "campaigns": [c.to_json() for c in self.campaigns]}


def _campaign(seed: int, space: WalkSpace, failure_dir: Path | None,
              options: dict[str, Any]) -> WalkResult:
    folder = None if failure_dir is None else failure_dir / f"seed-{seed}"
    return run_walk(space, seed=seed, failure_dir=folder, **options)


def run_swarm(space: WalkSpace, *, campaigns: int, seed: int = 0,
              failure_dir: Path | None = None, mapper: Mapper = serial_map,
              on_done: Callable[[int, WalkResult], None] | None = None,
              **options: Any) -> SwarmResult:
    """``campaigns`` campaigns of seeds ``seed``.. over ``space`` (``options``: those of
    ``run_walk``: episodes, depth, step_fn, ...), one after another here or by ``mapper``
    (``cluster.ordered_map``: on Dask workers).

    Examples
    --------
    >>> from dynmem.verification.explore.config import PRESETS
    >>> swarm = run_swarm(PRESETS[1], campaigns=2, seed=5, episodes=2, depth=20)
    >>> [c.seed for c in swarm.campaigns], swarm.ok
    ([5, 6], True)
    """
    one = functools.partial(_campaign, space=space, failure_dir=failure_dir, options=options)
    seeds = list(range(seed, seed + campaigns))
    return SwarmResult(tuple(mapper(one, seeds, on_done)))
