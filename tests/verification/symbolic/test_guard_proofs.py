"""The protocol guards that are claims carry proofs (specs/proofs.md §5): without the guard,
or with the update that forgets it, the proof of exactly that invariant fails with a
counterexample to induction at exactly that action, and the CTI decodes into reference
states on which the concrete registry check agrees.

The model-level planted bugs are the catalogue's (verification/mutants/model_edits.py), so
the same bugs are also searched by BMC (tests/verification/mutants/test_model_mutants.py)
and explored at the reference level (test_mutants_caught.py).
"""

from __future__ import annotations

import pytest

from dynmem.model.invariants import check_state, check_step
from dynmem.verification.mutants.model_edits import MODEL_MUTANTS
from dynmem.verification.symbolic.inductive import check_inductive, check_obligation
from dynmem.verification.symbolic.obligations import (
    CounterexampleToInduction,
    Model,
    Obligation,
)

# planted bug -> (the action whose consecution fails, the invariant it breaks)
GUARD_BUGS = {
    "hot_add_without_capability": ("HotAddRequest", "INV-ADVERTISED"),
    "balloon_without_capability": ("BalloonRequest", "INV-ADVERTISED"),
    "hot_add_after_partial": ("HotAddRequest", "INV-NO-HOT-ADD-AFTER-PARTIAL"),
    "hot_add_kept_after_partial": ("HotAddResponse", "INV-NO-HOT-ADD-AFTER-PARTIAL"),
    "hot_add_before_unballoon": ("HotAddRequest", "INV-UNBALLOON-FIRST"),
}


def _model(name: str) -> Model:
    mutant = MODEL_MUTANTS[name]
    assert mutant.invariant == GUARD_BUGS[name][1]
    return Model(actions=mutant.apply())


@pytest.mark.parametrize("name", sorted(GUARD_BUGS))
def test_any_n_proof_fails_only_there(name: str) -> None:
    """Any N: every CTI is for the bug's invariant at the bug's action; the rest is proved."""
    action, invariant = GUARD_BUGS[name]
    run = check_inductive(None, _model(name))
    ctis = [o for o in run.outcomes if isinstance(o, CounterexampleToInduction)]
    assert not run.ok and run.count("unknown") == 0
    assert {(o.obligation.action, o.obligation.invariant) for o in ctis} == {
        (action, invariant)}


@pytest.mark.parametrize("name", sorted(GUARD_BUGS))
def test_two_slot_cti_is_a_reference_step(name: str) -> None:
    """N=2: the CTI is a reference pre-state keeping every invariant and a step after which
    the concrete check finds the same invariant broken."""
    action, invariant = GUARD_BUGS[name]
    cti = check_obligation(Obligation("consecution", invariant, action, 0, 2), _model(name))
    assert isinstance(cti, CounterexampleToInduction), cti
    trace = cti.trace
    assert trace is not None and check_state(trace.initial) == []
    step = trace.steps[0]
    assert type(step.event).__name__ == action
    found = check_step(trace.initial, step.event, step.state) + check_state(step.state)
    assert invariant in {v.invariant for v in found}
