"""``run_walk``: a campaign of seeded random walks, as a result object.

Each episode draws a swarm mask (the first keeps every kind), walks ``depth`` steps from the
initial state with every check on every step (``walk/engine.py``), then delivers honest
messages and ticks fairly until nothing happens and checks the progress properties there
(PROG-*, specs/invariants.md §3; each delivered step checked like a walked one). The first
problem stops the campaign: its events are replayed into a checked trace
(``traces.trace.record``), an invariant violation is minimised by the cross-engine shrinker
(``traces.shrink.shrink_trace``), and the ITF and text traces are written.

CPU seconds (user + system of this process) are reported beside wall seconds: they measure
the engine on a shared machine. Neither bounds anything: a campaign is episodes x depth.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.invariants import BY_ID
from dynmem.reference.environment import STUCK_AFTER_TICKS
from dynmem.reference.events import BalancerTick, Event
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState
from dynmem.reference.step import Plan, Step, StepResult, step
from dynmem.verification.atomic import write_atomic
from dynmem.verification.collector import without_cyclic_gc
from dynmem.verification.properties.progress import (
    check_fixed_point,
    check_squeeze_order,
    describe_unsettled,
    settle_fairly,
)
from dynmem.verification.traces import render_text
from dynmem.verification.traces.itf import write_itf
from dynmem.verification.traces.shrink import ShrinkResult, shrink_trace
from dynmem.verification.traces.trace import Finding, Trace, record
from dynmem.verification.walk.config import WalkSpace
from dynmem.verification.walk.engine import EpisodeProfiles, Stopped, Walker
from dynmem.verification.walk.offers import ALL_KINDS, describe_mask, pick_mask, pick_profiles
from dynmem.verification.walk.views import describe

SETTLE_STEPS = 2_000
WalkProgress = Callable[[int, int], None]  # (episodes done, steps so far)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    t = os.times()
    return t.user + t.system


@attrs.frozen
class WalkFailure:
    """What stopped a campaign: where, after how much work, and the trace (shrunk when it
    breaks a registry invariant)."""

    message: str
    episode: int  # 0-based
    kinds: tuple[str, ...]  # the episode's swarm mask
    steps: int  # checked steps of the campaign up to and including the failing one
    cpu_seconds: float
    trace: Trace  # the replayed episode, up to the failure
    shrunk: ShrinkResult | None
    files: tuple[str, ...]

    @property
    def shown(self) -> Trace:
        """The trace a person reads and ``files`` hold: the shrunk one, if the failure was
        shrunk, else the replayed episode."""
        return self.trace if self.shrunk is None else self.shrunk.trace


@attrs.frozen
class WalkResult:
    """The outcome of one campaign."""

    config: str
    mutant: str | None
    seed: int
    episodes: int  # episodes run (the last one may have stopped early)
    depth: int
    steps: int  # walked steps, each checked
    accepted: int
    settle_steps: int  # steps of the fair deliveries at episode ends, each checked
    cpu_seconds: float
    wall_seconds: float
    refinement: bool
    failure: WalkFailure | None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def steps_per_cpu_second(self) -> float:
        return self.steps / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def summary(self) -> str:
        head = (f"walk {self.config}{f' (mutant {self.mutant})' if self.mutant else ''}, seed "
                f"{self.seed}: {self.episodes} episodes x {self.depth} steps, {self.steps:,} "
                f"steps checked ({self.accepted:,} accepted) + {self.settle_steps:,} settling, "
                f"{self.cpu_seconds:.2f} CPU s ({self.steps_per_cpu_second:,.0f} steps per CPU "
                f"s), {self.wall_seconds:.2f} s wall"
                + ("" if self.refinement else "; refinement off"))
        if self.failure is None:
            return head + ": ok"
        f = self.failure
        return (head + f": FAILED in episode {f.episode} after {f.steps:,} steps "
                f"({f.cpu_seconds:.2f} CPU s): {f.message}")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.ok, "engine": "walk", "config": self.config, "mutant": self.mutant,
            "seed": self.seed, "episodes": self.episodes, "depth": self.depth,
            "steps": self.steps, "accepted": self.accepted, "settle_steps": self.settle_steps,
            "cpu_seconds": round(self.cpu_seconds, 3), "wall_seconds": round(self.wall_seconds, 3),
            "steps_per_cpu_second": round(self.steps_per_cpu_second),
            "refinement_checked": self.refinement,
        }
        f = self.failure
        if f is not None:
            data["failure"] = {
                "message": f.message, "episode": f.episode, "kinds": list(f.kinds),
                "steps": f.steps, "cpu_seconds": round(f.cpu_seconds, 3),
                "trace_steps": len(f.trace.steps),
                "shrunk_steps": None if f.shrunk is None else len(f.shrunk.trace.steps),
                "files": list(f.files)}
        return data


def run_walk(space: WalkSpace, *, episodes: int = 200, depth: int = 500, seed: int = 0,
             step_fn: Step = step, plan: Plan = compute_plan, mutant: str | None = None,
             refinement: bool = True, progress: bool = True, shrink: bool = True,
             memo: bool = True, failure_dir: Path | None = None,
             on_progress: WalkProgress | None = None) -> WalkResult:
    """Walk ``episodes`` episodes of ``depth`` steps over ``space``; stop at the first problem.

    ``step_fn``/``plan`` are the reference's or a planted bug's (``mutant`` names it in the
    trace); ``progress`` checks PROG-* after each episode's fair delivery; ``shrink``
    minimises an invariant violation; ``memo`` False steps every event on its state.
    """
    started_cpu, started_wall = cpu_seconds(), time.perf_counter()
    walker = Walker(space, step_fn, is_allowed if refinement else None, memo=memo)
    rng = random.Random(seed)
    settled = 0
    stopped: Stopped | None = None
    mask, done = ALL_KINDS, 0
    profiles: EpisodeProfiles = ()
    # The walker's memos grow to hundreds of thousands of objects and every full collection
    # traverses them all, finding nothing to free: a fifth of the CPU of a campaign on
    # 8vm-gib (measured 2026-12-04: 14.0 -> 11.0 CPU s). Its only cycles are the memos', which
    # ``Walker.clear`` breaks; another thread's cyclic garbage (a cluster worker's) waits
    # until the campaign ends. No verdict depends on when memory is freed.
    with without_cyclic_gc():
        for episode in range(episodes):
            mask = ALL_KINDS if episode == 0 else pick_mask(rng)
            profiles = pick_profiles(rng, space, episode)
            last, stopped = walker.walk(rng, mask, depth, profiles)
            done = episode + 1
            if stopped is None and progress:
                stopped, n = _settle(walker, last, step_fn, plan, profiles)
                settled += n
            if stopped is not None:
                break
            if on_progress is not None:
                on_progress(done, walker.steps)
        walker.clear()
    failure = None
    if stopped is not None:
        failure = _failure(walker, stopped, done - 1, mask, step_fn, mutant, shrink,
                           failure_dir, space.name, cpu_seconds() - started_cpu, profiles)
    return WalkResult(space.name, mutant, seed, done, depth, walker.steps, walker.accepted,
                      settled, cpu_seconds() - started_cpu, time.perf_counter() - started_wall,
                      refinement, failure)


def _settle(walker: Walker, state: DmState, step_fn: Step, plan: Plan,
            profiles: EpisodeProfiles = ()) -> tuple[Stopped | None, int]:
    """Fair delivery from ``state``, each step checked; then PROG-* at its end. Guests of
    ``profiles`` speak as their profile says, and beside them the host's watchdog fires
    (``STUCK_AFTER_TICKS``): a hibernating guest never answers, so only the watchdog ends
    the wait (specs/lifecycle.md §1, as the explorer's and the stateful machine's)."""
    run = settle_fairly(state, SETTLE_STEPS, step_fn, plan, (), dict(profiles),
                        STUCK_AFTER_TICKS if profiles else None)
    pre = state  # judged whole once: each step after it is judged by what it changed
    broken = walker.checks.check_state(state)
    if broken:
        return Stopped((), describe(broken[0])), 0
    for n, (event, result) in enumerate(run.steps, start=1):
        problem = walker.check(pre, event, result)
        broken = walker.checks.check_successor(pre, result.state) if result.accepted else []
        if problem is None and broken:
            problem = describe(broken[0])
        if problem is not None:
            return Stopped((), problem, run.steps[:n]), n
        pre = result.state
    if not run.converged:
        violation = describe_unsettled(run)
        return Stopped((), f"PROG-FIXED-POINT: {violation.message}", run.steps,
                       (violation,)), len(run.steps)
    unfair = tuple(check_fixed_point(pre))
    if unfair:
        return Stopped((), describe(unfair[0]), run.steps, unfair), len(run.steps)
    return None, len(run.steps)


def _failure(walker: Walker, stopped: Stopped, episode: int, mask: int, step_fn: Step,
             mutant: str | None, shrink: bool, failure_dir: Path | None, config: str,
             cpu: float, profiles: EpisodeProfiles = ()) -> WalkFailure:
    """Replay the failing episode into a trace, shrink it, write it out."""
    trace = _replay(walker.initial, stopped, step_fn, episode, mutant, config, profiles)
    shrunk = None
    first = trace.first_finding
    if shrink and first is not None and first.invariant in BY_ID:
        shrunk = shrink_trace(trace, step_fn, source="walk", mutant=mutant)
    folder = failure_dir or Path(tempfile.gettempdir()) / "dynmem-failures"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"walk-{mutant or 'reference'}"
    files = _write(trace if shrunk is None else shrunk.trace, stem)
    return WalkFailure(stopped.message, episode, tuple(describe_mask(mask)), walker.steps,
                       cpu, trace, shrunk, files)


def _replay(initial: DmState, stopped: Stopped, step_fn: Step, episode: int,
            mutant: str | None, config: str, profiles: EpisodeProfiles = ()) -> Trace:
    """The checked trace of the failing episode (its walked events, then any settling)."""
    results: list[tuple[Event, StepResult]] = []
    state = initial
    for event in stopped.events:
        try:
            result = step_fn(state, event)
        except Exception:  # the crash is the finding: the trace ends before it
            break
        results.append((event, result))
        state = result.state
    results += stopped.settle
    notes: tuple[tuple[str, Any], ...] = (
        ("config", config), ("episode", episode), ("problem", stopped.message))
    notes += (("mutant", mutant),) if mutant else ()
    notes += tuple((f"guest {name}", profile.value) for name, profile in profiles)
    trace = record(initial, results, source="walk", notes=notes)
    progress = stopped.progress
    if not progress and results and isinstance(results[-1][0], BalancerTick):
        # a tick that squeezed the wrong VM (PROG-RECLAIM-ORDER), judged on its pre-state
        before = trace.steps[-2].state if len(trace.steps) > 1 else initial
        progress = tuple(check_squeeze_order(before, results[-1][1].sent))
    if progress:
        more = tuple(Finding(len(results), v) for v in progress)
        trace = attrs.evolve(trace, findings=trace.findings + more)
    return trace


def _write(trace: Trace, stem: Path) -> tuple[str, ...]:
    write_itf(trace, f"{stem}.itf.json")
    write_atomic(f"{stem}.txt", render_text(trace))
    return f"{stem}.itf.json", f"{stem}.txt"
