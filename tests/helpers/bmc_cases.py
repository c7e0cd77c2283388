"""Shared helpers of the BMC, triage and mutant tests: a reference-level planted bug built
from the real processor (no copy of its logic), and the model mutant that matches it."""

from __future__ import annotations

import attrs

from dynmem.model.actions import Action
from dynmem.reference.events import Start
from dynmem.reference.state import DmState
from dynmem.reference.step import Step, StepResult, make_step, process_start
from dynmem.verification.mutants.model_edits import MODEL_MUTANTS

_PLENTY_MIB = 1 << 40


def _start_anyway(state: DmState, event: Start) -> StepResult:
    """R-START without 'startup <= free': the real processor, run as if memory were free."""
    rich = process_start(attrs.evolve(state, free_mib=state.free_mib + _PLENTY_MIB), event)
    if not rich.accepted:
        return StepResult(state, rich.reason)
    return StepResult(attrs.evolve(rich.state, free_mib=rich.state.free_mib - _PLENTY_MIB))


START_ANYWAY_STEP: Step = make_step({Start: _start_anyway})
START_ANYWAY_ACTIONS: tuple[Action, ...] = MODEL_MUTANTS["start_without_free_memory"].apply()
