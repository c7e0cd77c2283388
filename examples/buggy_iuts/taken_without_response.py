"""Planted bug: the host takes ballooned memory when it sends the request.

A correct host counts balloon pages as free only when the guest's response carries them.
This one moves the whole amount out of the VM and into free as soon as it asks, and ignores
the pages the response brings: memory leaves a running VM without a balloon response
(INV-NO-HOST-PAGING).
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import BalloonRequest, BalloonResponse
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, check_request, make_step
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl


def send_balloon_taking_now(state: DmState, request: BalloonRequest) -> StepResult:
    reason = check_request(state, request)
    if reason is not None:
        return StepResult(state, reason)
    vm = state.get_vm(request.vm)
    assert vm is not None
    # The bug: the pages count as returned before the guest has answered.
    taken = attrs.evolve(vm, ballooned_mib=vm.ballooned_mib + request.mib, txn=TxnKind.BALLOON,
                         txn_mib=request.mib, txn_done_mib=0)
    return StepResult(attrs.evolve(state.with_vm(taken), free_mib=state.free_mib + request.mib))


def ignore_balloon_response(state: DmState, event: BalloonResponse) -> StepResult:
    vm = state.get_vm(event.vm)
    if vm is None or vm.txn != TxnKind.BALLOON:
        return StepResult(state, f"{event.vm} has no balloon in flight")
    idle = attrs.evolve(vm, txn=TxnKind.NONE, txn_mib=0, txn_done_mib=0)
    return StepResult(state.with_vm(idle))


def make_iut() -> ReferenceSystem:
    step_fn = make_step({BalloonRequest: send_balloon_taking_now,
                         BalloonResponse: ignore_balloon_response})
    return ReferenceSystem(step_fn, name="takes memory without a balloon response")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
