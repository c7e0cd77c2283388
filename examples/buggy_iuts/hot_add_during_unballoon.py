"""Planted bug: a policy that hot-adds to a VM whose unballoon is still in flight.

When a VM needs more than its ballooned pages can give back, the policy sends the hot-add
for the rest at once instead of waiting for the guest's unballoon response: a second
transaction while one is in flight (R-REQUEST-2, INV-ONE-TXN). The guards refuse it, so the
oracle reports ``not-allowed``. Reaching it takes a deep interleaving: the VM ballooned
(demand fell), demand rose past what was ballooned, an unballoon sent, and a tick before
the guest answers.
"""

from __future__ import annotations

from dynmem.model.vocabulary import HOT_ADD_REQUEST_CAP_MIB, TxnKind
from dynmem.reference.events import DmRequest, HotAddRequest
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState, compute_floor_to_unit, compute_target
from dynmem.verification.oracle.reference_iut import ReferencePolicy
from dynmem.verification.oracle.wire import serve_jsonl


def plan_hot_add_early(view: DmState) -> tuple[DmRequest, ...]:
    """Hot-add what an unballoon in flight will not cover; otherwise the reference's plan."""
    for vm in view.vms:
        if not (vm.txn == TxnKind.UNBALLOON and vm.has_report and vm.cap_hot_add
                and vm.hot_add_enabled):
            continue
        target = compute_target(vm.report_mib, vm.settings)
        # The bug: nothing waits for the unballoon response (one transaction at a time).
        give = compute_floor_to_unit(min(target - vm.visible_mib, view.free_mib,
                                         HOT_ADD_REQUEST_CAP_MIB))
        if give > 0:
            return (HotAddRequest(vm.name, give),)
    return compute_plan(view)


def make_iut() -> ReferencePolicy:
    return ReferencePolicy(plan_hot_add_early, name="hot-adds during an unballoon")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
