"""Planted bug: a partial hot-add never gives the part the guest did not add back to free.

The host takes the whole hot-add amount from free when it sends the request (R-HOT-ADD-
REQUEST). When the guest answers with success but fewer MiB than asked (a partial hot-add,
R-HOT-ADD-RESPONSE), the rest must return to free; this host forgets to, so memory leaks out
of the ledger (INV-CONSERVATION). Full answers and failures are handled correctly, so only a
generator that draws partial answers finds it.
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import HotAddResponse
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, make_step, process_hot_add_response
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl


def hot_add_response_keeping_rest(state: DmState, event: HotAddResponse) -> StepResult:
    result = process_hot_add_response(state, event)
    vm = state.get_vm(event.vm)
    if not result.accepted or vm is None or vm.txn != TxnKind.HOT_ADD:
        return result
    partial = event.success and 0 < event.mib < vm.txn_mib
    if not partial:
        return result
    # The bug: free stays where the request left it; the unused part is lost.
    return StepResult(attrs.evolve(result.state, free_mib=state.free_mib))


def make_iut() -> ReferenceSystem:
    return ReferenceSystem(make_step({HotAddResponse: hot_add_response_keeping_rest}),
                           name="partial hot-add leaks the unused part")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
