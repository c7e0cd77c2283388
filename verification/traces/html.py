"""One self-contained HTML report of a trace (``dynmem show --html FILE``).

The page needs no network: the CSS is inline and the memory timeline is an inline base64
PNG. This module gathers what the page shows (``get_table``: rows, cells and findings as
values); the template ``templates/trace.html.j2`` lays it out, auto-escaped (VM names and
messages are user input). It holds, top to bottom: the verdict, the answer to "why did it
fail" (the broken invariant, its statement, the step, the VM and the failing part with its
values), the host and VM settings, the timeline, and the step table (one row per step, one
column per VM, changed values highlighted, the failing step in red with its blame), then the
footer: dynmem's version, the date and the machine. ``--steps``/``--vm`` narrow the table
and the timeline.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence

import attrs

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.state import DmState, Vm, compute_pressure
from dynmem.verification.atomic import write_atomic
from dynmem.verification.traces.blame import blame_lines, describe_why
from dynmem.verification.traces.pages import Provenance, render_page
from dynmem.verification.traces.plot import render_plot
from dynmem.verification.traces.show import where_words
from dynmem.verification.traces.trace import Trace
from dynmem.verification.traces.words import (
    describe_event,
    describe_host_profile,
    describe_settings,
)

CHANGED_COLOUR = "#fff176"  # a changed value (the screenshot test looks for it)
BANNER_BAD = "#c62828"  # the verdict of a violating trace
BANNER_OK = "#2e7d32"

COLOURS = {"bad": BANNER_BAD, "good": BANNER_OK, "changed": CHANGED_COLOUR}


# --- the VM cells of the step table -----------------------------------------------------------


def _enum(enum: type[Power] | type[Channel] | type[TxnKind], value: int) -> str:
    try:
        return enum(value).name.lower().replace("_", "-")
    except ValueError:
        return f"<{value}?>"


# (label, value of a VM, shown when this holds for the VM before or after the step)
_CellField = tuple[str, Callable[[Vm], str], Callable[[Vm], bool]]
CELL_FIELDS: tuple[_CellField, ...] = (
    ("power", lambda vm: _enum(Power, vm.power), lambda vm: True),
    ("assigned", lambda vm: str(vm.assigned_mib), lambda vm: vm.running),
    ("visible", lambda vm: str(vm.visible_mib), lambda vm: vm.visible_mib != vm.assigned_mib),
    ("ballooned", lambda vm: str(vm.ballooned_mib), lambda vm: vm.ballooned_mib > 0),
    ("demand", lambda vm: str(vm.demand_mib), lambda vm: vm.demand_mib > 0),
    ("pressure", lambda vm: f"{compute_pressure(vm.demand_mib, vm.assigned_mib)}%",
     lambda vm: vm.running and vm.demand_mib > 0),
    ("guest paging", lambda vm: str(vm.guest_paged_mib), lambda vm: vm.guest_paged_mib > 0),
    ("channel", lambda vm: _enum(Channel, vm.channel), lambda vm: vm.channel != Channel.NONE),
    ("txn", lambda vm: "none" if vm.txn == TxnKind.NONE else
     f"{_enum(TxnKind, vm.txn)} {vm.txn_mib}" + (f" ({vm.txn_done_mib} done)"
                                                 if vm.txn_done_mib else ""),
     lambda vm: vm.txn != TxnKind.NONE),
    ("report", lambda vm: str(vm.report_mib) if vm.has_report else "none",
     lambda vm: vm.has_report),
    ("hot-add", lambda vm: "enabled" if vm.hot_add_enabled else "disabled",
     lambda vm: not vm.hot_add_enabled),
)


@attrs.frozen
class FieldView:
    """One value in a cell: ``before`` is set when the step changed it."""

    label: str
    value: str
    before: str | None = None


@attrs.frozen
class CellView:
    """One cell of the step table: the host's free memory or one VM at one step."""

    kind: str  # "free" or "vm"
    fields: tuple[FieldView, ...]
    changed: bool
    status: str = ""  # "created" or "deleted" (a VM that appeared or went at this step)


@attrs.frozen
class FindingView:
    """A broken invariant under its step's row."""

    invariant: str
    clause: str
    message: str
    parts: tuple[str, ...]


@attrs.frozen
class RowView:
    """One step of the table (0: the initial state)."""

    step: int
    event: str
    refused: str | None
    failing: bool
    cells: tuple[CellView, ...]
    findings: tuple[FindingView, ...]

    @property
    def css(self) -> str:
        """The row's classes: ``refused``, ``fail`` (the first failing step)."""
        return " ".join(c for c, on in (("refused", self.refused is not None),
                                        ("fail", self.failing)) if on)


@attrs.frozen
class TableView:
    """The step table: the VM columns shown and the rows."""

    names: tuple[str, ...]
    rows: tuple[RowView, ...]


