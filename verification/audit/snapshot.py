"""Strict reader of Hyper-V snapshots: ``Get-VM``, ``Get-VMMemory`` and ``Get-VMHost`` as JSON.

``ConvertTo-Json`` writes one object for one result and an array for several; both are read.
Each object is recognised by the properties it carries (specs/audit.md §1.1):

- ``Get-VM`` (``VirtualMachine``): ``VMName``, ``State``, ``DynamicMemoryEnabled``,
  ``MemoryStartup``, ``MemoryMinimum``, ``MemoryMaximum``, ``MemoryAssigned``,
  ``MemoryDemand``, ``MemoryStatus``;
- ``Get-VMMemory`` (``VMMemory``): ``VMName``, ``DynamicMemoryEnabled``, ``Startup``,
  ``Minimum``, ``Maximum``, ``Buffer`` (percent), ``Priority`` (0..100);
- ``Get-VMHost`` (``VMHost``): ``MemoryCapacity``.

Amounts are bytes (the cmdlets' ``-StartupBytes`` etc.) and must be whole MiB. ``State`` is the
``VMState`` enumeration, as a number (Windows PowerShell 5.1 writes enums as numbers) or a
name. Properties the cmdlets document but the audit does not use are known and skipped; any
other property is reported (``unknown_fields``), never silently ignored. A property the audit
needs that is missing, of the wrong type or out of range is bad input.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

import attrs

from dynmem.model.vocabulary import MAX_BUFFER_PERCENT, MIN_BUFFER_PERCENT
from dynmem.verification.audit.observations import Sample, VmConfig, VmObs
from dynmem.verification.audit.units import compute_mib_exact, raise_bad

# VMState (Microsoft.HyperV.PowerShell.VMState), number -> name.
VM_STATES: dict[int, str] = {
    1: "Other", 2: "Running", 3: "Off", 4: "Stopping", 6: "Saved", 9: "Paused",
    10: "Starting", 11: "Reset", 32773: "Saving", 32776: "Pausing", 32777: "Resuming",
    32779: "FastSaved", 32780: "FastSaving", 32781: "ForceShutdown", 32782: "ForceReboot",
    32783: "Hibernated", 32784: "ComponentServicing", 32785: "RunningCritical",
    32786: "OffCritical", 32787: "StoppingCritical", 32788: "SavedCritical",
    32789: "PausedCritical", 32790: "StartingCritical", 32791: "ResetCritical",
    32792: "SavingCritical", 32793: "PausingCritical", 32794: "ResumingCritical",
    32795: "FastSavedCritical", 32796: "FastSavingCritical",
}
RUNNING_STATES = frozenset({"Running", "RunningCritical"})
MEMORY_STATUSES = frozenset({"", "OK", "Low", "Warning", "Spanning"})

GET_VM_USED = ("VMName", "Name", "State", "DynamicMemoryEnabled", "MemoryStartup",
               "MemoryMinimum", "MemoryMaximum", "MemoryAssigned", "MemoryDemand",
               "MemoryStatus")
GET_VMMEMORY_USED = ("VMName", "Name", "DynamicMemoryEnabled", "Startup", "Minimum", "Maximum",
                     "Buffer", "Priority")
GET_VMHOST_USED = ("MemoryCapacity", "Name", "ComputerName")
# Documented properties of the three object types that the audit reads past on purpose.
_KNOWN_UNUSED_TEXT = """
Id VMId ComputerName IsDeleted Status Uptime CPUUsage ProcessorCount Path ConfigurationLocation
SnapshotFileLocation SmartPagingFilePath SmartPagingFileInUse CheckpointFileLocation Generation
Version Notes Heartbeat ReplicationState ReplicationHealth ReplicationMode
IntegrationServicesState IntegrationServicesVersion OperationalStatus PrimaryOperationalStatus
SecondaryOperationalStatus StatusDescriptions PrimaryStatusDescription
SecondaryStatusDescription ParentSnapshotId ParentSnapshotName ParentCheckpointId
ParentCheckpointName CreationTime AutomaticStartAction AutomaticStopAction AutomaticStartDelay
AutomaticCriticalErrorAction AutomaticCriticalErrorActionTimeout AutomaticCheckpointsEnabled
CheckpointType IsClustered NumaAligned NumaNodesCount NumaSocketCount ResourceMeteringEnabled
SizeOfSystemFiles VirtualMachineType VirtualMachineSubType HardDrives DVDDrives FloppyDrive
ComPort1 ComPort2 NetworkAdapters FibreChannelHostBusAdapters RemoteFxAdapter
VMIntegrationService Groups GuestControlledCacheTypes LowMemoryMappedIoSpace
HighMemoryMappedIoSpace HighMemoryMappedIoBaseAddress LockOnDisconnect
BatteryPassthroughEnabled GuestStateIsolationType Key IsTemplate CimSession VMSnapshotId
VMSnapshotName VMCheckpointId VMCheckpointName MaximumPerNumaNode ResourcePoolName
LogicalProcessorCount FullyQualifiedDomainName VirtualHardDiskPath VirtualMachinePath
MacAddressMinimum MacAddressMaximum NumaSpanningEnabled MaximumStorageMigrations
MaximumVirtualMachineMigrations VirtualMachineMigrationEnabled
VirtualMachineMigrationAuthenticationType UseAnyNetworkForMigration
VirtualMachineMigrationPerformanceOption FibreChannelWwnn FibreChannelWwpnMaximum
FibreChannelWwpnMinimum EnableEnhancedSessionMode ResourceMeteringSaveInterval
NumaStatus HostNumaStatus InternalNetworkAdapters ExternalNetworkAdapters
IovSupport IovSupportReasons SupportedVmVersions
"""
KNOWN_UNUSED = frozenset(_KNOWN_UNUSED_TEXT.split())


@attrs.frozen
class SnapshotFile:
    """What one snapshot file says: VM settings, one sample (if it has runtime values),
    the host's memory (if a Get-VMHost object is in it) and the properties not used."""

    configs: tuple[VmConfig, ...]
    sample: Sample | None
    physical_mib: int | None
    unknown_fields: tuple[str, ...]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def load_json_document(text: str, source: str) -> Any:
    """Parse ``text`` as one JSON document; a bad document or a duplicate key is bad input."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as err:
        raise_bad(source, "", None,
                  f"malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}")
    except ValueError as err:
        raise_bad(source, "", None, f"malformed JSON: {err}")


def _kind(obj: Mapping[str, Any]) -> str | None:
    if "MemoryCapacity" in obj:
        return "Get-VMHost"
    if "MemoryStartup" in obj or "MemoryAssigned" in obj:
        return "Get-VM"
    if "Startup" in obj and ("Buffer" in obj or "Priority" in obj):
        return "Get-VMMemory"
    return None


def _int(obj: Mapping[str, Any], key: str, source: str, where: str,
         required: bool = True) -> int | None:
    path = f"{where}.{key}"
    if key not in obj or obj[key] is None:
        if required:
            raise_bad(source, path, None, "is required")
        return None
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise_bad(source, path, value, "must be an integer")
    return int(value)


def _mib(obj: Mapping[str, Any], key: str, source: str, where: str,
         required: bool = True) -> int | None:
    nbytes = _int(obj, key, source, where, required)
    return None if nbytes is None else compute_mib_exact(nbytes, source, f"{where}.{key}")


def _bool(obj: Mapping[str, Any], key: str, source: str, where: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise_bad(source, f"{where}.{key}", value, "must be true or false")
    return value


def _name(obj: Mapping[str, Any], source: str, where: str) -> str:
    value = obj.get("VMName", obj.get("Name"))
    if not isinstance(value, str) or not value.strip():
        raise_bad(source, f"{where}.VMName", value, "must be a non-empty string")
    return value


def _state(obj: Mapping[str, Any], source: str, where: str) -> str:
    value = obj.get("State")
    if isinstance(value, int) and not isinstance(value, bool) and value in VM_STATES:
        return VM_STATES[value]
    if isinstance(value, str) and value in VM_STATES.values():
        return value
    raise_bad(source, f"{where}.State", value,
              "must be a VMState (a number such as 2 or a name such as 'Running', 'Off')")


def _status(obj: Mapping[str, Any], source: str, where: str) -> str | None:
    value = obj.get("MemoryStatus")
    if value is None:
        return None
    if not isinstance(value, str) or value not in MEMORY_STATUSES:
        raise_bad(source, f"{where}.MemoryStatus", value,
                  "must be one of '', 'OK', 'Low', 'Warning', 'Spanning' or null")
    return value or None


def _unknown(obj: Mapping[str, Any], used: tuple[str, ...], source: str,
             where: str) -> list[str]:
    out = []
    for key in obj:
        if key in used or key in KNOWN_UNUSED:
            continue
        close = difflib.get_close_matches(key, list(used), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        out.append(f"{source}: {where}.{key}: unknown property{hint}")
    return out


def _config_from_get_vm(obj: Mapping[str, Any], source: str, where: str) -> VmConfig:
    startup = _mib(obj, "MemoryStartup", source, where)
    maximum = _mib(obj, "MemoryMaximum", source, where)
    assert startup is not None and maximum is not None
    return VmConfig(name=_name(obj, source, where),
                    dynamic=_bool(obj, "DynamicMemoryEnabled", source, where),
                    startup_mib=startup, maximum_mib=maximum,
                    minimum_mib=_mib(obj, "MemoryMinimum", source, where, required=False),
                    source=f"{source}:{where}")


def _config_from_get_vmmemory(obj: Mapping[str, Any], source: str, where: str) -> VmConfig:
    startup = _mib(obj, "Startup", source, where)
    maximum = _mib(obj, "Maximum", source, where)
    assert startup is not None and maximum is not None
    buffer = _int(obj, "Buffer", source, where, required=False)
    if buffer is not None and not MIN_BUFFER_PERCENT <= buffer <= MAX_BUFFER_PERCENT:
        raise_bad(source, f"{where}.Buffer", buffer,
                  f"must be {MIN_BUFFER_PERCENT}..{MAX_BUFFER_PERCENT} (percent)")
    priority = _int(obj, "Priority", source, where, required=False)
    if priority is not None and not 0 <= priority <= 100:
        raise_bad(source, f"{where}.Priority", priority, "must be 0..100")
    return VmConfig(name=_name(obj, source, where),
                    dynamic=_bool(obj, "DynamicMemoryEnabled", source, where),
                    startup_mib=startup, maximum_mib=maximum,
                    minimum_mib=_mib(obj, "Minimum", source, where, required=False),
                    buffer_pct=buffer, weight=None if priority is None else priority * 100,
                    source=f"{source}:{where}")


def _obs_from_get_vm(obj: Mapping[str, Any], source: str, where: str) -> VmObs:
    state = _state(obj, source, where)
    return VmObs(assigned_mib=_mib(obj, "MemoryAssigned", source, where),
                 demand_mib=_mib(obj, "MemoryDemand", source, where, required=False),
                 status=_status(obj, source, where),
                 running=state in RUNNING_STATES)


def compute_merged(a: VmConfig, b: VmConfig, source: str) -> VmConfig:
    """One VM's settings from two objects (Get-VM and Get-VMMemory); they must agree."""
    fields = ("dynamic", "startup_mib", "maximum_mib", "minimum_mib", "buffer_pct", "weight")
    merged = {}
    for field in fields:
        va, vb = getattr(a, field), getattr(b, field)
        if va is not None and vb is not None and va != vb:
            raise_bad(source, f"VM {a.name!r}.{field}", vb,
                      f"disagrees with {va!r} given by {a.source}")
        merged[field] = va if va is not None else vb
    return attrs.evolve(a, **merged)


