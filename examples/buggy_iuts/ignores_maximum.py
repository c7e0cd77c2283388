"""Planted bug: a policy that grows VMs to demand + buffer, ignoring their maximum.

Its target is the buffered demand without the clamp at ``maximum_mib``, so it plans hot-adds
that would take a busy VM past its maximum (INV-CEILING). The guards refuse such a request
(R-HOT-ADD-REQUEST), so the oracle reports ``not-allowed``.
"""

from __future__ import annotations

from dynmem.model.vocabulary import HOT_ADD_REQUEST_CAP_MIB, TxnKind
from dynmem.reference.events import DmRequest, HotAddRequest
from dynmem.reference.policy import compute_plan, is_balanced
from dynmem.reference.state import DmState, compute_ceil_to_unit, compute_floor_to_unit
from dynmem.verification.oracle.reference_iut import ReferencePolicy
from dynmem.verification.oracle.wire import serve_jsonl


def plan_without_maximum(view: DmState) -> tuple[DmRequest, ...]:
    """Hot-add up to the buffered demand, maximum or not; otherwise the reference's plan."""
    for vm in view.vms:
        if not (is_balanced(vm) and vm.txn == TxnKind.NONE and vm.cap_hot_add
                and vm.hot_add_enabled and vm.ballooned_mib == 0):
            continue
        wanted = compute_ceil_to_unit(-(-vm.report_mib * (100 + vm.settings.buffer_pct) // 100))
        give = compute_floor_to_unit(min(wanted - vm.visible_mib, view.free_mib,
                                         HOT_ADD_REQUEST_CAP_MIB))
        # The bug: nothing compares visible + give with maximum_mib.
        if give > 0 and vm.visible_mib + give > vm.settings.maximum_mib:
            return (HotAddRequest(vm.name, give),)
    return compute_plan(view)


def make_iut() -> ReferencePolicy:
    return ReferencePolicy(plan_without_maximum, name="ignores the maximum")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
