"""What ``dynmem oracle --out DIR`` writes for a page-level IUT (specs/formats/oracle.md §9.5):
report.json and report.txt, and on a failure the example as a page-level ITF trace
(trace.itf.json) and as a page conformance vector (case/, §9.8), so it can be read with
``dynmem show`` and replayed against the next version of the IUT with ``dynmem vectors``.

Both carry page messages, not ticks (a tick's outcome is the policy's, not the rules'): a
tick is written as the page messages the IUT sent (``get_case_trace``).
"""

from __future__ import annotations

import json
from pathlib import Path

from dynmem.reference.pages import page_step
from dynmem.verification.atomic import write_atomic
from dynmem.verification.oracle.pageitf import write_page_itf
from dynmem.verification.oracle.pagesession import PageCase, PageRun, report_json, report_text
from dynmem.verification.oracle.pagevectors import (
    PageVectorCase,
    compute_page_fingerprint,
    write_page_vector,
)
from dynmem.verification.oracle.pagewire import PageTick
from dynmem.verification.traces.pagetrace import PageTrace, PageTraceStep

__all__ = ["get_case_trace", "get_case_vector", "write_page_report"]


def get_case_trace(case: PageCase, source: str) -> PageTrace | str:
    """The failing example as a page trace (specs/formats/itf.md §7b), or why it has none.

    Each page message is a step: a guest's or the harness's message with the IUT's state
    after it; a tick, the messages the IUT sent, the last one with the IUT's state after the
    tick and any before it with the state the page rules give (the IUT reports only the
    state after a tick). A tick that sent nothing and changed nothing is left out. The
    trace ends before a step without a usable answer. A tick that changed the state
    without sending a message cannot be written as page messages."""
    steps: list[PageTraceStep] = []
    pre = case.initial
    for number, record in enumerate(case.steps, 1):
        if record.state is None:
            break
        if not isinstance(record.event, PageTick):
            steps.append(PageTraceStep(record.event, record.state, record.rejected))
        elif record.sent:
            for message in record.sent[:-1]:
                result = page_step(pre, message)
                steps.append(PageTraceStep(message, result.state, result.reason))
                pre = result.state
            steps.append(PageTraceStep(record.sent[-1], record.state, None))
        elif record.state != pre:
            return (f"step {number} is a tick that changed the IUT's state without a page "
                    f"message, which a page trace cannot hold")
        pre = record.state
    assert case.divergence is not None
    return PageTrace(case.initial, tuple(steps), source, case.divergence.headline())


def get_case_vector(trace: PageTrace, description: str) -> PageVectorCase | str:
    """The failing example's page messages as a conformance vector, or why it has none.

    Steps the page rules refused before the last (a bad message the IUT refused too: the
    state did not change) are left out, since a vector's events before its last are all
    accepted. The kind is ``reject`` when the rules refuse the last message (the IUT
    accepted it) and ``exact`` otherwise, with the rules' own answers as the expectation."""
    state, events, accepted = trace.initial, [], True
    for number, item in enumerate(trace.steps, 1):
        result = page_step(state, item.event)
        if not result.accepted and number < len(trace.steps):
            continue
        events.append(item.event)
        state, accepted = result.state, result.accepted
    if not events:
        return "the example has no page message"
    name = "shrunk_" + compute_page_fingerprint(trace.initial, events).split(":")[1]
    return PageVectorCase(name, description, "exact" if accepted else "reject", trace.initial,
                          tuple(events), ())


def write_page_report(directory: Path, run: PageRun, iut: str) -> list[Path]:
    """Write report.json and report.txt of a page session, and on a failure trace.itf.json
    and case/ when the example has them (``get_case_trace``, ``get_case_vector``; what it
    lacks is said at the end of report.txt), atomically."""
    missing: list[str] = []
    trace = vector = None
    if run.failure is not None:
        trace = get_case_trace(run.failure, f"dynmem oracle --iut {iut}")
        if isinstance(trace, str):
            missing.append(f"no trace.itf.json or case/: {trace}")
        else:
            assert trace.problem is not None
            vector = get_case_vector(trace, f"page oracle failure: {trace.problem}")
            if isinstance(vector, str):
                missing.append(f"no case/: {vector}")
    written = [directory / "report.json", directory / "report.txt"]
    write_atomic(written[0], json.dumps(report_json(run, iut), indent=2) + "\n", parents=True)
    write_atomic(written[1], report_text(run, iut) + "".join(f"{m}\n" for m in missing),
                 parents=True)
    if isinstance(trace, PageTrace):
        written.append(directory / "trace.itf.json")
        write_page_itf(trace, written[-1])
    if isinstance(vector, PageVectorCase):
        written.append(directory / "case")
        write_page_vector(written[-1], vector)
    return written
