"""Every planted bug of the shared catalogue (verification/mutants/catalogue.py) is caught, with a
readable trace: all of them by exhaustive exploration, most of them by the ``ci`` stateful
campaign too. Together they break every invariant of DOMAIN.md §3."""

from __future__ import annotations

import pytest

from dynmem.verification.explore.run import ExploreResult, run_exploration
from dynmem.verification.mutants.catalogue import BY_NAME, HIBERNATE_MUTANTS, MUTANTS
from dynmem.verification.stateful.fuzz import run_fuzz
from dynmem.verification.traces import render_text

NAMES = tuple(m.name for m in MUTANTS)  # the catalogue itself, never a copy
DOMAIN_INVARIANTS = {
    "INV-FLOOR", "INV-CEILING", "INV-PHYSICAL", "INV-NO-HOST-PAGING", "INV-CONSERVATION",
    "INV-STATIC", "INV-OFF", "INV-ONE-TXN", "INV-CONFIG",
}
# The stateful campaign gets a budget of 1000 examples per bug here (it stops at the first
# failure; no shrinking). The ci profile is derandomized and its draws are pinned
# (verification/generation.py), so where a bug is first found is the same on every machine
# and from every entry point; it moves only when the machine or its strategies change.
# Measured 2026-12-03 with the honest-guest rule and the lifecycle in half of the runs
# (stateful/machine.py), examples started to the first failure: most bugs within 400;
# hot_add_after_partial 1,382 and reclaim_squeezes_higher_weight 1,315 (Hypothesis starts
# more examples than the 1000 valid ones it counts); linux_report_read_as_windows 629 (its
# fleets mix Windows and Linux guests, explore_linux).
# Left to exploration, which catches every bug (benchmarks/mutant_table.py reports both
# engines): request_before_quiet_period_end needs a request in the short quiet-period window
# and balloon_without_capability a balloon to a guest that advertised none; neither within
# 1000 examples (1,362 and 1,498 started). The thorough campaign catches the second (its
# machine runs guests that advertise hot-add without balloon;
# tests/verification/stateful/test_thorough_guards.py covers the guards).
# restore_admitted_at_startup needs a restore that waits (a VM saved above its startup, then
# another grown into its image): not within 1000 examples (1,406 started, measured
# 2026-12-03); the thorough campaign's steering rules save grown VMs and restore into a full
# host (test_thorough_lifecycle.py).
# restore_at_startup and stuck_frees_unreceived left the budget when the honest guests began
# to advertise hot-add blocks of 4 and 128 MiB (issue 15 item 3): first found at examples
# 3,946 and 2,529. Their paths need memory to run out (a restore's image no longer fits; a
# balloon the policy sends and nobody answers), which the roomy hosts drawn rarely gave. Two
# choices are now drawn once per example (swarm-style; strategies.py ``fitted_host``,
# ``block_size_sets``; specs/lifecycle.md §6): half the hosts fitted to the fleet's
# startups, and the 2 MiB block only in three examples of four. Examples started to the
# first failure, before -> after (measured 2026-12-03, ``run_fuzz("ci", mutant=NAME,
# refinement=False, shrink=False)``): restore_at_startup 3,946 -> 292, stuck_frees_unreceived
# 2,529 -> 8, start_without_free_memory 39 -> 12, reset_keeps_ballooned_pages 341 -> 508,
# migrate_out_leaks_in_flight 500 -> 1,389 (started; within the 1000 valid examples),
# restart_keeps_report 4 -> 111, oversized_answer_not_clamped (not lifecycle) -> 788.
# The fitted hosts moved hot_add_without_capability out (a hot-add needs spare memory, and a
# fitted host rarely has it while a guest without hot-add is running): first found at example
# 2,566 (was within 400), measured 2026-12-03 with the same call; the thorough campaign
# catches it (test_thorough_guards.py, seed 2).
LEFT_TO_EXPLORATION = {"request_before_quiet_period_end", "balloon_without_capability",
                       "restore_admitted_at_startup", "hot_add_without_capability"}
# Caught within the budget, but each costs half a CPU minute or more of CI's 2 cores (test
# time at load 2, measured 2026-12-04: migrate_out 137 s, linux 65 s, admit 51 s, oversized
# 51 s, reclaim_squeezes 41 s, reset_keeps 40 s, balloon_below_startup 29 s): their campaigns
# run with the thorough ones (`bash tests/check.sh --thorough`); exploration catches all of
# them in CI (test_exploration_catches), and the campaigns of the others show in CI that the
# stateful machine catches planted bugs.
THOROUGH_ONLY = {"migrate_out_leaks_in_flight", "linux_report_read_as_windows",
                 "oversized_answer_not_clamped", "admit_without_free_memory",
                 "reclaim_squeezes_higher_weight", "reset_keeps_ballooned_pages",
                 "balloon_below_startup"}
STATEFUL = tuple(pytest.param(n, marks=pytest.mark.thorough) if n in THOROUGH_ONLY else n
                 for n in NAMES if n not in LEFT_TO_EXPLORATION)
STATEFUL_BUDGET = 1000

_explored: dict[str, ExploreResult] = {}


def explored(name: str) -> ExploreResult:
    """The exploration of ``name`` (memoised: several tests read it)."""
    if name not in _explored:
        _explored[name] = run_exploration(BY_NAME[name].explore_vms, mutant=name)
    return _explored[name]


def test_catalogue_names_are_unique_and_known() -> None:
    """Engines look bugs up by name: names are unique, and the ones singled out here exist."""
    assert len(set(NAMES)) == len(NAMES) == len(BY_NAME) - len(HIBERNATE_MUTANTS)
    assert set(BY_NAME) == {*NAMES, *(m.name for m in HIBERNATE_MUTANTS)}
    assert set(BY_NAME) >= LEFT_TO_EXPLORATION | THOROUGH_ONLY


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
    assert result.message.split(" ")[0].rstrip(":") in bug.evidence, result.message
    assert any(f"✗ {inv}" in render_text(result.trace) for inv in bug.evidence)
