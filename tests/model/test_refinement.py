"""Refinement (issue 3, deliverable 5): every reference step is a step the model allows.

Concretely on every step of seeded random runs (honest and adversarial guests, admin events,
rejected events), solver-guided on Z3-chosen pre-states at N ≤ 2 per event kind and guard,
and killable: planted reference bugs (make_step) are reported with the field or guard.
"""

from __future__ import annotations

from collections import Counter

import attrs
import pytest
from model_runs import random_steps

from dynmem.model.actions import BALLOON_REQUEST, HOT_ADD_REQUEST
from dynmem.model.concrete_steps import is_allowed
from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    EVENT_TYPES,
    BalancerTick,
    BalloonRequest,
    CapabilitiesReport,
    HotAddRequest,
    QuietPeriodEnd,
    Start,
    StatusReport,
    VersionRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.reference.step import StepResult, check_request, make_step, process_request, step
from dynmem.verification.symbolic.refinement import check_run, check_sampled


def _ready_vm() -> DmState:
    """One dynamic VM, negotiated, quiet period over, reporting demand 3000 MiB."""
    s = initial_state(HostSettings(8192, 1024),
                      (("a", VmSettings(dynamic=True, startup_mib=1024, maximum_mib=4096)),))
    for event in (Start("a"), VersionRequest("a", 0x20000), CapabilitiesReport("a"),
                  QuietPeriodEnd("a"), StatusReport("a", 3000)):
        s = step(s, event).state
    return s


def _hot_add_keeps_free(state: DmState, request: HotAddRequest) -> StepResult:
    """Planted bug: a hot-add request that does not take its memory from free."""
    result = process_request(state, request)
    if not result.accepted:
        return result
    return attrs.evolve(result, state=attrs.evolve(result.state, free_mib=state.free_mib))


def _balloon_counted_free_early(state: DmState, request: BalloonRequest) -> StepResult:
    """Planted bug: balloon memory counted free when the request is sent."""
    result = process_request(state, request)
    if not result.accepted:
        return result
    freed = result.state.free_mib + request.mib
    return attrs.evolve(result, state=attrs.evolve(result.state, free_mib=freed))


def _balloon_below_floor(state: DmState, request: BalloonRequest) -> StepResult:
    """Planted bug: the floor guard (never below startup) is skipped; the others are kept."""
    reason = check_request(state, request)
    if reason is not None and "below startup" not in reason:
        return StepResult(state=state, reason=reason)
    vm = state.get_vm(request.vm)
    assert vm is not None
    nxt = attrs.evolve(vm, txn=TxnKind.BALLOON, txn_mib=request.mib, txn_done_mib=0)
    return StepResult(state=state.with_vm(nxt))


class TestConcreteRefinement:
    def test_random_runs_refine_the_model(self) -> None:
        """Every accepted step of 60 random runs is allowed; rejected steps change nothing."""
        steps = list(random_steps(seed=2024, runs=60, steps=150))
        assert list(check_run(steps)) == []
        accepted = Counter(e.KIND for _, e, r in steps if r.accepted)
        rejected = sum(not r.accepted for _, _, r in steps)
        assert set(accepted) == set(EVENT_TYPES), set(EVENT_TYPES) - set(accepted)
        assert rejected > 100 and sum(accepted.values()) > 5000

    def test_tick_requests_are_recovered_from_the_diff(self) -> None:
        """Without ``sent``, is_allowed recovers each VM's request from what changed."""
        ticks = [(pre, e, r) for pre, e, r in random_steps(seed=5, runs=30, steps=100)
                 if isinstance(e, BalancerTick) and r.accepted and r.sent]
        assert len(ticks) > 20
        for pre, event, result in ticks:
            assert is_allowed(pre, event, result.state) is None

    def test_tick_with_two_requests_for_one_vm_is_refused(self) -> None:
        """R-TICK: at most one request per VM in a tick."""
        s = _ready_vm()
        sent = (HotAddRequest("a", 2), HotAddRequest("a", 2))
        reason = is_allowed(s, BalancerTick(), s, sent)
        assert reason is not None and "more than one request" in reason


