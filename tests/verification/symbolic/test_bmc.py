"""Bounded model checking (symbolic/bmc.py) and non-vacuity (symbolic/witness.py).

* the compact step encoding BMC unrolls is equivalent to the model's transition relation;
* the real model breaks nothing up to a CI-size depth (small concrete scope and symbolic);
* a planted bug is found with the SHORTEST trace, which replays in the planted bug's
  reference step and breaks the same invariant there;
* the replay check is killable: the mutant model against the real reference, and a planted
  decoding bug, are both reported as model/reference mismatches, never as violations;
* a Z3 timeout is an unknown (a failure), never "no violation";
* every action has a reachability witness, and an action that can never fire has none;
* ``dynmem bmc`` as a user runs it: exit codes 0/1/2, progress, ``--json``, ``--out``;
* the ``bmc`` section for ``dynmem verify`` passes on the model and fails when it should.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
import z3
from bmc_cases import START_ANYWAY_ACTIONS, START_ANYWAY_STEP

from dynmem.model.actions import ACTIONS, START, Action, Guard
from dynmem.model.invariants import BY_ID
from dynmem.model.state import make_state
from dynmem.model.symbolic_steps import get_transition
from dynmem.reference.events import Start
from dynmem.reference.step import step
from dynmem.verification.cli.main import main
from dynmem.verification.mutants import models as mutant_models
from dynmem.verification.mutants.model_edits import MODEL_MUTANTS
from dynmem.verification.suite import bmc_checks
from dynmem.verification.symbolic import step_encoding, unrolling, witness
from dynmem.verification.symbolic.bmc import (
    BmcUnknown,
    Counterexample,
    Mismatch,
    NoViolation,
    check_bmc,
)
from dynmem.verification.symbolic.scope import small_scope, symbolic_scope
from dynmem.verification.symbolic.witness import (
    CROWDED_WITNESSES,
    find_crowded_witnesses,
    find_witnesses,
)
from dynmem.verification.traces.itf import read_itf

PHYSICAL = [BY_ID["INV-PHYSICAL"]]


class TestRealModel:
    def test_no_violation_small_scope(self) -> None:
        """R-START..R-TICK keep every invariant on every path of up to 6 steps, 2 VMs."""
        outcome = check_bmc(small_scope(2), 6)
        assert isinstance(outcome, NoViolation) and outcome.depth == 6

    def test_no_violation_symbolic_scope(self) -> None:
        """Any host, any settings, slots empty or not: nothing breaks within 3 steps."""
        assert isinstance(check_bmc(symbolic_scope(2), 3), NoViolation)


def _equivalence_gap(actions: tuple[Action, ...], n_slots: int) -> z3.CheckSatResult:
    """Whether some (pre, post, selector) tells the BMC step and the model's relational
    ``get_transition`` of the selected instance apart (unsat: they are equivalent)."""
    pre, post = make_state(n_slots, "@a"), make_state(n_slots, "@b")
    step = step_encoding.get_step(pre, post, "@s", actions)
    relation = z3.Or(*[z3.And(step.selector == i, get_transition(inst, pre, post))
                       for i, inst in enumerate(step.instances)])
    solver = z3.Solver()
    solver.add(step.formula != relation)
    return solver.check()


class TestStepEncoding:
    def test_equivalent_to_the_model_relation(self) -> None:
        """The compact step (shared parameters, per-field successor) is exactly the model's
        transition relation, for the real model and for a mutant that changes a frame."""
        assert _equivalence_gap(ACTIONS, 2) == z3.unsat
        assert _equivalence_gap(MODEL_MUTANTS["take_without_balloon_response"].apply(),
                                2) == z3.unsat

    def test_a_lost_update_is_caught(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Killable: an encoding that forgets updates of free memory is told apart."""
        real = step_encoding.get_updates

        def no_free(ops, inst, pre):  # type: ignore[no-untyped-def]
            updates = real(ops, inst, pre)
            return attrs.evolve(updates, host={})

        monkeypatch.setattr(step_encoding, "get_updates", no_free)
        assert _equivalence_gap(ACTIONS, 1) == z3.sat


