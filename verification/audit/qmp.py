"""Strict, streaming reader of QEMU QMP transcripts of an ``hv-balloon`` VM (specs/audit.md §1.3).

One JSON object per line, as a QMP client logs the conversation with one VM:

- ``{"QMP": {...}}``: the greeting (skipped);
- ``{"execute": NAME, "arguments": {...}, "id": ...}``: a command. ``balloon``
  (``arguments.value``: the target in bytes) is recorded; ``query-balloon``,
  ``query-hv-balloon-status-report`` and ``qmp_capabilities`` are known;
- ``{"return": ...}``: the answer to the last command: ``query-balloon`` returns
  ``{"actual": bytes}``, ``query-hv-balloon-status-report`` returns ``HvBalloonInfo``
  ``{"committed": bytes, "available": bytes}`` (qapi/machine.json, QEMU 8.2);
- ``{"error": {...}}``: a failed command (skipped);
- ``{"event": NAME, "data": {...}, "timestamp": {"seconds": s, "microseconds": us}}``:
  ``HV_BALLOON_STATUS_REPORT`` (data ``HvBalloonInfo``), ``BALLOON_CHANGE`` (``actual``),
  ``SHUTDOWN``/``RESET``/``STOP``/``RESUME``/``POWERDOWN`` (known; SHUTDOWN ends the run).

Byte amounts come from guest page counts and need not be whole MiB: ``actual`` (the memory the
VM holds: assigned) is rounded **down** and ``committed`` (demand) **up**, and the audit counts
how many values were rounded (``inexact_values``). A floor check stays exact under this rounding
(``floor(x) < startup`` exactly when ``x < startup``, startup being whole MiB). The VM's name is
the file's stem unless ``--qmp-vm`` names it. Answers carry no time; they take the time of
the last event before them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

import attrs

from dynmem.verification.audit.observations import Sample, VmObs
from dynmem.verification.audit.units import MIB_BYTES, compute_mib_rounded, raise_bad

KNOWN_COMMANDS = frozenset({"balloon", "query-balloon", "query-hv-balloon-status-report",
                            "qmp_capabilities"})
KNOWN_EVENTS = frozenset({"HV_BALLOON_STATUS_REPORT", "BALLOON_CHANGE", "SHUTDOWN", "RESET",
                          "STOP", "RESUME", "POWERDOWN"})


@attrs.define
class QmpStats:
    """What the reader noticed beside the samples: rounded values, unknown lines, targets."""

    inexact_values: int = 0
    unknown_fields: list[str] = attrs.Factory(list)
    targets_mib: list[tuple[int, int]] = attrs.Factory(list)


def _size(data: Mapping[str, Any], key: str, source: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise_bad(source, f"{where}.{key}", value, "must be a size in bytes (an integer >= 0)")
    return value


def _keys(obj: Mapping[str, Any], allowed: tuple[str, ...], source: str, where: str) -> None:
    for key in obj:
        if key not in allowed:
            raise_bad(source, f"{where}.{key}", obj[key],
                      "unknown field; known: " + ", ".join(allowed))


def _timestamp(obj: Mapping[str, Any], source: str, where: str) -> int:
    ts = obj.get("timestamp")
    if not isinstance(ts, Mapping):
        raise_bad(source, f"{where}.timestamp", ts,
                  "must be {\"seconds\": s, \"microseconds\": us}")
    _keys(ts, ("seconds", "microseconds"), source, f"{where}.timestamp")
    sec, usec = ts.get("seconds"), ts.get("microseconds")
    if not isinstance(sec, int) or isinstance(sec, bool) or sec < 0:
        raise_bad(source, f"{where}.timestamp.seconds", sec, "must be an integer >= 0")
    if not isinstance(usec, int) or isinstance(usec, bool) or not 0 <= usec < 1_000_000:
        raise_bad(source, f"{where}.timestamp.microseconds", usec, "must be 0..999999")
    return sec * 1_000_000 + usec


def _info(data: Any, source: str, where: str, stats: QmpStats) -> VmObs:
    if not isinstance(data, Mapping):
        raise_bad(source, where, data, "must be HvBalloonInfo {\"committed\", \"available\"}")
    _keys(data, ("committed", "available"), source, where)
    committed = _size(data, "committed", source, where)
    _size(data, "available", source, where)
    stats.inexact_values += committed % MIB_BYTES != 0
    return VmObs(demand_mib=compute_mib_rounded(committed, up=True), running=True)


def _actual(data: Any, source: str, where: str, stats: QmpStats) -> VmObs:
    if not isinstance(data, Mapping):
        raise_bad(source, where, data, "must be {\"actual\": bytes}")
    _keys(data, ("actual",), source, where)
    actual = _size(data, "actual", source, where)
    stats.inexact_values += actual % MIB_BYTES != 0
    return VmObs(assigned_mib=compute_mib_rounded(actual, up=False), running=True)


def _event(obj: Mapping[str, Any], source: str, where: str,
           stats: QmpStats) -> tuple[int, VmObs | None]:
    _keys(obj, ("event", "data", "timestamp"), source, where)
    t = _timestamp(obj, source, where)
    name = obj["event"]
    if name == "HV_BALLOON_STATUS_REPORT":
        return t, _info(obj.get("data"), source, f"{where}.data", stats)
    if name == "BALLOON_CHANGE":
        return t, _actual(obj.get("data"), source, f"{where}.data", stats)
    if name == "SHUTDOWN":
        return t, VmObs(running=False)
    if name not in KNOWN_EVENTS:
        stats.unknown_fields.append(f"{source}: {where}.event: {name!r}: event not used")
    return t, None


def iter_qmp(handle: TextIO, source: str, vm: str,
             stats: QmpStats) -> Iterator[Sample]:
    """Yield one :class:`Sample` per observation line of a QMP transcript, streaming."""
    last_command: str | None = None
    now = 0
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        where = f"line {number}"
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise_bad(source, f"{where}, column {err.colno}", text.strip()[:80],
                      f"malformed JSON: {err.msg}")
        if not isinstance(obj, dict):
            raise_bad(source, where, obj, "must be a QMP message (a JSON object)")
        obs: VmObs | None = None
        if "QMP" in obj:
            continue
        if "execute" in obj:
            _keys(obj, ("execute", "arguments", "id"), source, where)
            last_command = obj["execute"]
            if last_command == "balloon":
                args = obj.get("arguments")
                if not isinstance(args, Mapping):
                    raise_bad(source, f"{where}.arguments", args, "must be {\"value\": bytes}")
                _keys(args, ("value",), source, f"{where}.arguments")
                target = _size(args, "value", source, f"{where}.arguments")
                stats.targets_mib.append((now, compute_mib_rounded(target, up=False)))
            elif last_command not in KNOWN_COMMANDS:
                stats.unknown_fields.append(
                    f"{source}: {where}.execute: {last_command!r}: command not used")
            continue
        if "return" in obj:
            _keys(obj, ("return", "id"), source, where)
            if last_command == "query-balloon":
                obs = _actual(obj["return"], source, f"{where}.return", stats)
            elif last_command == "query-hv-balloon-status-report":
                obs = _info(obj["return"], source, f"{where}.return", stats)
            last_command = None
        elif "error" in obj:
            last_command = None
            continue
        elif "event" in obj:
            t, obs = _event(obj, source, where, stats)
            if t < now:
                raise_bad(source, f"{where}.timestamp", t,
                          "goes back in time (events must be in time order)")
            now = t
        else:
            raise_bad(source, where, obj, "is not a QMP message (no QMP, execute, return, "
                                          "error or event)")
        if obs is not None:
            yield Sample(time_us=now, where=f"{source}:{number}", vms=((vm, obs),))
