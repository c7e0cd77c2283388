"""The text trace for people: ``render_text``.

Per step, the event in domain words (``words.py``), then only what changed per VM and on the
host (``assigned 2048→2560*``), and at a failing step the broken invariant clause with its
values (clause-level blame, ``describe_finding``). It ends with a verdict line.

Marks: ``→`` for a change and ``✗`` for a broken invariant; ``ascii=True`` (``ASCII_MARKS``)
uses ``->`` and ``x`` instead, and everything else is ASCII.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterable
from enum import IntEnum

import attrs

from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB, Channel, Power, TxnKind
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import DmState, Vm, compute_pressure, initial_state
from dynmem.verification.traces.trace import Finding, Trace
from dynmem.verification.traces.words import (
    describe_event,
    describe_host_profile,
    describe_settings,
    describe_version,
)

# --- per-VM rows ------------------------------------------------------------------------------


def _enum_word(enum: type[IntEnum], value: int) -> str:
    try:
        return enum(value).name.lower().replace("_", "-")
    except ValueError:
        return f"<{value}?>"  # out of range: only a broken (INV-TYPE) state holds this


def _txn(vm: Vm) -> str:
    if vm.txn == TxnKind.NONE:
        return "none"
    word = _enum_word(TxnKind, vm.txn)
    done = f" ({vm.txn_done_mib} done)" if vm.txn_done_mib else ""
    return f"{word} {vm.txn_mib} MiB{done}"


def _main_fields(vm: Vm) -> list[tuple[str, str]]:
    """The fields every reader wants: power, memory, pressure, channel, transaction."""
    return [
        ("power", _enum_word(Power, vm.power)),
        ("assigned", str(vm.assigned_mib)),
        ("visible", str(vm.visible_mib)),
        ("ballooned", str(vm.ballooned_mib)),
        ("demand", str(vm.demand_mib)),
        ("pressure", f"{compute_pressure(vm.demand_mib, vm.assigned_mib)}%"),
        ("guest paging", str(vm.guest_paged_mib)),
        ("channel", _enum_word(Channel, vm.channel)),
        ("txn", _txn(vm)),
    ]


def _protocol(vm: Vm) -> str:
    """The negotiated version by name; while negotiating, the version last refused."""
    if not vm.protocol_version:
        return "none"
    refused = " refused" if vm.channel == Channel.NEGOTIATING else ""
    return describe_version(vm.protocol_version) + refused


def _detail_fields(vm: Vm) -> list[tuple[str, str]]:
    """Fields shown when they change (or in full mode): report, protocol and settings."""
    caps = [n for n, on in (("balloon", vm.cap_balloon), ("hot-add", vm.cap_hot_add)) if on]
    if vm.hot_add_align_mib != DEFAULT_HOT_ADD_ALIGN_MIB:  # the default reads as before
        caps.append(f"aligned {vm.hot_add_align_mib} MiB")
    s = vm.settings
    return [
        ("report", str(vm.report_mib) if vm.has_report else "none"),
        ("protocol", _protocol(vm)),
        ("caps", "+".join(caps) or "none"),
        ("hot-add", "enabled" if vm.hot_add_enabled else "disabled"),
        ("dynamic", "yes" if s.dynamic else "no"),
        ("startup", str(s.startup_mib)),
        ("maximum", str(s.maximum_mib)),
        ("buffer", f"{s.buffer_pct}%"),
        ("weight", str(s.weight)),
        ("DM guest", "yes" if s.dm_capable else "no"),
    ]


@attrs.frozen
class Marks:
    """The two non-ASCII marks and their ASCII fallbacks."""

    arrow: str = "→"
    cross: str = "✗"


ASCII_MARKS = Marks("->", "x")


WIDTH = 96  # wrap changed-value rows here (+ 4 indent = 100); tables are as wide as needed


def _cell(old: str | None, new: str, marks: Marks) -> str:
    return new if old is None or old == new else f"{old}{marks.arrow}{new}*"


def _field_cell(label: str, before: Vm | None, after: Vm, old: str | None, new: str,
                marks: Marks) -> str:
    """``_cell``, except that a balloon receiving pages shows only the progress."""
    same_txn = (before is not None and label == "txn" and before.txn == after.txn
                != TxnKind.NONE and before.txn_mib == after.txn_mib)
    if same_txn and before is not None and before.txn_done_mib != after.txn_done_mib:
        progress = f"{before.txn_done_mib}{marks.arrow}{after.txn_done_mib}"
        return f"{_enum_word(TxnKind, after.txn)} {after.txn_mib} MiB ({progress} done)*"
    return _cell(old, new, marks)


def _changes(before: Vm, after: Vm, fields: Callable[[Vm], list[tuple[str, str]]],
             marks: Marks) -> list[str]:
    old = dict(fields(before))
    return [f"{label} {_field_cell(label, before, after, old[label], value, marks)}"
            for label, value in fields(after) if old[label] != value]


def _wrap(head: str, cells: list[str]) -> list[str]:
    """``head`` then the comma-separated cells, continued on indented lines past WIDTH."""
    lines, current = [], head
    for i, cell in enumerate(cells):
        piece = cell + ("," if i < len(cells) - 1 else "")
        if len(current) + 1 + len(piece) > WIDTH and current.strip() != head.strip():
            lines.append(current)
            current = " " * len(head) + " " + piece
        else:
            current = f"{current} {piece}"
    return [*lines, current]


def _diff_rows(before: DmState, after: DmState, names: list[str], marks: Marks) -> list[str]:
    """Per VM that changed: ``name: field old→new*, ...``; then the host's free memory."""
    rows = []
    for name in names:
        a, b = before.get_vm(name), after.get_vm(name)
        if b is None or a is None:
            rows.append(f"{name}: deleted" if b is None
                        else f"{name}: created, {_enum_word(Power, b.power)}")
            continue
        cells = _changes(a, b, _main_fields, marks) + _changes(a, b, _detail_fields, marks)
        if cells:
            rows += _wrap(f"{name}:", cells)
    if before.free_mib != after.free_mib:
        rows.append(f"host: free {_cell(str(before.free_mib), str(after.free_mib), marks)}")
    return rows


