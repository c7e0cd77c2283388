"""Planted bug: a host that counts balloon memory as free as soon as it asks for it.

A correct host adds ballooned pages to free memory only when the guest's response carries
them. This one credits the whole request to free when it sends it (and adds nothing on the
response), so while the balloon is in flight the same memory is counted twice and can be
handed to another VM: a transient overcommit. The ledger breaks at once
(INV-CONSERVATION), and INV-PHYSICAL as soon as the memory is given away.
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import BalloonRequest, BalloonResponse
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, check_request, make_step, process_balloon_response
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl


def send_balloon_crediting_free(state: DmState, request: BalloonRequest) -> StepResult:
    reason = check_request(state, request)
    if reason is not None:
        return StepResult(state, reason)
    vm = state.get_vm(request.vm)
    assert vm is not None
    asked = attrs.evolve(vm, txn=TxnKind.BALLOON, txn_mib=request.mib, txn_done_mib=0)
    # The bug: the requested pages count as free before the guest has returned them.
    return StepResult(attrs.evolve(state.with_vm(asked), free_mib=state.free_mib + request.mib))


def receive_balloon_without_credit(state: DmState, event: BalloonResponse) -> StepResult:
    result = process_balloon_response(state, event)
    if not result.accepted:
        return result
    # Already credited when asked: undo the reference's credit of the returned pages.
    returned = result.state.free_mib - state.free_mib
    return StepResult(attrs.evolve(result.state, free_mib=result.state.free_mib - returned))


def make_iut() -> ReferenceSystem:
    step_fn = make_step({BalloonRequest: send_balloon_crediting_free,
                         BalloonResponse: receive_balloon_without_credit})
    return ReferenceSystem(step_fn, name="overcommit while a balloon is in flight")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
