"""Strict, streaming reader of PDH counter logs in CSV (``Export-Counter -FileFormat CSV``,
``relog -f csv``) for the objects "Hyper-V Dynamic Memory VM" and "Hyper-V Dynamic Memory
Balancer" (specs/audit.md §1.2).

The first header cell is ``(PDH-CSV 4.0) (<time zone name>)(<bias in minutes>)``; every other
header cell is a counter path ``\\\\HOST\\Object(Instance)\\Counter``. Each data row starts with
the local time ``MM/DD/YYYY HH:MM:SS.fff`` (converted to UTC with the header's bias), then one
value per counter. PDH writes a single space for a sample it could not collect: that value is
"not observed". Numbers are read without the locale (``.`` or ``,`` as the decimal separator,
no grouping) and never as floats. Counters the audit does not use, and objects other than the
two above, are reported (``unknown_fields``) and their values skipped.

Memory counters are in MB (MiB) and must be whole numbers; pressures are percentages and may
be decimals (kept exactly as ``Fraction``).
"""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Iterator
from fractions import Fraction
from typing import TextIO

import attrs

from dynmem.verification.audit.observations import HostObs, Sample, VmObs
from dynmem.verification.audit.units import parse_decimal, parse_whole, raise_bad

VM_OBJECT = "Hyper-V Dynamic Memory VM"
BALANCER_OBJECT = "Hyper-V Dynamic Memory Balancer"
# Counter name -> VmObs field, for the counters the audit judges.
VM_COUNTERS: dict[str, str] = {
    "Physical Memory": "assigned_mib",
    "Guest Visible Physical Memory": "visible_mib",
    "Added Memory": "added_mib",
    "Removed Memory": "removed_mib",
    "Current Pressure": "pressure",
}
VM_COUNTERS_UNUSED = frozenset({
    "Average Pressure", "Maximum Pressure", "Minimum Pressure", "Memory Add Operations",
    "Memory Remove Operations", "Smart Paging Working Set Size", "Guest Available Memory",
})
BALANCER_COUNTERS: dict[str, str] = {
    "Available Memory": "available_mib",
    "Average Pressure": "average_pressure",
}
BALANCER_COUNTERS_UNUSED = frozenset({"System Current Pressure",
                                      "Available Memory For Balancing"})
_FIRST = re.compile(r"^\(PDH-CSV 4\.0\) \((?P<zone>[^)]*)\)\((?P<bias>-?\d+)\)$")
_PATH = re.compile(r"^\\\\(?P<host>[^\\]+)\\(?P<object>[^\\(]+)(?:\((?P<instance>.*)\))?"
                   r"\\(?P<counter>[^\\]+)$")
_TIME = re.compile(r"^(\d\d)/(\d\d)/(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$")
_EPOCH = datetime.date(1970, 1, 1).toordinal()
_PERCENT = frozenset({"pressure", "average_pressure"})


@attrs.frozen
class Column:
    """One used counter column: its index in a row, owner (VM name or None for the host),
    the observation field it fills and its header text (for messages)."""

    index: int
    vm: str | None
    field: str
    header: str


@attrs.frozen
class PdhLayout:
    """What the header says: the bias, the used columns, the VM names, unused headers."""

    bias_minutes: int
    columns: tuple[Column, ...]
    vms: tuple[str, ...]
    unknown_fields: tuple[str, ...]
    width: int


def parse_header(row: list[str], source: str) -> PdhLayout:
    """Read the header row of a PDH CSV log (see the module docstring)."""
    if not row:
        raise_bad(source, "line 1", "", "is empty; a PDH CSV log starts with a header row")
    first = _FIRST.match(row[0])
    if first is None:
        raise_bad(source, "line 1, column 1", row[0],
                  "must be '(PDH-CSV 4.0) (<time zone>)(<bias minutes>)' as PDH writes it")
    columns: list[Column] = []
    vms: list[str] = []
    unknown: list[str] = []
    balancer_instances: list[str] = []
    for index, header in enumerate(row[1:], start=1):
        where = f"line 1, column {index + 1}"
        m = _PATH.match(header)
        if m is None:
            raise_bad(source, where, header, "must be a counter path "
                      "'\\\\HOST\\Object(Instance)\\Counter'")
        obj, instance, counter = m["object"], m["instance"], m["counter"]
        if obj == VM_OBJECT and counter in VM_COUNTERS:
            columns.append(Column(index, instance, VM_COUNTERS[counter], header))
            if instance not in vms:
                vms.append(instance)
        elif obj == BALANCER_OBJECT and counter in BALANCER_COUNTERS:
            balancer_instances.append(instance)
            columns.append(Column(index, None, BALANCER_COUNTERS[counter], header))
        elif (obj == VM_OBJECT and counter in VM_COUNTERS_UNUSED) or (
                obj == BALANCER_OBJECT and counter in BALANCER_COUNTERS_UNUSED):
            continue
        else:
            unknown.append(f"{source}: {where}: {header}: counter not used by the audit")
    if len(set(balancer_instances)) > 1:
        keep = "System" if "System" in balancer_instances else balancer_instances[0]
        dropped = {c for c in columns if c.vm is None and f"({keep})" not in c.header}
        unknown += [f"{source}: line 1, column {c.index + 1}: {c.header}: balancer instance "
                    f"not used (the audit reads instance {keep!r})" for c in dropped]
        columns = [c for c in columns if c not in dropped]
    seen = {(c.vm, c.field) for c in columns}
    if len(seen) != len(columns):
        dup = next(c for c in columns if sum((d.vm, d.field) == (c.vm, c.field)
                                             for d in columns) > 1)
        raise_bad(source, f"line 1, column {dup.index + 1}", dup.header,
                  "appears twice in the header")
    return PdhLayout(int(first["bias"]), tuple(columns),
                     tuple(vms), tuple(unknown), len(row))


