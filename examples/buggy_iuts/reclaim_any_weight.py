"""Planted bug: a policy whose start-time reclaim squeezes VMs of any weight.

To admit a start that waits for reclaim (P-RECLAIM), Hyper-V balloons running VMs of
strictly lower weight than the starting one, lowest first, never below startup. This policy
forgets the weight rule (the catalogue's ``reclaim_squeezes_higher_weight``): a VM of higher
weight is squeezed for a lower-weight start. Every request passes the guards and no
invariant breaks; the oracle reports ``no-progress`` PROG-RECLAIM-ORDER. Only a policy
checked with ``dynmem oracle --kind policy --lifecycle`` meets waiting starts.
"""

from __future__ import annotations

from dynmem.verification.mutants.catalogue import plan_reclaim_any_weight
from dynmem.verification.oracle.reference_iut import ReferencePolicy
from dynmem.verification.oracle.wire import serve_jsonl


def make_iut() -> ReferencePolicy:
    return ReferencePolicy(plan_reclaim_any_weight, name="reclaims from any weight")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
