"""A page-level trace: the initial page state, each message with the state after it (or the
host's refusal), and the problem found at the last step, if any (specs/pages.md §7).

The page explorer and the oracle's page session keep only a start and the messages of a
shortest path; :func:`replay_page_trace` rebuilds the states with the host that was checked
(the reference or a planted page bug), so the trace shows what that host did.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from dynmem.reference.pages import PageEvent, PageState, page_step
from dynmem.reference.pages.refinement import check_page_step
from dynmem.reference.pages.step import PageStep, PageStepResult

__all__ = ["PageTrace", "PageTraceStep", "recheck_page_trace", "replay_page_trace"]


@attrs.frozen
class PageTraceStep:
    """One message, the state after it, and why the host refused it (None: accepted)."""

    event: PageEvent
    state: PageState
    rejected: str | None = None


@attrs.frozen
class PageTrace:
    """``problem`` is what the last step broke (None: a trace without a finding)."""

    initial: PageState
    steps: tuple[PageTraceStep, ...]
    source: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def replay_page_trace(initial: PageState, events: Sequence[PageEvent], source: str,
                      problem: str | None = None, step_fn: PageStep = page_step) -> PageTrace:
    """The trace of ``events`` from ``initial`` through ``step_fn``."""
    steps, state = [], initial
    for event in events:
        result = step_fn(state, event)
        steps.append(PageTraceStep(event, result.state, result.reason))
        state = result.state
    return PageTrace(initial, tuple(steps), source, problem)


def recheck_page_trace(trace: PageTrace) -> tuple[int, str] | None:
    """The first step (1-based) whose recorded outcome is wrong by the page layer's checks
    (an invariant, the refinement, the exact credit: ``check_page_step``) and why; None when
    every step is right. The file's own ``problem`` is not trusted."""
    pre = trace.initial
    for index, item in enumerate(trace.steps, start=1):
        problem = check_page_step(pre, item.event, PageStepResult(item.state, item.rejected))
        if problem is not None:
            return index, problem
        pre = item.state
    return None
