"""The page walk's text report: what a campaign covered, and a failure in the domain's words.

A green run says how much it did (episodes, steps, accepted and refused, the checks on each
step), how often each shape of the page menu was sent and accepted (and the fewest), and
which rules refused what. A failure adds the episode's swarm mask, how far delta debugging
shortened it, what its last step broke and the shortened trace in the words of
``traces/pagetext.py``.
"""

from __future__ import annotations

from dynmem.reference.pages import PAGE_INVARIANTS
from dynmem.verification.traces.pagetext import render_page_trace
from dynmem.verification.traces.pagetrace import recheck_page_trace
from dynmem.verification.walk.pageoffers import PAGE_GROUPS, PAGE_SHAPES
from dynmem.verification.walk.pagewalk import PageWalkFailure, PageWalkResult

__all__ = ["render_failure_trace", "render_page_walk"]


def _coverage(result: PageWalkResult) -> list[str]:
    lines = [f"checked on every step: the {len(PAGE_INVARIANTS)} page invariants "
             f"({result.invariant_checks:,} checks), the refinement to the amount level and "
             f"the exact credit of honest answers",
             f"shapes sent (accepted), each at least {result.fewest_sent:,} times:"]
    counts = {shape: (sent, accepted) for shape, sent, accepted in result.sent}
    for group, names in PAGE_GROUPS.items():
        cells = [f"{name} {counts[f'{group}:{name}'][0]:,} ({counts[f'{group}:{name}'][1]:,})"
                 for name in names]
        lines.append(f"  {group}: {', '.join(cells)}")
    if result.refusals:
        lines.append("refused by rule: " + ", ".join(
            f"{rule} {n:,}" for rule, n in sorted(result.refusals, key=lambda r: -r[1])))
    return lines


def render_page_walk(result: PageWalkResult) -> str:
    """The summary, the coverage and, on a failure, its shortened trace in words."""
    lines = [result.summary(), *_coverage(result)]
    f = result.failure
    if f is not None:
        left_out = [s for s in PAGE_SHAPES if s not in f.shapes]
        lines += [f"episode {f.episode} sent {len(f.shapes)} of {len(PAGE_SHAPES)} shapes"
                  + (f" (left out: {', '.join(left_out)})" if left_out else ""),
                  f"shortened by delta debugging from {f.episode_steps} to "
                  f"{len(f.trace.steps)} steps ({f.replays} replays)", "",
                  render_failure_trace(f).rstrip("\n")]
    return "\n".join(lines) + "\n"


def render_failure_trace(failure: PageWalkFailure) -> str:
    """The shortened trace in words and its verdict by the re-check (``check_page_step`` on
    every recorded step), with what the wrong step broke in words (``render_page_trace``)."""
    return render_page_trace(failure.trace, recheck_page_trace(failure.trace))
