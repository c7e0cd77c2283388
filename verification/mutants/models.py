"""The planted bugs as BMC runs them: one entry per bug of the shared catalogue
(``verification/mutants/catalogue.py``) with its reference-level step and, when it has one, its
model-level variant (``verification/mutants/model_edits.py``, the catalogue's ``model_variant``).

``dynmem bmc --mutant NAME`` searches the model-level variant and replays what it finds
through the reference-level step; ``dynmem mutants`` lists them all.
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import HostProfile
from dynmem.reference.step import Step
from dynmem.verification.mutants.catalogue import MUTANTS
from dynmem.verification.mutants.model_edits import MODEL_MUTANTS, NO_MODEL_VARIANT, ModelMutant


@attrs.frozen
class MutantVariant:
    """One planted bug: what it must break, its model-level and reference-level variants.

    ``invariant`` is what BMC looks for (the model variant's; else the catalogue's first
    expected break); ``breaks`` everything the catalogue says it breaks; ``note`` why there
    is no model-level variant, when there is none.
    """

    name: str
    description: str
    invariant: str
    breaks: tuple[str, ...]
    model: ModelMutant | None
    step: Step | None
    note: str = ""
    # the host profile it shows on (the catalogue's ``explore_profile``): BMC's small scope
    host_profile: HostProfile = HostProfile.QEMU


def _variant(name: str, description: str, breaks: tuple[str, ...], step: Step | None,
             model: ModelMutant | None,
             host_profile: HostProfile = HostProfile.QEMU) -> MutantVariant:
    invariant = model.invariant if model is not None else breaks[0] if breaks else ""
    return MutantVariant(name, description, invariant, breaks, model, step,
                         NO_MODEL_VARIANT.get(name, ""), host_profile)


def list_variants() -> list[MutantVariant]:
    """Every planted bug in catalogue order, then model-only ones (none, normally)."""
    found = [_variant(m.name, m.description, m.breaks, m.reference_step, m.model_variant,
                      m.explore_profile) for m in MUTANTS]
    known = {m.name for m in MUTANTS}
    found += [_variant(m.name, m.description, (m.invariant,), None, m)
              for m in MODEL_MUTANTS.values() if m.name not in known]
    return found


def get_variant(name: str) -> MutantVariant | None:
    """The planted bug called ``name`` if it has a model-level variant, else None."""
    return next((v for v in list_variants() if v.name == name and v.model is not None), None)
