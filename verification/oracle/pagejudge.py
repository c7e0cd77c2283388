"""Judge one page-level step of an IUT (specs/formats/oracle.md §9.4): the page rules
(``page_step``), the page invariants (PINV-*) and the refinement to the amount level.

Every page-level event but the tick is deterministic, so the IUT's state after it must be
the one ``page_step`` gives, and it must refuse exactly what ``page_step`` refuses. At a tick
the host chooses: each page request it sent must be one ``page_step`` accepts in the state
the previous ones left, and its state must be the one they lead to. After every step the
IUT's state must keep every page invariant, and the step must refine an amount-level step
(``check_refinement_step``). Classes and their order are the amount level's (§3):
``invariant``, then ``not-allowed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from dynmem.reference.pages import (
    PAGE_INVARIANTS,
    PAGES_PER_MIB,
    PageEvent,
    PageState,
    PageStepResult,
    check_refinement_step,
    get_page_violations,
    page_step,
)
from dynmem.verification.oracle.judge import INVARIANT, NOT_ALLOWED, PROTOCOL
from dynmem.verification.oracle.pagewire import (
    PageObserved,
    PageTick,
    WireEvent,
    observation_to_json,
)
from dynmem.verification.traces.pagetext import set_words, size_words

PageStep = Callable[[PageState, PageEvent], PageStepResult]
_STATEMENTS = {inv.id: inv.statement for inv in PAGE_INVARIANTS}


@attrs.frozen
class PageDivergence:
    """The first page-level step where the IUT went wrong, and how."""

    cls: str
    step: int  # 1-based index of the event; 0 = at hello/reset
    event: WireEvent | None
    reason: str
    detail: str | None = None  # the PINV id, the refusing rule, or the protocol fault
    expected: Any = None  # the observation the page rules give (JSON), if one
    observed: Any = None  # the IUT's observation (JSON), if one
    stderr_tail: str = ""

    @property
    def signature(self) -> tuple[str, str | None]:
        """What must stay the same while shrinking: class and detail."""
        return (self.cls, self.detail)

    def headline(self) -> str:
        what = {INVARIANT: "invariant broken", NOT_ALLOWED: "step not allowed by the page rules",
                PROTOCOL: "protocol fault"}.get(self.cls, self.cls)
        detail = f" ({self.detail})" if self.detail else ""
        return f"{what}{detail} at step {self.step}: {self.reason}"


def describe_violation(state: PageState, invariant: str) -> str:
    """``invariant`` broken in ``state``, with the values that break it."""
    physical = state.host.physical_mib * PAGES_PER_MIB
    used = state.host.reserve_mib * PAGES_PER_MIB + sum(
        vm.ram.difference(vm.ballooned).size + vm.stranded_pages + vm.in_flight_pages
        for vm in state.vms)
    if invariant == "PINV-ONCE":
        bad = [vm for vm in state.vms if vm.ballooned_count != vm.ballooned.size]
        return "; ".join(f"{vm.name}: counter {vm.ballooned_count} pages, ledger "
                         f"{vm.ballooned.size} pages ({set_words(vm.ballooned)})" for vm in bad)
    if invariant in ("PINV-LEDGER", "PINV-PHYSICAL"):
        return (f"free {state.free_pages} + used {used} = {state.free_pages + used} pages; "
                f"physical {physical} pages ({size_words(physical)})")
    if invariant == "PINV-RAM":
        bad = [vm for vm in state.vms if not vm.ram.contains(vm.ballooned)]
        return "; ".join(f"{vm.name}: ballooned pages {set_words(vm.ballooned.difference(vm.ram))}"
                         f" are not in its RAM" for vm in bad) or _STATEMENTS[invariant]
    if invariant == "PINV-FLOOR":
        bad = [vm for vm in state.vms
               if vm.assigned_pages < vm.settings.startup_mib * PAGES_PER_MIB]
        return "; ".join(f"{vm.name}: assigned {size_words(vm.assigned_pages)} < startup "
                         f"{vm.settings.startup_mib} MiB" for vm in bad)
    return _STATEMENTS[invariant]


def diff_states(expected: PageState, observed: PageState) -> list[str]:
    """``path: expected -> observed`` for each observed field that differs."""
    out: list[str] = []
    want, got = observation_to_json(expected), observation_to_json(observed)
    if want["free_pages"] != got["free_pages"]:
        out.append(f"free_pages: {want['free_pages']} -> {got['free_pages']}")
    for a, b in zip(want["vms"], got["vms"], strict=True):
        out += [f"vms[{a['name']}].{key}: {a[key]} -> {b[key]}" for key in a if a[key] != b[key]]
    return out


def _refused(step: int, event: WireEvent, reason: str, rule: str | None = None,
             **shown: Any) -> PageDivergence:
    return PageDivergence(NOT_ALLOWED, step, event, reason, rule, **shown)


def apply_requests(pre: PageState, requests: tuple[PageEvent, ...],
                   step_fn: PageStep = page_step) -> tuple[PageState, str | None, str | None]:
    """The state the host's ``requests`` lead to, each checked by the page rules and the
    refinement; the refusing rule and reason of the first refused one, if any."""
    state = pre
    for request in requests:
        result = step_fn(state, request)
        if not result.accepted:
            return state, result.rule, f"the host sent a request the rules refuse: {result.reason}"
        problem = check_refinement_step(state, request, result)
        if problem is not None:
            return state, "refinement", problem
        state = result.state
    return state, None, None


def expected_after(pre: PageState, event: WireEvent, sent: tuple[PageEvent, ...],
                   step_fn: PageStep = page_step) -> tuple[PageStepResult, str | None]:
    """What the page rules give after ``event`` (for a tick: after the ``sent`` requests),
    and why a tick's requests are not allowed, if they are not."""
    if isinstance(event, PageTick):
        state, rule, reason = apply_requests(pre, sent, step_fn)
        return PageStepResult(state, None, rule), reason
    return step_fn(pre, event), None