def read_snapshot_text(text: str, source: str) -> SnapshotFile:
    """Read one ``ConvertTo-Json`` document (see the module docstring)."""
    data = load_json_document(text, source)
    items = data if isinstance(data, list) else [data]
    configs: dict[str, VmConfig] = {}
    vms: list[tuple[str, VmObs]] = []
    physical: int | None = None
    unknown: list[str] = []
    for i, obj in enumerate(items):
        where = f"[{i}]" if isinstance(data, list) else "$"
        if not isinstance(obj, Mapping):
            raise_bad(source, where, obj, "must be a JSON object (a Get-VM, Get-VMMemory or "
                                          "Get-VMHost result)")
        kind = _kind(obj)
        if kind is None:
            raise_bad(source, where, dict(list(obj.items())[:3]),
                      "is not a Get-VM, Get-VMMemory or Get-VMHost object (none of "
                      "MemoryStartup, MemoryAssigned, Startup+Buffer, MemoryCapacity)")
        if kind == "Get-VMHost":
            physical = _mib(obj, "MemoryCapacity", source, where)
            unknown += _unknown(obj, GET_VMHOST_USED, source, where)
            continue
        if kind == "Get-VM":
            config = _config_from_get_vm(obj, source, where)
            unknown += _unknown(obj, GET_VM_USED, source, where)
            if "MemoryAssigned" in obj:
                vms.append((config.name, _obs_from_get_vm(obj, source, where)))
        else:
            config = _config_from_get_vmmemory(obj, source, where)
            unknown += _unknown(obj, GET_VMMEMORY_USED, source, where)
        old = configs.get(config.name)
        configs[config.name] = config if old is None else compute_merged(old, config, source)
    names = [name for name, _ in vms]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise_bad(source, "VMName", dup, "appears in two Get-VM objects of one snapshot")
    sample = Sample(time_us=0, where=source, vms=tuple(vms)) if vms else None
    return SnapshotFile(tuple(configs.values()), sample, physical, tuple(unknown))


def read_snapshot(path: str) -> SnapshotFile:
    """Read the snapshot file at ``path`` (UTF-8, a BOM allowed: PowerShell writes one)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except OSError as err:
        raise_bad(path, "", None, f"cannot read the file: {err.strerror}")
    except UnicodeDecodeError as err:
        raise_bad(path, "", None, f"is not UTF-8 text: {err.reason} at byte {err.start}")
    return read_snapshot_text(text, path)
