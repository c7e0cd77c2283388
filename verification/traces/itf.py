"""Traces as ITF JSON, the Informal Trace Format of Apalache and Quint (specs/formats/itf.md).

A trace file is ``{"#meta": ..., "vars": [...], "states": [...]}``. State 0 is the initial
state; state i (i >= 1) is the state after step i and also records, the way ``quint run
--mbt`` does, the event that led to it: ``mbt::actionTaken`` (the event kind, ``"init"`` for
state 0) and ``mbt::nondetPicks`` (the event's fields as Quint ``Option`` values). Two more
per-state variables carry the rest of a :class:`TraceStep`: ``dynmem::rejected`` (why the
event was refused, an ``Option``) and ``dynmem::sent`` (the DM requests a BalancerTick sent).

Every integer is ``{"#bigint": "..."}``; the VMs are a ``#map`` from name to a record; enums
are lower-case strings. Reading is strict and exact: ``trace_from_itf(trace_to_itf(t)) == t``
for every trace, and bad input raises :class:`InputError` naming the file, the JSON path and
the value, never a traceback.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import attrs

from dynmem.model.invariants import Violation
from dynmem.reference.events import (
    EVENT_TYPES,
    BalloonRequest,
    DmRequest,
    Event,
    HotAddRequest,
    UnballoonRequest,
)
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import DmState, Vm
from dynmem.verification.atomic import write_atomic
from dynmem.verification.codec import (
    NAME_KEYS,
    OPTIONAL_EVENT_FIELDS,
    OPTIONAL_SETTINGS,
    OPTIONAL_VM_FIELDS,
    check_keys,
    check_name,
    event_from_json,
    event_to_json,
    expect_object,
    field_kind,
    host_from_json,
    host_to_json,
    load_json,
    read_text,
    read_value,
    settings_from_json,
    settings_to_json,
    suggest,
    vm_from_json,
    vm_to_json,
)
from dynmem.verification.traces.itfvalue import (
    NONE,
    bigint,
    dump_itf,
    from_itf,
    itf_array,
    itf_error,
    option,
    option_from,
    to_itf,
)
from dynmem.verification.traces.recheck import Recheck, rechecked
from dynmem.verification.traces.trace import Finding, Trace, TraceStep

FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"
FORMAT_VERSION = 1  # of our mapping (specs/formats/itf.md); bump on any change

ACTION_TAKEN = "mbt::actionTaken"
NONDET_PICKS = "mbt::nondetPicks"
REJECTED = "dynmem::rejected"
SENT = "dynmem::sent"
INIT_ACTION = "init"
STATE_VARS = ("host", "free_mib", "vms")
VARS = (*STATE_VARS, ACTION_TAKEN, NONDET_PICKS, REJECTED, SENT)

# Every event field name: each state's picks record has all of them (Quint writes every
# nondet of the spec in every state, None where the action did not pick it).
# Every field of every event kind, except those written only when not their default
# (``align_mib``: a pick of it appears only when a report advertises more than 2 MiB, so the
# traces of before keep their bytes; a reader takes a missing one as None).
PICK_NAMES = tuple(sorted({f.name for cls in EVENT_TYPES.values() for f in attrs.fields(cls)}
                          - set(OPTIONAL_EVENT_FIELDS)))
OPTIONAL_PICK_NAMES = tuple(sorted(OPTIONAL_EVENT_FIELDS))
_REQUESTS = (BalloonRequest, UnballoonRequest, HotAddRequest)

# --- encoding ---------------------------------------------------------------------------------


def _state_to_itf(state: DmState) -> dict[str, Any]:
    vms = []
    for vm in state.vms:
        record = vm_to_json(vm)
        del record["name"]  # the map key
        vms.append([vm.name, to_itf(record)])
    if len({name for name, _ in vms}) != len(vms):
        raise ValueError(f"VM names are not unique in {state!r}")
    return {"host": to_itf(host_to_json(state.host)), "free_mib": bigint(state.free_mib),
            "vms": {"#map": vms}}


def _picks(event: Event | None) -> dict[str, Any]:
    fields = event_to_json(event) if event is not None else {}
    picks = {name: option(fields.get(name)) if name in fields else NONE for name in PICK_NAMES}
    picks.update({name: option(fields[name]) for name in OPTIONAL_PICK_NAMES if name in fields})
    return picks


def _step_vars(event: Event | None, rejected: str | None,
               sent: tuple[DmRequest, ...]) -> dict[str, Any]:
    return {
        ACTION_TAKEN: event.KIND if event is not None else INIT_ACTION,
        NONDET_PICKS: _picks(event),
        REJECTED: option(rejected),
        SENT: [to_itf(event_to_json(r)) for r in sent],
    }


def _note_to_itf(value: Any) -> Any:
    """A note value: tuples as ``#tup``, lists as arrays, ints as ``#bigint``, floats plain."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"note value {value!r} is not finite")
        return value
    if isinstance(value, tuple):
        return {"#tup": [_note_to_itf(v) for v in value]}
    if isinstance(value, list):
        return [_note_to_itf(v) for v in value]
    if isinstance(value, Mapping):
        bad = [k for k in value if not isinstance(k, str) or k.startswith("#")]
        if bad:
            raise ValueError(f"note keys must be strings not starting with '#': {bad!r}")
        return {k: _note_to_itf(v) for k, v in value.items()}
    return to_itf(value)


