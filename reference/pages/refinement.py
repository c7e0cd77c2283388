"""The refinement check: every page-level step is an amount-level step, or a stutter
(specs/pages.md §5).

``abstract_event`` names the amount-level event a page step is (``None`` where the amount
level has no word for it); ``check_refinement_step`` runs the amount reference's ``step`` on
the abstraction and compares verdicts and states. A page-level refusal by a page rule
(R-PG-…) is a stutter the amount level cannot express (the page level is stricter); a
refusal by an amount guard must be refused by the amount level too.
"""

from __future__ import annotations

from dynmem.reference.events import (
    BalloonRequest,
    BalloonResponse,
    Event,
    HotAddRequest,
    HotAddResponse,
    UnballoonRequest,
    UnballoonResponse,
)
from dynmem.reference.pages.abstraction import abstract_state
from dynmem.reference.pages.events import (
    PageBalloonResponse,
    PageEvent,
    PageHotAddRequest,
    PageHotAddResponse,
    PageUnballoonRequest,
)
from dynmem.reference.pages.honest import check_honest_credit
from dynmem.reference.pages.invariants import get_page_violations
from dynmem.reference.pages.ranges import PAGES_PER_MIB, compute_listed_pages
from dynmem.reference.pages.state import PageState
from dynmem.reference.pages.step import AMOUNT, PageStepResult
from dynmem.reference.state import DmState
from dynmem.reference.step import step


def _moved_mib(before: DmState, after: DmState, name: str, field: str) -> int:
    old, new = before.get_vm(name), after.get_vm(name)
    if old is None or new is None:
        return 0
    return int(getattr(new, field)) - int(getattr(old, field))


def abstract_event(pre: DmState, event: PageEvent, post: DmState) -> Event | None:
    """The amount-level event of the page step ``pre -> post`` (both abstracted).

    A balloon response carries what the amount level saw move (whole 2 MiB units); a
    hot-add response what it saw added; requests carry their pages in MiB, or None when that
    is not whole MiB.
    """
    if isinstance(event, (BalloonRequest, UnballoonResponse)):
        return event
    if isinstance(event, PageBalloonResponse):
        return BalloonResponse(event.vm, _moved_mib(pre, post, event.vm, "ballooned_mib"),
                               event.more_pages)
    if isinstance(event, PageHotAddResponse):
        return HotAddResponse(event.vm, _moved_mib(pre, post, event.vm, "visible_mib"),
                              event.success)
    pages = (compute_listed_pages(event.ranges) if isinstance(event, PageUnballoonRequest)
             else event.region.count)
    if pages % PAGES_PER_MIB:
        return None
    cls = UnballoonRequest if isinstance(event, PageUnballoonRequest) else HotAddRequest
    assert isinstance(event, (PageUnballoonRequest, PageHotAddRequest))
    return cls(event.vm, pages // PAGES_PER_MIB)


def check_refinement_step(pre: PageState, event: PageEvent,
                          result: PageStepResult) -> str | None:
    """Why the page step ``pre --event--> result`` is no amount-level step, or None."""
    try:
        before, after = abstract_state(pre), abstract_state(result.state)
    except ValueError as error:
        return f"not abstractable: {error}"
    if not result.accepted:
        if result.state != pre:
            return f"a refusal changed the state ({result.reason})"
        if result.rule != AMOUNT:
            return None  # a page-only refusal: a stutter at the amount level
        amount_event = abstract_event(before, event, before)
        if amount_event is not None and step(before, amount_event).accepted:
            return (f"page level refused {event!r} by an amount guard ({result.reason}) but "
                    f"the amount level accepts {amount_event!r}")
        return None
    amount_event = abstract_event(before, event, after)
    if amount_event is None:
        return None if after == before else f"{event!r} has no amount-level event"
    amount = step(before, amount_event)
    if not amount.accepted:
        return f"page level accepted {event!r}; the amount level refuses {amount_event!r}: " \
               f"{amount.reason}"
    if amount.state != after:
        return (f"after {event!r} the abstraction is {after!r} but the amount level reaches "
                f"{amount.state!r} by {amount_event!r}")
    return None


def check_page_step(pre: PageState, event: PageEvent, result: PageStepResult) -> str | None:
    """Why one page step is wrong: a broken page invariant (named first: it says most), no
    amount-level step, or an honest answer not credited exactly (R-PG-CREDIT); None when it
    is right."""
    broken = get_page_violations(result.state)
    if broken:
        return f"{', '.join(broken)} broken after {event!r}"
    problem = check_refinement_step(pre, event, result)
    if problem is not None:
        return f"refinement: {problem}"
    problem = check_honest_credit(pre, event, result)
    return None if problem is None else f"{problem} ({event!r})"
