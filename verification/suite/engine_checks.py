"""The ``explore`` and ``fuzz`` sections of ``dynmem verify``: the CI-size runs of issue 4.

* exploration: every reachable state of the 2-VM preset checked against every invariant,
  with no oscillation (PROG-FIXED-POINT) and no starvation or weight-order finding;
* oscillation detection is live: the planted policy without hysteresis is caught;
* fuzzing: the ``ci`` Hypothesis profile (adversarial lifecycles, refinement against the
  model after every step) finds nothing and covers at least ``MIN_COVERAGE`` of the
  reachable (event kind × channel/transaction state) pairs;
* the walk (issue 13): seeded random walks of ``WALK_EPISODES`` x ``WALK_DEPTH`` steps over
  the 2-VM preset and over eight VMs of GiB sizes, every invariant and the model's
  transition on every step and the progress properties at each episode's end, find nothing;
  and a planted bug is caught (the walk's checks are not vacuous).
"""

from __future__ import annotations

from functools import partial

from dynmem.model.vocabulary import HostProfile
from dynmem.verification.explore.config import EXPLORE_ALIGNMENTS, get_config
from dynmem.verification.explore.run import ExploreResult, run_exploration
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.properties.reachable import REACHABLE_PAIRS
from dynmem.verification.stateful.fuzz import run_fuzz
from dynmem.verification.stateful.machine import get_settings
from dynmem.verification.suite.checks import (
    DEFAULT_BUDGETS,
    Budgets,
    Check,
    Verdict,
    report_progress,
)
from dynmem.verification.traces import ASCII_MARKS, describe_finding
from dynmem.verification.walk import REAL_8VM, WalkResult, WalkSpace, for_planted_bug, run_walk

SECTION = "engines"
# the ci profile's share of reachable pairs, lifecycle pairs included (measured 0.68 to 0.79);
# tests/verification/stateful/test_stateful.py pins the same share
MIN_COVERAGE = 0.55
# the walk's campaign, as issue 13 measures it (500,000 checked steps; seed 1)
WALK_EPISODES, WALK_DEPTH, WALK_SEED = 1000, 500, 1
# the planted bug the walk must catch: a stop that loses a transaction's memory
WALK_LIVE_BUG = "stop_leaks_in_flight"


def _findings(result: ExploreResult) -> tuple[str, ...]:
    lines = [f"{inv}: shortest counterexample {n} steps" for inv, n in result.violations]
    lines += [f"{prop}: {n} findings" for prop, n in result.progress]
    if result.trace is not None:
        lines += [describe_finding(f, ASCII_MARKS) for f in result.trace.findings]
    return tuple(lines)


def check_exploration(vms: int = 2, host_profile: HostProfile | None = None,
                      lifecycle: bool = False) -> Verdict:
    """Exhaustive exploration of the ``vms``-VM preset (on a host of ``host_profile``, if
    given; with the events of specs/lifecycle.md if ``lifecycle``) finds no violation and
    no oscillation."""
    def progress(states: int, edges: int, queued: int) -> None:
        report_progress(states, None, f"states, {edges:,} edges, {queued:,} queued")

    r = run_exploration(vms, on_progress=progress, host_profile=host_profile,
                        lifecycle=lifecycle)
    summary = (f"{r.states} states, {r.edges} edges, {r.fixed_points} fixed points, "
               f"{r.oscillations} oscillations ({r.states_per_second:,.0f} states/s)")
    ok = r.ok and r.complete and not r.violations and not r.oscillations and not r.progress
    traces = (r.trace,) if r.trace is not None else ()
    return Verdict(ok, summary if ok else "FOUND: " + summary, _findings(r), traces)


def check_oscillation_detected() -> Verdict:
    """The planted oscillating policy must be reported (the progress check is not vacuous)."""
    r = run_exploration(1, mutant="oscillating_policy")
    caught = r.oscillations > 0 and r.trace is not None
    summary = (f"planted oscillating policy caught: {r.oscillations} oscillations, "
               f"cycle trace of {len(r.trace.steps)} steps" if caught and r.trace else
               "planted oscillating policy NOT caught: the oscillation check is vacuous")
    return Verdict(caught, summary)


