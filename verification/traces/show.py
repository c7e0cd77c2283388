"""The text of ``dynmem show``: the readable trace with clause-level blame and a short "why".

``render_text`` (verification/traces/text.py) prints the events in domain words, what changed at
each step and the broken clauses with the registry's explanation. This adds, under each
finding of the first failing step, the part of the clause that failed with the values of its
sub-terms (verification/traces/blame.py), and ends with a block that answers a newcomer's four
questions: which invariant, at which step, for which VM, and why.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from dynmem.verification.errors import InputError
from dynmem.verification.traces.blame import blame_lines, describe_why, first_failing_step
from dynmem.verification.traces.text import ASCII_MARKS, Marks, describe_finding
from dynmem.verification.traces.text import render_text as render_trace
from dynmem.verification.traces.trace import Trace
from dynmem.verification.traces.words import describe_event

BLAME_INDENT = " " * 8
WIDTH = 100  # blame lines wrap here, continuing under their text


def _arrowed(indent: str, arrow: str, text: str) -> list[str]:
    """``indent + arrow + text`` wrapped at WIDTH, continuation lines aligned with the text."""
    lead = f"{indent}{arrow} "
    return textwrap.wrap(text, WIDTH, initial_indent=lead, subsequent_indent=" " * len(lead),
                         break_long_words=False, break_on_hyphens=False) or [lead]


def parse_steps(text: str, last: int) -> range:
    """The steps ``A:B`` (both included), ``A:``, ``:B`` or ``N`` of a trace with steps
    ``0..last``.

    Raises
    ------
    InputError
        When ``text`` is not such a range or lies outside ``0..last``.

    Examples
    --------
    >>> parse_steps("3:5", 9), parse_steps("7:", 9), parse_steps("2", 9)
    (range(3, 6), range(7, 10), range(2, 3))
    """
    start_text, sep, end_text = text.partition(":")
    try:
        if not text.strip():
            raise ValueError(text)
        start = int(start_text) if start_text.strip() else 0
        end = int(end_text) if end_text.strip() else last
        if not sep:
            end = start
    except ValueError:
        raise InputError("--steps", "", text,
                         "must be A:B, A:, :B or N with step numbers (0 = initial state)"
                         ) from None
    if not 0 <= start <= end <= last:
        raise InputError("--steps", "", text,
                         f"must lie within the trace's steps 0..{last}, start <= end")
    return range(start, end + 1)


def check_vm_names(trace: Trace, names: Iterable[str]) -> list[str]:
    """``names`` if every one is a VM of the trace (in any state), else an InputError."""
    known: list[str] = []
    for state in (trace.initial, *(s.state for s in trace.steps)):
        known += [vm.name for vm in state.vms if vm.name not in known]
    wanted = list(names)
    for name in wanted:
        if name not in known:
            raise InputError("--vm", "", name, f"no such VM in the trace; known: "
                                               f"{', '.join(known) or '(none)'}")
    return wanted


def where_words(trace: Trace, step: int) -> str:
    """``4: start vm4`` or ``0: the initial state``."""
    if step == 0:
        return "0: the initial state"
    item = trace.steps[step - 1]
    return f"{step}: {describe_event(item.event, item.sent, before=trace.state_at(step - 1))}"


def _why_block(trace: Trace, arrow: str) -> list[str]:
    """The closing answer: per broken invariant of the first failing step, what/where/who/why."""
    lines = []
    for why in describe_why(trace, lambda step: where_words(trace, step)):
        lines += [
            "",
            f"why it failed: {why.invariant} {why.statement}".rstrip(),
            f"    step     {why.where}",
            f"    for      {why.scope} (clause '{why.clause}')",
            f"    values   {why.message}",
            *[line for part in why.parts for line in _arrowed(" " * 13, arrow, part)],
        ]
    return lines


def render_show(trace: Trace, *, full: bool = False, vms: Iterable[str] | None = None,
                steps: range | None = None, ascii: bool = False) -> str:
    """The trace as ``dynmem show`` prints it (see the module docstring).

    Examples
    --------
    >>> from dynmem.reference.events import Start
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.state import initial_state
    >>> from dynmem.verification.traces.trace import run_events
    >>> s = initial_state(HostSettings(4096, 1024), (("web", VmSettings(startup_mib=1024)),))
    >>> print(render_show(run_events(s, [Start("web")]), ascii=True).splitlines()[-1])
    verdict: ok, no invariant violated in 1 step
    """
    marks: Marks = ASCII_MARKS if ascii else Marks()
    lines = render_trace(trace, full=full, vms=vms, steps=steps, ascii=ascii).splitlines()
    for finding in first_failing_step(trace):
        extra = blame_lines(trace, finding)
        anchor = "    " + describe_finding(finding, marks)
        if extra and anchor in lines:
            at = lines.index(anchor) + 1
            arrow = "->" if ascii else "↳"
            lines[at:at] = [line for text in extra
                            for line in _arrowed(BLAME_INDENT, arrow, text)]
    lines += _why_block(trace, "->" if ascii else "↳")
    text = "\n".join(lines) + "\n"
    return text.encode("ascii", "replace").decode("ascii") if ascii else text
