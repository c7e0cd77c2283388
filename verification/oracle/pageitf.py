"""Page-level traces as ITF JSON (specs/formats/itf.md §7b): what ``explore --pages --out``
writes, ``dynmem show`` reads, and Quint/Apalache tooling can load.

The mapping is the amount level's (``itf.py``) with the page level's variables: ``host``,
``free_pages`` and ``vms``, a ``#map`` from VM name to the page-level VM record of the
oracle's page wire (specs/formats/oracle.md §9: ``regions``, ``ram``, ``ballooned`` and
``txn_ranges`` are ``#set``s of ``{start, count}`` page ranges), plus ``mbt::actionTaken``
(the wire's event kind), ``mbt::nondetPicks`` (its fields as ``Option``s) and
``dynmem::rejected``. ``#meta.level`` is ``"pages"`` and ``#meta.problem`` the finding.
Reading is strict and exact (``page_trace_from_itf(page_trace_to_itf(t)) == t``), through
the page wire's own field checks; that is why it lives beside the page wire here rather than
in ``traces`` (an earlier package, tests/test_layout.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dynmem.reference.pages import PageEvent, PageState
from dynmem.verification.atomic import write_atomic
from dynmem.verification.codec import (
    check_keys,
    expect_object,
    host_to_json,
    load_json,
    read_text,
    read_value,
)
from dynmem.verification.oracle import pagewire
from dynmem.verification.oracle.pagewire import PageTick
from dynmem.verification.traces.itf import (
    ACTION_TAKEN,
    FORMAT_DESCRIPTION,
    INIT_ACTION,
    NONDET_PICKS,
    REJECTED,
)
from dynmem.verification.traces.itfvalue import (
    bigint,
    dump_itf,
    from_itf,
    itf_array,
    itf_error,
    option,
    option_from,
    to_itf,
)
from dynmem.verification.traces.pagetrace import PageTrace, PageTraceStep

__all__ = ["PAGE_VARS", "is_page_itf", "page_trace_from_itf", "page_trace_to_itf",
           "read_page_itf", "write_page_itf"]

PAGE_LEVEL = "pages"
PAGE_FORMAT_VERSION = 1  # of the page mapping (specs/formats/itf.md §7b); bump on any change
PAGE_VARS = ("host", "free_pages", "vms", ACTION_TAKEN, NONDET_PICKS, REJECTED)
# Every field of every page message but its kind (each state's picks record has all of them).
PAGE_PICKS = ("more_pages", "pages", "ranges", "region", "success", "vm")
_SETS = ("regions", "ram", "ballooned", "txn_ranges")

# --- encoding ---------------------------------------------------------------------------------


def _state_to_itf(state: PageState) -> dict[str, Any]:
    vms = []
    for vm in state.vms:
        record = pagewire.vm_to_json(vm)
        del record["name"]  # the map key
        vms.append([vm.name, {k: {"#set": to_itf(v)} if k in _SETS else to_itf(v)
                              for k, v in record.items()}])
    return {"host": to_itf(host_to_json(state.host)), "free_pages": bigint(state.free_pages),
            "vms": {"#map": vms}}


def _step_vars(event: PageEvent | None, rejected: str | None) -> dict[str, Any]:
    fields = pagewire.event_to_json(event) if event is not None else {"kind": INIT_ACTION}
    return {ACTION_TAKEN: fields["kind"],
            NONDET_PICKS: {name: option(fields.get(name)) for name in PAGE_PICKS},
            REJECTED: option(rejected)}


def page_trace_to_itf(trace: PageTrace) -> dict[str, Any]:
    """The ITF JSON document of a page trace."""
    states = [{"#meta": {"index": 0}, **_state_to_itf(trace.initial), **_step_vars(None, None)}]
    for index, item in enumerate(trace.steps, start=1):
        states.append({"#meta": {"index": index}, **_state_to_itf(item.state),
                       **_step_vars(item.event, item.rejected)})
    meta: dict[str, Any] = {
        "format": "ITF",
        "format-description": FORMAT_DESCRIPTION,
        "description": f"Created by dynmem ({trace.source}); mapping: specs/formats/itf.md §7b",
        "source": trace.source,
        "level": PAGE_LEVEL,
        "status": "ok" if trace.ok else "violation",
        "dynmem-format": bigint(PAGE_FORMAT_VERSION),
    }
    if trace.problem is not None:
        meta["problem"] = trace.problem
    return {"#meta": meta, "vars": list(PAGE_VARS), "states": states}


def write_page_itf(trace: PageTrace, path: str | os.PathLike[str]) -> None:
    """Write ``trace`` as ITF JSON to ``path`` atomically (InputError if it cannot)."""
    write_atomic(path, dump_itf(page_trace_to_itf(trace)))


# --- decoding ---------------------------------------------------------------------------------


def is_page_itf(data: Any) -> bool:
    """Whether ``data`` claims to be a page-level trace (``#meta.level`` is ``"pages"``)."""
    return (isinstance(data, Mapping) and isinstance(data.get("#meta"), Mapping)
            and data["#meta"].get("level") == PAGE_LEVEL)


def _vms_plain(data: Any, source: str, path: str) -> list[dict[str, Any]]:
    """The ``#map`` of VM records as the page wire's list of VM objects."""
    obj = expect_object(data, source, path)
    check_keys(obj, ["#map"], source, path)
    vms = []
    for i, entry in enumerate(itf_array(obj.get("#map"), source, f"{path}.#map")):
        where = f"{path}.#map[{i}]"
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise itf_error(source, where, entry, "must be a [name, record] pair")
        record = expect_object(entry[1], source, f"{where}[1]")
        if "name" in record:
            raise itf_error(source, f"{where}[1].name", record["name"],
                            "unknown field: the name is the map key")
        plain: dict[str, Any] = {"name": entry[0]}
        for key, value in record.items():
            if key in _SETS:
                sets = expect_object(value, source, f"{where}[1].{key}")
                check_keys(sets, ["#set"], source, f"{where}[1].{key}")
                value = sets.get("#set")
            plain[key] = from_itf(value, source, f"{where}[1].{key}")
        vms.append(plain)
    return vms


def _event_from(kind: Any, picks: Any, source: str, path: str) -> PageEvent:
    obj = expect_object(picks, source, f"{path}.{NONDET_PICKS}")
    check_keys(obj, list(PAGE_PICKS), source, f"{path}.{NONDET_PICKS}")
    fields: dict[str, Any] = {"kind": kind}
    for name in PAGE_PICKS:
        where = f"{path}.{NONDET_PICKS}.{name}"
        if name not in obj:
            raise itf_error(source, where, None, "is required (None where the message has "
                                                 "no such field)")
        present, value = option_from(obj[name], source, where)
        if present:
            fields[name] = from_itf(value, source, f"{where}.value")
    event = pagewire.event_from_json(fields, source, f"{path}.{NONDET_PICKS}")
    if isinstance(event, PageTick):
        raise itf_error(source, f"{path}.{ACTION_TAKEN}", kind,
                        "a page trace's messages are a guest's or the host's, not a tick")
    return event


def _step_from(raw: Any, index: int, source: str) -> tuple[PageState, PageEvent | None,
                                                           str | None]:
    path = f"states[{index}]"
    obj = expect_object(raw, source, path)
    check_keys(obj, ["#meta", *PAGE_VARS], source, path)
    for name in PAGE_VARS:
        if name not in obj:
            raise itf_error(source, f"{path}.{name}", None, "is required")
    plain = {"host": from_itf(obj["host"], source, f"{path}.host"),
             "free_pages": from_itf(obj["free_pages"], source, f"{path}.free_pages"),
             "vms": _vms_plain(obj["vms"], source, f"{path}.vms")}
    state = pagewire.state_from_json(plain, source, path, check_ranges=False)
    kind = obj[ACTION_TAKEN]
    present, reason = option_from(obj[REJECTED], source, f"{path}.{REJECTED}")
    if present and not isinstance(reason, str):
        raise itf_error(source, f"{path}.{REJECTED}.value", reason, "must be a string")
    if index == 0:
        if kind != INIT_ACTION or present:
            raise itf_error(source, f"{path}.{ACTION_TAKEN}", kind,
                            f'the initial state is "{INIT_ACTION}", without a refusal')
        return state, None, None
    if not isinstance(kind, str) or kind == INIT_ACTION:
        raise itf_error(source, f"{path}.{ACTION_TAKEN}", kind,
                        "must name the page message that led to this state")
    return state, _event_from(kind, obj[NONDET_PICKS], source, path), reason if present else None


def page_trace_from_itf(data: Any, source: str) -> PageTrace:
    """The page trace an ITF document holds (the inverse of :func:`page_trace_to_itf`).

    Raises
    ------
    InputError
        On anything that is not a page trace of specs/formats/itf.md §7b, naming ``source``,
        the JSON path and the value.
    """
    if not isinstance(data, Mapping):
        raise itf_error(source, "(document)", data, "must be a JSON object (an ITF trace)")
    names = itf_array(data.get("vars"), source, "vars")
    if sorted(names, key=str) != sorted(PAGE_VARS):
        raise itf_error(source, "vars", names, f"must list exactly {', '.join(PAGE_VARS)} (the "
                                               "variables of a page trace, specs/formats/itf.md)")
    check_keys(data, ["#meta", "vars", "states"], source, "")
    meta = expect_object(data.get("#meta"), source, "#meta")
    if meta.get("level") != PAGE_LEVEL:
        raise itf_error(source, "#meta.level", meta.get("level"), f'must be "{PAGE_LEVEL}"')
    version = from_itf(meta.get("dynmem-format", bigint(PAGE_FORMAT_VERSION)), source,
                       "#meta.dynmem-format")
    if version != PAGE_FORMAT_VERSION:
        raise itf_error(source, "#meta.dynmem-format", version, "this dynmem reads version "
                        f"{PAGE_FORMAT_VERSION} of the page mapping (specs/formats/itf.md §7b)")
    trace_source = read_value(meta, "source", str, source, "#meta")
    problem = read_value(meta, "problem", str, source, "#meta", None)
    status = meta.get("status", "ok" if problem is None else "violation")
    if status != ("ok" if problem is None else "violation"):
        raise itf_error(source, "#meta.status", status,
                        f"must be {'ok' if problem is None else 'violation'}: the trace has "
                        f"{'no' if problem is None else 'a'} problem")
    raw_states = itf_array(data.get("states"), source, "states")
    if not raw_states:
        raise itf_error(source, "states", raw_states, "must hold at least the initial state")
    initial, _, _ = _step_from(raw_states[0], 0, source)
    steps = []
    for index, raw in enumerate(raw_states[1:], start=1):
        state, event, rejected = _step_from(raw, index, source)
        assert event is not None  # only state 0 has no message
        steps.append(PageTraceStep(event, state, rejected))
    return PageTrace(initial, tuple(steps), trace_source, problem)


def read_page_itf(path: str | os.PathLike[str]) -> PageTrace:
    """Read the page trace file at ``path`` (InputError naming the file on bad input)."""
    source = os.fspath(path)
    return page_trace_from_itf(load_json(read_text(source), source), source)
