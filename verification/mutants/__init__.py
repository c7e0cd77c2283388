"""The one catalogue of planted bugs that every engine must catch.

``MUTANTS`` / ``get_mutant(name)`` (``catalogue.py``; ``HIBERNATE_MUTANTS``: the bugs only a
guest that never answers shows): realistic balancer bugs as patched
reference steps or policies, each naming the invariants it breaks. Their model-level twins
for BMC are in ``model_edits.py`` (edits of the model's actions) and are paired with the
catalogue by ``models.py`` (``get_variant``); those two import the Z3 model, so this face does
not load them.
"""

from dynmem.verification.mutants.catalogue import (
    BY_NAME,
    HIBERNATE_MUTANTS,
    MUTANTS,
    Mutant,
    get_mutant,
)

__all__ = [
    "BY_NAME", "HIBERNATE_MUTANTS", "MUTANTS", "Mutant", "get_mutant",
]