def _table_rows(before: DmState, after: DmState, names: list[str], marks: Marks) -> list[str]:
    """Every VM as an aligned table row (changed cells marked), then detail changes, host."""
    header = ["vm"] + [label for label, _ in _main_fields(Vm("", VmSettings()))]
    table, notes = [header], []
    for name in names:
        a, b = before.get_vm(name), after.get_vm(name)
        if b is None:
            notes.append(f"{name}: deleted")
            continue
        old = dict(_main_fields(a)) if a is not None else {}
        table.append([name] + [_field_cell(label, a, b, old.get(label), value, marks)
                               for label, value in _main_fields(b)])
        if a is None:
            notes.append(f"{name}: created")
        elif cells := _changes(a, b, _detail_fields, marks):
            notes += _wrap(f"{name}:", cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in table]
    host = f"host: free {_cell(str(before.free_mib), str(after.free_mib), marks)}"
    return lines + notes + [host]


def _state_rows(before: DmState, after: DmState, full: bool, vms: Container[str] | None,
                marks: Marks) -> list[str]:
    """The rows of one step: what changed (or, with ``full``, the whole table)."""
    names = [vm.name for vm in before.vms]
    names += [vm.name for vm in after.vms if vm.name not in names]
    names = [n for n in names if vms is None or n in vms]
    rows = _table_rows if full else _diff_rows
    return rows(before, after, names, marks)


# --- the text trace ---------------------------------------------------------------------------


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe_finding(finding: Finding, marks: Marks = Marks()) -> str:
    """``✗ INV-... (clause): message`` for one violation (clause-level blame)."""
    v = finding.violation
    return f"{marks.cross} {v.invariant} ({v.clause}): {v.message}"


def _header(trace: Trace) -> list[str]:
    start = trace.initial
    host = start.host
    lines = [
        f"dynmem trace from {trace.source}: {_count(len(trace.steps), 'step')} (amounts in MiB)",
        f"host: physical {host.physical_mib}, reserve {host.reserve_mib}, "
        + "".join(f"{w}, " for w in (describe_host_profile(host),) if w)
        + f"free {start.free_mib} at the start",
    ]
    lines += [f"vm {vm.name}: {describe_settings(vm.settings)}" for vm in start.vms]
    if trace.notes:
        # Values as JSON, the vocabulary of specs/formats, not Python reprs.
        lines.append("notes: " + ", ".join(f"{k}={json.dumps(v, default=str)}"
                                           for k, v in trace.notes))
    return lines


def is_fresh(state: DmState) -> bool:
    """Whether ``state`` is what ``initial_state`` builds (all VMs created and off)."""
    vms = tuple((vm.name, vm.settings) for vm in state.vms)
    return state == initial_state(state.host, vms)


