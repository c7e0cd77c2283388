"""The balloon-credit rule page by page, written once over the operator layer
(specs/pages.md §7).

Over a tiny domain of pages ``0 .. len(ram)`` a VM is a bit per page (in RAM, ballooned),
the host's counter and its free pages. :func:`credit_bits` is R-PG-DEDUP, R-PG-RANGE and
R-PG-CREDIT as a formula: evaluated with ``ops.CONCRETE`` on Python bools it must agree with
the interval-based :func:`~dynmem.reference.pages.step.compute_balloon_credit` (a test
checks this); with ``SYMBOLIC`` it is the transition the small-scope Z3 check proves the
page invariants for. :func:`page_bit_invariants` are the page invariants the rule touches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from dynmem.model.ops import Ops, Term

# A range of a message: (start, count), ints or Z3 integer terms.
BitRange = tuple[Term, Term]


@attrs.frozen
class PageBits:
    """One VM over a tiny page domain: RAM and ballooned bits, the host's ballooned counter,
    its free pages, and ``budget``, the pages the host has for VMs (physical − reserve)."""

    ram: tuple[Term, ...]
    ballooned: tuple[Term, ...]
    count: Term
    free: Term
    budget: Term


# A host's balloon-credit rule: (ops, state, ranges, pages outstanding) -> next state.
CreditRule = Callable[[Ops, PageBits, Sequence[BitRange], Term], PageBits]


def listed_bits(ops: Ops, pages: int, ranges: Sequence[BitRange]) -> list[Term]:
    """Per page: whether some range lists it (a page listed twice is listed once)."""
    return [ops.Or(*(ops.And(start <= p, p < start + count) for start, count in ranges))
            for p in range(pages)]


def lowest_bits(ops: Ops, candidates: Sequence[Term], limit: Term) -> list[Term]:
    """The first ``limit`` candidate pages, lowest first."""
    taken, rank = [], ops.Sum(())
    for bit in candidates:
        taken.append(ops.And(bit, rank < limit))
        rank = rank + ops.If(bit, 1, 0)
    return taken


def apply_credit_bits(ops: Ops, bits: PageBits, credit: Sequence[Term], counted: Term) -> PageBits:
    """The ledger gains ``credit``; the counter and free memory gain ``counted`` pages."""
    ballooned = tuple(ops.Or(b, c) for b, c in zip(bits.ballooned, credit, strict=True))
    return PageBits(bits.ram, ballooned, bits.count + counted, bits.free + counted, bits.budget)


def credit_bits(ops: Ops, bits: PageBits, ranges: Sequence[BitRange],
                outstanding: Term) -> PageBits:
    """The honest host: each listed page once, in RAM, not ballooned, lowest first up to what
    is outstanding (R-PG-DEDUP, R-PG-RANGE, R-PG-CREDIT)."""
    listed = listed_bits(ops, len(bits.ram), ranges)
    backed = [ops.And(li, r, ops.Not(b)) for li, r, b in zip(listed, bits.ram, bits.ballooned,
                                                             strict=True)]
    credit = lowest_bits(ops, backed, outstanding)
    return apply_credit_bits(ops, bits, credit, ops.Sum(ops.If(c, 1, 0) for c in credit))


def page_bit_invariants(ops: Ops, bits: PageBits) -> dict[str, Term]:
    """The page invariants over bits, by id: PINV-ONCE, PINV-RAM, PINV-LEDGER, PINV-PHYSICAL.

    The host backs the pages in RAM and not ballooned (summed page by page, which Z3
    decides far faster than RAM pages minus ledger pages; the two agree under PINV-RAM).
    """
    ledger = ops.Sum(ops.If(b, 1, 0) for b in bits.ballooned)
    backed = ops.Sum(ops.If(ops.And(r, ops.Not(b)), 1, 0)
                     for r, b in zip(bits.ram, bits.ballooned, strict=True))
    return {
        "PINV-ONCE": bits.count == ledger,
        "PINV-RAM": ops.And(*(ops.Implies(b, r) for b, r in zip(bits.ballooned, bits.ram,
                                                               strict=True))),
        "PINV-LEDGER": bits.free + backed == bits.budget,
        "PINV-PHYSICAL": backed <= bits.budget,
    }
