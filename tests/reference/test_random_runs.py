"""Long random runs of ``enabled_events``: every invariant holds at every step (§3).

Runs are driven by a seeded ``random.Random`` (deterministic, replayable): each step picks one
event among those ``enabled_events`` lists for random environment choices (honest or
adversarial guests, random demands), plus random admin Create/Configure/Delete with valid
settings. A failure names the seed, the step and the events so far as runnable Python.
"""

from __future__ import annotations

import copy
import random

import attrs
import pytest

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.environment import enabled_events, settle
from dynmem.reference.events import (
    CapabilitiesReport,
    Configure,
    Create,
    Delete,
    Event,
    HotAddResponse,
    QuietPeriodEnd,
    Start,
    StatusReport,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan, get_target, is_balanced
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, Vm, initial_state
from dynmem.reference.step import Step, StepResult, make_step, step
from dynmem.verification.traces.trace import check_transition

RUNS = 200
STEPS = 200
HOSTS = (HostSettings(4096, 512), HostSettings(8192, 1024), HostSettings(16384, 2048),
         HostSettings(6145, 1))  # the last one leaves an odd free ledger


def random_settings(rng: random.Random) -> VmSettings:
    """Valid 2008R2SP1 settings, with small values so VMs compete for memory."""
    startup = rng.randrange(32, 3072, 2)
    maximum = rng.choice([startup, rng.randrange(startup, 8194, 2), 65536])
    return VmSettings(dynamic=rng.random() < 0.75, startup_mib=startup, maximum_mib=maximum,
                      buffer_pct=rng.choice([5, 20, 50, 2000]),
                      weight=rng.choice([0, 2000, 5000, 5000, 8000, 10000]),
                      dm_capable=rng.random() < 0.9)


def random_admin(rng: random.Random, state: DmState, index: int) -> list[Event]:
    """Create a VM, or reconfigure or delete an off one (all accepted by ``step``)."""
    events: list[Event] = [Create(f"new{index}", random_settings(rng))]
    off = [vm.name for vm in state.vms if not vm.running]
    if off:
        events += [Configure(rng.choice(off), random_settings(rng)), Delete(rng.choice(off))]
    return events


def random_initial(rng: random.Random) -> DmState:
    """A random host with 0..4 VMs created and off."""
    vms = tuple((f"vm{i}", random_settings(rng)) for i in range(rng.randint(0, 4)))
    return initial_state(rng.choice(HOSTS), vms)


def random_choices(rng: random.Random, state: DmState, index: int) -> list[Event]:
    """The events to choose from at one step: ``enabled_events`` plus, sometimes, admin ones."""
    demands = [rng.choice([0, rng.randrange(0, 12_000)]) for _ in range(2)]
    events = enabled_events(state, demands=demands, adversarial=rng.random() < 0.5)
    if rng.random() < 0.08 or not events:
        events += random_admin(rng, state, index)
    return events


# Relative weights of event kinds: VMs live long enough for the protocol and the balancer
# to do real work (a uniform choice over events is mostly start, stop and demand).
KIND_WEIGHTS = {"stop": 0.1, "create": 0.2, "configure": 0.2, "delete": 0.2, "demand": 0.3,
                "status_report": 0.3, "balancer_tick": 3.0}


def pick(rng: random.Random, events: list[Event]) -> Event:
    """One event: a kind first (by ``KIND_WEIGHTS``, default 1), then one of that kind."""
    by_kind: dict[str, list[Event]] = {}
    for event in events:
        by_kind.setdefault(event.KIND, []).append(event)
    kinds = sorted(by_kind)
    kind = rng.choices(kinds, weights=[KIND_WEIGHTS.get(k, 1.0) for k in kinds])[0]
    return rng.choice(by_kind[kind])


def context(seed: int, initial: DmState, events: list[Event]) -> str:
    """The run so far as Python a person can paste (STYLE rule 12)."""
    lines = [f"# seed {seed}, step {len(events)}", f"state = {initial!r}"]
    lines += [f"state = step(state, {e!r}).state" for e in events]
    return "\n".join(lines)


def random_run(seed: int, steps: int = STEPS, step_fn: Step = step
               ) -> tuple[DmState, list[Event], list[DmState]]:
    """One checked random run: every chosen event is accepted and keeps every invariant."""
    rng = random.Random(seed)
    initial = state = random_initial(rng)
    events: list[Event] = []
    states = [state]
    for index in range(steps):
        event = pick(rng, random_choices(rng, state, index))
        result = step_fn(state, event)
        events.append(event)
        if not result.accepted:
            raise AssertionError(f"{result.reason}\n{context(seed, initial, events)}")
        broken = check_transition(state, event, result.state)
        if broken:
            raise AssertionError(f"{broken}\n{context(seed, initial, events)}")
        state = result.state
        states.append(state)
    return initial, events, states


@pytest.mark.slow  # the longest runs; the other random-run tests here stay in the fast run
def test_invariants_hold_over_long_random_runs() -> None:
    """INV-*: 200 seeded runs of 200 steps (honest and adversarial) never break an invariant."""
    kinds: set[str] = set()
    txns: set[TxnKind] = set()
    for seed in range(RUNS):
        _, events, states = random_run(seed)
        kinds |= {e.KIND for e in events}
        txns |= {vm.txn for s in states for vm in s.vms}
    # The runs are not vacuous: every event kind but direct DM requests (sent by the tick)
    # occurred, and every kind of transaction was in flight at some point.
    assert kinds >= {"create", "configure", "delete", "start", "stop", "demand",
                     "version_request", "capabilities_report", "quiet_period_end",
                     "status_report", "balloon_response", "unballoon_response",
                     "hot_add_response", "balancer_tick"}
    assert txns == set(TxnKind)


def test_every_enabled_event_is_accepted() -> None:
    """R-*: every event ``enabled_events`` lists, honest or adversarial, is accepted by step."""
    for seed in range(0, RUNS, 4):
        _, _, states = random_run(seed, steps=100)
        for state in states[::3]:
            for adversarial in (False, True):
                for event in enabled_events(state, demands=(0, 5000), adversarial=adversarial):
                    result = step(state, event)
                    assert result.accepted, f"seed {seed}: {event!r}: {result.reason}\n{state!r}"


def test_step_is_deterministic_and_never_mutates_its_input() -> None:
    """R-*: step is a pure function: same input, same output, the input left as it was."""
    for seed in range(0, RUNS, 10):
        rng = random.Random(seed)
        _, _, states = random_run(seed, steps=60)
        for state in states[::5]:
            snapshot = copy.deepcopy(state)
            for event in random_choices(rng, state, 0):
                first, second = step(state, event), step(state, event)
                assert first == second
                assert state == snapshot
    assert random_run(7, steps=80) == random_run(7, steps=80)


def check_fixed_point(state: DmState) -> list[str]:
    """What a settled state still owes DOMAIN.md §4, stated without the policy's code."""
    problems = []
    if any(vm.txn != TxnKind.NONE for vm in state.vms):
        problems.append("a transaction is still in flight")
    if compute_plan(state):
        problems.append(f"the policy would still send {compute_plan(state)}")
    managed = [vm for vm in state.vms if is_balanced(vm)]
    for vm in managed:
        if vm.cap_balloon and vm.assigned_mib > get_target(vm):
            problems.append(f"{vm.name} is above its target (P-GIVE-BACK)")
        if vm.assigned_mib < get_target(vm) and can_grow(vm):
            if state.free_mib >= 2:
                problems.append(f"{vm.name} is short while {state.free_mib} MiB are free")
            problems += [f"{vm.name} is short while lower-weight {d.name} is above startup"
                         for d in managed if d.settings.weight < vm.settings.weight
                         and d.cap_balloon and d.assigned_mib > d.settings.startup_mib]
    return problems


def can_grow(vm: Vm) -> bool:
    """Whether ``vm`` can receive memory at all: ballooned pages or hot-add room."""
    hot_add = vm.cap_hot_add and vm.hot_add_enabled and vm.visible_mib < vm.settings.maximum_mib
    return vm.ballooned_mib > 0 or hot_add


def test_settle_converges_from_random_reachable_states() -> None:
    """P-*: from every sampled reachable state, settle reaches a §4 fixed point."""
    settled_from = 0
    for seed in range(0, RUNS, 2):
        _, events, states = random_run(seed, steps=120)
        for index in range(7, len(states), 8):
            result = settle(states[index], max_steps=3000)
            assert result.converged, (
                f"seed {seed}: no fixed point from step {index}: {states[index]!r}")
            final = result.state or states[index]
            problems = check_fixed_point(final)
            assert problems == [], f"seed {seed}, step {index}: {problems}\n{final!r}"
            settled_from += 1
    assert settled_from >= 1000


def test_a_fixed_point_check_can_fail() -> None:
    """P-GIVE-BACK: the fixed-point check flags a VM left above its target."""
    state = initial_state(HostSettings(8192, 1024), (("a", VmSettings(
        dynamic=True, startup_mib=1024, maximum_mib=4096)),))
    for event in (Start("a"), VersionRequest("a", 0x20000), CapabilitiesReport("a"),
                  QuietPeriodEnd("a"), StatusReport("a", 100)):
        state = step(state, event).state
    above = state.with_vm(attrs.evolve(state.vms[0], visible_mib=2048))
    assert "a is above its target (P-GIVE-BACK)" in check_fixed_point(above)


def trusting_hot_add_response(state: DmState, event: HotAddResponse) -> StepResult:
    """A planted bug: the host believes the guest's page count (no clamp to the request)."""
    vm = state.get_vm(event.vm)
    assert vm is not None
    added = event.mib if event.success else 0
    nxt = attrs.evolve(vm, visible_mib=vm.visible_mib + added, txn=TxnKind.NONE, txn_mib=0)
    return StepResult(state=attrs.evolve(state.with_vm(nxt),
                                         free_mib=state.free_mib + vm.txn_mib - added))


def test_random_runs_catch_a_planted_bug() -> None:
    """R-HOT-ADD-RESPONSE: runs with adversarial guests catch a host that trusts page counts."""
    buggy = make_step({HotAddResponse: trusting_hot_add_response})
    caught = []
    for seed in range(RUNS):
        try:
            random_run(seed, step_fn=buggy)
        except AssertionError as error:
            caught.append(str(error))
            if len(caught) == 5:
                break
    assert len(caught) == 5
    for message in caught:  # the finding names the invariant and ends on the guilty answer
        assert "Violation(invariant='INV-" in message
        assert message.splitlines()[-1].startswith("state = step(state, HotAddResponse(")
