"""What the model counts memory in: MiB (the amount level) or 4 KiB pages (issue 15).

The model's actions and invariants are written over integer amounts and never assume a unit,
except in a few places this value answers: the range of a setting, the 2 MiB unit a request
moves, the protocol caps, a hot-add alignment, the Linux balloon floor, and how a guest's
answer is credited (model/quantities.py). In MiB a balloon or hot-add answer is credited in
whole 2 MiB units (what the amount reference does); in pages it is credited exactly, page for
page, and a partial hot-add charges its last 2 MiB unit whole, the tail stranded
(specs/pages.md R-PG-CREDIT, R-PG-HOT-ADD-CREDIT). Settings are counted in the same unit (a
MiB setting times 256 in pages), so every comparison stays linear. specs/proofs.md §7 says
what a proof in pages adds to one in MiB.
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import MEMORY_UNIT_MIB

__all__ = ["MIB", "PAGES", "UNITS", "Units"]

@attrs.frozen
class Units:
    """A unit of runtime memory: how many make a MiB, and whether answers are exact."""

    name: str  # as the CLI and the reports spell it
    per_mib: int
    exact: bool  # answers credited page for page (else in whole 2 MiB units)

    @property
    def unit(self) -> int:
        """The 2 MiB unit every setting and every host request is a multiple of."""
        return MEMORY_UNIT_MIB * self.per_mib

    def of_mib(self, mib: int) -> int:
        """A MiB constant (a setting's bound, a protocol cap) in this unit."""
        return mib * self.per_mib


MIB = Units("mib", 1, exact=False)
PAGES = Units("page", 256, exact=True)  # 4 KiB pages
UNITS: dict[str, Units] = {u.name: u for u in (MIB, PAGES)}
