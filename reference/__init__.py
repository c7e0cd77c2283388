"""dynmem.reference: the pure-functional, deterministic reference of Hyper-V Dynamic Memory.

``step(state, event)`` over immutable attrs values; see specs/ for every rule it implements.
"""

from dynmem.reference.environment import Settled, compute_honest_message, enabled_events, settle
from dynmem.reference.events import EVENT_TYPES, Event
from dynmem.reference.policy import compute_plan
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, Vm, initial_state
from dynmem.reference.step import StepResult, step

__all__ = [
    "EVENT_TYPES", "DmState", "Event", "HostSettings", "Settled", "StepResult", "Vm",
    "VmSettings", "compute_honest_message", "compute_plan", "enabled_events", "initial_state",
    "settle", "step",
]
