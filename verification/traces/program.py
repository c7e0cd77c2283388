"""The trace as a runnable program (STYLE rule 12): ``render_program``.

The program replays the trace with the reference, one ``step`` line per event with the event
in words as a comment, and ends at the failing check; where the reference disagrees with the
recorded state (a planted bug, another implementation) it says so and goes on from the
recorded state.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, cast

import attrs

from dynmem.reference.state import DmState
from dynmem.reference.step import step as reference_step
from dynmem.verification.traces.text import is_fresh
from dynmem.verification.traces.trace import Finding, Trace
from dynmem.verification.traces.words import describe_event


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
    "TxnKind": "dynmem.model.vocabulary", "HostProfile": "dynmem.model.vocabulary",
    "check_state": "dynmem.model.invariants",
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
    if not is_fresh(state):
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