class TestShortestCounterexample:
    def test_found_shortest_and_reproduced(self) -> None:
        """A start without the free-memory guard (R-START) breaks INV-PHYSICAL after 2 steps
        (a configure makes a VM larger than free, then it starts): the trace replays in the
        planted bug's reference step and breaks INV-PHYSICAL there too."""
        outcome = check_bmc(small_scope(3), 6, START_ANYWAY_ACTIONS, PHYSICAL,
                            START_ANYWAY_STEP, notes=(("mutant", "start_without_free_memory"),))
        assert isinstance(outcome, Counterexample), outcome
        assert outcome.depth == 2 and outcome.invariants == ("INV-PHYSICAL",)
        trace = outcome.trace
        assert trace.source == "bmc" and len(trace.steps) == 2
        assert isinstance(trace.steps[-1].event, Start)
        assert all(step.rejected is None for step in trace.steps)
        assert {f.invariant for f in trace.findings if f.step == 2} >= {"INV-PHYSICAL"}
        assert not [f for f in trace.findings if f.step < 2]
        assert dict(trace.notes)["mutant"] == "start_without_free_memory"

    def test_nothing_shorter(self) -> None:
        """Iterative deepening: one step less finds nothing (the trace above is shortest)."""
        outcome = check_bmc(small_scope(3), 1, START_ANYWAY_ACTIONS, PHYSICAL,
                            START_ANYWAY_STEP)
        assert isinstance(outcome, NoViolation)


