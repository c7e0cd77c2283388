"""The check both thorough-campaign test files make (test_thorough_lifecycle.py and
test_thorough_guards.py): a planted bug fails the thorough profile (seed 2) within its 3,000
examples, with a property it breaks or the model refusing the step (refinement)."""

from __future__ import annotations

from dynmem.verification.mutants.catalogue import BY_NAME
from dynmem.verification.stateful.fuzz import run_fuzz


def check_thorough_catches(name: str) -> None:
    result = run_fuzz("thorough", mutant=name, seed=2, shrink=False)
    assert not result.ok and result.message is not None
    assert result.first_failure_example is not None and result.first_failure_example <= 3000
    first = result.message.split(" ")[0].rstrip(":")
    assert first in (*BY_NAME[name].evidence, "refinement"), result.message
