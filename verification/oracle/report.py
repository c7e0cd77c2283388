"""The first-divergence report of ``dynmem oracle`` (specs/formats/oracle.md §4).

``report_to_json`` and ``report_text`` describe one :class:`SearchResult`; ``write_report``
writes report.json, report.txt, trace.itf.json and the shrunk case as a conformance vector
into a directory, every file atomically. ``compute_fingerprint`` is the stable identity of
an input (pre state + events) shared with the vectors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dynmem.verification.atomic import write_atomic
from dynmem.verification.codec import event_to_json
from dynmem.verification.oracle.fingerprint import compute_fingerprint
from dynmem.verification.oracle.judge import CLASS_WORDS, CaseResult
from dynmem.verification.oracle.search import SearchResult
from dynmem.verification.oracle.vectors import VectorCase, write_vector
from dynmem.verification.traces import render_text
from dynmem.verification.traces.itf import write_itf


def before_any_state(case: CaseResult | None) -> bool:
    """Whether ``case`` failed at hello, before the IUT was given any state: its initial
    state is a placeholder, so there is no trace, fingerprint or case to show."""
    return case is not None and dict(case.trace.notes).get("phase") == "hello"


def report_to_json(result: SearchResult, kind: str, mode: str, iut: str,
                   model: str) -> dict[str, Any]:
    """report.json as in specs/formats/schemas/report.schema.json."""
    case = result.failure
    d = case.divergence if case is not None else None
    traced = case is not None and not before_any_state(case)
    return {
        "verdict": "fail" if d is not None else "pass",
        "class": d.cls if d else None,
        "detail": d.detail if d else None,
        "step": d.step if d else None,
        "event": event_to_json(d.event) if d and d.event is not None else None,
        "expected": d.expected if d else None,
        "observed": d.observed if d else None,
        "diff": [item.to_json() for item in d.diff] if d else [],
        "violations": [{"invariant": v.invariant, "clause": v.clause, "vm": v.vm,
                        "message": v.message} for v in d.violations] if d else [],
        "reason": d.reason if d else None,
        "steps": len(case.events) if case else 0,
        "fingerprint": compute_fingerprint(case.initial, case.events) if traced and case
        else None,
        "seed": None if before_any_state(case) else result.seed,
        "kind": kind, "mode": mode, "iut": iut,
        "examples": result.examples, "shrink_runs": result.shrink_runs,
        "shrunk": result.shrunk, "model": model,
        "stderr_tail": d.stderr_tail if d else "",
        "reference_plan": d.reference_plan if d else None,
        "phases": [dict(p) for p in result.phases],
        "cells": _cells_to_json(result),
        "seeds": [dict(line) for line in result.seeds],
    }


def _cells_to_json(result: SearchResult) -> dict[str, Any] | None:
    """The random phase's coverage against the exhaustive phase's reachable cells."""
    if not result.random_phase or not result.reachable_cells:
        return None
    want = result.reachable_cells
    return {"reachable": len(want), "hit": len(want & result.cells),
            "top_up": result.top_up, "top_up_hit": len(want & result.top_up_cells),
            "missed": [list(c) for c in sorted(want - result.cells)],
            "situations_hit": sorted(result.situations & result.reachable_situations),
            "situations_missed": sorted(result.reachable_situations - result.situations)}


def cells_text(result: SearchResult) -> list[str]:
    """The random phase's cells hit and missed, for people."""
    data = _cells_to_json(result)
    if data is None:
        return []
    lines = [f"random phase coverage: {data['hit']} of {data['reachable']} cells reachable in "
             f"the exhaustive presets hit (event kind x channel x transaction x answer)"]
    if data["top_up"]:
        lines.append(f"    {data['top_up_hit']} of them first by the top-up: "
                     f"{data['top_up']} witness examples of the cells the generated ones "
                     f"missed")
    lines += [f"    missed: {' / '.join(cell)}" for cell in data["missed"]]
    lines.append(f"situations of issue 12 met: {len(data['situations_hit'])} of "
                 f"{len(data['situations_hit']) + len(data['situations_missed'])}")
    lines += [f"    missed: {name}" for name in data["situations_missed"]]
    return lines


def seeds_text(result: SearchResult) -> list[str]:
    """A several-seed random phase, a line per seed (the trace below is the first failing
    seed's)."""
    lines = [f"random phase: {len(result.seeds)} seeds, each its own run of the IUT"]
    for line in result.seeds:
        plural = "" if line["examples"] == 1 else "s"
        verdict = ("pass" if line["verdict"] == "pass" else
                   f"FAIL ({line['class']}) in {line['steps']} events "
                   f"({line['shrink_runs']} shrink runs)")
        lines.append(f"    seed {line['seed']}: {verdict}; {line['examples']} example{plural}")
    return lines


