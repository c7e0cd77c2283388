"""Every planted bug of the shared catalogue (verification/mutants/catalogue.py) is caught, with a
readable trace: all of them by exhaustive exploration, most of them by the ``ci`` stateful
campaign too. Together they break every invariant of DOMAIN.md §3."""

from __future__ import annotations

import pytest

from dynmem.verification.explore.run import ExploreResult, run_exploration
from dynmem.verification.mutants.catalogue import BY_NAME, MUTANTS
from dynmem.verification.stateful.fuzz import run_fuzz
from dynmem.verification.traces import render_text

NAMES = tuple(m.name for m in MUTANTS)  # the catalogue itself, never a copy
DOMAIN_INVARIANTS = {
    "INV-FLOOR", "INV-CEILING", "INV-PHYSICAL", "INV-NO-HOST-PAGING", "INV-CONSERVATION",
    "INV-STATIC", "INV-OFF", "INV-ONE-TXN", "INV-CONFIG",
}
# The stateful campaign gets a budget of 1000 examples per bug here (it stops at the first
# failure; no shrinking). Hypothesis's search is partly time-driven, so where a bug is first
# found moves between runs and machines: measured, every bug below failed within its first
# 250 examples (most within 80), a wide margin. request_before_quiet_period_end needs a
# request in the short quiet-period window (first failure after 800 to 1100 examples) and is
# left to exploration, which catches every bug; benchmarks/mutant_table.py reports both
# engines for all of them.
# restore_at_startup needs a saved VM, a start filling memory and a restore in a run with the
# lifecycle on (a quarter of the runs): not within 1000 ci examples (measured 2026-12-03);
# exploration and BMC catch it.
# reclaim_squeezes_higher_weight needs a start that waits beside a grown, reporting VM of
# higher weight, then a tick: not within 1000 ci examples (1,381 started, 41 s CPU, measured
# 2026-12-03); exploration catches it (7 steps) and the thorough campaign
# (tests/verification/stateful/test_thorough_lifecycle.py).
# oversized_answer_not_clamped needs an answer to a balloon in flight, which the ci machine
# rarely draws (its admin and lifecycle rules end most transactions first: 0 to 2 draws of a
# balloon answer in 200 examples, measured 2026-12-03). It was caught here only while
# Hypothesis mixed the test modules' literals into the draws (verification/generation.py);
# with the draws pinned it is not within 1000 examples (1,267 started, 41 s CPU).
# Exploration catches it (tests/verification/explore/test_explore.py).
# hot_add_without_capability, hot_add_after_partial and hot_add_kept_after_partial need a
# hot-add to a guest that advertised none, or a partial answer and then another hot-add; the
# ci campaign sends few hot-adds (50 in its first 150 examples, about 15,000 steps): not
# within 1000 ci examples (1,413, 1,359 and 1,430 started; 51, 88 and 119 s wall under load,
# measured 2026-12-03).
# Exploration (5 to 7 steps), BMC, the proofs and the thorough campaign
# (tests/verification/stateful/test_thorough_guards.py) catch them.
# linux_report_read_as_windows misreads Linux guests only: run_fuzz starts fleets of Windows
# and Linux guests for it (explore_linux), and the ci campaign then fails at example 143
# (measured 2026-12-03, derandomized, no shrinking).
LEFT_TO_EXPLORATION = {"request_before_quiet_period_end", "restore_at_startup",
                       "reclaim_squeezes_higher_weight", "oversized_answer_not_clamped",
                       "hot_add_without_capability", "hot_add_after_partial",
                       "hot_add_kept_after_partial"}
STATEFUL = tuple(n for n in NAMES if n not in LEFT_TO_EXPLORATION)
STATEFUL_BUDGET = 1000

_explored: dict[str, ExploreResult] = {}


def explored(name: str) -> ExploreResult:
    """The exploration of ``name`` (memoised: several tests read it)."""
    if name not in _explored:
        _explored[name] = run_exploration(BY_NAME[name].explore_vms, mutant=name)
    return _explored[name]


def test_catalogue_names_are_unique_and_known() -> None:
    """Engines look bugs up by name: names are unique, and the ones singled out here exist."""
    assert len(set(NAMES)) == len(NAMES) == len(BY_NAME)
    assert set(BY_NAME) >= LEFT_TO_EXPLORATION


def test_catalogue_covers_every_domain_invariant() -> None:
    """The expected breaks of the catalogue cover DOMAIN.md §3, and exploration observes
    each of them on some mutant."""
    assert {b for m in MUTANTS for b in m.breaks} >= DOMAIN_INVARIANTS
    observed = {inv for name in NAMES for inv, _ in explored(name).violations}
    assert observed >= DOMAIN_INVARIANTS


@pytest.mark.parametrize("name", NAMES)
def test_exploration_catches(name: str) -> None:
    """Exploration finds every invariant the bug should break (or, for a policy bug, an
    oscillation), with a shortest trace that names the broken invariant."""
    bug, result = BY_NAME[name], explored(name)
    assert not result.ok and result.trace is not None
    found = {inv for inv, _ in result.violations} | {p for p, _ in result.progress}
    assert set(bug.breaks) <= found
    text = render_text(result.trace)
    assert any(f"✗ {inv}" in text for inv in bug.breaks), text


@pytest.mark.slow  # a Hypothesis campaign per planted bug
@pytest.mark.parametrize("name", STATEFUL)
def test_stateful_catches(name: str) -> None:
    """The ci campaign (invariants only, no shrinking here) fails on the bug with one of
    the invariants it should break, and its trace shows it."""
    bug = BY_NAME[name]
    result = run_fuzz("ci", mutant=name, refinement=False, shrink=False,
                      examples=STATEFUL_BUDGET)
    assert not result.ok and result.message is not None and result.trace is not None
    assert result.message.split(" ")[0].rstrip(":") in bug.breaks, result.message
    assert any(f"✗ {inv}" in render_text(result.trace) for inv in bug.breaks)