def _finding_to_itf(finding: Finding) -> dict[str, Any]:
    v = finding.violation
    return {"step": bigint(finding.step), "invariant": v.invariant, "clause": v.clause,
            "vm": option(v.vm), "message": v.message}


def trace_to_itf(trace: Trace) -> dict[str, Any]:
    """The ITF JSON document of ``trace`` (specs/formats/itf.md).

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings
    >>> doc = trace_to_itf(Trace(DmState(HostSettings(4096, 1024), 3072)))
    >>> doc["vars"][:3], doc["states"][0]["free_mib"], doc["states"][0]["mbt::actionTaken"]
    (['host', 'free_mib', 'vms'], {'#bigint': '3072'}, 'init')
    """
    start = trace.initial
    states = [{"#meta": {"index": 0}, **_state_to_itf(start), **_step_vars(None, None, ())}]
    for index, item in enumerate(trace.steps, start=1):
        states.append({"#meta": {"index": index}, **_state_to_itf(item.state),
                       **_step_vars(item.event, item.rejected, item.sent)})
    meta = {
        "format": "ITF",
        "format-description": FORMAT_DESCRIPTION,
        "description": f"Created by dynmem ({trace.source}); mapping: specs/formats/itf.md",
        "source": trace.source,
        "status": "ok" if trace.ok else "violation",
        "dynmem-format": bigint(FORMAT_VERSION),
        "settings": {"host": to_itf(host_to_json(start.host)),
                     "vms": {"#map": [[vm.name, to_itf(settings_to_json(vm.settings))]
                                      for vm in start.vms]}},
        "findings": [_finding_to_itf(f) for f in trace.findings],
        "notes": {"#map": [[key, _note_to_itf(value)] for key, value in trace.notes]},
    }
    return {"#meta": meta, "vars": list(VARS), "states": states}


def write_itf(trace: Trace, path: str | os.PathLike[str]) -> None:
    """Write ``trace`` as ITF JSON to ``path`` atomically (a temp file, then ``os.replace``).

    Raises
    ------
    InputError
        When the file cannot be written (e.g. its directory does not exist).
    """
    write_atomic(path, dump_itf(trace_to_itf(trace)))


# --- decoding ---------------------------------------------------------------------------------


_VM_FIELDS = tuple(f.name for f in attrs.fields(Vm)
                   if f.name != "name" and f.name not in OPTIONAL_VM_FIELDS)
_SETTINGS_FIELDS = tuple(f.name for f in attrs.fields(VmSettings)
                         if f.name not in OPTIONAL_SETTINGS)  # written only when not default


