"""From evidence to a scenario (specs/audit.md §6; specs/formats.md §1): the observed VMs
and their demands, to replay a host through the reference balancer with ``dynmem simulate``.

Settings map onto profile 2008R2SP1: ``startup_mib`` is the VM's Startup (a 2012+ Minimum
has no place there and is named in the description), ``maximum_mib`` is capped at 65536,
``weight`` is Priority × 100, buffer and weight default when not observed. Every VM seen
running is started; then the demand of each VM is replayed in ``phases`` steps (the peak
demand of each equal share of the series, in time order), each followed by a ``settle``.
"""

from __future__ import annotations

import json
from typing import Any

from dynmem.model.vocabulary import (
    DEFAULT_BUFFER_PERCENT,
    DEFAULT_WEIGHT,
    MAX_MAXIMUM_MIB,
    MEMORY_UNIT_MIB,
)
from dynmem.verification.atomic import write_atomic
from dynmem.verification.audit.run import AuditResult

DEFAULT_PHASES = 8


def _vm_entry(config: Any) -> tuple[dict[str, Any], list[str]]:
    notes = []
    startup = config.startup_mib + config.startup_mib % MEMORY_UNIT_MIB
    maximum = max(startup, min(MAX_MAXIMUM_MIB, config.maximum_mib))
    maximum -= maximum % MEMORY_UNIT_MIB
    if maximum != config.maximum_mib:
        notes.append(f"{config.name}: maximum {config.maximum_mib} MiB replayed as {maximum}")
    if config.minimum_mib is not None and config.minimum_mib != config.startup_mib:
        notes.append(f"{config.name}: minimum {config.minimum_mib} MiB not replayed "
                     "(profile 2008R2SP1: the floor is startup)")
    entry = {"name": config.name, "dynamic": config.dynamic, "startup_mib": startup,
             "maximum_mib": maximum,
             "buffer_pct": config.buffer_pct if config.buffer_pct is not None
             else DEFAULT_BUFFER_PERCENT,
             "weight": config.weight if config.weight is not None else DEFAULT_WEIGHT,
             "dm_capable": True}
    return entry, notes


def compute_phases(points: list[tuple[int, int, int | None]], phases: int) -> list[int]:
    """The peak demand of each of ``phases`` equal shares of ``points`` (time order).

    Examples
    --------
    >>> compute_phases([(0, 2048, 1000), (1, 2048, 1200), (2, 2048, None), (3, 2048, 900)], 2)
    [1200, 900]
    """
    demands = [(t, d) for t, _, d in points if d is not None]
    if not demands:
        return []
    size = max(1, -(-len(demands) // phases))
    return [max(d for _, d in demands[i:i + size]) for i in range(0, len(demands), size)]


def build_scenario(result: AuditResult, phases: int = DEFAULT_PHASES) -> dict[str, Any]:
    """The scenario (a JSON-ready dict) of what ``result`` observed."""
    host = result.host
    if host.physical_mib is None:
        raise ValueError("a scenario needs the host's physical memory (--physical-mib)")
    names = sorted({vm for s in result.streams for vm in s.series} & set(result.configs))
    vms, notes = [], []
    for name in names:
        entry, more = _vm_entry(result.configs[name])
        vms.append(entry)
        notes += more
    events: list[dict[str, Any]] = [{"kind": "start", "vm": name} for name in names]
    steps: dict[str, list[int]] = {}
    for stream in result.streams:
        for vm, series in stream.series.items():
            if vm in names:
                steps.setdefault(vm, []).extend(compute_phases(series.points, phases))
    for i in range(max((len(v) for v in steps.values()), default=0)):
        for vm in names:
            if i < len(steps.get(vm, [])):
                events.append({"kind": "demand", "vm": vm, "mib": steps[vm][i]})
        events.append({"kind": "settle"})
    sources = ", ".join(s.source for s in result.streams)
    description = (f"Replay of the host audited by dynmem audit ({sources}): the observed VMs "
                   f"and their demands in {phases} phases (peak demand per phase).")
    if notes:
        description += " " + "; ".join(notes) + "."
    return {"description": description,
            "host": {"physical_mib": host.physical_mib, "reserve_mib": host.reserve_mib},
            "vms": vms, "events": events}


def write_scenario(result: AuditResult, path: str, phases: int = DEFAULT_PHASES) -> None:
    """Write the scenario of ``result`` to ``path`` atomically."""
    document = build_scenario(result, phases)
    write_atomic(path, json.dumps(document, indent=2) + "\n")
