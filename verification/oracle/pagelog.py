"""``check-trace`` for page-level logs (specs/formats/oracle.md §9.7): a recorded log whose
header says ``"wire": 2`` holds page states, page events and page observations.

Each entry is judged exactly as the page session judges an IUT's answer
(``pagesession.judge_answer``), one after another, keeping only the current state and the
last few steps (constant memory). As for amount-level logs (Rule L2), an entry without
``rejected`` for an event the rules refuse is no fault by itself: it only has to leave the
state unchanged. A line that cannot be read is an InputError naming the line and the field.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from dynmem.reference.pages import PageState
from dynmem.verification.codec import expect_object, load_json
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.logwriter import LOG_FORMAT, LOG_VERSION
from dynmem.verification.oracle.pagejudge import PageDivergence
from dynmem.verification.oracle.pagesession import PageStepRecord, judge_answer
from dynmem.verification.oracle.pagetext import describe_event
from dynmem.verification.oracle.pagewire import (
    WIRE_PAGES,
    event_from_json,
    event_to_json,
    observation_to_json,
    state_from_json,
    state_to_json,
)
from dynmem.verification.traces.pagetext import describe_page_state

WINDOW = 8  # steps shown before a violation


def is_page_header(obj: Any) -> bool:
    """Whether a log's first line (decoded) is the header of a page-level log."""
    return isinstance(obj, Mapping) and obj.get("wire") == WIRE_PAGES


def read_page_header(obj: Any, source: str) -> PageState:
    head = expect_object(obj, source, "line 1")
    if head.get("type") != "header" or head.get("format") != LOG_FORMAT:
        raise InputError(source, "line 1", head.get("format"),
                         f'must be a header {{"type": "header", "format": "{LOG_FORMAT}", ...}}')
    if head.get("version") != LOG_VERSION:
        raise InputError(source, "line 1.version", head.get("version"),
                         f"must be {LOG_VERSION}")
    return state_from_json(head.get("initial"), source, "line 1.initial")


@attrs.frozen
class PageLogResult:
    """Entries checked, the first violation with its line, and the last steps before it."""

    events: int
    divergence: PageDivergence | None = None
    line: int | None = None
    window_start: PageState | None = None
    window: tuple[PageStepRecord, ...] = ()


def check_page_log(numbered: Iterator[tuple[int, str]], header: Any,
                   source: str) -> PageLogResult:
    """Check the entries of ``numbered`` (line number, text) after the decoded ``header``."""
    state = read_page_header(header, source)
    recent: collections.deque[tuple[PageState, PageStepRecord]] = collections.deque(
        maxlen=WINDOW)
    count = 0
    for number, text in numbered:
        if not text.strip():
            continue
        where = f"{source}: line {number}"
        entry = expect_object(load_json(text, where), where, "")
        if "event" not in entry:
            raise InputError(where, "event", None, "is required")
        event = event_from_json(entry["event"], where, "event")
        answer = {key: value for key, value in entry.items() if key != "event"}
        count += 1
        observed, problem = judge_answer(state, event, answer, count, where)
        if problem is not None and problem.detail == "acceptance" and "rejected" not in entry:
            problem = None  # Rule L2: an unmarked refusal must only leave the state unchanged
            if observed.state != state:
                problem = PageDivergence("not-allowed", count, event,
                                         "the page rules refuse this event, and the log shows "
                                         "the state changed", "state")
        recent.append((state, PageStepRecord(event, observed.sent, observed.state)))
        if problem is not None:
            return PageLogResult(count, problem, number, recent[0][0],
                                 tuple(record for _, record in recent))
        state = observed.state
    return PageLogResult(count)


def report_page_log(result: PageLogResult, log: str) -> str:
    """The readable verdict of a page-level log, with the last steps in words."""
    lines = [f"dynmem check-trace {log}: page-level log (wire 2), {result.events} events"]
    div = result.divergence
    if div is None:
        lines.append("verdict: the log conforms to the page rules; no page invariant violated")
        return "\n".join(lines) + "\n"
    lines += [f"verdict: VIOLATION at line {result.line} (event {div.step})",
              f"first violation: {div.headline()}",
              f"the last {len(result.window)} steps (step 1 here is event "
              f"{div.step - len(result.window) + 1} of the log):"]
    if result.window_start is not None:
        lines.append("  before: " + "; ".join(describe_page_state(result.window_start)))
    for number, record in enumerate(result.window, 1):
        lines.append(f"  {number}. {describe_event(record.event, record.sent)}")
        if record.state is not None:
            lines.append("     -> " + "; ".join(describe_page_state(record.state)))
    return "\n".join(lines) + "\n"


def format_page_log(initial: PageState, steps: Sequence[PageStepRecord],
                    source: str = "dynmem") -> Iterable[str]:
    """A page-level log's lines (header first) for ``steps`` from ``initial``."""
    yield json.dumps({"type": "header", "format": LOG_FORMAT, "version": LOG_VERSION,
                      "wire": WIRE_PAGES, "initial": state_to_json(initial),
                      "source": source}) + "\n"
    for record in steps:
        assert record.state is not None
        yield json.dumps({"event": event_to_json(record.event),
                          "observed": observation_to_json(record.state),
                          "sent": [event_to_json(r) for r in record.sent]}) + "\n"
