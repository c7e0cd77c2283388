"""The page reference as a page-level IUT (specs/formats/oracle.md §9): it answers requests
of the page wire (``"wire": 2``) with ``page_step``, or a variant of it (a planted page bug of
``verification/mutants/pages.py``), so the oracle's page session can be checked on a host
that passes and on hosts that must be caught.

At a tick it sends, per idle VM with a target, the first of these that the page rules
accept: a balloon toward the target, the lowest ballooned whole units back, a hot-add region
right after its address space.
"""

from __future__ import annotations

import json
from typing import Any

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import BalloonRequest
from dynmem.reference.pages import (
    PAGES_PER_MIB,
    PAGES_PER_UNIT,
    PageEvent,
    PageHotAddRequest,
    PageRange,
    PageState,
    PageUnballoonRequest,
    abstract_state,
    page_step,
)
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.pagejudge import PageStep
from dynmem.verification.oracle.pagewire import (
    WIRE_PAGES,
    PageTick,
    event_from_json,
    event_to_json,
    observation_to_json,
    state_from_json,
)


def plan_tick(state: PageState, tick: PageTick, step_fn: PageStep = page_step
              ) -> tuple[PageState, tuple[PageEvent, ...]]:
    """The requests the reference host sends at ``tick`` and the state they lead to."""
    sent: list[PageEvent] = []
    for name, target_mib in tick.targets:
        vm = state.get_vm(name)
        if vm is None or vm.txn != TxnKind.NONE:
            continue
        amount = abstract_state(state).get_vm(name)
        assert amount is not None
        gap = target_mib * PAGES_PER_MIB - vm.assigned_pages
        units = abs(gap) // PAGES_PER_UNIT * PAGES_PER_UNIT
        if units == 0:
            continue
        candidates: list[PageEvent] = []
        if gap < 0:
            candidates.append(BalloonRequest(name, units // PAGES_PER_MIB))
        else:
            back = min(units, amount.ballooned_mib * PAGES_PER_MIB)
            if back:
                lowest = vm.ballooned.take_lowest(back)
                candidates.append(PageUnballoonRequest(name, lowest.to_ranges()))
            top = max(end for _, end in vm.regions.intervals)
            start = -(-top // PAGES_PER_UNIT) * PAGES_PER_UNIT
            candidates.append(PageHotAddRequest(name, PageRange(start, units)))
        for request in candidates:
            result = step_fn(state, request)
            if result.accepted:
                state = result.state
                sent.append(request)
                break
    return state, tuple(sent)


class ReferencePageHost:
    """A page-level IUT object: ``answer(request)`` returns the answer of §9 (None at bye)."""

    def __init__(self, step_fn: PageStep = page_step, name: str = "dynmem page reference",
                 hot_add_alignment: bool = False) -> None:
        # hot_add_alignment: the hello says it follows the guest's alignment (Rule P1c), so
        # the harness's guests advertise more than 2 MiB (the page reference does follow it)
        self.step_fn, self.name, self.aligned = step_fn, name, hot_add_alignment
        self.state: PageState | None = None

    def answer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        kind = request.get("type")
        if kind == "hello":
            return {"type": "hello", "protocol": 1, "name": self.name,
                    "capabilities": {"kinds": ["system"]}, "wire": WIRE_PAGES,
                    **({"hot_add_alignment": True} if self.aligned else {})}
        if kind == "reset":
            self.state = state_from_json(request.get("state"), "reset", "state")
            return {"type": "ready"}
        if kind == "event":
            if self.state is None:
                return {"type": "error", "message": "reset first"}
            event = event_from_json(request.get("event"), "event", "event")
            sent: tuple[PageEvent, ...] = ()
            rejected = None
            if isinstance(event, PageTick):
                self.state, sent = plan_tick(self.state, event, self.step_fn)
            else:
                result = self.step_fn(self.state, event)
                self.state, rejected = result.state, result.reason
            return {"type": "observed", "observed": observation_to_json(self.state),
                    "sent": [event_to_json(r) for r in sent], "rejected": rejected}
        if kind == "bye":
            return None
        return {"type": "error", "message": f"unknown request type {kind!r}"}


def serve_pages(host: ReferencePageHost, lines: Any, write: Any) -> int:
    """Answer JSON Lines ``lines`` with ``host`` (a page-level IUT program's main loop)."""
    for line in lines:
        if not line.strip():
            continue
        try:
            answer = host.answer(json.loads(line))
        except (InputError, ValueError) as err:
            answer = {"type": "error", "message": str(err)}
        if answer is None:
            break
        write(json.dumps(answer) + "\n")
    return 0
