"""Exhaustive exploration (verification/explore/search*.py): clean on the reference, exact symmetry
reduction, shortest replayable counterexamples, oscillation detection, DOT export, and the
invariant cache that must agree with the registry."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from explore_helpers import same_search

from dynmem.model.invariants import INVARIANTS, Clause, check_state, check_step
from dynmem.model.ops import CONCRETE
from dynmem.model.quantities import owned
from dynmem.model.vocabulary import Power
from dynmem.reference.state import DmState
from dynmem.verification.cli.commands import explore as explore_command
from dynmem.verification.cli.main import main
from dynmem.verification.explore.config import SYMMETRIC, ExploreConfig, get_config
from dynmem.verification.explore.dot import get_neighbourhood, to_dot, write_text
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.explore.reachable import compute_reachable_pairs
from dynmem.verification.explore.run import run_exploration
from dynmem.verification.explore.search import ProgressCallback
from dynmem.verification.explore.symmetry import Canonicalizer, canonicalize
from dynmem.verification.mutants.catalogue import BY_NAME
from dynmem.verification.properties.invariants import InvariantCache
from dynmem.verification.properties.progress import PROG_FIXED_POINT
from dynmem.verification.properties.reachable import REACHABLE_PAIRS


@pytest.fixture(scope="module")
def two_vms() -> Exploration:
    return explore(get_config(2), coverage=True)


class TestReference:
    def test_two_vm_exploration_finds_nothing(self, two_vms: Exploration) -> None:
        """Every reachable state and step of the 2-VM preset satisfies every invariant, and
        the progress properties hold on its graph (no oscillation, no bad fixed point)."""
        assert two_vms.complete
        assert two_vms.counterexamples == {}
        assert two_vms.progress == []
        assert two_vms.n_states > 10_000 and sum(two_vms.fixed) > 100

    def test_two_vm_state_space_is_pinned(self, two_vms: Exploration) -> None:
        """The 2-VM preset's exact size: performance work on the reference or the explorer
        (cheaper updates, memoized candidates, cached hashes) must not change what is
        explored. Update these numbers only with a deliberate change of semantics or of the
        preset, never for speed."""
        assert (two_vms.n_states, two_vms.n_edges, two_vms.violating_steps,
                sum(two_vms.fixed)) == (20_773, 194_882, 0, 623)
        full = explore(attrs.evolve(get_config(2), symmetry=False), progress=False)
        assert (full.n_states, full.n_edges, full.violating_steps) == (20_776, 194_892, 0)

    def test_one_vm_state_space_is_pinned(self) -> None:
        """The 1-VM preset's exact size (the SPIN port's count, issue 13)."""
        x = explore(get_config(1))
        assert (x.n_states, x.n_edges, x.complete) == (223, 1_242, True)

    @pytest.mark.thorough  # about 30 s of CI's time; CI pins the 2-VM count (above)
    def test_three_vm_state_space_is_pinned(self) -> None:
        """The 3-VM preset with symmetry reduction: the SPIN port's count (issue 13), and
        the preset the explorer's speed is measured on (benchmarks/bench_explore.py)."""
        x = explore(get_config(3))
        assert (x.n_states, x.n_edges, x.violating_steps, x.complete) == (
            700_978, 9_243_211, 0, True)
        assert x.ok

    def test_one_vm_with_the_lifecycle_breaks_nothing(self) -> None:
        """The lifecycle events on the 1-VM preset (CI's stand-in for verify's 2-VM check,
        which the thorough test below runs)."""
        x = explore(get_config(1).with_vm_lifecycle(), progress=False)
        assert (x.ok, x.complete, x.n_states) == (True, True, 635)

    @pytest.mark.thorough  # explores 2 VMs with the lifecycle events: about 110 CPU s
    def test_reachable_pairs_list_is_current(self, two_vms: Exploration) -> None:
        """verification/explore/reachable.py lists exactly what exploring the presets reaches
        (the 2-VM one with the lifecycle events too: its pairs include the plain preset's),
        and that exploration breaks nothing (``dynmem verify``'s check of it, whose whole run
        is thorough-only too: tests/verification/cli/test_cli.py)."""
        lifecycle = explore(attrs.evolve(get_config(2), vm_lifecycle=True), coverage=True,
                            progress=False)
        one = explore(get_config(1), coverage=True, progress=False)
        assert lifecycle.ok and lifecycle.complete
        assert lifecycle.coverage is not None and one.coverage is not None
        assert set(lifecycle.coverage.pairs) | set(one.coverage.pairs) == REACHABLE_PAIRS
        assert two_vms.coverage is not None and set(two_vms.coverage.pairs) <= REACHABLE_PAIRS

    def test_reachable_pairs_are_computed_from_those_presets(
            self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``compute_reachable_pairs`` explores the 1-VM preset and the 2-VM one with the
        lifecycle events (which the test above explores itself, once)."""
        asked: list[tuple[int, bool]] = []

        def fake(config: ExploreConfig, **_kwargs: object) -> Exploration:
            asked.append((len(config.vms), config.vm_lifecycle))
            return explore(get_config(1), coverage=True, progress=False)

        from dynmem.verification.explore import reachable
        monkeypatch.setattr(reachable, "explore", fake)
        assert compute_reachable_pairs() <= REACHABLE_PAIRS
        assert asked == [(1, False), (2, True)]

    def test_graph_is_a_networkx_digraph(self, two_vms: Exploration) -> None:
        """The graph has one node per state and an edge per distinct state pair."""
        g = two_vms.graph()
        assert g.number_of_nodes() == two_vms.n_states
        assert 0 < g.number_of_edges() <= two_vms.n_edges


class TestSymmetry:
    def test_reduction_is_exact_on_identical_vms(self) -> None:
        """The reduced state space is the canonical image of the full one, and smaller."""
        reduced = explore(SYMMETRIC)
        full = explore(attrs.evolve(SYMMETRIC, symmetry=False))
        assert reduced.ok and full.ok
        assert {canonicalize(s)[0] for s in full.states} == set(reduced.states)
        assert reduced.n_states < 0.6 * full.n_states

    def test_canonicalizer_is_canonicalize(self) -> None:
        """The explorer's cached ``Canonicalizer`` gives ``canonicalize``'s VMs on every state
        of an unreduced search of identical VMs (where renamings happen)."""
        full = explore(attrs.evolve(SYMMETRIC, symmetry=False), progress=False)
        fast = Canonicalizer()
        renamed = 0
        for state in full.states:
            canon, renaming = canonicalize(state)
            renamed += renaming is not None
            assert fast(state.vms) == canon.vms
        assert renamed > 1000

    def test_counterexample_length_is_the_same_with_and_without(self) -> None:
        """A planted bug's shortest counterexample has the same length either way."""
        bug = BY_NAME["hot_add_ignores_reserve"]
        config = attrs.evolve(SYMMETRIC, request_amounts=(2, 16))
        lengths = []
        for symmetry in (True, False):
            x = explore(attrs.evolve(config, symmetry=symmetry), bug.reference_step,
                        bug.policy, stop_at_first=True)
            lengths.append(min(c.length for c in x.counterexamples.values()))
        assert lengths[0] == lengths[1]


class TestCounterexamples:
    def test_trace_is_shortest_and_replays(self) -> None:
        """The trace of a planted bug has the BFS length, ends at the violation, and is a
        real run: every recorded state is what the bug's step gives."""
        result = run_exploration(2, mutant="stop_leaks_in_flight")
        assert not result.ok and result.trace is not None
        (inv, length), = result.violations
        assert inv == "INV-CONSERVATION" and len(result.trace.steps) == length
        assert {f.step for f in result.trace.findings} == {length}
        step_fn = BY_NAME["stop_leaks_in_flight"].reference_step
        state = result.trace.initial
        for item in result.trace.steps:
            state = step_fn(state, item.event).state
            assert state == item.state

    def test_oscillation_detected_on_the_planted_policy(self) -> None:
        """The policy without hysteresis forms cycles of honest messages and ticks; the
        trace goes once around one and ends where the cycle started."""
        result = run_exploration(1, mutant="oscillating_policy")
        assert not result.ok and result.oscillations > 0
        assert result.trace is not None
        assert result.trace.findings[-1].invariant == PROG_FIXED_POINT
        start = dict(result.trace.notes)["cycle_starts_after_step"]
        assert isinstance(start, int)
        assert result.trace.state_at(start) == result.trace.final

    def test_the_reference_policy_does_not_oscillate_on_the_same_config(self) -> None:
        """Same configuration, the reference policy: no progress finding."""
        assert run_exploration(1).progress == ()


class TestDot:
    def test_whole_graph_and_part_around_a_path(self, tmp_path: Path) -> None:
        """DOT of the whole 1-VM graph, and of the neighbourhood of a path, in red."""
        x = explore(get_config(1))
        whole = to_dot(x)
        assert whole.startswith('digraph "1vm"') and whole.count("->") > x.n_states
        path = [0, *[sid for _, sid in x.path_to(x.n_states - 1)]]
        part = to_dot(x, get_neighbourhood(x, path), path)
        assert part.count("color=red") >= 2 * len(path) - 1
        assert part.count(" [label=") < whole.count(" [label=")
        target = tmp_path / "g.dot"
        write_text(target, part)
        assert target.read_text() == part

    def test_cli_writes_dot_and_json(self, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
        """``dynmem explore --vms 1 --json --dot FILE``: exit 0, counts, a DOT file."""
        dot = tmp_path / "graph.dot"
        assert main(["explore", "--vms", "1", "--json", "--dot", str(dot)]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] and report["states"] > 100 and report["complete"]
        assert dot.read_text().startswith("digraph")

    def test_cli_exit_codes(self) -> None:
        """1 on a violation (a planted bug), 2 on bad input."""
        assert main(["explore", "--vms", "1", "--mutant", "stop_keeps_transaction"]) == 1
        assert main(["explore", "--vms", "9"]) == 2
        assert main(["explore", "--vms", "0"]) == 2


class TestInvariantCache:
    """The explorer's cached checks give exactly the registry's verdicts (checking.py)."""

    @staticmethod
    def states() -> list[DmState]:
        found = list(explore(get_config(1)).states)
        for name in ("oversized_answer_not_clamped", "hot_add_ignores_maximum",
                     "stop_keeps_transaction", "settings_change_while_running"):
            bug = BY_NAME[name]
            found += explore(get_config(1), bug.reference_step, bug.policy,
                             progress=False).states
        return found

    def test_agrees_with_the_registry_on_states_and_steps(self) -> None:
        """Same violations as check_state/check_step on every state and step of four
        explorations with planted bugs (which reach broken states)."""
        cache = InvariantCache()
        bad = 0
        x = explore(get_config(1), BY_NAME["stop_leaks_in_flight"].reference_step)
        for state in self.states():
            assert cache.check_state(state) == check_state(state)
            bad += bool(check_state(state))
        for sid in range(x.n_states):
            for event, result, _ in x.successors(sid):
                pre = x.states[sid]
                assert cache.check_step(pre, event, result.state) == check_step(
                    pre, event, result.state)
        assert bad > 0

    def test_one_vm_change_agrees_with_the_registry(self) -> None:
        """``check_successor`` (the check after a step that judges only what changed) gives
        check_state's verdict on every successor of a good state that changes one VM, also
        where a planted bug breaks it."""
        cache = InvariantCache()
        bad = 0
        for name in ("stop_leaks_in_flight", "hot_add_ignores_maximum",
                     "settings_change_while_running"):
            bug = BY_NAME[name]
            x = explore(get_config(1), bug.reference_step, bug.policy, progress=False)
            for sid in range(x.n_states):
                pre = x.states[sid]
                found, total = cache.check_state_total(pre)
                if found:
                    assert total is None
                    continue
                assert total == sum(owned(CONCRETE, vm) for vm in pre.vms)
                for _, result, _ in x.successors(sid):
                    post = result.state
                    if len(pre.vms) != len(post.vms):
                        continue
                    changed = [i for i, (a, b) in enumerate(zip(pre.vms, post.vms, strict=True))
                               if a != b]
                    if len(changed) != 1:
                        continue
                    broken = cache.check_successor(pre, post)
                    assert broken == check_state(post)
                    bad += bool(broken)
        assert bad > 0

    def test_create_and_delete_steps_agree_with_the_registry(self) -> None:
        """A step that adds or removes a VM pairs the other VMs by name, as the registry's
        check_step does: a surviving VM's bad change is still reported."""
        from dynmem.reference.events import Create, Delete, Start
        from dynmem.reference.step import step

        cache = InvariantCache()
        initial = get_config(2).initial()
        pre = step(initial, Start(initial.vms[1].name)).state  # the survivor runs
        gone = step(pre, Delete(pre.vms[0].name)).state
        assert len(gone.vms) == len(pre.vms) - 1
        back = step(gone, Create(pre.vms[0].name, pre.vms[0].settings)).state
        assert len(back.vms) == len(pre.vms)
        for a, event, b in ((pre, Delete(pre.vms[0].name), gone),
                            (gone, Create(pre.vms[0].name, pre.vms[0].settings), back)):
            assert cache.check_step(a, event, b) == check_step(a, event, b) == []
        # a planted change of the running survivor's settings beside the delete (INV-CONFIG)
        other = pre.vms[1]
        wrong = attrs.evolve(gone, vms=(attrs.evolve(other, settings=attrs.evolve(
            other.settings, startup_mib=other.settings.startup_mib + 2)),))
        expected = check_step(pre, Delete(pre.vms[0].name), wrong)
        assert expected != []
        assert cache.check_step(pre, Delete(pre.vms[0].name), wrong) == expected

    def test_vm_clauses_read_only_their_vm(self) -> None:
        """The cache's premise: a vm clause's verdict does not change when the rest of the
        state does (free memory, the other VMs)."""
        states = self.states()
        vm_clauses = [c for inv in INVARIANTS for c in inv.clauses if c.scope == "vm"]
        for state in states[:: max(1, len(states) // 300)]:
            for vm in state.vms:
                other = attrs.evolve(state, free_mib=state.free_mib + 2, vms=(vm,))
                for clause in vm_clauses:
                    assert (clause.holds(CONCRETE, state, vm)
                            == clause.holds(CONCRETE, other, vm)), clause.name

    def test_host_clauses_read_only_free_memory_and_total_owned(self) -> None:
        """The cache's premise: states with the same host, free memory and total owned
        memory get the same verdict from every host clause; a clause that reads a VM
        itself is reported (the check can fail)."""
        states = self.states()
        for name in ("stop_leaks_in_flight", "start_without_free_memory"):  # break host ones
            bug = BY_NAME[name]
            states += explore(get_config(1), bug.reference_step, bug.policy,
                              progress=False).states
        host = [c for inv in INVARIANTS for c in inv.clauses if c.scope == "host"]
        assert _host_verdict_conflict(states, host) is None
        assert any(not all(c.holds(CONCRETE, s) for c in host) for s in states)
        groups = {(s.host, s.free_mib, sum(owned(CONCRETE, vm) for vm in s.vms)) for s in states}
        assert len(groups) < len(set(states)) / 2  # many states share a group
        reads_vm = Clause("some VM off", "host",
                          lambda ops, s: any(vm.power == Power.OFF for vm in s.vms),
                          lambda s: "")
        assert _host_verdict_conflict(states, [reads_vm]) is not None

    def test_pair_clauses_hold_for_an_unchanged_vm(self) -> None:
        """The cache's premise: a VM the step leaves unchanged satisfies every pair clause."""
        pair = [c for inv in INVARIANTS for c in inv.clauses if c.scope == "pair"]
        x = explore(get_config(1))
        for sid in range(0, x.n_states, 7):
            for event, _result, _ in x.successors(sid):
                for vm in x.states[sid].vms:
                    assert all(c.holds(CONCRETE, event, vm, vm) for c in pair)


def _host_verdict_conflict(states: list[DmState], clauses: list[Clause]) -> DmState | None:
    """The first state whose host-clause verdicts differ from an earlier state's with the
    same host, free memory and total owned memory."""
    seen: dict[tuple[object, ...], tuple[bool, ...]] = {}
    for state in states:
        key = (state.host, state.free_mib, sum(owned(CONCRETE, vm) for vm in state.vms))
        verdicts = tuple(bool(c.holds(CONCRETE, state)) for c in clauses)
        if seen.setdefault(key, verdicts) != verdicts:
            return state
    return None


class TestMemo:
    """The per-VM memo (explore_memo.py) explores exactly what direct stepping does; more in
    test_explore_memo.py."""

    def test_two_vm_preset_is_the_direct_graph(self, two_vms: Exploration) -> None:
        """Same state ids, BFS parents (shortest paths), edges and fixed points as the
        coverage-recording run of the 2-VM preset, which steps every candidate directly."""
        same_search(explore(get_config(2)), two_vms)

    def test_state_limit_stops_at_the_same_state(self) -> None:
        """An incomplete run (max_states reached) stops where the direct one stops."""
        small = attrs.evolve(get_config(1), max_states=100)
        memoized, direct = explore(small), explore(small, memo=False)
        assert not memoized.complete
        same_search(memoized, direct)


class TestStateLimit:
    def test_incomplete_search_says_how_to_complete(
            self, capsys: pytest.CaptureFixture[str]) -> None:
        """``--max-states`` below the state space: exit 1, the limit, the queue and the flag
        to raise are named; the JSON says incomplete."""
        assert main(["explore", "--vms", "1", "--max-states", "50"]) == 1
        out = capsys.readouterr().out
        assert "INCOMPLETE" in out and "--max-states 50" in out and "queued" in out
        assert main(["explore", "--vms", "1", "--max-states", "50", "--json"]) == 1
        data = json.loads(capsys.readouterr().out)
        assert not data["complete"] and data["max_states"] == 50 and data["queued"] > 0

    def test_out_of_memory_is_one_line(self, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
        """A search that runs out of memory (the 4-VM preset under 8 GiB): exit 1 and one
        line with how far it got and the flag that bounds it, not a traceback."""
        def exhausted(*args: object, on_progress: ProgressCallback, **kwargs: object) -> None:
            on_progress(13_845_795, 204_016_594, 1_845_795)
            raise MemoryError

        monkeypatch.setattr(explore_command, "run_exploration", exhausted)
        assert main(["explore", "--vms", "4"]) == 1
        captured = capsys.readouterr()
        said = captured.out + captured.err
        assert "out of memory after about 13,845,795 states" in said
        assert "--max-states" in said and "Traceback" not in said

    def test_limit_must_be_positive(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A limit of 0: one line naming the flag, exit 2."""
        assert main(["explore", "--max-states", "0"]) == 2
        assert "--max-states" in capsys.readouterr().err

    def test_three_vm_preset_limit_fits_the_unreduced_space(self) -> None:
        """The 3-VM preset's default limit is above its 1,392,439 unreduced states."""
        assert get_config(3).max_states > 1_392_439
