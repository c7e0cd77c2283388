"""The walk's memos are sound: each cached verdict is a function of its key.

The memoised walk (``Walker.walk``) reuses a single-VM step per (VM value, free memory), per
VM value alone for the reference's FREE_BLIND kinds, every other step per whole state, and a
tick's verdict per its views; the direct walk (``memo=False``) steps and judges everything on
its state. They must do the same walk: the same steps, the same verdicts, the same first
failure, also for a planted bug that reads what a coarser key would drop (free memory in a
FREE_BLIND kind: caught only because such a step function is keyed with free memory).
"""

from __future__ import annotations

import gc
import random

import attrs

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.vocabulary import Channel, Power
from dynmem.reference.events import BalancerTick, DmRequest, Event, StatusReport
from dynmem.reference.policy import compute_plan
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import DmState, evolve_vm
from dynmem.reference.step import StepResult, make_step, process_status_report, step
from dynmem.verification.explore.config import get_config
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.properties.locality import FREE_BLIND
from dynmem.verification.walk import REAL_8VM, Walker, run_walk
from dynmem.verification.walk.offers import ALL_KINDS, pick_mask
from dynmem.verification.walk.views import check_step_result

_LOW_FREE = 40 * 1024  # MiB; 8vm-gib's free memory crosses it once a few VMs run


def report_reads_free(state: DmState, event: StatusReport) -> StepResult:
    """A planted bug: a status report taken at low free memory is recorded 2 MiB high (the
    model's R-STATUS records what the guest committed)."""
    result = process_status_report(state, event)
    if not result.accepted or state.free_mib >= _LOW_FREE:
        return result
    vm = result.state.get_vm(event.vm)
    assert vm is not None
    return StepResult(result.state.with_vm(attrs.evolve(vm, report_mib=vm.report_mib + 2)))


REPORT_READS_FREE = make_step({StatusReport: report_reads_free})


def report_refused_by_free(state: DmState, event: StatusReport) -> StepResult:
    """A status report refused whenever free memory is 1 modulo 3 MiB: a refusal is no
    violation, but it changes the walk."""
    if state.free_mib % 3 == 1:
        return StepResult(state, "busy")
    return process_status_report(state, event)


REFUSED_BY_FREE = make_step({StatusReport: report_refused_by_free})


def first_failure(walker: Walker, episodes: int, depth: int, seed: int = 0
                  ) -> tuple[int, int, str | None]:
    """(checked steps, accepted steps, the first problem) of ``episodes`` walks."""
    rng = random.Random(seed)
    for episode in range(episodes):
        _, stopped = walker.walk(rng, ALL_KINDS if episode == 0 else pick_mask(rng), depth)
        if stopped is not None:
            return walker.steps, walker.accepted, stopped.message
    return walker.steps, walker.accepted, None


def test_memo_is_the_direct_walk_on_8vm() -> None:
    """Memoised and direct walks of 8vm-gib (creates, deletes, ticks, GiB sizes) take the
    same steps with the same verdicts."""
    a = run_walk(REAL_8VM, episodes=12, depth=400, seed=11)
    b = run_walk(REAL_8VM, episodes=12, depth=400, seed=11, memo=False)
    assert a.ok and b.ok
    assert (a.steps, a.accepted, a.settle_steps) == (b.steps, b.accepted, b.settle_steps)


def test_a_step_that_reads_free_is_caught_as_directly() -> None:
    """A status report that reads free memory (a FREE_BLIND kind for the model and the
    reference) is keyed with free memory, so the memoised walk stops where the direct one
    does, on the refinement check."""
    runs = [first_failure(Walker(REAL_8VM, REPORT_READS_FREE, is_allowed, memo=memo), 60, 500)
            for memo in (True, False)]
    assert runs[0] == runs[1]
    assert runs[0][2] is not None and runs[0][2].startswith("refinement:"), runs[0]


def test_keying_it_without_free_would_be_caught() -> None:
    """The comparison is not vacuous: a status report refused at some free memory is walked
    as directly when keyed with free memory, and differently when keyed by the VM alone, as
    the reference's FREE_BLIND steps are (a step taken at one free memory is reused at
    another)."""
    direct = first_failure(Walker(REAL_8VM, REFUSED_BY_FREE, is_allowed, memo=False), 10, 500)
    assert first_failure(Walker(REAL_8VM, REFUSED_BY_FREE, is_allowed), 10, 500) == direct
    coarse = Walker(REAL_8VM, REFUSED_BY_FREE, is_allowed)
    coarse.blind = FREE_BLIND  # what the engine does for the reference's step only
    assert first_failure(coarse, 10, 500) != direct