def _require(obj: Mapping[str, Any], names: tuple[str, ...], source: str, path: str) -> None:
    """Every field is written: a missing one is an error, never a default (a typo or a cut)."""
    for name in names:
        if name not in obj:
            raise itf_error(source, f"{path}.{name}", None, "is required")


def _vms_from(data: Any, source: str, path: str) -> tuple[Any, ...]:
    obj = expect_object(data, source, path)
    check_keys(obj, ["#map"], source, path)
    entries = itf_array(obj.get("#map"), source, f"{path}.#map")
    vms, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"{path}.#map[{i}]"
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise itf_error(source, where, entry, "must be a [name, record] pair")
        name, record = entry
        if name in seen:
            raise itf_error(source, f"{where}[0]", name, "duplicate VM name")
        seen.add(name)
        record = expect_object(record, source, f"{where}[1]")
        if "name" in record:
            raise itf_error(source, f"{where}[1].name", record["name"],
                        "unknown field: the name is the map key")
        _require(record, _VM_FIELDS, source, f"{where}[1]")
        _require(expect_object(record["settings"], source, f"{where}[1].settings"),
                 _SETTINGS_FIELDS, source, f"{where}[1].settings")
        vms.append(vm_from_json({"name": name, **record}, source, f"{where}[1]"))
    return tuple(vms)


def _state_from(obj: Mapping[str, Any], source: str, path: str) -> DmState:
    return DmState(
        host=host_from_json(obj["host"], source, f"{path}.host", check_ranges=False),
        free_mib=read_value(obj, "free_mib", int, source, path),
        vms=_vms_from(obj["vms"], source, f"{path}.vms"),
    )


def _event_from(kind: Any, picks: Any, source: str, path: str) -> Event | None:
    """The event of state ``path`` from its action name and picks (None for ``init``)."""
    where = f"{path}.{ACTION_TAKEN}"
    if kind == INIT_ACTION and path == "states[0]":
        cls = None
    elif isinstance(kind, str) and kind in EVENT_TYPES and path != "states[0]":
        cls = EVENT_TYPES[kind]
    elif path == "states[0]":
        raise itf_error(source, where, kind, f"the initial state's action must be {INIT_ACTION!r}")
    else:
        hint = suggest(kind, sorted(EVENT_TYPES)) if isinstance(kind, str) else ""
        raise itf_error(source, where, kind,
                    f"unknown event kind{hint}; known: {', '.join(sorted(EVENT_TYPES))}")
    picks_path = f"{path}.{NONDET_PICKS}"
    obj = expect_object(picks, source, picks_path)
    check_keys(obj, [*PICK_NAMES, *OPTIONAL_PICK_NAMES], source, picks_path)
    _require(obj, PICK_NAMES, source, picks_path)
    wanted = {f.name: f for f in attrs.fields(cls)} if cls is not None else {}
    values: dict[str, Any] = {}
    for name in (*PICK_NAMES, *(n for n in OPTIONAL_PICK_NAMES if n in obj)):
        is_some, value = option_from(obj[name], source, f"{picks_path}.{name}")
        if name in OPTIONAL_PICK_NAMES and not is_some:
            continue  # not written: the field's default
        if is_some != (name in wanted):
            rule = (f"must be Some: {kind} has a field {name!r}" if name in wanted
                    else f"must be None: {kind} has no field {name!r}")
            raise itf_error(source, f"{picks_path}.{name}", obj.get(name), rule)
        if name == "settings" and is_some:
            values[name] = settings_from_json(value, source, f"{picks_path}.{name}.value",
                                              check_ranges=False)
        elif is_some:
            values[name] = read_value({"value": value}, "value", field_kind(wanted[name]),
                                      source, f"{picks_path}.{name}")
            if name in NAME_KEYS:
                check_name(values[name], source, f"{picks_path}.{name}.value")
    return cls(**values) if cls is not None else None


