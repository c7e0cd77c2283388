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
# One host rule as a step: (ops, state, ranges, pages outstanding) -> (guard, next state).
BitStep = Callable[[Ops, PageBits, Sequence[BitRange], Term], tuple[Term, PageBits]]


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


def credit_step(rule: CreditRule) -> BitStep:
    """A balloon-credit rule as a step: a response is always accepted (bad pages are dropped)."""
    def as_step(ops: Ops, bits: PageBits, ranges: Sequence[BitRange],
                outstanding: Term) -> tuple[Term, PageBits]:
        return ops.And(), rule(ops, bits, ranges, outstanding)
    return as_step


def unballoon_step(ops: Ops, bits: PageBits, ranges: Sequence[BitRange],
                   outstanding: Term) -> tuple[Term, PageBits]:
    """An unballoon transaction (request, then response) as one step: the listed pages are
    ballooned and each listed once (R-PG-UNBALLOON-EXACT); see :func:`unballoon_effect`."""
    listed = listed_bits(ops, len(bits.ram), ranges)
    asked = ops.Sum(count for _, count in ranges)
    guard = ops.And(asked == ops.Sum(ops.If(li, 1, 0) for li in listed),
                    *(ops.Implies(li, b) for li, b in zip(listed, bits.ballooned, strict=True)))
    return guard, unballoon_effect(ops, bits, listed, asked)


def unballoon_effect(ops: Ops, bits: PageBits, listed: Sequence[Term], asked: Term) -> PageBits:
    """The listed pages leave the ledger; the counter and free memory drop by the pages
    asked (as ``process_unballoon_response`` and the request do)."""
    ballooned = tuple(ops.And(b, ops.Not(li)) for b, li in zip(bits.ballooned, listed,
                                                               strict=True))
    return PageBits(bits.ram, ballooned, bits.count - asked, bits.free - asked, bits.budget)


def hot_add_step(ops: Ops, bits: PageBits, ranges: Sequence[BitRange],
                 outstanding: Term) -> tuple[Term, PageBits]:
    """A fully successful hot-add of the region ``ranges[0]`` as one step: the region lies
    in the domain and shares no page with RAM (R-PG-HOT-ADD-DISJOINT)."""
    start, count = ranges[0]
    region = listed_bits(ops, len(bits.ram), ranges[:1])
    guard = ops.And(start + count <= len(bits.ram),
                    *(ops.Not(ops.And(g, r)) for g, r in zip(region, bits.ram, strict=True)))
    return guard, hot_add_effect(ops, bits, region, count)


def hot_add_effect(ops: Ops, bits: PageBits, region: Sequence[Term], count: Term) -> PageBits:
    """The region joins RAM; free gives up its pages."""
    ram = tuple(ops.Or(r, g) for r, g in zip(bits.ram, region, strict=True))
    return PageBits(ram, bits.ballooned, bits.count, bits.free - count, bits.budget)


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


# The honest host's rules as steps, by name: what the small-scope Z3 check proves.
HONEST_BIT_STEPS: dict[str, BitStep] = {
    "balloon credit": credit_step(credit_bits),
    "unballoon": unballoon_step,
    "hot-add": hot_add_step,
}
