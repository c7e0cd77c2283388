"""The oracle's page-session words: a balancer tick and a host's requests as a plan line,
on top of the page words every report shares (``traces.pagetext``)."""

from __future__ import annotations

from collections.abc import Sequence

from dynmem.reference.events import BalloonRequest
from dynmem.reference.pages import (
    PAGES_PER_MIB,
    PageEvent,
    PageHotAddRequest,
    PageUnballoonRequest,
)
from dynmem.verification.oracle.pagewire import PageTick, WireEvent
from dynmem.verification.traces.pagetext import (
    describe_page_event,
    range_words,
    ranges_words,
    size_words,
)


def describe_request(request: PageEvent) -> str:
    """A host's page request as a plan line."""
    if isinstance(request, BalloonRequest):
        return f"balloon {size_words(request.mib * PAGES_PER_MIB)} from {request.vm}"
    if isinstance(request, PageUnballoonRequest):
        return f"unballoon pages {ranges_words(request.ranges)} to {request.vm}"
    if isinstance(request, PageHotAddRequest):
        return f"hot-add region {range_words(request.region)} to {request.vm}"
    return describe_page_event(request)


def describe_event(event: WireEvent, sent: Sequence[PageEvent] = ()) -> str:
    """``event`` in domain words; a tick lists its targets and the requests it sent."""
    if isinstance(event, PageTick):
        wants = ", ".join(f"{vm} {mib} MiB" for vm, mib in event.targets) or "none"
        plan = "; ".join(describe_request(r) for r in sent) or "nothing to send"
        return f"balancer tick (targets {wants}): {plan}"
    return describe_page_event(event)
