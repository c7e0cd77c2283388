"""What the walk judges a step on: the step's states, or views of them that keep only the VMs
that matter, with the same verdict (R-LOCAL for one VM's steps, creates and deletes; a
tick's choices for a tick; tests/verification/walk compare views with whole states)."""

from __future__ import annotations

from collections.abc import Callable

from dynmem.model.invariants import Violation
from dynmem.reference.events import Event
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult
from dynmem.verification.properties.invariants import InvariantCache

__all__ = ["Refinement", "check_step_result", "describe", "get_membership_views",
           "get_tick_views", "rejected"]

Refinement = Callable[..., str | None]


def describe(violation: Violation) -> str:
    """``INV-… (clause): message``."""
    return f"{violation.invariant} ({violation.clause}): {violation.message}"


def check_step_result(pre: DmState, event: Event, result: StepResult,
                      refinement: Refinement | None, checks: InvariantCache) -> str | None:
    """What is wrong with the step ``pre --event--> result`` (None: nothing): R-REJECT for a
    refused event; refinement and the two-state clauses for an accepted one (the state
    clauses of the state after are checked separately)."""
    if not result.accepted:
        return rejected(pre, event, result)
    if refinement is not None:
        why = refinement(pre, event, result.state, result.sent)
        if why is not None:
            return f"refinement: the model does not allow {event!r}: {why}"
    broken = checks.check_step(pre, event, result.state)
    return describe(broken[0]) if broken else None


def get_tick_views(pre: DmState, result: StepResult) -> tuple[DmState, StepResult]:
    """A tick's states restricted to the VMs it changed or sent a request to.

    The model's tick makes one choice per slot; a slot the tick leaves alone, with no
    request, chose nothing: its guards hold and it takes no memory. So the tick's verdict
    on these views is its verdict on the whole states (tests compare the two).
    """
    post = result.state
    if post is pre and not result.sent:  # the reference's empty plan: nothing chosen
        empty = DmState(pre.host, pre.free_mib, ())
        return empty, StepResult(empty, None, ())
    if len(pre.vms) != len(post.vms):
        return pre, result
    named = {request.vm for request in result.sent}
    keep = [i for i, (a, b) in enumerate(zip(pre.vms, post.vms, strict=True))
            if a is not b and a != b or a.name in named or b.name != a.name]
    if len(keep) == len(pre.vms):
        return pre, result
    before = DmState(pre.host, pre.free_mib, tuple(pre.vms[i] for i in keep))
    after = DmState(post.host, post.free_mib, tuple(post.vms[i] for i in keep))
    return before, StepResult(after, None, result.sent)


def get_membership_views(pre: DmState, event: Event, result: StepResult
                      ) -> tuple[DmState, StepResult] | None:
    """A create's or a delete's states restricted to the VM it names, when that VM is the
    only one added or removed and every other VM keeps its value and place (else None).

    Create and Delete are slot actions of the model: their guards and update read only the
    acting slot and (host, free) (``HostView``), and every other slot must keep its value,
    which it does here. So their verdict on these views is the verdict on the whole states,
    as for a single-VM step (R-LOCAL; tests compare the two).
    """
    post = result.state
    short, long = (pre.vms, post.vms) if len(pre.vms) < len(post.vms) else (post.vms, pre.vms)
    if len(long) != len(short) + 1:
        return None
    name = getattr(event, "vm", None)
    i = next((j for j, vm in enumerate(long) if vm.name == name), -1)
    if i < 0 or not all(a is b or a == b for a, b in zip(short, long[:i] + long[i + 1:],
                                                          strict=True)):
        return None
    one = (long[i],)
    before = DmState(pre.host, pre.free_mib, () if pre.vms is short else one)
    after = DmState(post.host, post.free_mib, () if post.vms is short else one)
    return before, StepResult(after, None, result.sent)


def rejected(state: DmState, event: Event, result: StepResult) -> str | None:
    if result.state is state:
        return None
    return f"R-REJECT: {event!r} was rejected ({result.reason}) but changed the state"

