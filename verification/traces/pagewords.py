"""Why a page step is wrong, in the domain's words (the page walk's report, and
``dynmem show`` of a page trace).

``check_page_step`` says what is wrong in one line that names the event and, for the
refinement, prints both amount-level states whole. A report reads better with the broken
invariants' statements, the fields where the abstraction and the amount level part ways,
and the amount-level event in the words of ``traces/words.py``.
"""

from __future__ import annotations

import attrs

from dynmem.reference.pages import (
    PAGE_INVARIANTS,
    PageEvent,
    PageState,
    abstract_event,
    abstract_state,
    get_page_violations,
)
from dynmem.reference.pages.step import PageStepResult
from dynmem.reference.state import DmState
from dynmem.reference.step import step
from dynmem.verification.traces.words import describe_event

__all__ = ["explain_page_problem"]

_STATEMENTS = {inv.id: inv.statement for inv in PAGE_INVARIANTS}


def _differences(seen: DmState, reached: DmState) -> list[str]:
    """The fields where the abstraction (``seen``) and the amount level (``reached``)
    differ: ``free MiB`` and ``VM.field``."""
    out = []
    if seen.free_mib != reached.free_mib:
        out.append(f"free MiB: the page level abstracts to {seen.free_mib}, the amount "
                   f"level reaches {reached.free_mib}")
    for mine, theirs in zip(seen.vms, reached.vms, strict=True):
        for field in attrs.fields(type(mine)):
            a, b = getattr(mine, field.name), getattr(theirs, field.name)
            if a != b:
                out.append(f"{mine.name}.{field.name}: the page level abstracts to "
                           f"{getattr(a, 'name', a)}, the amount level reaches "
                           f"{getattr(b, 'name', b)}")
    return out


def _refinement_words(pre: PageState, event: PageEvent, result: PageStepResult,
                      problem: str) -> list[str]:
    try:
        before, after = abstract_state(pre), abstract_state(result.state)
    except ValueError as error:
        return [f"the state after it has no amount-level abstraction: {error}"]
    amount_event = abstract_event(before, event, after if result.accepted else before)
    if amount_event is None:
        return [problem]
    amount = step(before, amount_event)
    said = describe_event(amount_event, before=before)
    if not result.accepted:
        return [f"the page level refused it by an amount guard ({result.reason}), but the "
                f"amount level accepts it as: {said}"]
    if not amount.accepted:
        return [f"the page level accepted it; the amount level refuses it as: {said} "
                f"({amount.reason})"]
    return [f"at the amount level it is: {said}", *_differences(after, amount.state)]


def explain_page_problem(pre: PageState, event: PageEvent, result: PageStepResult,
                         problem: str) -> list[str]:
    """Lines saying what the step ``pre --event--> result`` broke: each broken invariant
    with its statement, where the refinement fails, or the exact-credit rule's words."""
    broken = get_page_violations(result.state)
    if broken:
        return [f"{inv}: {_STATEMENTS[inv]}" for inv in broken]
    if problem.startswith("refinement:"):
        return _refinement_words(pre, event, result, problem)
    return [problem.removesuffix(f" ({event!r})")]