def _trace_lines(case: CaseResult, kind: str) -> list[str]:
    """The readable trace, whose closing verdict line agrees with the divergence."""
    d = case.divergence
    assert d is not None
    title = ("trace (states as the IUT reported them):" if kind == "system" else
             "trace (states the harness computed: the reference played every event, "
             "the IUT's plans were sent at ticks):")
    # The trace carries the divergence in its notes, so the renderer's closing verdict line
    # already says FAIL for a divergence that breaks no invariant.
    rendered = render_text(case.trace).rstrip("\n").split("\n")
    return ["", title, *rendered, ""]


def report_text(result: SearchResult, kind: str, mode: str, iut: str, model: str) -> str:
    """The report for people: verdict, where, the diff, the blame, the readable trace."""
    runs = f", then {result.shrink_runs} shrink runs" if result.shrink_runs else ""
    case = result.failure
    seed = "" if before_any_state(case) else f", seed {result.seed}"
    head = [f"dynmem oracle: {iut} ({kind}, {mode} mode; model: {model})"]
    head += [f"exhaustive phase: {p['verdict']} ({p['requests_per_second']:,} requests/s)"
             for p in result.phases]
    if result.random_phase and result.seeds:
        head += seeds_text(result)
        head += cells_text(result)
    elif result.random_phase:
        head.append(f"random phase: examples generated: {result.examples}{runs}{seed}")
        head += cells_text(result)
    if case is None or case.divergence is None:
        verdict = ("verdict: PASS, no divergence found" if not result.phases else
                   "verdict: PASS, conforms on every reachable state of the presets above"
                   + (f" and no divergence in {result.examples} random examples"
                      if result.examples else ""))
        return "\n".join(head + [verdict]) + "\n"
    d = case.divergence
    lines = head + [
        f"verdict: FAIL, {CLASS_WORDS[d.cls]}" + (f" ({d.detail})" if d.detail else ""),
        f"first divergence: {d.headline()}",
    ]
    if not before_any_state(case):
        plural = "s" if len(case.events) != 1 else ""
        lines.append(f"example: {len(case.events)} event{plural}"
                     + (", shrunk" if result.shrunk else ", not shrunk")
                     + f"; fingerprint {compute_fingerprint(case.initial, case.events)}")
    if d.event is not None:
        lines.append(f"event: {json.dumps(event_to_json(d.event))}")
    if d.reason and d.violations:
        lines.append(f"reason: {d.reason}")
    for v in d.violations:
        lines.append(f"broken: {v.invariant} [{v.clause}] {v.message}")
    if d.diff:
        lines.append("diff (path: expected -> observed):")
        lines += [f"    {item.to_text()}" for item in d.diff]
    if d.reference_plan is not None:
        lines.append("for information, the reference would plan (not required in "
                     f"refinement mode): {json.dumps(d.reference_plan)}")
    lines += [f"note: {n}" for n in result.notes]
    if d.stderr_tail.strip():
        lines.append("IUT stderr (last lines):")
        lines += ["    " + t for t in d.stderr_tail.strip().splitlines()[-10:]]
    if before_any_state(case):
        lines.append("no trace: the IUT failed at hello, before it was given any state")
        return "\n".join(lines) + "\n"
    return "\n".join(lines + _trace_lines(case, kind))


def write_case(directory: Path, case: CaseResult, description: str, source: str) -> str:
    """Write ``case``'s input as a refinement conformance vector (§6); return its fingerprint."""
    fingerprint = compute_fingerprint(case.initial, case.events)
    name = "shrunk_" + fingerprint.split(":")[1]
    write_vector(directory, VectorCase(name, description, "refinement", case.initial,
                                       case.events, source=source))
    return fingerprint


def write_report(directory: Path, result: SearchResult, kind: str, mode: str, iut: str,
                 model: str) -> list[Path]:
    """Write report.json, report.txt and, on a failure, trace.itf.json and case/."""
    written = [directory / "report.json", directory / "report.txt"]
    data = report_to_json(result, kind, mode, iut, model)
    write_atomic(written[0], json.dumps(data, indent=2) + "\n", parents=True)
    write_atomic(written[1], report_text(result, kind, mode, iut, model), parents=True)
    case = result.failure
    if case is not None and case.divergence is not None and not before_any_state(case):
        write_itf(case.trace, directory / "trace.itf.json")
        written.append(directory / "trace.itf.json")
        headline = case.divergence.headline()
        write_case(directory / "case", case, f"shrunk oracle failure: {headline}",
                   f"dynmem oracle --iut {iut!r} --seed {result.seed}")
        written.append(directory / "case")
    return written