def _sent_from(data: Any, source: str, path: str) -> tuple[DmRequest, ...]:
    sent = []
    for j, item in enumerate(itf_array(data, source, path)):
        request = event_from_json(item, source, f"{path}[{j}]", check_ranges=False)
        if not isinstance(request, _REQUESTS):
            raise itf_error(source, f"{path}[{j}].kind", request.KIND,
                        "must be a DM request: balloon_request, unballoon_request or "
                        "hot_add_request")
        sent.append(request)
    return tuple(sent)


def _check_state_keys(raw: Any, index: int, source: str) -> Mapping[str, Any]:
    path = f"states[{index}]"
    obj = expect_object(raw, source, path)
    check_keys(obj, ["#meta", *VARS], source, path)
    missing = [v for v in VARS if v not in obj]
    if missing:
        raise itf_error(source, f"{path}.{missing[0]}", None, "is required (every var is)")
    meta = obj.get("#meta", {"index": index})
    if not isinstance(meta, Mapping) or meta.get("index", index) != index:
        raise itf_error(source, f"{path}.#meta", meta, f'must be {{"index": {index}}}')
    return obj


def _step_from(raw: Any, index: int, source: str) -> tuple[DmState, TraceStep | None]:
    """State ``index``: the state, and (after state 0) the step that led to it."""
    path = f"states[{index}]"
    obj = _check_state_keys(raw, index, source)
    plain = {k: from_itf(v, source, f"{path}.{k}") for k, v in obj.items() if k != "#meta"}
    state = _state_from(plain, source, path)
    event = _event_from(plain[ACTION_TAKEN], plain[NONDET_PICKS], source, path)
    is_rejected, reason = option_from(plain[REJECTED], source, f"{path}.{REJECTED}")
    if is_rejected and not isinstance(reason, str):
        raise itf_error(source, f"{path}.{REJECTED}.value", reason, "must be a string")
    sent = _sent_from(plain[SENT], source, f"{path}.{SENT}")
    if event is None:
        if is_rejected or sent:
            raise itf_error(source, f"{path}.{REJECTED if is_rejected else SENT}",
                        obj[REJECTED if is_rejected else SENT],
                        "the initial state has no event: must be None / []")
        return state, None
    return state, TraceStep(event, state, reason if is_rejected else None, sent)


def _finding_from(raw: Any, source: str, path: str, steps: int) -> Finding:
    obj = expect_object(from_itf(raw, source, path), source, path)
    check_keys(obj, ["step", "invariant", "clause", "vm", "message"], source, path)
    step = read_value(obj, "step", int, source, path)
    if not 0 <= step <= steps:
        raise itf_error(source, f"{path}.step", step, f"must be a step of the trace, 0..{steps}")
    has_vm, vm = option_from(obj.get("vm", NONE), source, f"{path}.vm")
    if has_vm and not isinstance(vm, str):
        raise itf_error(source, f"{path}.vm.value", vm, "must be a VM name (a string)")
    texts = [read_value(obj, key, str, source, path) for key in ("invariant", "clause",
                                                                   "message")]
    return Finding(step, Violation(texts[0], texts[1], vm if has_vm else None, texts[2]))


