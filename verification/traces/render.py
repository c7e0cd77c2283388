"""Traces for people: a readable text trace and the same trace as a runnable program.

``render_text`` prints, per step, the event in domain words ("host asks web to balloon 512
MiB"), then only what changed per VM and on the host (``assigned 2048→2560*``), and at a
failing step the broken invariant clause with its values (clause-level blame). It ends with a
verdict line. ``render_program`` prints the trace as Python that replays it with the
reference and ends at the failing check (STYLE rule 12). ``describe_event`` is the one place
that puts an event into words; every other renderer reuses it.

Marks: ``→`` for a change and ``✗`` for a broken invariant; ``ascii=True`` uses ``->`` and
``x`` instead, and everything else is ASCII.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from enum import IntEnum
from typing import Any, cast

import attrs

from dynmem.model.vocabulary import VERSION_NAMES, Channel, Power, TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    ChannelReset,
    Configure,
    Create,
    Delete,
    Demand,
    DmRequest,
    Event,
    GuestRestart,
    HotAddRequest,
    HotAddResponse,
    MigrateIn,
    MigrateOut,
    QuietPeriodEnd,
    Restore,
    Save,
    Start,
    StartAbort,
    StartAdmit,
    StatusReport,
    Stop,
    StuckTimeout,
    UnballoonRequest,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import DmState, Vm, compute_pressure, initial_state
from dynmem.reference.step import step as reference_step
from dynmem.verification.traces.trace import Finding, Trace

# --- events in domain words -----------------------------------------------------------------


def describe_settings(settings: VmSettings) -> str:
    """One line of VM settings, e.g. ``dynamic, startup 2048, maximum 8192, buffer 20%, ...``.

    Examples
    --------
    >>> describe_settings(VmSettings(startup_mib=4096))
    'static 4096 MiB, weight 5000'
    """
    if not settings.dynamic:
        text = f"static {settings.startup_mib} MiB, weight {settings.weight}"
    else:
        text = (f"dynamic, startup {settings.startup_mib} MiB, maximum "
                f"{settings.maximum_mib} MiB, buffer {settings.buffer_pct}%, weight "
                f"{settings.weight}")
    return text + ("" if settings.dm_capable else ", guest without DM support")


def _version(version: int) -> str:
    return VERSION_NAMES.get(version, f"{version:#x} (unknown)")


def describe_request(request: DmRequest) -> str:
    """A DM request as the balancer's plan line, e.g. ``balloon 704 MiB from lo``."""
    if isinstance(request, BalloonRequest):
        return f"balloon {request.mib} MiB from {request.vm}"
    if isinstance(request, UnballoonRequest):
        return f"unballoon {request.mib} MiB to {request.vm}"
    return f"hot-add {request.mib} MiB to {request.vm}"


def _describe_hot_add_response(event: HotAddResponse, before: DmState | None) -> str:
    who = f"{event.vm}'s guest"
    if not event.success:
        return f"{who} reports the hot-add failed (transient, may retry)"
    vm = before.get_vm(event.vm) if before is not None else None
    asked = vm.txn_mib if vm is not None and vm.txn == TxnKind.HOT_ADD else None
    if event.mib == 0:
        return f"{who} adds nothing (hot-add failed for good)"
    if asked is None:  # no context, or no hot-add in flight (a duplicate answer)
        return f"{who} reports {event.mib} MiB hot-added"
    if event.mib == asked:
        return f"{who} adds {event.mib} MiB (hot-add done)"
    if event.mib > asked:
        return f"{who} claims {event.mib} MiB added, more than the {asked} MiB asked"
    return f"{who} adds only {event.mib} of {asked} MiB (partial: no more hot-add)"


def _describe_balloon_response(event: BalloonResponse, before: DmState | None) -> str:
    who = f"{event.vm}'s guest"
    if event.mib == 0 and not event.more_pages:
        return f"{who} hands back nothing (at its floor)"
    part = "more to come" if event.more_pages else "final part"
    vm = before.get_vm(event.vm) if before is not None else None
    if vm is not None and vm.txn == TxnKind.BALLOON and event.mib > vm.txn_mib - vm.txn_done_mib:
        part += f"; only {vm.txn_mib - vm.txn_done_mib} MiB was outstanding"
    return f"{who} hands back {event.mib} MiB ({part})"


