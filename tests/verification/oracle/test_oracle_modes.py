"""The oracle's modes and verdict classes (specs/formats/oracle.md §3), on in-process IUTs."""

from __future__ import annotations

import attrs
import pytest
from oracle_helpers import connect, two_vm_host

from dynmem.model.concrete_steps import is_allowed
from dynmem.reference.events import BalancerTick, BalloonRequest, HotAddRequest, Start
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState
from dynmem.reference.step import make_step
from dynmem.verification.oracle.generate import EnabledEvents
from dynmem.verification.oracle.iut import InProcessIut, Observed
from dynmem.verification.oracle.judge import (
    DIFFERS,
    INVARIANT,
    NOT_ALLOWED,
    PROTOCOL,
    run_case,
)
from dynmem.verification.oracle.observation import observe
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem
from dynmem.verification.oracle.search import search

IS_ALLOWED = is_allowed
EVENTS = connect("hi", 3000) + connect("lo", 3000) + [BalancerTick()]


def _one_request_at_a_time(view: DmState) -> tuple:
    """A different but safe policy: only the reference plan's first request."""
    return compute_plan(view)[:1]


class TestReferencePasses:
    @pytest.mark.parametrize("mode", ["refinement", "lockstep"])
    @pytest.mark.parametrize("kind", ["system", "policy"])
    def test_reference_passes_generated_examples(self, kind: str, mode: str) -> None:
        """The reference itself passes both modes for both kinds (no false alarms)."""
        iut = ReferenceSystem() if kind == "system" else ReferencePolicy()
        result = search(InProcessIut(iut), kind, mode, EnabledEvents(max_steps=30), 25,  # type: ignore[arg-type]
                        seed=3, is_allowed=IS_ALLOWED)
        assert result.failure is None and result.examples >= 25


class TestClasses:
    def test_other_policy_passes_refinement_but_differs_in_lockstep(self) -> None:
        """A safe policy that is not the reference's: refinement accepts, lockstep differs."""
        iut = InProcessIut(ReferencePolicy(_one_request_at_a_time))
        ok = run_case(iut, "policy", "refinement", two_vm_host(), EVENTS, IS_ALLOWED)
        assert ok.divergence is None
        bad = run_case(iut, "policy", "lockstep", two_vm_host(), EVENTS, IS_ALLOWED)
        assert bad.divergence is not None and bad.divergence.cls == DIFFERS
        assert bad.divergence.step == len(EVENTS)
        assert any(d.path.startswith("sent[1]") for d in bad.divergence.diff)

    def test_refused_request_is_not_allowed(self) -> None:
        """A policy planning a request the guards refuse is at fault (Rule P4)."""
        greedy = ReferencePolicy(lambda view: (HotAddRequest("hi", 2048),
                                               HotAddRequest("hi", 2048)))
        result = run_case(InProcessIut(greedy), "policy", "refinement", two_vm_host(), EVENTS)
        assert result.divergence is not None and result.divergence.cls == NOT_ALLOWED
        assert "already has a HOT_ADD" in (result.divergence.reason or "")

    def test_system_breaking_an_invariant(self) -> None:
        """A system whose free ledger forgets a start breaks INV-CONSERVATION, blamed."""
        def leaky(state: DmState, event: Start) -> object:
            from dynmem.reference.step import process_start
            result = process_start(state, event)
            return attrs.evolve(result, state=attrs.evolve(result.state,
                                                           free_mib=state.free_mib))
        iut = InProcessIut(ReferenceSystem(make_step({Start: leaky})))
        result = run_case(iut, "system", "refinement", two_vm_host(), [Start("hi")],
                          IS_ALLOWED)
        d = result.divergence
        assert d is not None and d.cls == INVARIANT and d.step == 1
        assert d.violations[0].invariant == "INV-CONSERVATION"
        assert any(item.path == "free_mib" for item in d.diff)

    def test_system_sending_requests_off_tick_is_not_allowed(self) -> None:
        """Only a balancer tick sends DM requests (Rule P3)."""
        class Chatty(ReferenceSystem):
            def event(self, step: int, event: object) -> Observed:
                answer = super().event(step, event)  # type: ignore[arg-type]
                return attrs.evolve(answer, sent=(BalloonRequest("hi", 2),))
        result = run_case(InProcessIut(Chatty()), "system", "refinement", two_vm_host(),
                          [Start("hi")], IS_ALLOWED)
        assert result.divergence is not None and result.divergence.cls == NOT_ALLOWED

    def test_refusing_an_allowed_event_is_not_allowed(self) -> None:
        """An IUT that refuses a start the model allows is at fault (refinement)."""
        class Stubborn(ReferenceSystem):
            def event(self, step: int, event: object) -> Observed:
                assert self.state is not None
                return Observed(observe(self.state), (), "no")
        result = run_case(InProcessIut(Stubborn()), "system", "refinement", two_vm_host(),
                          [Start("hi")], IS_ALLOWED)
        assert result.divergence is not None and result.divergence.cls == NOT_ALLOWED

    def test_python_iut_exception_is_a_protocol_crash(self) -> None:
        """An exception inside a Python IUT is reported as a crash, not raised."""
        class Broken(ReferenceSystem):
            def event(self, step: int, event: object) -> Observed:
                raise ZeroDivisionError("oops")
        result = run_case(InProcessIut(Broken()), "system", "lockstep", two_vm_host(),
                          [Start("hi")])
        d = result.divergence
        assert d is not None and (d.cls, d.detail) == (PROTOCOL, "crash")
        assert "ZeroDivisionError: oops" in (d.reason or "")

    def test_rules_stand_in_when_no_model(self) -> None:
        """Without the model the reference's rules judge; the same bug is still caught."""
        greedy = ReferencePolicy(lambda view: (HotAddRequest("hi", 2048),) * 2)
        result = run_case(InProcessIut(greedy), "policy", "refinement", two_vm_host(), EVENTS,
                          None)
        assert result.divergence is not None and result.divergence.cls == NOT_ALLOWED
