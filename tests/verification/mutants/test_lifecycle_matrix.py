"""Issue 14 item 6: every planted bug of the lifecycle is a full row of the mutant x engine
matrix. Each has a model twin, so BMC catches it with a shortest trace that replays in the
reference bug (test_model_mutants.py, slow; ``dynmem verify``'s bmc section); exploration
catches it with a shortest trace (test_mutants_caught.py); the ``thorough`` stateful
campaign catches it within its 3,000 examples (test_thorough_lifecycle.py, slow). The reclaim
order, the one policy bug of the lifecycle, is checked by BMC here in the fast run too."""

from __future__ import annotations

from thorough_cases import LIFECYCLE_BUGS

from dynmem.model.invariants import BY_ID
from dynmem.verification.mutants.catalogue import BY_NAME
from dynmem.verification.mutants.model_edits import MODEL_MUTANTS
from dynmem.verification.symbolic.bmc import Counterexample, check_bmc
from dynmem.verification.symbolic.inductive import check_obligation
from dynmem.verification.symbolic.obligations import (
    CounterexampleToInduction,
    Model,
    Obligation,
    Proved,
)
from dynmem.verification.symbolic.scope import small_scope
from dynmem.verification.traces import render_text


def test_every_lifecycle_bug_is_a_full_row() -> None:
    """In the catalogue, explored with the lifecycle events, and with a model twin for BMC."""
    assert len(LIFECYCLE_BUGS) >= 6
    for name in LIFECYCLE_BUGS:
        bug = BY_NAME[name]
        assert bug.explore_lifecycle, name
        assert bug.model_variant is MODEL_MUTANTS[name], name
        assert bug.model_variant.invariant in bug.evidence, name


def test_bmc_catches_a_reclaim_that_squeezes_the_heaviest_vm() -> None:
    """R-RECLAIM-ORDER dropped for waiting starts: BMC finds INV-RECLAIM-ORDER broken at
    depth 7 with a start waiting, and the trace replays in the reference bug."""
    name = "reclaim_squeezes_higher_weight"
    twin, bug = MODEL_MUTANTS[name], BY_NAME[name]
    outcome = check_bmc(small_scope(2), 8, twin.apply(), [BY_ID["INV-RECLAIM-ORDER"]],
                        bug.reference_step, notes=(("mutant", name),))
    assert isinstance(outcome, Counterexample), outcome
    assert outcome.depth == 7 and outcome.invariants == ("INV-RECLAIM-ORDER",)
    text = render_text(outcome.trace)
    assert "starting" in text and "✗ INV-RECLAIM-ORDER" in text, text


def test_the_proof_of_the_reclaim_order_is_not_vacuous() -> None:
    """Without the guard the tick has a counterexample to induction, at N=2 and any N."""
    buggy = Model(actions=MODEL_MUTANTS["reclaim_squeezes_higher_weight"].apply())
    for n_vms in (2, None):
        obligation = Obligation("consecution", "INV-RECLAIM-ORDER", "BalancerTick", None, n_vms)
        assert isinstance(check_obligation(obligation, buggy), CounterexampleToInduction)
        assert isinstance(check_obligation(obligation), Proved)


def test_the_real_model_keeps_the_reclaim_order() -> None:
    """The same search on the real model finds nothing up to the same depth."""
    outcome = check_bmc(small_scope(2), 8, invariants=[BY_ID["INV-RECLAIM-ORDER"]])
    assert outcome.status == "none", outcome