_day_cache: dict[str, int] = {}


def parse_time_us(text: str, bias_minutes: int, source: str, where: str) -> int:
    """PDH's local ``MM/DD/YYYY HH:MM:SS.fff`` as UTC microseconds since the epoch.

    Windows' bias is what is added to local time to get UTC (UTC = local + bias).

    Examples
    --------
    >>> parse_time_us("01/02/1970 00:00:01.500", 60, "x.csv", "line 2")
    90001500000
    """
    m = _TIME.match(text)
    if m is None:
        raise_bad(source, where, text, "must be a PDH time 'MM/DD/YYYY HH:MM:SS.fff'")
    date_key = text[:10]
    days = _day_cache.get(date_key)
    if days is None:
        try:
            days = datetime.date(int(m[3]), int(m[1]), int(m[2])).toordinal() - _EPOCH
        except ValueError as err:
            raise_bad(source, where, text, f"is not a date: {err}")
        if len(_day_cache) > 4096:
            _day_cache.clear()
        _day_cache[date_key] = days
    hour, minute, second = int(m[4]), int(m[5]), int(m[6])
    if hour > 23 or minute > 59 or second > 60:
        raise_bad(source, where, text, "is not a time of day")
    micro = int((m[7] or "0").ljust(6, "0"))
    seconds = days * 86400 + hour * 3600 + minute * 60 + second + bias_minutes * 60
    return seconds * 1_000_000 + micro


def _value(cell: str, column: Column, source: str, line: int) -> int | Fraction | None:
    if cell == " " or cell == "":
        return None
    whole = parse_whole(cell)
    if whole is not None:
        return whole
    if column.field in _PERCENT:
        exact = parse_decimal(cell)
        if exact is not None and exact >= 0:
            return exact
        raise_bad(source, f"line {line}, {column.header}", cell,
                  "must be a percentage >= 0 (digits, one '.' or ',')")
    raise_bad(source, f"line {line}, {column.header}", cell,
              "must be a whole number of MB >= 0 (a single space means not collected)")


def iter_pdh(handle: TextIO, source: str) -> Iterator[Sample | PdhLayout]:
    """Yield the layout first, then one :class:`Sample` per data row, streaming.

    Rows must have the header's width and times must not go backwards.
    """
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        raise_bad(source, "", None, "is empty; a PDH CSV log starts with a header row")
    except csv.Error as err:
        raise_bad(source, "", None, f"is not CSV at line 1: {err}")
    layout = parse_header(header, source)
    yield layout
    by_vm: dict[str | None, list[Column]] = {}
    for column in layout.columns:
        by_vm.setdefault(column.vm, []).append(column)
    vm_groups = [(vm, cols) for vm, cols in by_vm.items() if vm is not None]
    host_cols = by_vm.get(None, [])
    last = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise_bad(source, "", None, f"is not CSV at line {reader.line_num}: {err}")
        line = reader.line_num
        if len(row) != layout.width:
            if not row:
                continue
            raise_bad(source, f"line {line}", ",".join(row)[:80],
                      f"has {len(row)} cells; the header has {layout.width}")
        t = parse_time_us(row[0], layout.bias_minutes, source, f"line {line}, column 1")
        if last is not None and t < last:
            raise_bad(source, f"line {line}, column 1", row[0],
                      "goes back in time (rows must be in time order)")
        last = t
        vms = []
        for vm, cols in vm_groups:
            values = {c.field: _value(row[c.index], c, source, line) for c in cols}
            if all(v is None for v in values.values()):
                continue
            vms.append((vm, VmObs(**values)))  # type: ignore[arg-type]
        host = HostObs(**{c.field: _value(row[c.index], c, source, line)  # type: ignore[arg-type]
                          for c in host_cols})
        yield Sample(time_us=t, where=f"{source}:{line}", vms=tuple(vms), host=host)
