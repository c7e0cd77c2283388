"""One self-contained HTML report of a trace (``dynmem show --html FILE``).

The page needs no network: the CSS is inline and the memory timeline is an inline base64
PNG. It holds, top to bottom: the verdict, the answer to "why did it fail" (the broken
invariant, its statement, the step, the VM and the failing part with its values), the host
and VM settings, the timeline, and the step table (one row per step, one column per VM,
changed values highlighted, the failing step in red with its blame).
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.state import DmState, Vm, compute_pressure
from dynmem.verification.atomic import write_atomic
from dynmem.verification.traces.blame import Why, blame_lines, describe_why
from dynmem.verification.traces.plot import render_plot
from dynmem.verification.traces.show import where_words
from dynmem.verification.traces.trace import Trace
from dynmem.verification.traces.words import describe_event, describe_settings

CHANGED_COLOUR = "#fff176"  # a changed value (the screenshot test looks for it)
BANNER_BAD = "#c62828"  # the verdict of a violating trace
BANNER_OK = "#2e7d32"

CSS = f"""
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em;
       color: #212121; }}
h1 {{ font-size: 1.4em; margin: 0 0 .4em 0; }}
h2 {{ font-size: 1.15em; margin: 1.4em 0 .5em 0; border-bottom: 1px solid #ddd; }}
.banner {{ color: white; padding: .7em 1em; border-radius: 6px; font-size: 1.15em;
           font-weight: 600; }}
.bad {{ background: {BANNER_BAD}; }}
.good {{ background: {BANNER_OK}; }}
.why {{ border-left: 6px solid {BANNER_BAD}; background: #ffebee; padding: .6em 1em;
        margin: .6em 0; }}
.why dt {{ font-weight: 600; float: left; width: 6em; clear: left; }}
.why dd {{ margin: 0 0 .25em 6.5em; }}
.part {{ font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .92em; }}
table {{ border-collapse: collapse; font-size: .88em; }}
th, td {{ border: 1px solid #ddd; padding: .25em .5em; vertical-align: top;
          text-align: left; }}
th {{ background: #f5f5f5; position: sticky; top: 0; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.chg {{ background: {CHANGED_COLOUR}; font-weight: 600; padding: 0 .15em; }}
tr.fail td {{ background: #ffcdd2; }}
tr.fail td.chg-cell, td.chg-cell {{ box-shadow: inset 3px 0 0 #fbc02d; }}
tr.finding td {{ background: #ffebee; color: {BANNER_BAD}; }}
tr.refused td.event {{ color: #757575; font-style: italic; }}
.field {{ white-space: nowrap; }}
td.vm {{ color: #757575; }}
td.vm.chg-cell {{ color: #212121; }}
td.free {{ white-space: nowrap; text-align: right; }}
tr > :first-child {{ position: sticky; left: 0; background: #fafafa; }}
.muted {{ color: #757575; }}
img.plot {{ max-width: 100%; border: 1px solid #eee; }}
.steps {{ overflow-x: auto; }}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def page(title: str, body: str, css: str = "") -> str:
    """A complete HTML document with the report's inline CSS (plus ``css``)."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{_e(title)}</title>\n<style>{CSS}{css}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


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


def vm_cell(before: Vm | None, after: Vm | None) -> tuple[str, bool]:
    """The HTML of one VM at one step and whether anything in it changed."""
    if after is None:
        return ('<span class="muted">deleted</span>' if before is not None else "", False)
    parts, changed = [], before is None
    for label, value, shown in CELL_FIELDS:
        new = value(after)
        old = value(before) if before is not None else None
        if not (shown(after) or (before is not None and shown(before)) or old != new):
            continue
        if old is not None and old != new:
            changed = True
            parts.append(f'<div class="field">{_e(label)} <span class="muted">{_e(old)}'
                         f' →</span> <span class="chg">{_e(new)}</span></div>')
        else:
            parts.append(f'<div class="field">{_e(label)} {_e(new)}</div>')
    if before is None:
        parts.insert(0, '<div class="field"><span class="chg">created</span></div>')
    return "".join(parts), changed


def _names(trace: Trace) -> list[str]:
    names: list[str] = []
    for state in (trace.initial, *(s.state for s in trace.steps)):
        names += [vm.name for vm in state.vms if vm.name not in names]
    return names


def _free_cell(before: DmState | None, after: DmState) -> tuple[str, bool]:
    if before is None or before.free_mib == after.free_mib:
        return _e(after.free_mib), False
    return (f'<span class="muted">{_e(before.free_mib)} →</span> '
            f'<span class="chg">{_e(after.free_mib)}</span>'), True


def _row(cells: list[tuple[str, bool]], head: str, event: str, css: str) -> str:
    """One step: the free cell, then the VM cells (unchanged ones muted)."""
    kinds = ["free"] + ["vm"] * (len(cells) - 1)
    tds = "".join(f'<td class="{kind}{" chg-cell" if changed else ""}">{text}</td>'
                  for kind, (text, changed) in zip(kinds, cells, strict=True))
    return (f'<tr class="{css}"><td class="num">{head}</td><td class="event">{event}</td>'
            f"{tds}</tr>")


def step_table(trace: Trace) -> str:
    """The step table: step, event, host free memory, then one column per VM."""
    names = _names(trace)
    first = trace.first_finding
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = [f"<tr><th>step</th><th>event</th><th>free</th>{head}</tr>"]
    start = trace.initial
    cells = [_free_cell(None, start)] + [vm_cell(vm, vm) for vm in
                                         (start.get_vm(n) for n in names)]
    rows.append(_row(cells, "0", "initial state", ""))
    rows += _finding_rows(trace, 0, len(names))
    for index, item in enumerate(trace.steps, start=1):
        pre, post = trace.state_at(index - 1), item.state
        event = _e(describe_event(item.event, item.sent, before=pre))
        css = "refused" if item.rejected is not None else ""
        if item.rejected is not None:
            event += f'<br><span class="muted">refused: {_e(item.rejected)}</span>'
        if first is not None and index == first.step:
            css += " fail"
        cells = [_free_cell(pre, post)]
        cells += [vm_cell(pre.get_vm(n), post.get_vm(n)) for n in names]
        rows.append(_row(cells, str(index), event, css.strip()))
        rows += _finding_rows(trace, index, len(names))
    return '<div class="steps"><table>\n' + "\n".join(rows) + "\n</table></div>"


def _finding_rows(trace: Trace, step: int, vms: int) -> list[str]:
    out = []
    for finding in (f for f in trace.findings if f.step == step):
        v = finding.violation
        parts = "".join(f'<div class="part">↳ {_e(p)}</div>' for p in blame_lines(trace, finding))
        out.append(f'<tr class="finding"><td></td><td colspan="{vms + 2}">✗ <b>{_e(v.invariant)}'
                   f"</b> ({_e(v.clause)}): {_e(v.message)}{parts}</td></tr>")
    return out


# --- the other sections ---------------------------------------------------------------------


def _verdict(trace: Trace) -> str:
    first = trace.first_finding
    if first is None:
        refused = sum(1 for s in trace.steps if s.rejected is not None)
        tail = f", {refused} refused event{'s' if refused != 1 else ''}" if refused else ""
        return (f'<div class="banner good">ok: no invariant violated in {len(trace.steps)} '
                f"steps{_e(tail)}</div>")
    broken = ", ".join(sorted({f.invariant for f in trace.findings}))
    return (f'<div class="banner bad">VIOLATED {_e(broken)}: first {_e(first.invariant)} at '
            f"step {_e(where_words(trace, first.step))}</div>")


def _why_html(whys: list[Why]) -> str:
    blocks = []
    for why in whys:
        parts = "".join(f'<div class="part">↳ {_e(p)}</div>' for p in why.parts)
        blocks.append(
            f'<div class="why"><dl><dt>invariant</dt><dd><b>{_e(why.invariant)}</b> '
            f"{_e(why.statement)}</dd><dt>step</dt><dd>{_e(why.where)}</dd>"
            f"<dt>for</dt><dd>{_e(why.scope)} (clause <i>{_e(why.clause)}</i>)</dd>"
            f'<dt>values</dt><dd><span class="part">{_e(why.message)}</span>{parts}</dd>'
            f"</dl></div>")
    return "<h2>Why it failed</h2>" + "".join(blocks) if blocks else ""


def _settings_html(trace: Trace) -> str:
    start = trace.initial
    host = start.host
    rows = [f"<tr><td>{_e(vm.name)}</td><td>{_e(describe_settings(vm.settings))}</td></tr>"
            for vm in start.vms]
    notes = "".join(f"<li><b>{_e(k)}</b>: {_e(repr(v))}</li>" for k, v in trace.notes)
    return (f"<h2>Scenario and settings</h2><p>Trace from <b>{_e(trace.source)}</b>, "
            f"{len(trace.steps)} steps. Host: physical <b>{host.physical_mib}</b> MiB, reserve "
            f"<b>{host.reserve_mib}</b> MiB, free <b>{start.free_mib}</b> MiB at the start "
            f"(amounts in MiB).</p>"
            + (f"<table><tr><th>VM</th><th>settings at the start</th></tr>{''.join(rows)}"
               f"</table>" if rows else "<p>No VM at the start.</p>")
            + (f"<p>Notes:</p><ul>{notes}</ul>" if notes else ""))


def _plot_html(trace: Trace) -> str:
    data = base64.b64encode(render_plot(trace, "png")).decode("ascii")
    return ('<h2>Memory timeline</h2><img class="plot" alt="memory timeline of the trace" '
            f'src="data:image/png;base64,{data}">')


def render_report(trace: Trace, title: str = "dynmem trace") -> str:
    """The whole HTML document of ``trace`` (see the module docstring)."""
    whys = describe_why(trace, lambda step: where_words(trace, step))
    body = "\n".join([
        f"<h1>{_e(title)}</h1>",
        _verdict(trace),
        _why_html(whys),
        _settings_html(trace),
        _plot_html(trace),
        "<h2>Steps</h2><p class=\"muted\">Only changed values are highlighted; a VM's "
        "fields are listed when they matter (running, in flight, paging).</p>",
        step_table(trace),
        '<p class="muted">Written by dynmem show.</p>',
    ])
    return page(title, body)


def write_report(trace: Trace, path: str | os.PathLike[str], title: str = "dynmem trace"
                 ) -> None:
    """Write the report of ``trace`` to ``path`` atomically."""
    write_atomic(path, render_report(trace, title))

