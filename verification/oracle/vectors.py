"""Conformance vectors: cases written as directories any language can read (specs §6).

A :class:`VectorCase` is a pre state, events and a kind (``exact``, ``reject``,
``refinement``); ``write_vector`` derives everything else from the reference (the
observation after each event, the post state, sample plans the guards allow or refuse) and
writes pre.json, events.ndjson, meta.json and post.json/steps.ndjson or checks.json.
``collect_cases`` runs the test suite's case generators (``vector_cases``) and turns their
yields into cases; ``write_vectors`` writes them all with an index.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from dynmem.model.invariants import INVARIANTS
from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB, Power
from dynmem.reference.events import (
    LIFECYCLE_EVENTS,
    BalancerTick,
    CapabilitiesReport,
    DmRequest,
    Event,
    HotAddRequest,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, apply_plan, step
from dynmem.verification.atomic import write_atomic
from dynmem.verification.codec import event_to_json, load_json, read_text, state_to_json
from dynmem.verification.errors import InputError
from dynmem.verification.oracle import vector_cases
from dynmem.verification.oracle.fingerprint import compute_fingerprint
from dynmem.verification.oracle.observation import observation_to_json, observe

CASE_KINDS = ("exact", "reject", "refinement")
_CASE_NAME = re.compile(r"(?!\.+$)[A-Za-z0-9_.-]{1,200}")


@attrs.frozen
class VectorCase:
    """One conformance case: its name, what it shows, kind, pre state and events."""

    name: str
    description: str
    kind: str
    pre: DmState
    events: tuple[Event, ...]
    spec: tuple[str, ...] = ()
    source: str = ""


def run_reference(pre: DmState, events: Sequence[Event]) -> list[StepResult]:
    """The reference's result after each event of a case."""
    results, state = [], pre
    for event in events:
        result = step(state, event)
        results.append(result)
        state = result.state
    return results


def check_case(case: VectorCase) -> None:
    """Raise ValueError unless the case is well formed for its kind (a broken generator)."""
    if case.kind not in CASE_KINDS:
        raise ValueError(f"case {case.name}: kind {case.kind!r} is not one of {CASE_KINDS}")
    results = run_reference(case.pre, case.events)
    if case.kind == "reject":
        if not results or results[-1].accepted:
            raise ValueError(f"case {case.name}: the last event must be rejected")
        early = [i for i, r in enumerate(results[:-1], start=1) if not r.accepted]
    else:
        early = [i for i, r in enumerate(results, start=1) if not r.accepted]
    if early and case.kind != "refinement":
        raise ValueError(f"case {case.name}: event {early[0]} is rejected by the reference: "
                         f"{results[early[0] - 1].reason}")


def sample_plans(state: DmState) -> list[tuple[tuple[DmRequest, ...], str | None]]:
    """A few plans at a tick with the guards' verdict: the reference's, nothing, each of its
    requests alone, and mutations that break a guard (too much, twice to one VM)."""
    plan = compute_plan(state)
    candidates: list[tuple[DmRequest, ...]] = [plan, (), *[(r,) for r in plan]]
    for request in plan:
        candidates.append((attrs.evolve(request, mib=request.mib + state.free_mib + 65536),))
        candidates.append((request, request))
    for vm in state.vms:
        candidates.append((HotAddRequest(vm.name, 2),))
    seen, out = set(), []
    for candidate in candidates:
        if candidate in seen:
            continue
        seen.add(candidate)
        out.append((candidate, apply_plan(state, candidate).reason))
    return out


def _checks(case: VectorCase) -> dict[str, Any]:
    plans, state = [], case.pre
    for index, event in enumerate(case.events, start=1):
        if isinstance(event, BalancerTick):
            for requests, reason in sample_plans(state):
                item: dict[str, Any] = {"step": index,
                                        "requests": [event_to_json(r) for r in requests],
                                        "allowed": reason is None}
                if reason is not None:
                    item["reason"] = reason
                plans.append(item)
        state = step(state, event).state
    return {"invariants": [inv.id for inv in INVARIANTS], "plans": plans}


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def needs_lifecycle(case: VectorCase) -> bool:
    """Whether the case's events or state need specs/lifecycle.md (an IUT without the
    lifecycle skips it: ``vectors_runner.py --no-lifecycle``, the plugin by default)."""
    return (any(isinstance(e, LIFECYCLE_EVENTS) for e in case.events)
            or any(vm.power not in (Power.OFF, Power.RUNNING) for vm in case.pre.vms))


def needs_alignment(case: VectorCase) -> bool:
    """Whether a guest of the case advertises a hot-add alignment above 2 MiB (R-HOT-ADD-ALIGN):
    only an IUT of Rule P1c (its hello says ``hot_add_alignment``) is sent such a case."""
    return (any(isinstance(e, CapabilitiesReport) and e.align_mib != DEFAULT_HOT_ADD_ALIGN_MIB
                for e in case.events)
            or any(vm.hot_add_align_mib != DEFAULT_HOT_ADD_ALIGN_MIB for vm in case.pre.vms))