def _initial_block(trace: Trace, full: bool, vms: Container[str] | None,
                   marks: Marks) -> list[str]:
    """Step 0: one line for a fresh start; the whole table for any other initial state."""
    start = trace.initial
    if is_fresh(start) and not full:
        lines = ["step 0: initial state, every VM off"]
    else:
        lines = ["step 0: initial state"]
        names = [vm.name for vm in start.vms if vms is None or vm.name in vms]
        rows = _table_rows(start, start, names, marks)
        for vm in (start.get_vm(n) for n in names):
            assert vm is not None
            # Channel details a CTI may start from (the table holds power and memory).
            fresh = dict(_detail_fields(Vm(vm.name, vm.settings)))
            cells = [f"{label} {value}" for label, value in _detail_fields(vm)
                     if fresh[label] != value]
            rows[-1:-1] = _wrap(f"{vm.name}:", cells) if cells else []
        lines += ["    " + r for r in rows]
    lines += ["    " + describe_finding(f, marks) for f in trace.findings if f.step == 0]
    return lines


def _verdict(trace: Trace) -> str:
    refused = sum(1 for s in trace.steps if s.rejected is not None)
    failed = f", {_count(refused, 'event')} refused" if refused else ""
    notes = dict(trace.notes)
    unsettled = "; it did not settle" if notes.get("converged") is False else ""
    if trace.ok and "divergence" in notes:
        # an oracle failure that breaks no invariant (not allowed by the model, differs from
        # the reference, protocol): the trace is not ok even though every invariant holds
        return (f"verdict: FAIL, {notes['divergence']}; no invariant violated in "
                f"{_count(len(trace.steps), 'step')}{failed}{unsettled}")
    if trace.ok:
        return (f"verdict: ok, no invariant violated in {_count(len(trace.steps), 'step')}"
                f"{failed}{unsettled}")
    first = trace.findings[0]
    broken = sorted({f.invariant for f in trace.findings})
    if first.step == 0:
        where = "the initial state"
    else:
        item = trace.steps[first.step - 1]
        event = describe_event(item.event, item.sent, before=trace.state_at(first.step - 1))
        where = f"step {first.step} ({event})"
    return (f"verdict: VIOLATED {', '.join(broken)}; first {first.invariant} at {where}, "
            f"{_count(len(trace.findings), 'broken clause')}{unsettled}")


def render_text(trace: Trace, *, full: bool = False, vms: Iterable[str] | None = None,
                steps: Container[int] | None = None, ascii: bool = False) -> str:
    """The trace as text a person can read: events in words, changed values, blame, verdict.

    Parameters
    ----------
    trace : Trace
        Any producer's trace.
    full : bool
        Show every VM and field at every step, not only what changed.
    vms : iterable of str, optional
        Show rows for these VMs only (events and findings are always shown).
    steps : container of int, optional
        Show these step numbers only (e.g. ``range(5, 9)``); 0 is the initial state.
    ascii : bool
        Use ``->`` and ``x`` instead of ``→`` and ``✗``.

    Returns
    -------
    str
        The text, one line per event, row and finding, ending with a newline.

    Examples
    --------
    >>> from dynmem.reference.events import Start
    >>> from dynmem.reference.settings import HostSettings
    >>> from dynmem.verification.traces.trace import run_events
    >>> s = initial_state(HostSettings(4096, 1024), (("web", VmSettings(startup_mib=1024)),))
    >>> print(render_text(run_events(s, [Start("web")]), ascii=True), end="")
    dynmem trace from simulate: 1 step (amounts in MiB)
    host: physical 4096, reserve 1024, free 3072 at the start
    vm web: static 1024 MiB, weight 5000
    step 0: initial state, every VM off
    step 1: start web
        web: power off->running*, assigned 0->1024*, visible 0->1024*
        host: free 3072->2048*
    verdict: ok, no invariant violated in 1 step
    """
    marks = ASCII_MARKS if ascii else Marks()
    shown = set(vms) if vms is not None else None
    lines = _header(trace)
    if steps is None or 0 in steps:
        lines += _initial_block(trace, full, shown, marks)
    hidden = 0
    for index, item in enumerate(trace.steps, start=1):
        if steps is not None and index not in steps:
            hidden += 1
            continue
        if hidden:
            lines.append(f"... {_count(hidden, 'step')} not shown")
            hidden = 0
        before = trace.state_at(index - 1)
        text = describe_event(item.event, item.sent, before=before)
        if item.rejected is not None:
            text += f" (fails: {item.rejected})"
        lines.append(f"step {index}: {text}")
        lines += ["    " + r for r in _state_rows(before, item.state, full, shown, marks)]
        lines += ["    " + describe_finding(f, marks) for f in trace.findings if f.step == index]
    if hidden:
        lines.append(f"... {_count(hidden, 'step')} not shown")
    lines.append(_verdict(trace))
    return "\n".join(lines) + "\n"
