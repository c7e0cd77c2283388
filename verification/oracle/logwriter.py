"""The writer of check-trace logs (specs/formats/oracle.md §5): ``format_log``.

A log is a header line with the initial state, then one JSON line per event with the
observation after it (and the requests a tick sent, or why the event was rejected). The
reader and checker is ``checktrace.py``; synthetic logs to write come from ``loggen.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from dynmem.reference.events import Event
from dynmem.reference.state import DmState
from dynmem.verification.codec import event_to_json, state_to_json
from dynmem.verification.oracle.iut import Observed
from dynmem.verification.oracle.observation import observation_to_json

# The header's "format" and "version" (Rule L1); the reader refuses any other.
LOG_FORMAT = "dynmem-log"
LOG_VERSION = 1


def format_log(initial: DmState, entries: Iterable[tuple[Event, Observed]],
               source: str = "dynmem") -> Iterator[str]:
    """The lines of a log (§5) for ``initial`` and ``(event, answer)`` pairs, header first."""
    yield json.dumps({"type": "header", "format": LOG_FORMAT, "version": LOG_VERSION,
                      "initial": state_to_json(initial), "source": source})
    for event, answer in entries:
        entry: dict[str, Any] = {"event": event_to_json(event),
                                 "observed": observation_to_json(answer.observation)}
        if answer.sent:
            entry["sent"] = [event_to_json(r) for r in answer.sent]
        if answer.rejected is not None:
            entry["rejected"] = answer.rejected
        yield json.dumps(entry)
