"""The ``explore`` and ``fuzz`` sections of ``dynmem verify``: the CI-size runs of issue 4.

* exploration: every reachable state of the 2-VM preset checked against every invariant,
  with no oscillation (PROG-FIXED-POINT) and no starvation or weight-order finding;
* oscillation detection is live: the planted policy without hysteresis is caught;
* fuzzing: the ``ci`` Hypothesis profile (adversarial lifecycles, refinement against the
  model after every step) finds nothing and covers at least ``MIN_COVERAGE`` of the
  reachable (event kind × channel/transaction state) pairs.
"""

from __future__ import annotations

from functools import partial

from dynmem.model.vocabulary import HostProfile
from dynmem.verification.explore.run import ExploreResult, run_exploration
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

SECTION = "engines"
# the ci profile's share of reachable pairs, lifecycle pairs included (measured 0.68 to 0.79);
# tests/verification/stateful/test_stateful.py pins the same share
MIN_COVERAGE = 0.55


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
    ]
