"""Traces, the currency of every engine: the type, its files and its pictures.

``Trace`` and ``run_events`` (``trace.py``); ITF JSON (``write_itf``, ``read_itf``); events in
words (``describe_event``, ``words.py``), the text trace for people (``render_text``,
``text.py``), the runnable program (``render_program``, ``program.py``) and ``dynmem show``
(``render_show``); clause-level blame (``blame.py``, ``traced.py``); the cross-engine shrinker
(``shrink_trace``).
The matplotlib timeline (``plot.py``) and the HTML page (``html.py``) are not loaded by this
face: import them where a picture is wanted.
"""

from dynmem.verification.traces.itf import read_itf, write_itf
from dynmem.verification.traces.program import render_program
from dynmem.verification.traces.show import render_show
from dynmem.verification.traces.shrink import shrink_trace
from dynmem.verification.traces.text import ASCII_MARKS, Marks, describe_finding, render_text
from dynmem.verification.traces.trace import Finding, Trace, TraceStep, run_events
from dynmem.verification.traces.words import describe_event, describe_request, describe_settings

__all__ = [
    "ASCII_MARKS", "Finding", "Marks", "Trace", "TraceStep", "describe_event", "describe_finding",
    "describe_request", "describe_settings", "read_itf", "render_program", "render_show",
    "render_text", "run_events", "shrink_trace", "write_itf",
]
