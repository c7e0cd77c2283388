"""The events the explorer offers in a state: the environment's, admin events and DM requests.

Shared by the search (``explore/search.py``) and by a finished exploration that recomputes a
state's steps (``Exploration.successors``).
"""

from __future__ import annotations

from dynmem.reference.events import BalancerTick, Create, Event
from dynmem.reference.state import DmState
from dynmem.reference.step import Plan
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.memo import get_vm_events, get_vm_extras


def get_candidate_events(state: DmState, config: ExploreConfig, plan: Plan) -> list[Event]:
    """The events offered in ``state``: the environment's, admin events and DM requests.

    Per VM in order ``get_vm_events`` (what the reference accepts), then a BalancerTick if
    the plan sends anything, then per VM ``get_vm_extras`` (tried and may be refused: a
    start without memory, a configure while running, a request the guards refuse), then
    Create for each absent VM when the lifecycle is explored.
    """
    free = state.free_mib
    events = [e for vm in state.vms for e in get_vm_events(vm, free, config)]
    if plan(state):
        events.append(BalancerTick())
    events += [e for vm in state.vms for e in get_vm_extras(vm, free, config)]
    return events + get_creates(state, config)


def get_creates(state: DmState, config: ExploreConfig) -> list[Event]:
    if not config.lifecycle:
        return []
    present = {vm.name for vm in state.vms}
    return [Create(name, s) for name, s in config.vms if name not in present]