def plan_while_demand_high(state: DmState) -> tuple[DmRequest, ...]:
    """A policy that reads the workload's demand, which the reference's plan never does: it
    plans nothing until the VMs' demands add up to 6 GiB."""
    if sum(vm.demand_mib for vm in state.vms) < 6 * 1024:
        return ()
    return compute_plan(state)


PLAN_READS_DEMAND = make_step(plan=plan_while_demand_high)


def _granting(demand_mib: int) -> DmState:
    """8vm-gib with sql running, managed and short of memory (its plan grants it some), its
    workload's demand ``demand_mib``."""
    state = REAL_8VM.initial()
    sql = state.vms[0]
    running = evolve_vm(sql, power=Power.RUNNING, visible_mib=sql.settings.startup_mib,
                        channel=Channel.READY, has_report=True, report_mib=12 * 1024,
                        cap_balloon=True, cap_hot_add=True, demand_mib=demand_mib,
                        protocol_version=max(state.host.accepted_versions))
    return state.with_vm(running, state.free_mib - sql.settings.startup_mib)


def _tick_changes(walker: Walker, state: DmState) -> bool:
    """Whether ``Walker._tick`` says a tick changes the judged ``state``."""
    nodes = tuple(walker._intern(vm) for vm in state.vms)
    total = walker.checks.check_state_total(state)[1]
    assert total is not None  # a state that breaks no invariant
    return walker._tick(nodes, state.free_mib, total)[1] is not nodes


def test_empty_plans_are_keyed_as_the_plan_reads() -> None:
    """A tick is not stepped where the reference's plan was found empty at the same free
    memory and managed VMs without their demand (``Walker._tick``). Killable: a policy
    that reads demand plans nothing for sql at demand 0 and grants it at 8 GiB; the engine
    steps its every tick, and keyed as the reference's the second tick would be taken for
    the first's empty plan."""
    low, high = _granting(0), _granting(8 * 1024)
    assert PLAN_READS_DEMAND(low, BalancerTick()).state == low
    assert PLAN_READS_DEMAND(high, BalancerTick()).state != high
    honest = Walker(REAL_8VM, PLAN_READS_DEMAND, is_allowed)
    assert [_tick_changes(honest, s) for s in (low, high)] == [False, True]
    coarse = Walker(REAL_8VM, PLAN_READS_DEMAND, is_allowed)
    coarse.alone = True  # what the engine does for the reference's step only
    assert [_tick_changes(coarse, s) for s in (low, high)] == [False, False]
    reference = Walker(REAL_8VM, step, is_allowed)  # its plan grants at both demands
    assert [_tick_changes(reference, s) for s in (low, high)] == [True, True]


def test_views_judge_as_whole_states_on_8vm() -> None:
    """Refinement and two-state checks on one-VM, create/delete and tick views (memoised
    per view for ticks) agree with the same checks on the whole states, step by step."""
    for step_fn in (step, REPORT_READS_FREE, get_mutant("stop_leaks_in_flight").reference_step):
        walker = Walker(REAL_8VM, step_fn, is_allowed, memo=False)
        rng = random.Random(3)
        kinds: set[str] = set()
        for _ in range(4):
            state = walker.initial
            mask = pick_mask(rng)
            for _ in range(300):
                event, _, _ = walker._choose(state, rng, mask)
                result = step_fn(state, event)
                whole = check_step_result(state, event, result, is_allowed, walker.checks)
                assert (walker.check(state, event, result) is None) == (whole is None), event
                if result.accepted and whole is None:
                    kinds.add(event.KIND)
                    state = result.state
        assert {"create", "delete", "balancer_tick", "status_report"} <= kinds


def _tick_moves_host(state: DmState, event: Event) -> StepResult:
    if isinstance(event, BalancerTick) and len(state.vms) == 1:
        host = HostSettings(state.host.physical_mib + 2, state.host.reserve_mib)
        return StepResult(DmState(host, state.free_mib + 2, state.vms))
    return step(state, event)


def test_a_step_that_changes_the_host_is_a_finding() -> None:
    """Every memo holds for one host: a step that changes it stops the walk, also with
    refinement off (where the model would have said so)."""
    r = run_walk(get_config(1), episodes=20, depth=100, seed=0, step_fn=_tick_moves_host,
                 refinement=False, progress=False, shrink=False)
    assert r.failure is not None and "the host changed" in r.failure.message


def test_the_cyclic_collector_is_restored() -> None:
    """A campaign runs without the cyclic garbage collector and leaves it as it found it."""
    assert gc.isenabled()
    run_walk(get_config(1), episodes=2, depth=50, seed=0)
    assert gc.isenabled()
    gc.disable()
    try:
        run_walk(get_config(1), episodes=2, depth=50, seed=0)
        assert not gc.isenabled()
    finally:
        gc.enable()
