"""The observable summary of a state: what ``dynmem simulate --json`` prints as ``final`` and what
a scenario's ``expect.final`` may pin (specs/formats.md §scenario).

One definition serves the output, the expectations and the JSON Schema test, so the three
cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from dynmem.model.vocabulary import HOST_PROFILE_WORDS, Channel, Power
from dynmem.reference.policy import get_target, is_balanced
from dynmem.reference.state import DmState, Vm, compute_pressure

# Field -> the JSON types its value may have (None: null). Order is the output order.
FINAL_VM_FIELDS: dict[str, tuple[type, ...]] = {
    "power": (str,),
    "assigned_mib": (int,),
    "visible_mib": (int,),
    "ballooned_mib": (int,),
    "demand_mib": (int,),
    "guest_paged_mib": (int,),
    "pressure": (int,),
    "target_mib": (int, type(None)),
    "channel": (str,),
    "protocol_version": (int,),
    "hot_add_enabled": (bool,),
}

# The words a string field may take.
FINAL_VM_WORDS: dict[str, tuple[str, ...]] = {
    "power": tuple(p.name.lower() for p in Power),
    "channel": tuple(c.name.lower() for c in Channel),
}


def summarize_vm(vm: Vm) -> dict[str, Any]:
    """The observable values of ``vm``; ``target_mib`` is null when the balancer does not
    manage it (off, static, no DM channel yet, or no status report yet).

    Examples
    --------
    >>> from dynmem.reference.settings import VmSettings
    >>> summarize_vm(Vm(name="a", settings=VmSettings()))["power"]
    'off'
    """
    return {
        "power": vm.power.name.lower(),
        "assigned_mib": vm.assigned_mib,
        "visible_mib": vm.visible_mib,
        "ballooned_mib": vm.ballooned_mib,
        "demand_mib": vm.demand_mib,
        "guest_paged_mib": vm.guest_paged_mib,
        "pressure": compute_pressure(vm.demand_mib, vm.assigned_mib),
        "target_mib": get_target(vm) if is_balanced(vm) else None,
        "channel": vm.channel.name.lower(),
        "protocol_version": vm.protocol_version,
        "hot_add_enabled": vm.hot_add_enabled,
    }


def summarize_state(state: DmState) -> dict[str, Any]:
    """The host's ledger and every VM's observable values, keyed by VM name."""
    return {
        "free_mib": state.free_mib,
        "physical_mib": state.host.physical_mib,
        "reserve_mib": state.host.reserve_mib,
        "profile": HOST_PROFILE_WORDS[state.host.profile],
        "vms": {vm.name: summarize_vm(vm) for vm in state.vms},
    }
