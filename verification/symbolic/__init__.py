"""Everything that asks Z3: induction, bounded model checking, witnesses, triage.

``check_inductive`` (specs/proofs.md: initiation, consecution, the any-N decomposition),
``check_bmc`` (shortest counterexamples, replayed in the reference), ``find_witnesses``
(non-vacuity), ``triage_cti`` (is a CTI reachable?), ``compute_support`` (what each proof
used) and refinement of the reference by the model (``check_run``, ``check_sampled``).
"""

from dynmem.verification.symbolic.bmc import check_bmc
from dynmem.verification.symbolic.inductive import check_inductive
from dynmem.verification.symbolic.refinement import check_run, check_sampled
from dynmem.verification.symbolic.scope import get_scope
from dynmem.verification.symbolic.support import compute_support
from dynmem.verification.symbolic.triage import triage_cti
from dynmem.verification.symbolic.witness import find_witnesses

__all__ = [
    "check_bmc", "check_inductive", "check_run", "check_sampled", "compute_support",
    "find_witnesses", "get_scope", "triage_cti",
]