def check_fuzz() -> Verdict:
    """The ``ci`` Hypothesis campaign finds nothing and covers enough reachable pairs."""
    total = get_settings("ci").max_examples

    def progress(examples: int, steps: int, seconds: float) -> None:
        report_progress(min(examples, total), total, f"examples, {steps:,} steps")

    r = run_fuzz("ci", on_progress=progress)
    share = r.coverage.share_of(REACHABLE_PAIRS)
    summary = (f"{r.examples} examples, {r.steps} steps ({r.steps_per_second:,.0f}/s), "
               f"coverage {share:.0%} of {len(REACHABLE_PAIRS)} reachable pairs, refinement "
               f"{'checked' if r.refinement_checked else 'NOT checked'}")
    ok = r.ok and r.refinement_checked and share >= MIN_COVERAGE
    details = tuple(line for line in (r.message, r.program) if line)
    traces = (r.trace,) if r.trace is not None else ()
    return Verdict(ok, summary if ok else "FAILED: " + summary, details, traces)


def _walk(space: WalkSpace, episodes: int, depth: int, mutant: str | None = None
          ) -> WalkResult:
    """One walk campaign with refinement, its episodes reported as progress."""
    def progress(done: int, steps: int) -> None:
        report_progress(done, episodes, f"episodes, {steps:,} steps")

    if mutant is None:
        return run_walk(space, episodes=episodes, depth=depth, seed=WALK_SEED,
                        on_progress=progress)
    bug = get_mutant(mutant)
    return run_walk(for_planted_bug(space, bug, EXPLORE_ALIGNMENTS), episodes=episodes,
                    depth=depth, seed=WALK_SEED, step_fn=bug.reference_step, plan=bug.policy,
                    mutant=mutant, on_progress=progress)


def check_walk(space: WalkSpace, episodes: int = WALK_EPISODES, depth: int = WALK_DEPTH,
               mutant: str | None = None) -> Verdict:
    """The walk over ``space`` (under a planted bug's step, if ``mutant``) finds nothing:
    every invariant and the model's transition on every step, the progress properties at
    every episode's end."""
    r = _walk(space, episodes, depth, mutant)
    summary = (f"{r.steps:,} steps checked ({r.accepted:,} accepted) + {r.settle_steps:,} "
               f"settling in {r.episodes} episodes, refinement "
               f"{'checked' if r.refinement else 'NOT checked'} "
               f"({r.steps_per_cpu_second:,.0f} steps per CPU s)")
    f = r.failure
    if f is None:
        return Verdict(r.refinement, summary if r.refinement else "FAILED: " + summary)
    return Verdict(False, f"FAILED in episode {f.episode} after {f.steps:,} steps: "
                          f"{f.message}", (r.summary(), *f.files), (f.shown,))


def check_walk_catches_a_planted_bug(mutant: str = WALK_LIVE_BUG) -> Verdict:
    """The walk must stop on a planted bug (its checks are not vacuous)."""
    r = _walk(get_config(2), WALK_EPISODES, WALK_DEPTH, mutant)
    f = r.failure
    if f is None:
        return Verdict(False, f"planted {mutant} NOT caught in {r.steps:,} steps: the walk's "
                              f"checks are vacuous")
    return Verdict(True, f"planted {mutant} caught after {f.steps:,} steps, a trace of "
                         f"{len(f.shown.steps)} steps: {f.message}")


def checks(budgets: Budgets = DEFAULT_BUDGETS) -> list[Check]:
    """The engines' checks (bounded by their own counts: states, examples)."""
    return [
        Check("exploration 2 VMs", SECTION, check_exploration),
        # the host that speaks protocol 0.3 only: every negotiation refuses 2.0 and 1.0 first
        Check("exploration 2 VMs, 2008 R2 SP1 host", SECTION,
              partial(check_exploration, 2, HostProfile.WS2008R2SP1)),
        # restarts, resets, the watchdog, save/restore, migration and waiting starts
        # (124,087 states since a restore may wait for reclaim; 113,953 before)
        Check("exploration 2 VMs with the lifecycle", SECTION,
              partial(check_exploration, 2, lifecycle=True)),
        Check("oscillation detection is live", SECTION, check_oscillation_detected),
        Check("fuzz ci profile", SECTION, check_fuzz),
        Check("walk 2 VMs", SECTION, partial(check_walk, get_config(2))),
        Check("walk 8 VMs of GiB sizes", SECTION, partial(check_walk, REAL_8VM)),
        Check("walk catches a planted bug", SECTION, check_walk_catches_a_planted_bug),
    ]
