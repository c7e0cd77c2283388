"""The page-level walk (verification/walk/pagewalk.py, specs/pages.md §7): the reference
passes, every planted page bug is caught with a short trace, a seed fixes the run, and the
command answers bad flags in one line."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dynmem.reference.pages import PAGE_INVARIANTS
from dynmem.verification.cli.main import main
from dynmem.verification.mutants.pages import ALL_PAGE_MUTANTS, PAGE_MUTANTS_BY_NAME
from dynmem.verification.pagemenu import (
    BALLOON_SHAPES,
    HOT_ADD_ANSWERS,
    REGION_SHAPES,
    UNBALLOON_SHAPES,
)
from dynmem.verification.traces.pagetrace import recheck_page_trace, replay_page_trace
from dynmem.verification.walk.pageoffers import (
    PAGE_ALWAYS,
    PAGE_GROUPS,
    PAGE_SHAPE_BIT,
    pick_page_mask,
)
from dynmem.verification.walk.pagespace import PAGES_2VM, PAGES_4VM
from dynmem.verification.walk.pagewalk import (
    get_problem_kind,
    run_page_walk,
    shrink_page_episode,
)


class TestReference:
    @pytest.mark.parametrize("space", [PAGES_2VM, PAGES_4VM], ids=lambda s: s.name)
    def test_reference_passes_and_sends_every_shape(self, space) -> None:  # type: ignore[no-untyped-def]
        """A small seeded campaign: no problem, every step checked, each shape of the menu
        sent (the first episode keeps every shape)."""
        r = run_page_walk(space, episodes=12, depth=200, seed=0)
        assert r.ok and r.steps == 12 * 200
        assert 0 < r.accepted < r.steps and r.invariant_checks == r.steps * len(PAGE_INVARIANTS)
        assert r.fewest_sent >= 1, [s for s, n, _ in r.sent if n == 0]
        # the guest's bad answers are accepted (their bad pages clamped), the host's bad
        # requests refused by their page rules
        sent = {s: (n, a) for s, n, a in r.sent}
        assert sent["balloon-answer:twice"][1] == sent["balloon-answer:twice"][0]
        assert sent["unballoon-request:not-ballooned"][1] == 0
        assert {"R-PG-UNBALLOON-EXACT", "R-PG-UNIT", "R-PG-HOT-ADD-DISJOINT"} <= {
            rule for rule, _ in r.refusals}

    def test_every_shape_of_the_menu_is_a_walk_shape(self) -> None:
        """The walk sends the shared menu's shapes, all of them, and no other answers."""
        for group, menu in (("balloon-answer", BALLOON_SHAPES),
                            ("hot-add-answer", HOT_ADD_ANSWERS),
                            ("unballoon-request", UNBALLOON_SHAPES)):
            assert PAGE_GROUPS[group] == tuple(menu)
        assert set(REGION_SHAPES) < set(PAGE_GROUPS["hot-add-request"])


class TestDeterminism:
    def test_same_seed_same_run(self) -> None:
        a, b = (run_page_walk(PAGES_2VM, episodes=3, depth=100, seed=11) for _ in range(2))
        assert (a.steps, a.accepted, a.sent, a.refusals) == (b.steps, b.accepted, b.sent,
                                                              b.refusals)
        c = run_page_walk(PAGES_2VM, episodes=3, depth=100, seed=12)
        assert c.sent != a.sent

    def test_same_seed_same_failure(self) -> None:
        bug = PAGE_MUTANTS_BY_NAME["accept-pages-outside-ram"]
        a, b = (run_page_walk(PAGES_4VM, seed=3, step_fn=bug.step) for _ in range(2))
        assert a.failure is not None and b.failure is not None
        assert (a.failure.steps, a.failure.problem, a.failure.trace) == (
            b.failure.steps, b.failure.problem, b.failure.trace)

    def test_masks_keep_the_honest_shapes(self) -> None:
        rng = random.Random(0)
        masks = [pick_page_mask(rng) for _ in range(40)]
        assert all(m & PAGE_ALWAYS == PAGE_ALWAYS for m in masks)
        assert any(not m & PAGE_SHAPE_BIT["balloon-answer:twice"] for m in masks)
        assert any(not m & PAGE_SHAPE_BIT["balloon-request:size"] for m in masks)