def write_vector(directory: Path, case: VectorCase) -> dict[str, Any]:
    """Write one case directory (atomically per file); return its index entry."""
    check_case(case)
    directory.mkdir(parents=True, exist_ok=True)
    fingerprint = compute_fingerprint(case.pre, case.events)
    expected = "reject" if case.kind == "reject" else "accept"
    policy_free = not any(isinstance(e, BalancerTick) for e in case.events)
    lifecycle = needs_lifecycle(case)
    meta = {"name": case.name, "description": case.description, "kind": case.kind,
            "expected": expected, "fingerprint": fingerprint, "spec": list(case.spec),
            "source": case.source, "policy_free": policy_free, "lifecycle": lifecycle,
            "alignment": needs_alignment(case)}
    header = {"type": "header", "format": "dynmem-vector", "version": 1,
              "vms": len(case.pre.vms), "events": len(case.events)}
    events = [json.dumps(header)] + [json.dumps(event_to_json(e)) for e in case.events]
    write_atomic(directory / "meta.json", _dump(meta))
    write_atomic(directory / "pre.json", _dump(state_to_json(case.pre)))
    write_atomic(directory / "events.ndjson", "\n".join(events) + "\n")
    results = run_reference(case.pre, case.events)
    if case.kind == "exact":
        steps = [json.dumps({"observed": observation_to_json(observe(r.state)),
                             "sent": [event_to_json(s) for s in r.sent]}) for r in results]
        write_atomic(directory / "steps.ndjson", "\n".join(steps) + ("\n" if steps else ""))
        final = results[-1].state if results else case.pre
        write_atomic(directory / "post.json", _dump(state_to_json(final)))
    elif case.kind == "refinement":
        write_atomic(directory / "checks.json", _dump(_checks(case)))
    return {"name": case.name, "kind": case.kind, "expected": expected,
            "fingerprint": fingerprint}


# --- the test suite's cases -------------------------------------------------------------------

CaseFn = Callable[[], Iterator[tuple[str, Any]]]


def case_functions() -> list[CaseFn]:
    """Every ``test_*`` generator of ``vector_cases``, in source order."""
    found = [fn for name, fn in vars(vector_cases).items()
             if name.startswith("test_") and inspect.isgeneratorfunction(fn)]
    return sorted(found, key=lambda fn: fn.__code__.co_firstlineno)


def case_from_yields(fn: CaseFn) -> VectorCase:
    """Run a case generator (its assertions included) and collect its yields into a case.

    A generator yields ``("pre", state)``, ``("events", [...])``, then ``("post", state)``
    for an exact case, ``("post", None)`` for a case whose last event must be rejected, or
    ``("kind", "refinement")``; ``("spec", [...])`` names the rules it covers.
    """
    parts = dict(fn())
    name = fn.__name__.removeprefix("test_")
    kind = parts.get("kind") or ("reject" if parts.get("post", 0) is None else "exact")
    doc = inspect.getdoc(fn) or name
    return VectorCase(name, doc.splitlines()[0], kind, parts["pre"], tuple(parts["events"]),
                      tuple(parts.get("spec", ())),
                      f"dynmem.verification.oracle.vector_cases.{fn.__name__}")


def collect_cases() -> list[VectorCase]:
    """Every case of the suite, checked against the reference."""
    return [case_from_yields(fn) for fn in case_functions()]


def write_vectors(out: Path, cases: Sequence[VectorCase],
                  promote: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """Write every case and promoted case directories under ``out``, then index.json."""
    out.mkdir(parents=True, exist_ok=True)
    index = [write_vector(out / case.name, case) for case in cases]
    for source in promote:
        index.append(promote_case(source, out))
    write_atomic(out / "index.json", _dump({"format": "dynmem-vectors", "version": 1,
                                            "cases": index}))
    return index


def promote_case(source: Path, out: Path, wire: int | None = None) -> dict[str, Any]:
    """Copy a case directory (e.g. an oracle's shrunk ``case/``) into ``out``, keeping its
    fingerprint; the directory is named after the case. ``wire`` is the case's level: None
    for amounts, 2 for pages (§9.8), as its meta.json says."""
    meta_path = source / "meta.json"
    meta = load_json(read_text(meta_path), str(meta_path))
    if not isinstance(meta, dict) or not all(k in meta for k in ("name", "kind", "expected",
                                                                  "fingerprint")):
        raise InputError(str(meta_path), "", None,
                         "must have name, kind, expected and fingerprint")
    if meta.get("wire") != wire:
        raise InputError(str(meta_path), "wire", meta.get("wire"),
                         "is a page-level case: promote it with --pages" if wire is None
                         else "must be 2: an amount-level case is promoted without --pages")
    name = meta["name"]
    if not isinstance(name, str) or not _CASE_NAME.fullmatch(name):
        # the folder is named after it: "../x" or "/x" would write outside OUT
        raise InputError(str(meta_path), "name", name,
                         "must be a case name: letters, digits, '_', '-' and '.', not only dots")
    target = out / name
    if target.resolve() != source.resolve():
        shutil.copytree(source, target, dirs_exist_ok=True)
    return {k: meta[k] for k in ("name", "kind", "expected", "fingerprint")}
