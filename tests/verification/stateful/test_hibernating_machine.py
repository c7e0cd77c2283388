"""The stateful machine beside a guest that never answers (``HibernatingMachine``,
specs/lifecycle.md §1): the reference passes with the watchdog in fair runs; the planted bug
only such a guest shows is caught there, and not by the machine of before."""

from __future__ import annotations

import pytest

from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.stateful.fuzz import run_fuzz
from dynmem.verification.stateful.machine import HibernatingMachine, machine_for


def test_machine_for_hibernate() -> None:
    """``machine_for(hibernate=True)`` builds the hibernating machine with the watchdog."""
    machine = machine_for(hibernate=True)
    assert issubclass(machine, HibernatingMachine) and machine.watchdog == 3
    assert machine_for().watchdog is None


def test_the_reference_passes_beside_a_hibernating_guest() -> None:
    result = run_fuzz("ci", hibernate=True, examples=100)
    assert result.ok, result.message


@pytest.mark.slow  # a campaign of ~360 examples, about 17 s CPU
def test_a_watchdog_that_waits_on_balloons_is_caught() -> None:
    """The ci campaign with the hibernating guest (the bug asks for it) fails within 1000
    examples with PROG-FIXED-POINT: the host waits on the silent guest for ever."""
    bug = get_mutant("watchdog_waits_on_balloons")
    result = run_fuzz("ci", mutant=bug.name, refinement=False, shrink=False, examples=1000)
    assert not result.ok and result.message is not None
    assert result.message.startswith("PROG-FIXED-POINT"), result.message
