"""The planted bug the BMC and triage tests share, taken from the catalogue (not a copy): a
start without R-START's 'startup <= free' guard, at both levels."""

from __future__ import annotations

from dynmem.model.actions import Action
from dynmem.reference.step import Step
from dynmem.verification.mutants.catalogue import BY_NAME
from dynmem.verification.mutants.model_edits import MODEL_MUTANTS

START_ANYWAY = "start_without_free_memory"
START_ANYWAY_STEP: Step = BY_NAME[START_ANYWAY].reference_step
START_ANYWAY_ACTIONS: tuple[Action, ...] = MODEL_MUTANTS[START_ANYWAY].apply()