def judge_page_step(step: int, pre: PageState, event: WireEvent, answer: PageObserved,
                    expected: PageStepResult, tick_problem: str | None) -> PageDivergence | None:
    """The first fault of the IUT's step ``pre --event--> answer.state``, or None."""
    post = answer.state
    shown: dict[str, Any] = {"expected": observation_to_json(expected.state),
                             "observed": observation_to_json(post)}
    broken = get_page_violations(post)
    if broken:
        return PageDivergence(INVARIANT, step, event, describe_violation(post, broken[0]),
                              broken[0], **shown)
    if isinstance(event, PageTick):
        if answer.rejected is not None:
            return _refused(step, event, f"the IUT refused a tick ({answer.rejected})", **shown)
        if tick_problem is not None:
            return _refused(step, event, tick_problem, expected.rule, **shown)
    else:
        if answer.sent:
            return _refused(step, event, "the IUT sent requests on an event that is not a tick "
                                         "(Rule P3)", **shown)
        if (answer.rejected is None) != expected.accepted:
            said = ("accepted it" if answer.rejected is None
                    else f"refused it ({answer.rejected})")
            rules = ("accept it" if expected.accepted
                     else f"refuse it by {expected.rule}: {expected.reason}")
            return _refused(step, event, f"the IUT {said}; the page rules {rules}",
                            "acceptance", **shown)
        outcome = PageStepResult(post, expected.reason, expected.rule)
        problem = check_refinement_step(pre, event, outcome)
        if problem is not None:
            return _refused(step, event, f"no amount-level step: {problem}", "refinement",
                            **shown)
    diff = diff_states(expected.state, post)
    if diff:
        return _refused(step, event, "the page rules give a different state (expected -> "
                                     "observed): " + "; ".join(diff[:4]), "state", **shown)
    return None
