"""The random-walk engine (verification/walk): deterministic, as strict as the direct checks,
and killable: every planted bug of the catalogue is caught, replayed and shrunk."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dynmem.model.concrete_steps import is_allowed
from dynmem.reference.step import step
from dynmem.verification.cli.main import main
from dynmem.verification.explore.config import (
    EXPLORE_ALIGNMENTS,
    get_config,
    with_host_profile,
)
from dynmem.verification.mutants.catalogue import MUTANTS, get_mutant
from dynmem.verification.walk import REAL_8VM, Walker, for_planted_bug, run_walk
from dynmem.verification.walk.offers import ALL_KINDS, ALWAYS, KIND_BIT, pick_mask
from dynmem.verification.walk.views import check_step_result


class TestDeterminism:
    def test_same_seed_same_walk(self) -> None:
        """A seed fixes every choice: two campaigns do the same work."""
        a = run_walk(get_config(2), episodes=5, depth=200, seed=7)
        b = run_walk(get_config(2), episodes=5, depth=200, seed=7)
        assert (a.steps, a.accepted, a.settle_steps) == (b.steps, b.accepted, b.settle_steps)
        assert a.ok and a.steps == 5 * 200

    def test_memo_changes_nothing(self) -> None:
        """Reusing steps per (VM, free memory) gives the walk of stepping every event."""
        for space in (get_config(2), REAL_8VM):
            a = run_walk(space, episodes=3, depth=300, seed=3)
            b = run_walk(space, episodes=3, depth=300, seed=3, memo=False)
            assert (a.steps, a.accepted, a.settle_steps) == (b.steps, b.accepted, b.settle_steps)

    def test_memo_finds_the_same_failure(self) -> None:
        """With a planted bug, memoised and direct walks stop at the same step."""
        bug = get_mutant("stop_leaks_in_flight")
        a, b = (run_walk(get_config(2), episodes=100, depth=500, seed=0, memo=memo,
                         step_fn=bug.reference_step, shrink=False) for memo in (True, False))
        assert a.failure is not None and b.failure is not None
        assert (a.failure.steps, a.failure.message) == (b.failure.steps, b.failure.message)


class TestViews:
    @pytest.mark.parametrize("name", [None, *[m.name for m in MUTANTS]])
    def test_views_judge_as_whole_states(self, name: str | None) -> None:
        """Refinement and two-state checks on the one-VM (or tick) views agree with the
        same checks on the whole states, step by step, also for every planted bug."""
        bug = get_mutant(name) if name else None
        step_fn = bug.reference_step if bug else step
        walker = Walker(get_config(2), step_fn, is_allowed, memo=False)
        rng = random.Random(5)
        for _ in range(6):
            state = walker.initial
            mask = pick_mask(rng)
            for _ in range(150):
                event, _, _ = walker._choose(state, rng, mask)
                result = step_fn(state, event)
                whole = check_step_result(state, event, result, is_allowed, walker.checks)
                assert (walker.check(state, event, result) is None) == (whole is None), event
                if result.accepted:
                    state = result.state


class TestSwarm:
    def test_masks_keep_the_protocol(self) -> None:
        """A mask may drop admin, workload and request kinds, never the guest's answers."""
        rng = random.Random(0)
        masks = [pick_mask(rng) for _ in range(50)]
        assert all(m & ALWAYS == ALWAYS for m in masks)
        assert any(not m & KIND_BIT["stop"] for m in masks)
        assert ALL_KINDS & KIND_BIT["status_report"] & ALWAYS


class TestKillable:
    @pytest.mark.parametrize("bug", MUTANTS, ids=lambda m: m.name)
    def test_every_planted_bug_is_caught(self, bug, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """Invariants alone (refinement off) catch each bug on the 2-VM preset; the failure
        is replayed into a trace that shows it and written as ITF and text."""
        # A lifecycle bug needs its VM to live through a balloon and a few ticks before the
        # save, migration or timer that shows it: 1000 episodes (stuck_frees_unreceived is
        # caught in the 118th, measured 2026-12-03); the walk stops at the first failure.
        # A Linux-guest bug of the policy shows when an episode ends with the Linux VM grown
        # and the other short (then settle squeezes it past its floor forever): short
        # episodes end in many more states (seed 0: episode 7 at depth 30, 1552 at depth
        # 500; measured 2026-12-03).
        space = for_planted_bug(get_config(2), bug, EXPLORE_ALIGNMENTS)
        space = with_host_profile(space, bug.explore_profile)  # a version bug's host
        r = run_walk(space, episodes=1000 if bug.explore_lifecycle else 100,
                     depth=30 if bug.explore_linux else 500, seed=0,
                     step_fn=bug.reference_step, plan=bug.policy, mutant=bug.name,
                     refinement=False, failure_dir=tmp_path)
        assert r.failure is not None, bug.name
        found = {f.invariant for f in r.failure.trace.findings}
        assert found & set(bug.breaks), (bug.name, r.failure.message)
        assert all(Path(f).is_file() for f in r.failure.files)
        if r.failure.shrunk is not None:
            assert len(r.failure.shrunk.trace.steps) <= len(r.failure.trace.steps)
            assert not r.failure.shrunk.trace.ok

    def test_refinement_catches_a_bug_first(self, tmp_path: Path) -> None:
        """With refinement on, a wrong step is refused by the model before any invariant
        breaks; the trace notes the problem."""
        bug = get_mutant("stop_leaks_in_flight")
        r = run_walk(get_config(2), episodes=50, depth=500, seed=0, step_fn=bug.reference_step,
                     mutant=bug.name, failure_dir=tmp_path)
        assert r.failure is not None and r.failure.message.startswith("refinement:")
        assert dict(r.failure.trace.notes)["problem"] == r.failure.message


class TestCommand:
    def test_walk_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``dynmem fuzz --engine walk --json`` reports the work done; exit 0."""
        code = main(["fuzz", "--engine", "walk", "--episodes", "3", "--depth", "100", "--json"])
        data = json.loads(capsys.readouterr().out)
        assert code == 0 and data["ok"] and data["steps"] == 300 and data["engine"] == "walk"

    def test_walk_mutant_fails(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A planted bug: exit 1, the shrunk trace printed and written."""
        code = main(["fuzz", "--engine", "walk", "--mutant", "start_without_free_memory",
                     "--no-refinement", "--out", str(tmp_path)])
        out = capsys.readouterr().out
        assert code == 1 and "INV-PHYSICAL" in out and "shrunk" in out
        assert (tmp_path / "walk-start_without_free_memory.itf.json").is_file()

    def test_an_alignment_bug_gets_guests_that_advertise_alignments(
            self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """``--mutant`` gives the walk what the bug's events need, as the explorer does: an
        alignment bug's guests may advertise hot-add alignments, so it is caught."""
        code = main(["fuzz", "--engine", "walk", "--mutant", "hot_add_unaligned",
                     "--episodes", "200", "--out", str(tmp_path)])
        assert code == 1 and "INV-HOT-ADD-ALIGNED" in capsys.readouterr().out

    @pytest.mark.parametrize("argv", [["--preset", "9vm"], ["--episodes", "0"],
                                      ["--depth", "-1"]])
    def test_bad_input(self, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        """Bad values: one line naming the flag, exit 2."""
        assert main(["fuzz", "--engine", "walk", *argv]) == 2
        assert argv[0] in capsys.readouterr().err
