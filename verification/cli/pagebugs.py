"""The bit-level form of a planted page bug named on the command line: what ``prove --pages``
and ``bmc --pages`` put in place of the honest rule it replaces (specs/pages.md §9)."""

from __future__ import annotations

from dynmem.reference.pages.bitmap import BitStep
from dynmem.verification.errors import InputError
from dynmem.verification.mutants.pages import PAGE_MUTANTS_BY_NAME

__all__ = ["get_bit_bug"]


def get_bit_bug(name: str) -> tuple[str, BitStep]:
    """(the honest rule it replaces, its bit-level step) of the page bug ``name``; an
    ``InputError`` naming ``--mutant`` if there is no such bug or it has no bit-level form."""
    bug = PAGE_MUTANTS_BY_NAME.get(name)
    if bug is None:
        with_bits = [n for n, m in PAGE_MUTANTS_BY_NAME.items() if m.twin is not None]
        raise InputError("command line", "--mutant", name,
                         f"is no page bug; --pages takes one of {', '.join(with_bits)}")
    if bug.twin_of is None or bug.twin is None:
        raise InputError("command line", "--mutant", name,
                         "breaks no page invariant (only R-PG-CREDIT on honest answers), so it "
                         "has no bit-level form: use dynmem explore --pages")
    return bug.twin_of, bug.twin
