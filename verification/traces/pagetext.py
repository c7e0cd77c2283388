"""Page-level events and states in words, for every page report (the oracle's page session,
specs/formats/oracle.md §9.5; ``explore --pages``): "a's guest returns pages 0x1200-0x13ff
(2 MiB)".

Sizes are exact: whole MiB in MiB, anything else in KiB (4 KiB pages), never rounded.
"""

from __future__ import annotations

from collections.abc import Sequence

from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB, TxnKind
from dynmem.reference.events import BalloonRequest, UnballoonResponse
from dynmem.reference.pages import (
    PAGE_KIB,
    PAGES_PER_MIB,
    PageBalloonResponse,
    PageEvent,
    PageHotAddRequest,
    PageHotAddResponse,
    PageRange,
    PageSet,
    PageState,
    PageUnballoonRequest,
)
from dynmem.reference.pages.step import PageStepResult
from dynmem.verification.traces.pagetrace import PageTrace
from dynmem.verification.traces.pagewords import explain_page_problem

MAX_RANGES_SHOWN = 4  # of one message or ledger; then "and N more"


def size_words(pages: int) -> str:
    """``pages`` as an exact size.

    Examples
    --------
    >>> size_words(512), size_words(255), size_words(1)
    ('2 MiB', '1020 KiB', '4 KiB')
    """
    if pages % PAGES_PER_MIB == 0:
        return f"{pages // PAGES_PER_MIB} MiB"
    return f"{pages * PAGE_KIB} KiB"


def range_words(pages: PageRange) -> str:
    """``0x1200-0x13ff (2 MiB)``; an empty range is ``0x1200+0 (nothing)``."""
    if pages.count == 0:
        return f"{pages.start:#x}+0 (nothing)"
    return f"{pages.start:#x}-{pages.end - 1:#x} ({size_words(pages.count)})"


def ranges_words(ranges: Sequence[PageRange]) -> str:
    """The ranges of a message in order; a range listed before is marked ``again``."""
    if not ranges:
        return "no pages"
    shown: list[str] = []
    seen: set[PageRange] = set()
    for item in ranges[:MAX_RANGES_SHOWN]:
        shown.append(range_words(item) + (" again" if item in seen else ""))
        seen.add(item)
    more = len(ranges) - MAX_RANGES_SHOWN
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def set_words(pages: PageSet) -> str:
    """A ledger or RAM: its intervals and its total."""
    if not pages.intervals:
        return "none"
    parts = [range_words(PageRange(start, end - start))
             for start, end in pages.intervals[:MAX_RANGES_SHOWN]]
    more = len(pages.intervals) - MAX_RANGES_SHOWN
    text = ", ".join(parts) + (f" and {more} more" if more > 0 else "")
    return text if len(pages.intervals) == 1 else f"{text}: {size_words(pages.size)}"


def describe_page_event(event: PageEvent) -> str:
    """A page message in domain words.

    Examples
    --------
    >>> describe_page_event(PageBalloonResponse("a", (PageRange(0x1200, 512),)))
    "a's guest returns pages 0x1200-0x13ff (2 MiB) (final part)"
    """
    match event:
        case BalloonRequest(vm=vm, mib=mib):
            return f"host asks {vm} to balloon {size_words(mib * PAGES_PER_MIB)}"
        case PageBalloonResponse(vm=vm, ranges=ranges, more_pages=more):
            part = "more to come" if more else "final part"
            if not ranges:
                return f"{vm}'s guest returns no pages ({part})"
            return f"{vm}'s guest returns pages {ranges_words(ranges)} ({part})"
        case PageUnballoonRequest(vm=vm, ranges=ranges):
            return f"host returns pages {ranges_words(ranges)} to {vm}"
        case UnballoonResponse(vm=vm):
            return f"{vm}'s guest takes the unballooned pages back"
        case PageHotAddRequest(vm=vm, region=region):
            return f"host hot-adds region {range_words(region)} to {vm}"
        case PageHotAddResponse(vm=vm, pages=pages, success=success):
            if not success:
                return f"{vm}'s guest reports the hot-add failed (transient)"
            return f"{vm}'s guest reports {size_words(pages)} ({pages} pages) hot-added"
    return repr(event)


def describe_page_state(state: PageState) -> list[str]:
    """One line for the host's free pages, one per VM."""
    lines = [f"free {size_words(state.free_pages)}"]
    for vm in state.vms:
        text = (f"{vm.name}: RAM {set_words(vm.ram)}, ballooned {set_words(vm.ballooned)}, "
                f"counter {size_words(vm.ballooned_count)}")
        if vm.stranded_pages:
            text += f", stranded {size_words(vm.stranded_pages)}"
        if vm.hot_add_align_mib != DEFAULT_HOT_ADD_ALIGN_MIB:  # the default reads as before
            text += f", hot-adds aligned to {vm.hot_add_align_mib} MiB"
        if vm.txn != TxnKind.NONE:
            text += (f"; {vm.txn.name.lower().replace('_', '-')} in flight: "
                     f"{size_words(vm.txn_pages)} asked"
                     + (f", {size_words(vm.txn_done_pages)} credited"
                        if vm.txn == TxnKind.BALLOON else ""))
        if not vm.hot_add_enabled:
            text += "; hot-add disabled"
        lines.append(text)
    return lines


def render_page_trace(trace: PageTrace, recheck: tuple[int, str] | None) -> str:
    """A page trace in words: the start, each message (and a refusal), the state lines that
    changed, and the verdict of the re-check (``recheck``: its first wrong step) beside the
    file's own claim where they differ."""
    before = describe_page_state(trace.initial)
    lines = [f"page trace ({trace.source}), {len(trace.steps)} steps, from "
             f"{'; '.join(before)}:"]
    for index, item in enumerate(trace.steps, start=1):
        lines.append(f"  {index}. {describe_page_event(item.event)}"
                     + (f": refused, {item.rejected}" if item.rejected is not None else ""))
        after = describe_page_state(item.state)
        lines += [f"       -> {line}" for line in after if line not in before]
        before = after
    if recheck is None:
        lines.append("verdict: ok, every page invariant, the refinement to the amount level "
                     "and the exact credit held on every step")
    else:
        lines += _describe_violation(trace, *recheck)
    if (recheck is None) != trace.ok:
        lines.append(f"re-check: the file says {trace.problem or 'no problem'}; replayed, "
                     f"{'the steps are right' if recheck is None else 'see the verdict'}")
    return "\n".join(lines) + "\n"


def _describe_violation(trace: PageTrace, index: int, problem: str) -> list[str]:
    """The verdict on step ``index`` (1-based) and why, in words: each broken invariant with
    its statement, or where the refinement to the amount level fails (the fields that differ,
    not two whole states), or the exact-credit rule's words."""
    if not 1 <= index <= len(trace.steps):
        return [f"verdict: VIOLATION at step {index}: {problem}"]
    item = trace.steps[index - 1]
    pre = trace.initial if index == 1 else trace.steps[index - 2].state
    why = explain_page_problem(pre, item.event, PageStepResult(item.state, item.rejected),
                               problem)
    head = ("the refinement to the amount level fails" if problem.startswith("refinement:")
            or not why else why.pop(0))
    return [f"verdict: VIOLATION at step {index}: {head}", *(f"  {line}" for line in why)]
