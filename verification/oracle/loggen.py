"""Synthetic logs of a well-behaved system, for tests and the check-trace benchmark.

``simulate_log`` runs the reference with honest guests, periodic balancer ticks and a
random-walk workload (demand moves in 128 MiB steps), and yields ``(event, answer)`` pairs as
a real host would log them: guest messages, ticks and admin actions, but not the guests'
workload changes (a host only sees their status reports). Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from dynmem.model.vocabulary import Channel
from dynmem.reference.environment import compute_honest_message, compute_honest_report
from dynmem.reference.events import BalancerTick, Demand, Event, Start, StatusReport
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.reference.step import Step, step
from dynmem.verification.oracle.iut import Observed
from dynmem.verification.oracle.observation import observe


def log_initial(vms: int = 3) -> DmState:
    """A 16 GiB host with ``vms`` dynamic VMs of different weights, every VM off."""
    weights = (8000, 5000, 2000, 5000)
    settings = tuple((f"vm{i}", VmSettings(dynamic=True, startup_mib=1024, maximum_mib=8192,
                                           weight=weights[i % len(weights)]))
                     for i in range(vms))
    return initial_state(HostSettings(16384, 2048), settings)


def simulate_log(initial: DmState, events: int, seed: int = 0,
                 step_fn: Step = step) -> Iterator[tuple[Event, Observed]]:
    """``events`` logged steps of the reference (or ``step_fn``) from ``initial``."""
    rng = random.Random(seed)
    state = initial
    demand = {vm.name: 1024 for vm in initial.vms}
    logged = 0
    while logged < events:
        event = _next_event(rng, state, demand)
        result = step_fn(state, event)
        state = result.state
        if isinstance(event, Demand):
            continue  # the workload is inside the guest: a host's log never sees it
        logged += 1
        yield event, Observed(observe(state), result.sent, result.reason)


def _next_event(rng: random.Random, state: DmState, demand: dict[str, int]) -> Event:
    off = [vm for vm in state.vms if not vm.running]
    if off:
        return Start(off[0].name)
    roll = rng.random()
    if roll < 0.25:
        return BalancerTick()
    if roll < 0.30:
        name = rng.choice(state.vms).name
        demand[name] = max(0, min(9000, demand[name] + rng.choice((-128, 128, -256, 256))))
        return Demand(name, demand[name])
    honest = [m for m in map(compute_honest_message, state.vms) if m is not None]
    if honest and roll < 0.6:
        return rng.choice(honest)
    # Guests report their committed memory periodically, changed or not.
    connected = [vm for vm in state.vms if vm.running and vm.channel >= Channel.CAPS
                 and vm.channel != Channel.FAILED]
    if connected:
        vm = rng.choice(connected)
        return StatusReport(vm.name, compute_honest_report(vm))
    return BalancerTick()