class TestKillable:
    @pytest.mark.parametrize("bug", ALL_PAGE_MUTANTS, ids=lambda m: m.name)
    @pytest.mark.parametrize("space", [PAGES_2VM, PAGES_4VM], ids=lambda s: s.name)
    def test_every_page_bug_is_caught_with_a_short_trace(self, bug, space) -> None:  # type: ignore[no-untyped-def]
        """Each planted page bug (and round-parts-to-units, by the exact credit of honest
        answers) is caught in the default campaign, by what it breaks; the trace is
        shortened to a few steps, still fails its re-check, and the reference runs it
        without a problem (the bug is the host's, not the messages')."""
        r = run_page_walk(space, seed=0, step_fn=bug.step, mutant=bug.name)
        f = r.failure
        assert f is not None, bug.name
        assert set(get_problem_kind(f.problem).split(", ")) & set(bug.breaks), f.problem
        assert len(f.trace.steps) <= min(5, f.episode_steps), (bug.name, len(f.trace.steps))
        assert recheck_page_trace(f.trace) is not None
        honest = replay_page_trace(f.trace.initial, [s.event for s in f.trace.steps], "test")
        assert recheck_page_trace(honest) is None
        assert f.words and all(f.words)

    def test_shrinking_is_bounded_by_a_count(self) -> None:
        """With a budget of one replay the episode is returned as it failed, cut at the
        failing step; with the default it is 1-minimal."""
        bug = PAGE_MUTANTS_BY_NAME["credit-duplicate-pages-by-count"]
        r = run_page_walk(PAGES_2VM, seed=0, step_fn=bug.step, shrink=False)
        f = r.failure
        assert f is not None and len(f.trace.steps) == f.episode_steps
        events = tuple(s.event for s in f.trace.steps)
        once, _, replays = shrink_page_episode(f.trace.initial, events, f.problem, bug.step,
                                               max_replays=1)
        assert replays == 1 and len(once) <= len(events)
        short, problem, _ = shrink_page_episode(f.trace.initial, events, f.problem, bug.step)
        assert get_problem_kind(problem) == get_problem_kind(f.problem) and len(short) <= 3


class TestCommand:
    def test_green_run_says_what_it_covered(self, capsys: pytest.CaptureFixture[str]) -> None:
        code = main(["fuzz", "--engine", "walk", "--pages", "--episodes", "3", "--depth", "60"])
        out = capsys.readouterr().out
        assert code == 0 and "180 steps checked" in out and ": ok" in out
        n = len(PAGE_INVARIANTS)
        assert f"the {n} page invariants ({180 * n:,} checks)" in out
        assert "balloon-answer: honest" in out

    def test_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        code = main(["fuzz", "--engine", "walk", "--pages", "--preset", "pages-4vm",
                     "--episodes", "2", "--depth", "50", "--seed", "4", "--json"])
        data = json.loads(capsys.readouterr().out)
        assert code == 0 and data["ok"] and data["layer"] == "pages"
        assert data["steps"] == 100 and data["config"] == "pages-4vm"
        assert data["accepted"] + data["refused"] == 100

    def test_failure_is_written_and_shown(self, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
        """A page bug: exit 1, the shortened trace in words, written as page ITF that
        ``dynmem show`` reads and re-checks (exit 1: the violation)."""
        code = main(["fuzz", "--engine", "walk", "--pages", "--mutant",
                     "credit-duplicate-pages-by-count", "--out", str(tmp_path)])
        out = capsys.readouterr().out
        assert code == 1 and "verdict: VIOLATION at step" in out and "PINV-ONCE" in out
        assert "again" in out or "returns pages" in out
        itf = tmp_path / "walk-pages-credit-duplicate-pages-by-count.itf.json"
        assert itf.is_file() and itf.with_suffix("").with_suffix(".txt").is_file()
        assert main(["show", str(itf)]) == 1
        shown = capsys.readouterr().out
        assert "verdict: VIOLATION" in shown and "PINV-ONCE" in shown

    @pytest.mark.parametrize("argv, flag", [
        (["--pages"], "--pages"),  # the hypothesis engine
        (["--engine", "walk", "--pages", "--preset", "2vm"], "--preset"),
        (["--engine", "walk", "--pages", "--mutant", "stop_leaks_in_flight"], "--mutant"),
        (["--engine", "walk", "--pages", "--episodes", "0"], "--episodes"),
        (["--engine", "walk", "--pages", "--depth", "-3"], "--depth"),
        (["--engine", "walk", "--pages", "--swarm", "2"], "--swarm"),
        (["--engine", "walk", "--pages", "--linux"], "--linux"),
        (["--engine", "walk", "--pages", "--no-refinement"], "--no-refinement"),
    ])
    def test_bad_flags(self, argv: list[str], flag: str,
                       capsys: pytest.CaptureFixture[str]) -> None:
        """One line naming the flag, exit 2."""
        assert main(["fuzz", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert flag in err and len(err.splitlines()) == 1, err
