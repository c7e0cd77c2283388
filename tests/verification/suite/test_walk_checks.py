"""The walk's checks in ``dynmem verify``'s engines section (verification/suite/
engine_checks.py): the issue-13 campaign passes on the reference, fails on a planted bug
with its trace, and the liveness check says so when the walk misses its bug."""

from __future__ import annotations

from dynmem.verification.explore.config import get_config
from dynmem.verification.suite import engine_checks
from dynmem.verification.suite.engine_checks import check_walk, check_walk_catches_a_planted_bug
from dynmem.verification.walk import REAL_8VM


def test_the_engines_section_runs_the_walk() -> None:
    names = [c.name for c in engine_checks.checks()]
    assert {"walk 2 VMs", "walk 8 VMs of GiB sizes", "walk catches a planted bug"} <= set(names)


def test_the_walk_finds_nothing_on_the_reference() -> None:
    verdict = check_walk(get_config(2))
    assert verdict.ok, verdict
    assert verdict.summary.startswith("500,000 steps checked"), verdict.summary
    assert "refinement checked" in verdict.summary


def test_the_eight_vm_space_is_walked() -> None:
    """The same check on eight VMs of GiB sizes (a short campaign here; verify runs 1000
    episodes)."""
    verdict = check_walk(REAL_8VM, episodes=20)
    assert verdict.ok and verdict.summary.startswith("10,000 steps checked"), verdict


def test_a_planted_bug_fails_the_check_with_its_trace() -> None:
    verdict = check_walk(get_config(2), mutant="stop_leaks_in_flight")
    assert not verdict.ok and verdict.summary.startswith("FAILED in episode"), verdict
    assert len(verdict.traces) == 1 and not verdict.traces[0].ok
    assert any(line.endswith(".itf.json") for line in verdict.details)


def test_the_liveness_check_catches_its_bug_and_says_when_it_does_not() -> None:
    assert check_walk_catches_a_planted_bug().ok
    # a policy bug that shows only at the end of short episodes (README: the walk's
    # planted-bug table): 1000 episodes of 500 steps miss it
    missed = check_walk_catches_a_planted_bug("linux_report_read_as_windows")
    assert not missed.ok and "NOT caught" in missed.summary, missed