def describe_event(event: Event, result_sent: Sequence[DmRequest] = (), *,
                   before: DmState | None = None) -> str:
    """``event`` in domain words; a BalancerTick lists the requests it sent.

    ``before`` (the state the event met) adds context where the event alone cannot say it,
    e.g. whether a hot-add answer is partial.

    Examples
    --------
    >>> describe_event(BalloonRequest("web", 512))
    'host asks web to balloon 512 MiB'
    >>> describe_event(BalloonResponse("web", 512, more_pages=False))
    "web's guest hands back 512 MiB (final part)"
    >>> describe_event(BalancerTick(), (HotAddRequest("hi", 2048), BalloonRequest("lo", 704)))
    'balancer tick: hot-add 2048 MiB to hi; balloon 704 MiB from lo'
    """
    match event:
        case Create(vm=vm, settings=settings):
            return f"create {vm} ({describe_settings(settings)})"
        case Configure(vm=vm, settings=settings):
            return f"configure {vm}: {describe_settings(settings)}"
        case Delete(vm=vm):
            return f"delete {vm}"
        case Start(vm=vm):
            return f"start {vm}"
        case Stop(vm=vm):
            return f"stop {vm}"
        case Demand(vm=vm, mib=mib):
            return f"{vm}'s workload now commits {mib} MiB"
        case VersionRequest(vm=vm, version=version, last_attempt=last):
            tail = ", its last attempt" if last else ""
            return f"{vm}'s guest proposes protocol {_version(version)}{tail}"
        case CapabilitiesReport(vm=vm, balloon=balloon, hot_add=hot_add):
            caps = [n for n, on in (("balloon", balloon), ("hot-add", hot_add)) if on]
            return f"{vm}'s guest reports capabilities: {', '.join(caps) or 'none'}"
        case QuietPeriodEnd(vm=vm):
            return f"{vm}'s quiet period ends"
        case StatusReport(vm=vm, committed_mib=mib):
            return f"{vm}'s guest reports {mib} MiB committed"
        case BalloonRequest(vm=vm, mib=mib):
            return f"host asks {vm} to balloon {mib} MiB"
        case BalloonResponse():
            return _describe_balloon_response(event, before)
        case UnballoonRequest(vm=vm, mib=mib):
            return f"host returns {mib} MiB of ballooned memory to {vm}"
        case UnballoonResponse(vm=vm):
            return f"{vm}'s guest takes the unballooned memory back"
        case HotAddRequest(vm=vm, mib=mib):
            return f"host hot-adds {mib} MiB to {vm}"
        case HotAddResponse():
            return _describe_hot_add_response(event, before)
        case BalancerTick():
            plan = "; ".join(describe_request(r) for r in result_sent)
            return f"balancer tick: {plan or 'nothing to send'}"
    return _describe_lifecycle(event)


def _describe_lifecycle(event: Event) -> str:
    """The events of specs/lifecycle.md in domain words."""
    match event:
        case StartAdmit(vm=vm):
            return f"{vm}'s waiting start completes (startup memory is free)"
        case StartAbort(vm=vm):
            return f"{vm}'s waiting start fails: reclaim could not free its startup"
        case GuestRestart(vm=vm):
            return f"{vm}'s guest restarts (back at startup, new DM session)"
        case ChannelReset(vm=vm):
            return f"{vm}'s DM channel resets (in-flight work dropped, ballooned pages regained)"
        case StuckTimeout(vm=vm):
            return f"host gives up waiting on {vm} (stuck: no progress for several ticks)"
        case Save(vm=vm):
            return f"save {vm} (its memory returns to the host)"
        case Restore(vm=vm):
            return f"restore {vm}"
        case MigrateOut(vm=vm):
            return f"{vm} migrates to another host"
        case MigrateIn(vm=vm, mib=mib):
            return f"{vm} arrives by migration with {mib} MiB"
    return repr(event)  # an event kind added later still prints, exactly


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


def _detail_fields(vm: Vm) -> list[tuple[str, str]]:
    """Fields shown when they change (or in full mode): report, protocol and settings."""
    caps = [n for n, on in (("balloon", vm.cap_balloon), ("hot-add", vm.cap_hot_add)) if on]
    s = vm.settings
    return [
        ("report", str(vm.report_mib) if vm.has_report else "none"),
        ("protocol", _version(vm.protocol_version) if vm.protocol_version else "none"),
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
        f"free {start.free_mib} at the start",
    ]
    lines += [f"vm {vm.name}: {describe_settings(vm.settings)}" for vm in start.vms]
    if trace.notes:
        lines.append("notes: " + ", ".join(f"{k}={v!r}" for k, v in trace.notes))
    return lines


def _is_fresh(state: DmState) -> bool:
    """Whether ``state`` is what ``initial_state`` builds (all VMs created and off)."""
    vms = tuple((vm.name, vm.settings) for vm in state.vms)
    return state == initial_state(state.host, vms)


