"""Inductive invariant checking (symbolic/inductive.py): proved, killable, never vacuous.

The real model is proved at N=2 and for any N; planted model bugs (mutated actions) yield
counterexamples to induction that name the broken invariant and decode into reference states
on which the concrete checks agree; a timeout is an Unknown that fails the run.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from dynmem.model.actions import ACTIONS, BALLOON_RESPONSE, HOT_ADD_REQUEST, STOP, Action
from dynmem.model.fields import OFF_RUNTIME
from dynmem.model.invariants import INVARIANTS, Clause, Invariant, check_state
from dynmem.model.params import MINIMAL
from dynmem.model.quantities import assigned
from dynmem.reference.events import HotAddRequest, Stop
from dynmem.verification.symbolic.inductive import check_inductive, check_obligation
from dynmem.verification.symbolic.obligations import (
    CounterexampleToInduction,
    Model,
    Obligation,
    Proved,
    Unknown,
    get_obligations,
)
from dynmem.verification.symbolic.support import compute_support, get_premise_labels


def _mutant(original: Action, **changes: Any) -> Model:
    """The real model with ``original`` replaced by a changed copy (a planted bug)."""
    bad = attrs.evolve(original, **changes)
    return Model(actions=tuple(bad if a is original else a for a in ACTIONS))


HOT_ADD_IGNORES_FREE = _mutant(
    HOT_ADD_REQUEST, guards=tuple(g for g in HOT_ADD_REQUEST.guards if g.name != "mib <= free"))
STOP_LEAKS_IN_FLIGHT = _mutant(
    STOP, update=lambda ops, h, vm, p: {**OFF_RUNTIME, "free_mib": h.free_mib + assigned(vm)})


def _unclamped_balloon(ops: Any, h: Any, vm: Any, p: Any) -> dict[str, Any]:
    values = BALLOON_RESPONSE.update(ops, h, vm, p)
    return {**values, "ballooned_mib": vm.ballooned_mib + p.mib, "free_mib": h.free_mib + p.mib}


BALLOON_NOT_CLAMPED = _mutant(BALLOON_RESPONSE, update=_unclamped_balloon)


# specs/proofs.md §5: the guards no proof uses, and why each stays unused (the request caps
# bound one message, evenness is the 2 MiB unit of the abstraction, a second watchdog firing
# changes nothing).
UNUSED_GUARDS = (
    "guard VersionRequest: version >= 0",
    "guard BalloonRequest: mib even", "guard BalloonRequest: mib <= balloon cap",
    "guard UnballoonRequest: mib even", "guard UnballoonRequest: mib <= unballoon cap",
    "guard HotAddRequest: mib <= hot-add cap",
    "guard StuckTimeout: not stuck", "guard MigrateIn: mib even",
)


class TestRealModel:
    def test_proved_for_two_slots(self) -> None:
        """Every obligation at N=2 (the MINIMAL preset) is proved, none unknown."""
        run = check_inductive(2)
        assert run.ok and run.count("proved") == len(get_obligations(2)) == 1143

    def test_proved_for_any_number_of_vms(self) -> None:
        """The any-N decomposition and its four lemmas are proved."""
        run = check_inductive(None)
        assert run.ok
        lemmas = {o.obligation.invariant for o in run.outcomes if o.obligation.kind == "lemma"}
        assert lemmas == {"L-OWNED-NONNEG", "L-INIT-OWNED", "L-PAIR-REFLEXIVE", "L-TICK-OWNED"}

    def test_sliced_and_full_queries_agree(self) -> None:
        """Slicing (dropping untouched slots' VM clauses) changes no outcome at N=3."""
        sliced = check_inductive(3, sliced=True)
        full = check_inductive(3, sliced=False, jobs=2)
        assert [o.status for o in sliced.outcomes] == [o.status for o in full.outcomes]
        assert sliced.ok

    def test_two_processes_give_the_same_outcomes(self) -> None:
        """Parallel solving returns every obligation once, in obligation order."""
        one, two = check_inductive(2), check_inductive(2, jobs=2)
        assert [o.obligation for o in one.outcomes] == [o.obligation for o in two.outcomes]


class TestPlantedModelBugs:
    @pytest.mark.parametrize("n_vms", [2, None])
    def test_hot_add_without_free_guard_gives_a_cti(self, n_vms: int | None) -> None:
        """Hot-add without ``mib <= free``: CTIs for INV-PHYSICAL and AUX-FREE, only there."""
        run = check_inductive(n_vms, HOT_ADD_IGNORES_FREE)
        ctis = [o for o in run.outcomes if isinstance(o, CounterexampleToInduction)]
        assert not run.ok
        assert {o.obligation.invariant for o in ctis} == {"INV-PHYSICAL", "AUX-FREE"}
        assert {o.obligation.action for o in ctis} == {"HotAddRequest"}

    def test_cti_decodes_into_reference_states(self) -> None:
        """The CTI is a reference pre-state satisfying every invariant, the event, and a
        post-state on which the concrete check finds the same invariant broken."""
        ob = Obligation("consecution", "INV-PHYSICAL", "HotAddRequest", 1, 2)
        cti = check_obligation(ob, HOT_ADD_IGNORES_FREE)
        assert isinstance(cti, CounterexampleToInduction)
        assert cti.failed == ("INV-PHYSICAL: reserve + owned <= physical",)
        assert cti.message.startswith("event HotAddRequest at vm1 does not preserve "
                                      "INV-PHYSICAL")
        trace = cti.trace
        assert trace is not None and check_state(trace.initial) == []
        assert isinstance(trace.steps[0].event, HotAddRequest)
        assert trace.steps[0].event.mib > trace.initial.free_mib
        assert "INV-PHYSICAL" in {f.invariant for f in trace.findings}

    def test_stop_leaking_in_flight_memory_breaks_conservation(self) -> None:
        """Stop returning only assigned memory: a CTI for INV-CONSERVATION with an unballoon
        or hot-add in flight (DOMAIN §2: in-flight memory returns on stop)."""
        cti = check_obligation(Obligation("consecution", "INV-CONSERVATION", "Stop"),
                               STOP_LEAKS_IN_FLIGHT)
        assert isinstance(cti, CounterexampleToInduction)
        assert cti.trace is not None and isinstance(cti.trace.steps[0].event, Stop)
        vm = cti.trace.initial.vms[0]
        assert vm.in_flight_mib > 0

    def test_unclamped_balloon_response_breaks_the_floor(self) -> None:
        """A balloon response counted unclamped: the guest's oversized answer takes the VM
        below startup (INV-FLOOR) and memory leaves beyond what was asked (NO-HOST-PAGING)."""
        run = check_inductive(None, BALLOON_NOT_CLAMPED)
        broken = {o.obligation.invariant for o in run.outcomes if o.status == "cti"}
        assert {"INV-FLOOR", "INV-NO-HOST-PAGING"} <= broken

    def test_a_weak_invariant_is_not_inductive(self) -> None:
        """Without the aux layer (AUX-TXN), INV-FLOOR is not inductive: a CTI, as expected
        for a true but too weak invariant."""
        weaker = Model(invariants=tuple(i for i in INVARIANTS if i.id != "AUX-TXN"))
        cti = check_obligation(Obligation("consecution", "INV-FLOOR", "BalloonResponse"), weaker)
        assert isinstance(cti, CounterexampleToInduction)


class TestUnknownFailsTheRun:
    def test_tiny_budget_is_unknown_default_proves(self) -> None:
        """The same obligation: with 50 rlimit units an Unknown naming the obligation, the
        budget used and the flag that raises it; with the default budget, proved."""
        ob = Obligation("consecution", "INV-CONSERVATION", "BalancerTick", None, 2)
        starved = check_obligation(ob, rlimit=50)
        assert isinstance(starved, Unknown), starved
        assert f"on obligation '{ob.label}'" in starved.reason
        assert "of its 50 rlimit units (budget exhausted" in starved.reason
        assert "raise it with --rlimit 500" in starved.reason
        assert starved.rlimit_used >= 50
        proved = check_obligation(ob)
        assert isinstance(proved, Proved), proved
        assert 50 < proved.rlimit_used < MINIMAL.rlimit // 10  # the default's margin

    def test_run_with_an_unknown_is_not_ok(self) -> None:
        """ProofRun.ok is False as soon as one obligation is not proved."""
        from dynmem.verification.symbolic.obligations import ProofRun

        proved = Proved(Obligation("initiation", "INV-TYPE", n_vms=1), 0.0)
        unknown = Unknown(Obligation("initiation", "INV-OFF", n_vms=1), 0.0, "timeout")
        assert ProofRun(1, (proved,), 0.0).ok
        assert not ProofRun(1, (proved, unknown), 0.0).ok
        assert not ProofRun(1, (), 0.0).ok


class TestDecompositionPremises:
    def test_vm_clause_reading_other_slots_fails_loudly(self) -> None:
        """A VM clause that reads the state's VMs cannot be checked for any N: it raises
        instead of giving a wrong proof (the decomposition's premise is structural)."""
        peeking = Clause("peeks at other VMs", "vm", lambda ops, s, vm: len(s.vms) > 0,
                         lambda s, vm: "")
        bad = Invariant("INV-PEEK", "peek", "reads other VMs", "safety", (peeking,))
        model = Model(invariants=(*INVARIANTS, bad))
        with pytest.raises(AttributeError):
            check_obligation(Obligation("consecution", "INV-PEEK", "Demand"), model)

    def test_host_clause_reading_more_than_owned_fails_loudly(self) -> None:
        """A host clause summing anything but owned reads a field the rest summary lacks."""
        summing = Clause("sums demand", "host",
                         lambda ops, s: ops.total(s.vms, lambda vm: vm.demand_mib) >= 0,
                         lambda s: "")
        bad = Invariant("INV-SUM", "sum", "sums demand", "safety", (summing,))
        model = Model(invariants=(*INVARIANTS, bad))
        with pytest.raises(AttributeError):
            check_obligation(Obligation("consecution", "INV-SUM", "Demand"), model)


class TestMemoizedTerms:
    def test_vm_clause_reading_the_state_is_not_reused_across_states(self) -> None:
        """A VM clause that reads its state (here free) is rebuilt for the post-state and kept
        on untouched slots by slicing, so a step that breaks it only on ANOTHER (off) VM is a
        CTI at concrete N (no stale memoized pre-state term, no sliced-away conjunct)."""
        cap = Clause("free below 100000 while a VM is off", "vm",
                     lambda ops, s, vm: ops.Implies(vm.power == 0, s.free_mib < 100_000),
                     lambda s, vm: "")
        model = Model(invariants=(*INVARIANTS, Invariant("INV-CAP", "cap", "cap", "safety",
                                                         (cap,))))
        ob = Obligation("consecution", "INV-CAP", "BalloonResponse", 0, 2)
        assert isinstance(check_obligation(ob, model), CounterexampleToInduction)
        # for any N a VM clause may not read free (other VMs' steps change it): it raises
        with pytest.raises(AttributeError):
            check_obligation(Obligation("consecution", "INV-CAP", "BalloonResponse"), model)


class TestProofSupport:
    def test_cores_name_known_premises(self) -> None:
        """Every core entry is a registry clause, a guard, Init, or a lemma instance."""
        runs = [check_inductive(2), check_inductive(None)]
        clauses, guards = get_premise_labels(Model())
        for run in runs:
            for outcome in run.outcomes:
                assert isinstance(outcome, Proved)
                for label in outcome.core:
                    assert (label in clauses or label in guards or label == "Init"
                            or label.startswith(("L-", "R-REQUEST-3", "slot holds"))), label

    def test_support_report_lists_unused_guards(self) -> None:
        """Exactly the guards specs/proofs.md §5 names carry no proof (evenness, the caps per
        message, the watchdog firing once); the floor guard and the protocol guards that
        INV-ADVERTISED, INV-NO-HOT-ADD-AFTER-PARTIAL and INV-UNBALLOON-FIRST state do."""
        support = compute_support([check_inductive(2), check_inductive(None)])
        assert support.unused_guards == UNUSED_GUARDS
        assert "guard BalloonRequest: mib <= assigned - startup" not in support.unused_guards
        uses = dict(support.uses)
        assert uses["INV-CONSERVATION: free + reserve + owned = physical"] > 0

    def test_core_of_a_floor_proof_uses_the_balloon_shape(self) -> None:
        """BalloonResponse keeps INV-FLOOR because of AUX-TXN's 'balloon keeps the floor'."""
        proved = check_obligation(Obligation("consecution", "INV-FLOOR", "BalloonResponse"))
        assert isinstance(proved, Proved)
        assert "AUX-TXN: balloon keeps the floor" in proved.core


def test_lemmas_are_killable() -> None:
    """L-TICK-OWNED fails for a tick that opens a hot-add without counting it as taken."""
    from dynmem.model.actions import BALANCER_TICK

    agg = BALANCER_TICK.aggregate
    assert agg is not None
    wrong = attrs.evolve(agg, taken=lambda ops, vm, p: ops.If(p.request == 2, p.mib, 0))
    model = _mutant(BALANCER_TICK, aggregate=wrong)
    outcome = check_obligation(Obligation("lemma", "L-TICK-OWNED"), model)
    assert isinstance(outcome, CounterexampleToInduction)
