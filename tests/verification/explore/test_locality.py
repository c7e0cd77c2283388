"""R-LOCAL (specs/events.md): a single-VM event reads only its VM, free memory and the host,
and changes at most its VM and free memory, for the reference and for every planted bug.

The check compares each step on a whole state with the same step on the one-VM projection
(only the named VM kept), put back in place. The states are the 2-VM preset's reachable
states (every VM in every phase, contention, both VMs busy). The explorer's per-VM memo
(verification/explore/memo.py) is sound exactly when this holds; a planted step that reads
another VM is reported here and makes memoized and direct explorations differ.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from explore_helpers import NONLOCAL

from dynmem.reference.events import BalancerTick, Create, Event, Start
from dynmem.reference.state import DmState
from dynmem.reference.step import Step, StepResult, step
from dynmem.verification.explore.candidates import get_candidate_events
from dynmem.verification.explore.config import get_config
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.mutants.catalogue import MUTANTS

# Every 2nd reachable state for the reference, every 11th for each planted bug (the
# projection doubles the steps; 7,000 states still cover each phase many times over).
STRIDE, BUG_STRIDE = 2, 11


@pytest.fixture(scope="module")
def reachable() -> Exploration:
    return explore(get_config(2), progress=False)


def _single_vm_events(x: Exploration, state: DmState) -> Iterator[tuple[int, Event]]:
    names = [vm.name for vm in state.vms]
    for event in get_candidate_events(state, x.config, x.plan):
        if not isinstance(event, (BalancerTick, Create)):
            yield names.index(event.vm), event


def _put_back(state: DmState, index: int, projected: DmState) -> DmState:
    """``state`` with VM ``index`` replaced by what the one-VM step left (none: deleted)."""
    assert len(projected.vms) <= 1 and projected.host == state.host
    return DmState(state.host, projected.free_mib,
                   (*state.vms[:index], *projected.vms, *state.vms[index + 1:]))


def find_nonlocal_steps(step_fn: Step, x: Exploration, stride: int = 1,
                        ) -> Iterator[tuple[DmState, Event, StepResult, StepResult]]:
    """The (state, event) pairs where ``step_fn`` differs from its one-VM projection."""
    for state in x.states[::stride]:
        for index, event in _single_vm_events(x, state):
            whole = step_fn(state, event)
            alone = DmState(state.host, state.free_mib, (state.vms[index],))
            part = step_fn(alone, event)
            same = (whole.reason is None) == (part.reason is None) and (
                whole.state == (state if part.reason is not None
                                else _put_back(state, index, part.state)))
            if not same:
                yield state, event, whole, part


def test_reference_steps_are_local(reachable: Exploration) -> None:
    """R-LOCAL: on every reachable 2-VM state and every single-VM candidate event (accepted
    or refused), the reference's step is its one-VM step put back in place."""
    assert reachable.n_states > 20_000
    assert next(find_nonlocal_steps(step, reachable, STRIDE), None) is None


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_planted_bug_steps_are_local(reachable: Exploration, mutant: object) -> None:
    """R-LOCAL for each planted bug's step (its bug is in what the VM does, not in reading
    another VM), so the explorer's memo is sound for the catalogue."""
    step_fn = mutant.reference_step
    assert next(find_nonlocal_steps(step_fn, reachable, BUG_STRIDE), None) is None


def test_a_step_reading_another_vm_is_reported(reachable: Exploration) -> None:
    """The check can fail: a start guard that reads another VM is reported."""
    found = next(find_nonlocal_steps(NONLOCAL, reachable), None)
    assert found is not None
    state, event, whole, part = found
    assert isinstance(event, Start) and whole.reason == "another VM is negotiating"
    assert part.reason is None
