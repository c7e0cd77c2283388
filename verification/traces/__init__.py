"""Traces, the currency of every engine: the type, its files and its pictures.

``Trace`` and ``run_events`` (``trace.py``); ITF JSON (``write_itf``, ``read_itf``); the text
for people (``render_text``, ``render_program``) and ``dynmem show`` (``render_show``);
clause-level blame (``blame.py``, ``traced.py``); the cross-engine shrinker (``shrink_trace``).
The matplotlib timeline (``plot.py``) and the HTML page (``html.py``) are not loaded by this
face: import them where a picture is wanted.
"""

from dynmem.verification.traces.itf import read_itf, write_itf
from dynmem.verification.traces.render import describe_event, render_program, render_text
from dynmem.verification.traces.show import render_show
from dynmem.verification.traces.shrink import shrink_trace
from dynmem.verification.traces.trace import Finding, Trace, TraceStep, run_events

__all__ = [
    "Finding", "Trace", "TraceStep", "describe_event", "read_itf", "render_program", "render_show",
    "render_text", "run_events", "shrink_trace", "write_itf",
]
