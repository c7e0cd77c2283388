"""The proof-support report (specs/proofs.md §5): what each proof actually used.

Every premise of an obligation (an invariant clause of IndInv, an action guard, a lemma) is
tracked by a named Bool; Z3's unsat core says which ones the proof needed. Summed over a
run, this shows which clauses carry the proofs and which premises NOTHING uses: an unused
guard may be redundant (or its invariant is missing), an unused clause is never needed to
prove anything else (it may still be a claim of its own).

Cores are not guaranteed minimal (Z3 does not minimize them by default), so "used" is an
over-approximation and "unused" is reliable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import attrs

from dynmem.model.invariants import is_state_clause
from dynmem.verification.symbolic.obligations import REAL_MODEL, Model, ProofRun, Proved


@attrs.frozen
class Support:
    """Use counts of every premise over the proved obligations, and the unused ones."""

    uses: tuple[tuple[str, int], ...]
    unused_clauses: tuple[str, ...]
    unused_guards: tuple[str, ...]
    proofs: int


def get_premise_labels(model: Model) -> tuple[list[str], list[str]]:
    """Every clause premise label (``INV-…: clause``) and guard label of ``model``."""
    clauses = [f"{inv.id}: {c.name}" for inv in model.invariants for c in inv.clauses
               if is_state_clause(c)]
    guards = [f"guard {a.name}: {g.name}" for a in model.actions for g in a.guards]
    guards += [f"guard {a.name}: {a.aggregate.name}" for a in model.actions
               if a.aggregate is not None]
    return clauses, guards


def compute_support(runs: Iterable[ProofRun], model: Model = REAL_MODEL) -> Support:
    """Aggregate the unsat cores of every proved obligation of ``runs``."""
    counts: Counter[str] = Counter()
    proofs = 0
    for run in runs:
        for outcome in run.outcomes:
            if isinstance(outcome, Proved):
                proofs += 1
                counts.update(outcome.core)
    clauses, guards = get_premise_labels(model)
    return Support(
        uses=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        unused_clauses=tuple(c for c in clauses if not counts[c]),
        unused_guards=tuple(g for g in guards if not counts[g]),
        proofs=proofs,
    )
