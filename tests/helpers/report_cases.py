"""Traces for the show/blame/plot/report/shrink tests (not a test module itself).

Planted bugs here are small ``make_step`` overrides of the reference, each breaking a
different kind of clause: a host sum (INV-PHYSICAL), a conjunction (INV-OFF) and a
two-state clause (INV-NO-HOST-PAGING), so the blame is exercised at every level.
"""

from __future__ import annotations

import attrs
import trace_cases as tc
from trace_cases import SETTLE, dynamic, run

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.events import (
    BalloonRequest,
    Demand,
    Event,
    HotAddRequest,
    HotAddResponse,
    Start,
    Stop,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.reference.step import Step, StepResult, make_step, step
from dynmem.verification.traces.trace import Trace


def start_unchecked(state: DmState, event: Start) -> StepResult:
    """Planted bug: R-START without its free-memory guard (breaks INV-PHYSICAL)."""
    vm = state.get_vm(event.vm)
    if vm is None or vm.running:
        return StepResult(state, f"{event.vm} cannot start")
    opens = vm.settings.dynamic and vm.settings.dm_capable
    started = attrs.evolve(vm, power=Power.RUNNING, visible_mib=vm.settings.startup_mib,
                           ballooned_mib=0, demand_mib=0, hot_add_enabled=True,
                           channel=Channel.NEGOTIATING if opens else Channel.NONE)
    return StepResult(attrs.evolve(state.with_vm(started),
                                   free_mib=state.free_mib - vm.settings.startup_mib))


def stop_keeps_transaction(state: DmState, event: Stop) -> StepResult:
    """Planted bug: a stopped VM keeps its balloon transaction (breaks INV-OFF, INV-ONE-TXN)."""
    before = state.get_vm(event.vm)
    result = step(state, event)
    after = result.state.get_vm(event.vm)
    if not result.accepted or before is None or after is None or before.txn != TxnKind.BALLOON:
        return result
    kept = attrs.evolve(after, txn=before.txn, txn_mib=before.txn_mib)
    return attrs.evolve(result, state=result.state.with_vm(kept))


def balloon_taken_at_request(state: DmState, event: BalloonRequest) -> StepResult:
    """Planted bug: the host takes the memory when it asks, not when the guest answers
    (breaks the two-state INV-NO-HOST-PAGING)."""
    result = step(state, event)
    vm = result.state.get_vm(event.vm)
    if not result.accepted or vm is None:
        return result
    taken = attrs.evolve(vm, ballooned_mib=vm.ballooned_mib + event.mib)
    return attrs.evolve(result, state=attrs.evolve(result.state.with_vm(taken),
                                                   free_mib=result.state.free_mib + event.mib))


UNCHECKED_START = make_step({Start: start_unchecked})
STOP_KEEPS_TXN = make_step({Stop: stop_keeps_transaction})
BALLOON_TAKEN = make_step({BalloonRequest: balloon_taken_at_request})


def padded_overcommit() -> Trace:
    """A long, noisy run with an unchecked start that overcommits late.

    Known minimum: one VM and one step (a start bigger than the host's free memory).
    """
    vms = (("web", dynamic(startup=1024, maximum=6144)), ("db", VmSettings(startup_mib=2048)),
           ("cache", VmSettings(startup_mib=1024)), ("batch", VmSettings(startup_mib=2048)))
    s0 = initial_state(HostSettings(8192, 1024), vms)
    return run(s0, [Start("web"), Demand("web", 3000), SETTLE, Start("db"), Demand("web", 900),
                    SETTLE, Start("cache"), Stop("cache"), Start("cache"), Demand("web", 2500),
                    SETTLE, Start("batch"), Stop("db"), SETTLE], UNCHECKED_START, "simulate")


def off_with_transaction() -> Trace:
    """A VM stopped with a balloon in flight keeps it: INV-OFF's conjunction fails in parts."""
    s0 = initial_state(HostSettings(8192, 1024), (("web", dynamic()),))
    warm = run(s0, [Start("web"), Demand("web", 3000), SETTLE, Demand("web", 500)])
    events: list[Event | str] = [item.event for item in warm.steps]
    # Let the balancer ask for the balloon, then stop the VM before the guest answers.
    after = tc.settle(warm.final, 50).steps
    tick = next(i for i, (e, _) in enumerate(after) if e.KIND == "balancer_tick")
    events += [e for e, _ in after[: tick + 1]] + [Stop("web")]
    return run(s0, events, STOP_KEEPS_TXN, "planted")


def balloon_taken_early() -> Trace:
    """The host takes ballooned memory at the request (a two-state clause fails)."""
    s0 = initial_state(HostSettings(8192, 1024), (("web", dynamic()),))
    return run(s0, [Start("web"), Demand("web", 3000), SETTLE, Demand("web", 500), SETTLE],
               BALLOON_TAKEN, "planted")


def partial_hot_add_leak() -> Trace:
    """The leaky hot-add of trace_cases, reached with an explicit request (no tick).

    Known minimum: 6 steps (start, version, capabilities, quiet end, request, answer).
    """
    s0 = initial_state(HostSettings(8192, 1024), (("web", dynamic()), ("db", dynamic())))
    warm = run(s0, [Start("web"), Start("db"), Demand("db", 2000), SETTLE])
    events: list[Event | str] = [item.event for item in warm.steps]
    events += [HotAddRequest("web", 1024), HotAddResponse("web", 512), Demand("db", 100),
               SETTLE]
    return run(s0, events, tc.LEAKY_HOT_ADD_BUG, "planted")


def many_vms(n: int) -> Trace:
    """``n`` dynamic VMs grow under demand; then one more start overcommits the host."""
    vms = tuple((f"vm{i:02d}", dynamic(startup=512, maximum=4096, weight=1000 + 500 * i))
                for i in range(n))
    s0 = initial_state(HostSettings(2048 + 1500 * n, 2048), vms)
    last = vms[-1][0]

    def step_fn(state: DmState, event: Event) -> StepResult:
        if isinstance(event, Start) and event.vm == last:
            return start_unchecked(state, event)
        return step(state, event)

    events: list[Event | str] = [Start(name) for name, _ in vms[:-1]]
    events += [Demand(name, 900 + 150 * i) for i, (name, _) in enumerate(vms[:-1])]
    events += [SETTLE, Start(last)]
    return run(s0, events, step_fn, "planted")


STEPS: dict[str, Step] = {
    "unchecked-start": UNCHECKED_START,
    "stop-keeps-txn": STOP_KEEPS_TXN,
    "balloon-taken": BALLOON_TAKEN,
    "leaky-hot-add": tc.LEAKY_HOT_ADD_BUG,
}
