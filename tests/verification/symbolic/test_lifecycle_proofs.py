"""The lifecycle's auxiliary invariant is needed (specs/invariants.md AUX-LIFECYCLE): without
it the restore obligations have counterexamples to induction, and triage shows them
unreachable (the invariants were too weak, not the model wrong)."""

from __future__ import annotations

import pytest

from dynmem.model.invariants import INVARIANTS
from dynmem.verification.symbolic.inductive import check_obligation
from dynmem.verification.symbolic.obligations import (
    CounterexampleToInduction,
    Model,
    Obligation,
)
from dynmem.verification.symbolic.triage import triage_cti

WITHOUT_AUX_LIFECYCLE = Model(invariants=tuple(i for i in INVARIANTS
                                              if i.id != "AUX-LIFECYCLE"))


@pytest.mark.parametrize("invariant", ["INV-FLOOR", "INV-CEILING", "INV-STATIC",
                                       "INV-NO-DM-STARTUP"])
def test_restore_needs_the_saved_image_to_fit(invariant: str) -> None:
    """A saved image outside startup..maximum would be restored as it is: a CTI."""
    outcome = check_obligation(Obligation("consecution", invariant, "Restore", 0, 2),
                               WITHOUT_AUX_LIFECYCLE)
    assert isinstance(outcome, CounterexampleToInduction), outcome


def test_the_cti_is_unreachable() -> None:
    """Triage: no short path reaches the CTI's pre-state: the invariant was too weak."""
    cti = check_obligation(Obligation("consecution", "INV-FLOOR", "Restore", 0, 2),
                           WITHOUT_AUX_LIFECYCLE)
    assert isinstance(cti, CounterexampleToInduction)
    result = triage_cti(cti, depth=4, invariants=WITHOUT_AUX_LIFECYCLE.invariants)
    assert result.verdict == "unreachable" and "too weak" in result.message
