"""``run_exploration``: one exploration as a result object (for ``dynmem explore``, ``dynmem
verify`` and the benchmarks).

The result says whether the run is clean (complete, no invariant violated, no progress
finding), gives the counts and timing, and carries the shortest counterexample trace (or
the trace of the first progress finding, an oscillation first).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

from dynmem.model.vocabulary import HostProfile
from dynmem.verification.explore.config import (
    ExploreConfig,
    get_config,
    with_alignments,
    with_hibernating_guest,
    with_host_profile,
    with_linux_guest,
)
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.explore.search import ProgressCallback
from dynmem.verification.explore.traces import counterexample_trace, progress_trace
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.properties.progress import GRAPH_PROPERTIES
from dynmem.verification.traces.trace import Trace


@attrs.frozen
class ExploreResult:
    """The outcome of one exploration.

    ``violations`` pairs each broken invariant with the length of its shortest
    counterexample; ``progress`` counts progress findings by property id; ``trace`` is the
    shortest counterexample (or the first progress finding's trace), None when clean.
    """

    ok: bool
    config: str
    mutant: str | None
    states: int
    edges: int
    seconds: float
    search_seconds: float
    complete: bool
    stopped_early: bool
    max_states: int
    queued: int
    violations: tuple[tuple[str, int], ...]
    violating_steps: int
    oscillations: int
    progress: tuple[tuple[str, int], ...]
    fixed_points: int
    trace: Trace | None
    exploration: Exploration = attrs.field(repr=False, eq=False)

    @property
    def states_per_second(self) -> float:
        """States per second of the search (the progress analysis is not counted)."""
        return self.states / self.search_seconds if self.search_seconds > 0 else 0.0

    def summary(self) -> str:
        """One line for people, e.g. ``2vm: 20773 states, 194882 edges, ... ok``."""
        head = (f"{self.config}{f' (mutant {self.mutant})' if self.mutant else ''}: "
                f"{self.states} states, {self.edges} edges, {self.seconds:.2f} s (search "
                f"{self.search_seconds:.2f} s, {self.states_per_second:,.0f} states/s), "
                f"{self.fixed_points} fixed points")
        if self.ok:
            return head + ": ok"
        found = [f"{inv} (shortest {n} steps)" for inv, n in self.violations]
        found += [f"{pid} x{n}" for pid, n in self.progress]
        if self.stopped_early:
            found.append("stopped at the first counterexamples")
        elif not self.complete:
            found.append(self.describe_incomplete())
        return head + ": " + "; ".join(found)

    def describe_incomplete(self) -> str:
        """Why the search stopped before the end, and how to finish it."""
        return (f"INCOMPLETE: the state limit --max-states {self.max_states:,} was reached "
                f"with {self.queued:,} states still queued; nothing is claimed about the "
                f"rest: rerun with a larger --max-states to complete it")

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "config": self.config, "mutant": self.mutant,
            "states": self.states, "edges": self.edges, "seconds": round(self.seconds, 3),
            "search_seconds": round(self.search_seconds, 3),
            "states_per_second": round(self.states_per_second), "complete": self.complete,
            "stopped_early": self.stopped_early, "max_states": self.max_states,
            "queued": self.queued,
            "violations": [{"invariant": i, "shortest": n} for i, n in self.violations],
            "violating_steps": self.violating_steps, "oscillations": self.oscillations,
            "progress": [{"property": p, "count": n} for p, n in self.progress],
            "fixed_points": self.fixed_points,
            "trace_steps": len(self.trace.steps) if self.trace is not None else None,
            "engine": self.exploration.engine,
        }


def run_exploration(vms: int = 2, *, mutant: str | None = None,
                    config: ExploreConfig | None = None, symmetry: bool | None = None,
                    on_progress: ProgressCallback | None = None,
                    memo: bool = True, max_states: int | None = None,
                    lifecycle: bool = False, linux: bool = False, hibernate: bool = False,
                    host_profile: HostProfile | None = None,
                    align: bool = False, batch: bool = True) -> ExploreResult:
    """Explore the preset for ``vms`` VMs (or ``config``) on the reference or a mutant.

    With a mutant the search stops once each invariant the mutant should break has a
    counterexample; a progress-only mutant is explored fully. ``memo`` False steps every
    candidate directly (see ``explore``); ``max_states`` replaces the preset's state limit.
    ``lifecycle`` adds the events of specs/lifecycle.md to the preset
    (``ExploreConfig.vm_lifecycle``; a mutant of those events asks for it). ``linux`` runs a
    Linux guest in the preset's last VM (``with_linux_guest``; a mutant that misreads Linux
    guests asks for it). ``hibernate`` runs a hibernating Linux guest there instead, with
    the lifecycle events (``with_hibernating_guest``; a mutant only such a guest shows asks
    for it). ``align`` lets guests advertise hot-add alignments of 4 and 128 MiB
    (``with_alignments``; a mutant that forgets the alignment asks for it).
    ``batch`` False runs the one-state search instead of the batch search (``explore``).
    ``host_profile`` puts the preset on a host of that profile (default: the preset's, or
    the one a mutant asks for, ``Mutant.explore_profile``).

    Examples
    --------
    >>> r = run_exploration(1)
    >>> r.ok, r.complete, r.trace is None
    (True, True, True)
    >>> run_exploration(1, mutant="stop_leaks_in_flight").violations
    (('INV-CONSERVATION', 6),)
    """
    cfg = config or get_config(vms)
    if symmetry is not None:
        cfg = attrs.evolve(cfg, symmetry=symmetry)
    if max_states is not None:
        cfg = attrs.evolve(cfg, max_states=max_states)
    bug = get_mutant(mutant) if mutant else None
    profile = host_profile if host_profile is not None else (
        bug.explore_profile if bug is not None else None)
    if profile is not None:
        cfg = with_host_profile(cfg, profile)
    if lifecycle or (bug is not None and bug.explore_lifecycle):
        cfg = cfg.with_vm_lifecycle()
    if hibernate or (bug is not None and bug.explore_hibernate):
        cfg = with_hibernating_guest(cfg)
    elif linux or (bug is not None and bug.explore_linux):
        cfg = with_linux_guest(cfg)
    if align or (bug is not None and bug.explore_align):
        cfg = with_alignments(cfg)
    # The graph properties are judged on the finished graph; the others on each step.
    targets = [b for b in bug.breaks if b not in GRAPH_PROPERTIES] if bug else []
    x = (explore(cfg, bug.reference_step, bug.policy, until_found=targets,
                 on_progress=on_progress, memo=memo, batch=batch)
         if bug else explore(cfg, on_progress=on_progress, memo=memo, batch=batch))
    return summarise(x, mutant)


def summarise(x: Exploration, mutant: str | None = None) -> ExploreResult:
    """The :class:`ExploreResult` of a finished exploration (builds its trace)."""
    notes = (("mutant", mutant),) if mutant else ()
    examples = sorted(x.counterexamples.items(), key=lambda kv: (kv[1].length, kv[0]))
    trace = None
    if examples:
        trace = counterexample_trace(x, examples[0][1], notes)
    elif x.progress:
        first = sorted(x.progress, key=lambda f: (not f.cycle, x.depth[f.state]))[0]
        trace = progress_trace(x, first, notes)
    kinds = Counter(v.invariant for f in x.progress for v in f.violations)
    return ExploreResult(
        ok=x.ok, config=x.config.name, mutant=mutant, states=x.n_states, edges=x.n_edges,
        seconds=x.seconds, search_seconds=x.search_seconds, complete=x.complete,
        stopped_early=x.stopped_early, max_states=x.config.max_states, queued=x.queued,
        violations=tuple((inv, c.length) for inv, c in examples),
        violating_steps=x.violating_steps,
        oscillations=sum(1 for f in x.progress if f.cycle),
        progress=tuple(sorted(kinds.items())), fixed_points=sum(x.fixed),
        trace=trace, exploration=x)