def vm_cell(before: Vm | None, after: Vm | None) -> CellView:
    """One VM at one step: the fields that matter, changed ones with their old value."""
    if after is None:
        return CellView("vm", (), False, "deleted" if before is not None else "")
    fields, changed = [], before is None
    for label, value, shown in CELL_FIELDS:
        new = value(after)
        old = value(before) if before is not None else None
        if not (shown(after) or (before is not None and shown(before)) or old != new):
            continue
        if old is not None and old != new:
            changed = True
            fields.append(FieldView(label, new, old))
        else:
            fields.append(FieldView(label, new))
    return CellView("vm", tuple(fields), changed, "created" if before is None else "")


def get_vm_names(trace: Trace) -> list[str]:
    """Every VM of the trace, in order of first appearance."""
    names: list[str] = []
    for state in (trace.initial, *(s.state for s in trace.steps)):
        names += [vm.name for vm in state.vms if vm.name not in names]
    return names


def _free_cell(before: DmState | None, after: DmState) -> CellView:
    if before is None or before.free_mib == after.free_mib:
        return CellView("free", (FieldView("", str(after.free_mib)),), False)
    return CellView("free", (FieldView("", str(after.free_mib), str(before.free_mib)),), True)


def get_table(trace: Trace, steps: range | None = None,
              vms: Sequence[str] | None = None) -> TableView:
    """The step table of ``trace``: the rows of ``steps`` and the columns of ``vms`` (all
    when None); every finding stays under its step's row."""
    names = [n for n in get_vm_names(trace) if vms is None or n in vms]
    first = trace.first_finding
    rows = []
    for index in steps if steps is not None else range(len(trace.steps) + 1):
        post = trace.state_at(index)
        if index == 0:
            cells = [_free_cell(None, post)] + [vm_cell(post.get_vm(n), post.get_vm(n))
                                                for n in names]
            rows.append(RowView(0, "initial state", None, False, tuple(cells),
                                _findings(trace, 0)))
            continue
        item, pre = trace.steps[index - 1], trace.state_at(index - 1)
        cells = [_free_cell(pre, post)] + [vm_cell(pre.get_vm(n), post.get_vm(n))
                                           for n in names]
        rows.append(RowView(index, describe_event(item.event, item.sent, before=pre),
                            item.rejected, first is not None and index == first.step,
                            tuple(cells), _findings(trace, index)))
    return TableView(tuple(names), tuple(rows))


def _findings(trace: Trace, step: int) -> tuple[FindingView, ...]:
    return tuple(FindingView(f.violation.invariant, f.violation.clause, f.violation.message,
                             tuple(blame_lines(trace, f)))
                 for f in trace.findings if f.step == step)


# --- the other sections ---------------------------------------------------------------------


def describe_verdict(trace: Trace) -> str:
    """The banner's sentence: ``ok: no invariant violated in 29 steps`` or ``VIOLATED ...``."""
    first = trace.first_finding
    if first is None:
        refused = sum(1 for s in trace.steps if s.rejected is not None)
        tail = f", {refused} refused event{'s' if refused != 1 else ''}" if refused else ""
        return f"ok: no invariant violated in {len(trace.steps)} steps{tail}"
    broken = ", ".join(sorted({f.invariant for f in trace.findings}))
    return (f"VIOLATED {broken}: first {first.invariant} at step "
            f"{where_words(trace, first.step)}")


def describe_selection(trace: Trace, steps: range | None, vms: Sequence[str] | None) -> str:
    """What ``--steps``/``--vm`` kept, or "" when the page shows everything."""
    parts = []
    if steps is not None:
        parts.append(f"steps {steps.start}..{steps.stop - 1} of 0..{len(trace.steps)}")
    if vms is not None:
        parts.append(f"VMs {', '.join(vms)} of {len(get_vm_names(trace))}")
    return "Showing " + " and ".join(parts) + "." if parts else ""


def render_report(trace: Trace, title: str = "dynmem trace", steps: range | None = None,
                  vms: Sequence[str] | None = None,
                  provenance: Provenance | None = None) -> str:
    """The whole HTML document of ``trace`` (see the module docstring); ``steps`` and
    ``vms`` narrow the step table and the timeline's x axis and VM panels."""
    start = trace.initial
    plot = base64.b64encode(render_plot(trace, "png", steps, vms)).decode("ascii")
    return render_page(
        "trace.html.j2", provenance=provenance, title=title, colours=COLOURS,
        ok=trace.first_finding is None, verdict=describe_verdict(trace),
        whys=describe_why(trace, lambda step: where_words(trace, step)),
        trace=trace, host=start.host, free_at_start=start.free_mib,
        host_profile=describe_host_profile(start.host),
        settings=[(vm.name, describe_settings(vm.settings)) for vm in start.vms],
        notes=[(k, repr(v)) for k, v in trace.notes], plot=plot,
        selection=describe_selection(trace, steps, vms), table=get_table(trace, steps, vms))


def write_report(trace: Trace, path: str | os.PathLike[str], title: str = "dynmem trace",
                 steps: range | None = None, vms: Sequence[str] | None = None) -> None:
    """Write the report of ``trace`` to ``path`` atomically."""
    write_atomic(path, render_report(trace, title, steps, vms))
