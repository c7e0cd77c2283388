"""Small, real traces shared by the ITF and renderer tests (not a test module itself).

Each builder runs the reference (or a planted bug via ``make_step``) over a scenario of
DOMAIN.md and returns the checked ``Trace``; ``settle`` is expanded into the events it
delivered, as ``dynmem simulate`` does.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from dynmem.model.vocabulary import Power
from dynmem.reference.environment import settle
from dynmem.reference.events import (
    BalloonResponse,
    Configure,
    Create,
    Delete,
    Demand,
    Event,
    HotAddResponse,
    Start,
    Stop,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.reference.step import Step, StepResult, make_step, step
from dynmem.verification.traces.trace import Trace, record

SETTLE = "settle"


def run(initial: DmState, events: Iterable[Event | str], step_fn: Step = step,
        source: str = "simulate") -> Trace:
    """A checked trace of ``events`` (``SETTLE`` runs honest guests and the balancer)."""
    results: list[tuple[Event, StepResult]] = []
    state = initial
    for event in events:
        if event == SETTLE:
            new = list(settle(state, 500, step_fn).steps)
        else:
            assert not isinstance(event, str)
            new = [(event, step_fn(state, event))]
        results += new
        if new:
            state = new[-1][1].state
    return record(initial, results, source)


def dynamic(startup: int = 1024, maximum: int = 8192, weight: int = 5000) -> VmSettings:
    return VmSettings(dynamic=True, startup_mib=startup, maximum_mib=maximum, weight=weight)


def static_host_full() -> Trace:
    """DOMAIN.md §5, scaled down: 3 static 2 GiB VMs fit 8 GiB with 2 GiB reserve, the 4th
    waits for reclaim and fails to start (static VMs give nothing back); stopping it then is
    a refused event, not a violation."""
    vms = tuple((f"vm{i}", VmSettings(startup_mib=2048)) for i in range(1, 5))
    s0 = initial_state(HostSettings(8192, 2048), vms)
    return run(s0, [*[Start(name) for name, _ in vms], SETTLE, Stop("vm4")])


def weight_contention() -> Trace:
    """DOMAIN.md §4: ``lo`` grows first, then ``hi`` (weight 8000) squeezes it by balloon."""
    s0 = initial_state(HostSettings(8192, 1024),
                       (("hi", dynamic(weight=8000)), ("lo", dynamic(weight=2000))))
    return run(s0, [Start("hi"), Start("lo"), Demand("lo", 4000), SETTLE,
                    Demand("hi", 4000), SETTLE])


def lifecycle() -> Trace:
    """Admin events, refused ones included, a stop with a hot-add in flight, a lying guest."""
    s0 = initial_state(HostSettings(8192, 1024), (("web", dynamic(startup=2048)),))
    return run(s0, [
        Create("db", VmSettings(startup_mib=1024)),
        Create("bad", VmSettings(startup_mib=7)),  # refused: out of range
        Configure("web", dynamic(startup=2048, maximum=4096)),
        Start("web"), Start("db"), Configure("web", dynamic()),  # refused: running
        Demand("web", -5),  # refused: negative
        Demand("web", 3000), SETTLE,
        Demand("web", 500), SETTLE,
        Demand("web", 3500), Stop("web"),
        Start("web"), Demand("web", 3000), SETTLE, Stop("db"), Delete("db"),
    ])


def misbehaving_guest() -> Trace:
    """Guests answering more than asked: the host clamps (DOMAIN.md §2)."""
    s0 = initial_state(HostSettings(8192, 1024), (("web", dynamic()),))
    honest = [Start("web"), Demand("web", 2000), SETTLE]
    trace = run(s0, honest)
    state = trace.final
    events: list[Event | str] = [*honest, Demand("web", 200)]
    # Up to the balloon request, then an oversized balloon answer, twice (the second is refused).
    steps = list(settle(step(state, Demand("web", 200)).state, 500).steps)
    cut = next(i for i, (e, _) in enumerate(steps) if e.KIND == "balancer_tick") + 1
    events += [e for e, _ in steps[:cut]]
    events += [BalloonResponse("web", 9000), BalloonResponse("web", 10),
               Demand("web", 6000), SETTLE]
    trace = run(s0, events)
    assert any(s.rejected for s in trace.steps) and trace.ok
    return trace


def _no_free_check_start(state: DmState, event: Start) -> StepResult:
    """Planted bug: start without checking free memory (breaks INV-PHYSICAL, AUX-FREE)."""
    vm = state.get_vm(event.vm)
    assert vm is not None
    started = attrs.evolve(vm, power=Power.RUNNING, visible_mib=vm.settings.startup_mib)
    return StepResult(attrs.evolve(state.with_vm(started),
                                   free_mib=state.free_mib - vm.settings.startup_mib))


def _hot_add_keeps_difference(state: DmState, event: HotAddResponse) -> StepResult:
    """Planted bug: a partial hot-add never releases the part not added (INV-CONSERVATION)."""
    vm = state.get_vm(event.vm)
    assert vm is not None
    result = step(state, event)
    if result.accepted:
        released = vm.txn_mib - min(event.mib, vm.txn_mib)
        return attrs.evolve(result, state=attrs.evolve(result.state,
                                                       free_mib=result.state.free_mib - released))
    return result


OVERCOMMIT_BUG = make_step({Start: _no_free_check_start})
LEAKY_HOT_ADD_BUG = make_step({HotAddResponse: _hot_add_keeps_difference})


def planted_overcommit() -> Trace:
    """The 4th static VM starts anyway: INV-PHYSICAL and AUX-FREE break at step 4."""
    vms = tuple((f"vm{i}", VmSettings(startup_mib=2048)) for i in range(1, 5))
    s0 = initial_state(HostSettings(8192, 2048), vms)
    return run(s0, [Start(name) for name, _ in vms] + [Stop("vm1")], OVERCOMMIT_BUG, "planted")


def planted_leak() -> Trace:
    """A partial hot-add answer leaks the rest of the request: INV-CONSERVATION breaks."""
    s0 = initial_state(HostSettings(8192, 1024), (("web", dynamic()),))
    warm = run(s0, [Start("web"), Demand("web", 3000), SETTLE], LEAKY_HOT_ADD_BUG)
    # Replace the honest hot-add answer by a partial one.
    events: list[Event | str] = []
    for item in warm.steps:
        if isinstance(item.event, HotAddResponse):
            events.append(HotAddResponse("web", 512))
            break
        events.append(item.event)
    return run(s0, events, LEAKY_HOT_ADD_BUG, "planted")


ALL = {
    "static_host_full": static_host_full,
    "weight_contention": weight_contention,
    "lifecycle": lifecycle,
    "misbehaving_guest": misbehaving_guest,
    "planted_overcommit": planted_overcommit,
    "planted_leak": planted_leak,
}