class TestPlantedReferenceBugs:
    def test_hot_add_without_taking_free_is_caught(self) -> None:
        """A reference hot-add that leaves free unchanged: is_allowed names free_mib."""
        s = _ready_vm()
        buggy = make_step({HotAddRequest: _hot_add_keeps_free})
        result = buggy(s, HotAddRequest("a", 512))
        assert result.accepted
        reason = is_allowed(s, HotAddRequest("a", 512), result.state)
        assert reason == "free_mib: the model expects 5632 (update), the step has 6144"

    def test_hot_add_bug_found_in_random_runs(self) -> None:
        """The same bug, through the balancer's ticks, is found by the concrete check."""
        buggy = make_step({HotAddRequest: _hot_add_keeps_free})
        found = list(check_run(random_steps(seed=9, runs=20, steps=100, step_fn=buggy)))
        assert found and all("free_mib" in m.reason for m in found)
        assert any(isinstance(m.event, BalancerTick) for m in found)

    def test_balloon_counted_free_at_request_time_is_caught(self) -> None:
        """DOMAIN §2: balloon memory is free only when the response arrives."""
        buggy = make_step({BalloonRequest: _balloon_counted_free_early})
        found = list(check_run(random_steps(seed=9, runs=20, steps=100, step_fn=buggy)))
        assert found and all("free_mib" in m.reason for m in found)

    def test_balloon_below_floor_is_caught_with_the_guard(self) -> None:
        """A reference that skips the floor guard: the model names the guard and values."""
        s = _ready_vm()
        buggy = make_step({BalloonRequest: _balloon_below_floor})
        result = buggy(s, BalloonRequest("a", 512))
        reason = is_allowed(s, BalloonRequest("a", 512), result.state)
        assert reason is not None
        assert "guard 'mib <= assigned - startup' (R-BALLOON-REQUEST) fails" in reason
        assert "a.visible_mib=1024" in reason and "mib=512" in reason


class TestSampledRefinement:
    @pytest.mark.parametrize("n_vms", [1, 2])
    def test_z3_sampled_steps_refine_the_model(self, n_vms: int) -> None:
        """Z3-chosen pre-states (IndInv, every guard true / each guard false) agree."""
        checked, found = check_sampled(n_vms=n_vms, per_case=3)
        assert found == []
        assert checked > 150

    def test_an_undecided_sample_fails_instead_of_shrinking_the_check(
            self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A Z3 unknown while sampling is reported as unknown and fails the verify check;
        it never passes as '0 mismatches' over fewer samples."""
        import z3

        from dynmem.verification.errors import SolverUnknown
        from dynmem.verification.suite.proof_checks import check_sampled_refinement

        monkeypatch.setattr(z3.Solver, "check", lambda self, *args: z3.unknown)
        with pytest.raises(SolverUnknown, match="gave up on refinement sampling .* undecided"):
            check_sampled(n_vms=1, per_case=1, actions=[BALLOON_REQUEST])
        verdict = check_sampled_refinement()
        assert not verdict.ok and verdict.summary.startswith("unknown")

    def test_sampling_catches_a_missing_reference_guard(self) -> None:
        """With the floor guard missing in the reference, the 'guard false' case reports it."""
        buggy = make_step({BalloonRequest: _balloon_below_floor})
        _, found = check_sampled(n_vms=1, per_case=2, actions=[BALLOON_REQUEST], step_fn=buggy)
        assert found and all("guard 'mib <= assigned - startup'" in m.reason for m in found), \
            [m.reason for m in found]

    def test_sampling_catches_a_wrong_update(self) -> None:
        """With hot-add not taking free in the reference, enabled samples report free_mib."""
        buggy = make_step({HotAddRequest: _hot_add_keeps_free})
        _, found = check_sampled(n_vms=2, per_case=2, actions=[HOT_ADD_REQUEST], step_fn=buggy)
        assert any(m.reason.startswith("free_mib") for m in found)


def test_a_step_that_changes_another_vm_breaks_the_frame() -> None:
    """A VM the event does not name must keep its value: a start of ``a`` that also changes
    ``b`` (its settings, or its runtime) is refused, naming ``b``'s field. Guards the
    shortcut that passes an unchanged slot without reading its fields."""
    s = initial_state(HostSettings(8192, 1024),
                      (("a", VmSettings(dynamic=True, startup_mib=1024, maximum_mib=4096)),
                       ("b", VmSettings(dynamic=True, startup_mib=1024, maximum_mib=4096))))
    post = step(s, Start("a")).state
    assert is_allowed(s, Start("a"), post) is None
    b = post.vms[1]
    runtime = attrs.evolve(post, vms=(post.vms[0], attrs.evolve(b, demand_mib=512)))
    assert is_allowed(s, Start("a"), runtime) == (
        "b.demand_mib: the model expects 0 (unchanged (frame)), the step has 512")
    settings = attrs.evolve(post, vms=(post.vms[0], attrs.evolve(
        b, settings=attrs.evolve(b.settings, weight=1))))
    why = is_allowed(s, Start("a"), settings)
    assert why is not None and why.startswith("b.settings.weight: the model expects"), why
