"""The random phase on several seeds, each an independent run with its own IUT process.

``SeedRun`` is one seed's run as a picklable task (what a Dask worker receives: the IUT's
command, not a process), so ``run_seeds`` can spread the seeds over any ``Mapper``: the
serial one or a cluster's (verification/cluster). ``merge_seeds`` folds the per-seed results
into one report in the seeds' order, never in completion order: the same seeds give the same
merged verdict serially and on a cluster.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from dynmem.model.vocabulary import HostProfile
from dynmem.verification.oracle.check import hello_failure
from dynmem.verification.oracle.generate import get_default_source
from dynmem.verification.oracle.iut import IutFault, Kind, Mode, check_hello
from dynmem.verification.oracle.search import SHRINK_REPLAYS, SearchResult, search
from dynmem.verification.oracle.wire import SubprocessIut
from dynmem.verification.tasks import Mapper, serial_map


@attrs.frozen
class SeedRun:
    """The random phase of ``dynmem oracle`` for one seed (``__call__``), against a fresh
    process of ``iut`` started in ``cwd`` (a worker's own directory may differ)."""

    iut: str
    kind: Kind
    mode: Mode
    examples: int
    max_steps: int = 60
    lifecycle: bool = False
    linux: bool = False
    profile: HostProfile = HostProfile.QEMU
    shrink_replays: int = SHRINK_REPLAYS
    timeout: float = 10.0
    cwd: str | None = None
    alignments: tuple[int, ...] = ()  # what guests advertise besides 2 MiB (Rule P1c)

    def __call__(self, seed: int) -> SearchResult:
        driver = SubprocessIut(self.iut, timeout=self.timeout, cwd=self.cwd)
        try:
            try:
                check_hello(driver.hello(self.kind, self.mode), self.kind)
            except IutFault as fault:
                return attrs.evolve(hello_failure(fault), seed=seed)
            source = get_default_source(self.kind, self.max_steps, self.lifecycle,
                                        self.linux, self.profile, self.alignments)
            return search(driver, self.kind, self.mode, source, self.examples, seed,
                          shrink_replays=self.shrink_replays)
        finally:
            driver.close()


def summarize(result: SearchResult) -> dict[str, object]:
    """One seed's line of report.json ``seeds``."""
    case = result.failure
    divergence = case.divergence if case is not None else None
    return {"seed": result.seed, "verdict": "pass" if divergence is None else "fail",
            "class": divergence.cls if divergence is not None else None,
            "examples": result.examples, "shrink_runs": result.shrink_runs,
            "steps": len(case.events) if case is not None else 0}


def merge_seeds(results: list[SearchResult]) -> SearchResult:
    """One result for the seeds run: the failure of the first failing seed in the order
    given (every seed listed in ``seeds``) or a pass with every seed's examples; the cells
    and situations met by any seed."""
    assert results, "at least one seed"
    seeds = tuple(summarize(result) for result in results)
    cells = frozenset().union(*(result.cells for result in results))
    situations = frozenset().union(*(result.situations for result in results))
    failing = [result for result in results if result.failure is not None]
    if failing:
        return attrs.evolve(failing[0], seeds=seeds, cells=cells, situations=situations)
    return attrs.evolve(results[0], seeds=seeds, cells=cells, situations=situations,
                        examples=sum(result.examples for result in results))


def run_seeds(run: SeedRun, seeds: list[int], mapper: Mapper = serial_map,
              on_done: Callable[[int, SearchResult], None] | None = None) -> SearchResult:
    """``run`` on every seed through ``mapper``, merged in the seeds' order; ``on_done``
    hears of each seed as it ends (in completion order: for progress only)."""
    return merge_seeds(mapper(run, seeds, on_done))