class TestMismatch:
    def test_mutant_model_against_real_reference(self) -> None:
        """The model boots a start the reference lets wait for reclaim: a MISMATCH naming the
        step and the field that differs, with the model's own trace showing its violation."""
        outcome = check_bmc(small_scope(3), 4, START_ANYWAY_ACTIONS, PHYSICAL)
        assert isinstance(outcome, Mismatch), outcome
        assert "after Start(vm=" in outcome.reason and "free_mib: the model has" in outcome.reason
        assert outcome.trace is not None and outcome.trace.source == "bmc-model"
        assert "INV-PHYSICAL" in {f.invariant for f in outcome.trace.findings}
        assert outcome.replayed.steps[-1].rejected is None  # it waits (STARTING)
        assert outcome.replayed.ok  # the reference itself broke nothing

    def test_planted_decoding_bug(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A decoder that names the wrong VM in a start is caught: the reference's state
        differs from the model's after that step."""
        real = unrolling.decode_event

        def wrong_vm(model, inst, pre):  # type: ignore[no-untyped-def]
            event, sent = real(model, inst, pre)
            if isinstance(event, Start):
                event = Start("vm2" if event.vm != "vm2" else "vm0")
            return event, sent

        monkeypatch.setattr(unrolling, "decode_event", wrong_vm)
        outcome = check_bmc(small_scope(3), 4, START_ANYWAY_ACTIONS, PHYSICAL,
                            START_ANYWAY_STEP)
        assert isinstance(outcome, Mismatch), outcome
        # the renamed start lands on a VM in another state: the reference refuses it or
        # ends in another state than the model
        assert ("the model has" in outcome.reason and "the reference has" in outcome.reason
                ) or "the reference refuses it" in outcome.reason


def test_exhausted_budget_is_unknown_not_clean() -> None:
    """1,000 rlimit units per depth cannot decide depth 1: BmcUnknown naming the query, the
    budget and the flag, never NoViolation; the default budget decides it."""
    outcome = check_bmc(small_scope(2), 6, rlimit=1000)
    assert isinstance(outcome, BmcUnknown), outcome
    assert "gave up on the depth-" in outcome.reason
    assert "of its 1,000 rlimit units (budget exhausted" in outcome.reason
    assert "raise it with --rlimit 10000" in outcome.reason
    assert isinstance(check_bmc(small_scope(2), outcome.depth), NoViolation)


class TestWitnesses:
    def test_every_action_fires(self) -> None:
        """Non-vacuity: each action fires and changes the state on a reachable path (one VM:
        the responses need start, negotiation, quiet period, requests; a waiting start is
        admitted only on a host too full for three VMs)."""
        run = find_witnesses(small_scope(1), 10)
        assert run.problem is None
        assert run.missing == tuple(CROWDED_WITNESSES) == ("StartAdmit",)
        crowded = find_crowded_witnesses(run.missing)
        assert crowded.ok
        witnesses = run.witnesses + crowded.witnesses
        assert [w.action for w in witnesses] == [a.name for a in ACTIONS if a.name != "StartAdmit"
                                                 ] + ["StartAdmit"]
        for w in witnesses:
            step = w.trace.steps[w.step - 1]
            assert type(step.event).__name__ == w.action
            assert step.rejected is None and step.state != w.trace.state_at(w.step - 1)

    def test_an_action_no_extension_reaches_is_searched_on_its_own(
            self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With no room to extend paths (as when the paths Z3 happened to return are too
        long), the 6-step witnesses come from their own searches from the initial states
        (the unballoon's need 7 and 8 steps)."""
        monkeypatch.setattr(witness, "EXTEND_DEPTH", 0)
        run = find_witnesses(small_scope(1), 6, [a for a in ACTIONS if a.name != "StartAdmit"])
        assert run.problem is None
        assert run.missing == ("UnballoonRequest", "UnballoonResponse")
        steps = {w.action: w.step for w in run.witnesses}
        assert [steps[a] for a in ("BalloonResponse", "HotAddResponse", "StuckTimeout")] == [
            6, 6, 6]

    def test_action_that_never_fires_has_no_witness(self) -> None:
        """Killable: a Start whose guards can never hold has no witness."""
        never = Guard("never", "R-START", lambda ops, h, vm, p: vm.visible_mib < 0)
        dead = attrs.evolve(START, guards=(*START.guards, never))
        actions = tuple(dead if a is START else a for a in ACTIONS)
        run = find_witnesses(small_scope(1), 3, actions)
        assert "Start" in run.missing and not run.ok


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestCli:
    def test_clean_exit_0(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = _run(capsys, "bmc", "--vms", "1", "--depth", "2")
        assert out.startswith("bmc: no violation up to depth 2 (") and "not a proof" in out, out
        assert "[bmc depth 2] no violation" in err
        assert code == 0

    def test_mutant_exit_1_with_trace_and_itf(self, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
        """A mutant is caught: exit 1, the shortest trace printed, the ITF file written."""
        out_file = tmp_path / "cex.itf.json"
        code, out, _ = _run(capsys, "bmc", "--mutant", "start_without_free_memory",
                            "--vms", "3", "--depth", "4", "--out", str(out_file))
        assert "step 2: start" in out and "INV-PHYSICAL" in out, out
        assert code == 1
        trace = read_itf(out_file)
        assert dict(trace.notes)["mutant"] == "start_without_free_memory"
        assert len(trace.steps) == 2

    def test_json_is_one_document(self, capsys: pytest.CaptureFixture[str]) -> None:
        """stdout holds the document alone; progress and the summary go to stderr."""
        code, out, err = _run(capsys, "bmc", "--vms", "1", "--depth", "1", "--json")
        data = json.loads(out)
        assert data["ok"] is True and data["status"] == "none" and data["max_depth"] == 1, out
        assert code == 0 and "[bmc depth 1] no violation" in err
        assert err.splitlines()[-1].startswith("bmc: no violation up to depth 1 (")

    def test_json_counterexample(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = _run(capsys, "bmc", "--mutant", "settings_change_while_running",
                            "--depth", "3", "--json")
        data = json.loads(out)
        assert data["ok"] is False and data["depth"] == 2, out
        assert code == 1
        assert data["trace"]["#meta"]["format"] == "ITF"

    @pytest.mark.parametrize("argv", [
        ["--vms", "0"], ["--depth", "-1"], ["--mutant", "nope"], ["--invariant", "INV-NOPE"],
        ["--rlimit", "0"],
    ], ids=["vms", "depth", "mutant", "invariant", "rlimit"])
    def test_bad_usage_exit_2(self, argv: list[str],
                              capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = _run(capsys, "bmc", *argv)
        assert code == 2 and out == ""
        assert err.startswith(f"dynmem: command line: {argv[0]} = ") and err.count("\n") == 1


class TestVerifySection:
    """verification/suite/bmc_checks.py: the ``bmc`` section offered to ``dynmem verify``."""

    def test_three_checks(self) -> None:
        assert [c.name for c in bmc_checks.checks()] == [
            "model has no violation", "every action has a witness", "every mutant is caught"]

    def test_clean_model_passes(self) -> None:
        verdict = bmc_checks.check_model_clean(1, 2)
        assert verdict.ok and "no violation up to depth 2" in verdict.summary

    def test_shallow_witnesses_fail(self) -> None:
        """Within 3 steps no response can fire: the check fails and names them."""
        verdict = bmc_checks.check_witnesses(1, 3)
        assert not verdict.ok
        assert "no witness within 3 steps: BalloonResponse" in verdict.details

    def test_mutants_pass_and_fail(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A mutant replayed in its reference bug passes; replayed in the real reference
        (a model/reference mismatch) it fails the check, with the trace attached."""
        good = next(v for v in mutant_models.list_variants()
                    if v.name == "start_without_free_memory")
        monkeypatch.setattr(bmc_checks, "list_variants", lambda: [good])
        assert bmc_checks.check_mutants(3, 3).ok
        monkeypatch.setattr(bmc_checks, "list_variants",
                            lambda: [attrs.evolve(good, step=step)])
        verdict = bmc_checks.check_mutants(3, 3)
        assert not verdict.ok and verdict.details[0].startswith(
            "start_without_free_memory: mismatch: step 2: after Start(")
        assert verdict.traces and verdict.traces[0].source == "bmc-model"