def _note_from(value: Any, source: str, path: str) -> Any:
    if isinstance(value, Mapping) and set(value) == {"#tup"}:
        items = itf_array(value["#tup"], source, f"{path}.#tup")
        return tuple(_note_from(v, source, f"{path}.#tup[{i}]") for i, v in enumerate(items))
    if isinstance(value, list):
        return [_note_from(v, source, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping) and "#bigint" not in value:
        return {k: _note_from(v, source, f"{path}.{k}") for k, v in value.items()}
    return from_itf(value, source, path, floats=True)


def _notes_from(data: Any, source: str, path: str) -> tuple[tuple[str, Any], ...]:
    obj = expect_object(data, source, path)
    check_keys(obj, ["#map"], source, path)
    notes = []
    for i, entry in enumerate(itf_array(obj.get("#map"), source, f"{path}.#map")):
        where = f"{path}.#map[{i}]"
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise itf_error(source, where, entry, "must be a [key, value] pair with a string key")
        notes.append((entry[0], _note_from(entry[1], source, f"{where}[1]")))
    return tuple(notes)


def _meta_from(data: Any, source: str) -> Mapping[str, Any]:
    meta = expect_object(data, source, "#meta")
    if meta.get("format", "ITF") != "ITF":
        raise itf_error(source, "#meta.format", meta["format"], 'must be "ITF"')
    version = meta.get("dynmem-format", {"#bigint": str(FORMAT_VERSION)})
    if from_itf(version, source, "#meta.dynmem-format") != FORMAT_VERSION:
        raise itf_error(source, "#meta.dynmem-format", version,
                    f"this dynmem reads version {FORMAT_VERSION} of specs/formats/itf.md")
    read_value(meta, "source", str, source, "#meta")
    return meta


def trace_from_itf(data: Any, source: str) -> Trace:
    """The trace an ITF document holds, its findings re-checked (:func:`checked_trace_from_itf`).
    """
    return checked_trace_from_itf(data, source)[0]


def checked_trace_from_itf(data: Any, source: str) -> tuple[Trace, Recheck]:
    """The trace an ITF document holds, with the findings of re-checking it against the
    model (``traces/recheck.py``) in place of the file's, and that re-check."""
    return rechecked(decode_itf(data, source))


def decode_itf(data: Any, source: str) -> Trace:
    """The trace an ITF document holds exactly as written, its findings the file's claims
    (the format's inverse of :func:`trace_to_itf`; readers use :func:`read_itf`, which
    re-checks them). ``source`` (a file name) is used in error messages.

    Raises
    ------
    InputError
        On anything that is not a trace of specs/formats/itf.md, naming ``source``, the JSON
        path and the value, e.g. ``t.itf.json: states[3].free_mib = 2048: integers are
        written {"#bigint": "<digits>"} in ITF, not as JSON numbers``.
    """
    if not isinstance(data, Mapping):
        raise itf_error(source, "(document)", data, "must be a JSON object (an ITF trace)")
    top = data
    names = itf_array(top.get("vars"), source, "vars")  # first: is this a dynmem trace at all?
    if sorted(names, key=str) != sorted(VARS):
        raise itf_error(source, "vars", names, f"must list exactly {', '.join(VARS)} (the "
                                           "variables of a dynmem trace, specs/formats/itf.md)")
    check_keys(top, ["#meta", "vars", "states"], source, "")
    meta = _meta_from(top.get("#meta"), source)
    raw_states = itf_array(top.get("states"), source, "states")
    if not raw_states:
        raise itf_error(source, "states", raw_states, "must hold at least the initial state")
    initial, _ = _step_from(raw_states[0], 0, source)
    steps: list[TraceStep] = []
    for index, raw in enumerate(raw_states[1:], start=1):
        _, item = _step_from(raw, index, source)
        assert item is not None  # only state 0 has no event
        steps.append(item)
    findings = tuple(_finding_from(f, source, f"#meta.findings[{i}]", len(steps))
                     for i, f in enumerate(itf_array(meta.get("findings", []), source,
                                                  "#meta.findings")))
    status = meta.get("status", "violation" if findings else "ok")
    if status != ("violation" if findings else "ok"):
        raise itf_error(source, "#meta.status", status,
                    f"must be {'violation' if findings else 'ok'}: the trace has "
                    f"{len(findings)} findings")
    notes = _notes_from(meta.get("notes", {"#map": []}), source, "#meta.notes")
    return Trace(initial, tuple(steps), findings, meta["source"], notes)


def read_itf(path: str | os.PathLike[str]) -> Trace:
    """Read the ITF trace file at ``path``, its findings re-checked (:func:`read_checked_itf`).
    """
    return read_checked_itf(path)[0]


def read_checked_itf(path: str | os.PathLike[str]) -> tuple[Trace, Recheck]:
    """Read the ITF trace file at ``path`` (see :func:`checked_trace_from_itf`).

    Raises
    ------
    InputError
        When the file cannot be read, is too large, is not JSON within the reader's bounds,
        or is not a dynmem ITF trace.
    """
    source = os.fspath(path)
    return checked_trace_from_itf(load_json(read_text(source), source), source)