def _initial_block(trace: Trace, full: bool, vms: Container[str] | None,
                   marks: Marks) -> list[str]:
    """Step 0: one line for a fresh start; the whole table for any other initial state."""
    start = trace.initial
    if _is_fresh(start) and not full:
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


# --- the trace as a runnable program ----------------------------------------------------------


def _literal(value: object, names: set[str]) -> str:
    """Python source for a settings/state value; records the names it needs in ``names``."""
    if isinstance(value, IntEnum):
        names.add(type(value).__name__)
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, tuple):
        items = [_literal(v, names) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if attrs.has(type(value)):
        names.add(type(value).__name__)
        parts = []
        for f in attrs.fields(cast(Any, type(value))):
            v = getattr(value, f.name)
            if f.default is attrs.NOTHING or v != f.default:
                parts.append(f"{f.name}={_literal(v, names)}")
        return f"{type(value).__name__}({', '.join(parts)})"
    return repr(value)


_MODULES = {
    "HostSettings": "dynmem.reference.settings", "VmSettings": "dynmem.reference.settings",
    "DmState": "dynmem.reference.state", "Vm": "dynmem.reference.state",
    "initial_state": "dynmem.reference.state", "step": "dynmem.reference.step",
    "Power": "dynmem.model.vocabulary", "Channel": "dynmem.model.vocabulary",
    "TxnKind": "dynmem.model.vocabulary", "check_state": "dynmem.model.invariants",
    "check_transition": "dynmem.verification.traces.trace",
}


def _state_literal(state: DmState, names: set[str]) -> str:
    """A ``DmState(...)`` expression with one VM per line."""
    names.add("DmState")
    vms = "".join(f"    {_literal(vm, names)},\n" for vm in state.vms)
    return (f"DmState(host={_literal(state.host, names)}, free_mib={state.free_mib!r}, "
            f"vms=(\n{vms}))")


def _imports(names: set[str]) -> list[str]:
    modules: dict[str, list[str]] = {}
    for name in names:
        modules.setdefault(_MODULES.get(name, "dynmem.reference.events"), []).append(name)
    return [f"from {m} import {', '.join(sorted(ns))}" for m, ns in sorted(modules.items())]


def _initial_lines(state: DmState, names: set[str]) -> list[str]:
    if not _is_fresh(state):
        return [f"state = {_state_literal(state, names)}"]
    names.add("initial_state")
    vms = "".join(f"    ({vm.name!r}, {_literal(vm.settings, names)}),\n" for vm in state.vms)
    host = _literal(state.host, names)
    return [f"state = initial_state({host}, (\n{vms}))" if vms
            else f"state = initial_state({host})"]


def render_program(trace: Trace) -> str:
    """The trace as Python that replays it with the reference and ends at the failing check.

    One ``state = step(state, Event(...)).state`` line per event. Where the reference
    reaches a different state than the trace records (a planted bug, another implementation),
    the program says so and continues from the recorded state. An ok trace ends with
    ``assert not check_state(state)``; a violating one stops at its first finding with the
    check that fails there (an ``AssertionError`` naming the invariant).
    """
    names = {"step"}
    body = _initial_lines(trace.initial, names)
    first = trace.first_finding
    last = first.step if first is not None else len(trace.steps)
    state = trace.initial
    if first is not None and first.step == 0:
        names.add("check_state")
    for index, item in enumerate(trace.steps[:last], start=1):
        event = _literal(item.event, names)
        comment = describe_event(item.event, item.sent, before=state)
        if item.rejected is not None:
            comment += f" (fails: {item.rejected})"
        if index == last and first is not None:
            names.add("check_transition")
            body += [f"before, event = state, {event}"]
            event = "event"
            state_var = "before"
        else:
            state_var = "state"
        body.append(f"state = step({state_var}, {event}).state  # step {index}: {comment}")
        replayed = reference_step(state, item.event)
        if replayed.state != item.state:
            refused = f" (it refuses: {replayed.reason})" if replayed.reason else ""
            body += [f"# the reference disagrees at step {index}{refused};",
                     f"# the trace ({trace.source}) recorded this state:",
                     f"state = {_state_literal(item.state, names)}"]
        state = item.state
    body += _final_check(first, names)
    return "\n".join([f"# dynmem trace from {trace.source}, replayed with the reference",
                      *_imports(names), "", *body]) + "\n"


def _final_check(first: Finding | None, names: set[str]) -> list[str]:
    if first is None:
        names.add("check_state")
        return ["assert not check_state(state), check_state(state)"]
    expect = f"  # {first.invariant} ({first.violation.clause}) fails here"
    if first.step == 0:
        return [f"assert not check_state(state), check_state(state){expect}"]
    return ["violations = check_transition(before, event, state)",
            f"assert not violations, violations{expect}"]
