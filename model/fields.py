"""The fields of a VM slot and of the host, by name: what an action may modify.

Plain data, no Z3: the concrete check (model/concrete_steps.py) and the symbolic builder
(model/symbolic_steps.py) read the same vocabulary. A setting is spelled ``settings.<f>``
where an action declares what it modifies.
"""

from __future__ import annotations

from collections.abc import Mapping

from dynmem.model.ops import Term
from dynmem.model.shapes import VmLike
from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB, Channel, Power, TxnKind

# The reference ``Vm``'s own fields by sort (a symbolic slot has one Z3 constant each).
VM_INT_FIELDS = ("power", "visible_mib", "ballooned_mib", "demand_mib", "report_mib", "channel",
                 "protocol_version", "txn", "txn_mib", "txn_done_mib", "saved_mib",
                 "hot_add_align_mib")
VM_BOOL_FIELDS = ("has_report", "cap_balloon", "cap_hot_add", "hot_add_enabled", "stuck")
SETTINGS_INT_FIELDS = ("startup_mib", "maximum_mib", "buffer_pct", "weight")
SETTINGS_BOOL_FIELDS = ("dynamic", "dm_capable")

RUNTIME_FIELDS: tuple[str, ...] = (
    "power", "visible_mib", "ballooned_mib", "demand_mib", "has_report", "report_mib",
    "channel", "protocol_version", "cap_balloon", "cap_hot_add", "hot_add_enabled", "txn",
    "txn_mib", "txn_done_mib", "stuck", "saved_mib", "hot_add_align_mib",
)
SETTINGS_FIELDS: tuple[str, ...] = (
    "dynamic", "startup_mib", "maximum_mib", "buffer_pct", "weight", "dm_capable",
)
# Every field of a slot an action may modify; settings fields are spelled ``settings.<f>``.
SLOT_FIELDS: tuple[str, ...] = (
    "exists", *RUNTIME_FIELDS, *(f"settings.{f}" for f in SETTINGS_FIELDS),
)
HOST_FIELDS: tuple[str, ...] = ("free_mib",)
BOOL_FIELDS = frozenset(("exists", *VM_BOOL_FIELDS, *(f"settings.{f}" for f in
                                                      SETTINGS_BOOL_FIELDS)))
assert set(RUNTIME_FIELDS) == set(VM_INT_FIELDS) | set(VM_BOOL_FIELDS)
assert set(SETTINGS_FIELDS) == set(SETTINGS_INT_FIELDS) | set(SETTINGS_BOOL_FIELDS)

# The runtime of a VM that is off: what Create and Stop leave (specs/events.md R-CREATE, R-STOP).
OFF_RUNTIME: Mapping[str, int | bool] = {
    "power": Power.OFF, "visible_mib": 0, "ballooned_mib": 0, "demand_mib": 0,
    "has_report": False, "report_mib": 0, "channel": Channel.NONE, "protocol_version": 0,
    "cap_balloon": False, "cap_hot_add": False, "hot_add_enabled": True, "txn": TxnKind.NONE,
    "txn_mib": 0, "txn_done_mib": 0, "stuck": False, "saved_mib": 0,
    "hot_add_align_mib": DEFAULT_HOT_ADD_ALIGN_MIB,
}


def read_field(vm: VmLike, field: str) -> Term:
    """The value of ``field`` (``settings.<f>`` for a setting) on a slot or reference VM."""
    if field.startswith("settings."):
        return getattr(vm.settings, field[len("settings."):])
    return getattr(vm, field)
