"""The host's page rules page by page, written once over the operator layer
(specs/pages.md §7).

Over a tiny domain of pages ``0 .. len(ram)`` a VM is a bit per page (in RAM, ballooned,
handed out as address space), the host's counter, its stranded pages, the alignment its
guest advertised and the hot-add region in flight; the host has free pages and a budget
shared by its VMs. Each rule is a :data:`BitStep` on one VM of a :class:`PageBits` host:
evaluated with ``ops.CONCRETE`` on Python values it must agree with the interval-based page
reference (tests check this); with ``SYMBOLIC`` it is the transition the small-scope Z3
check proves the page invariants for. :func:`page_bit_invariants` are the page invariants
over bits.

The scope is scaled down: its 2 MiB unit is :data:`BIT_UNIT` pages (R-PG-UNIT,
R-PG-HOT-ADD-CREDIT round to it) and an alignment is a multiple of it (R-HOT-ADD-ALIGN).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from dynmem.model.ops import Ops, Term

__all__ = [
    "BIT_ALIGNMENTS", "BIT_UNIT", "HONEST_BIT_STEPS", "BitMessage", "BitRange", "BitStep",
    "CreditRule", "PageBits", "VmBits", "apply_credit_bits", "credit_bits", "credit_step",
    "hot_add_region_fits", "hot_add_request_effect", "hot_add_request_step",
    "hot_add_response_step", "listed_bits", "lowest_bits", "page_bit_invariants",
    "unballoon_effect", "unballoon_step",
]

# A range of a message: (start, count), ints or Z3 terms.
BitRange = tuple[Term, Term]

# The scope's 2 MiB unit in its pages, and the alignments a guest may advertise there (the
# unit and 2 and 4 of it: as 2, 4 and 8 MiB are to 2 MiB).
BIT_UNIT = 2
BIT_ALIGNMENTS = (2, 4, 8)


@attrs.frozen
class VmBits:
    """One VM over the domain: RAM, ballooned and address-space bits (``regions``: the
    startup region and every region a hot-add used up), the host's ballooned counter, its
    stranded pages, the guest's ``align`` (pages, a multiple of :data:`BIT_UNIT`), and the
    hot-add in flight: ``hot_add`` (a bool) with its region ``txn_start``, ``txn_count``."""

    ram: tuple[Term, ...]
    ballooned: tuple[Term, ...]
    regions: tuple[Term, ...]
    count: Term
    stranded: Term
    align: Term
    hot_add: Term
    txn_start: Term
    txn_count: Term


@attrs.frozen
class PageBits:
    """The host: its VMs, its free pages and ``budget``, the pages it has for VMs
    (physical − reserve)."""

    vms: tuple[VmBits, ...]
    free: Term
    budget: Term

    def with_vm(self, index: int, vm: VmBits, free: Term) -> PageBits:
        """This host with VM ``index`` replaced and ``free`` pages."""
        vms = tuple(vm if i == index else v for i, v in enumerate(self.vms))
        return PageBits(vms, free, self.budget)


@attrs.frozen
class BitMessage:
    """A message to VM ``vm`` (its index): ``ranges`` (a balloon response's or an unballoon's
    ranges, or a hot-add request's region first), ``pages`` (the balloon pages outstanding,
    or the pages a hot-add answer says were added) and ``success`` (a hot-add answer's)."""

    vm: int
    ranges: tuple[BitRange, ...]
    pages: Term = 0
    success: Term = True


# A host's balloon-credit rule: (ops, VM, ranges, pages outstanding) -> (VM, pages counted).
CreditRule = Callable[[Ops, VmBits, Sequence[BitRange], Term], tuple[VmBits, Term]]
# One host rule as a step: (ops, host, message) -> (guard, next host).
BitStep = Callable[[Ops, PageBits, BitMessage], tuple[Term, PageBits]]


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


def _ones(ops: Ops, bits: Sequence[Term]) -> Term:
    return ops.Sum(ops.If(b, 1, 0) for b in bits)


def apply_credit_bits(ops: Ops, vm: VmBits, credit: Sequence[Term],
                      counted: Term) -> tuple[VmBits, Term]:
    """The ledger gains ``credit``; the counter gains ``counted`` pages (and free memory:
    the second value)."""
    ballooned = tuple(ops.Or(b, c) for b, c in zip(vm.ballooned, credit, strict=True))
    return attrs.evolve(vm, ballooned=ballooned, count=vm.count + counted), counted


def credit_bits(ops: Ops, vm: VmBits, ranges: Sequence[BitRange],
                outstanding: Term) -> tuple[VmBits, Term]:
    """The honest host: each listed page once, in RAM, not ballooned, lowest first up to what
    is outstanding (R-PG-DEDUP, R-PG-RANGE, R-PG-CREDIT)."""
    listed = listed_bits(ops, len(vm.ram), ranges)
    backed = [ops.And(li, r, ops.Not(b)) for li, r, b in zip(listed, vm.ram, vm.ballooned,
                                                             strict=True)]
    credit = lowest_bits(ops, backed, outstanding)
    return apply_credit_bits(ops, vm, credit, _ones(ops, credit))


def credit_step(rule: CreditRule) -> BitStep:
    """A balloon-credit rule as a step: a response is always accepted (bad pages are dropped)."""
    def as_step(ops: Ops, bits: PageBits, msg: BitMessage) -> tuple[Term, PageBits]:
        vm, counted = rule(ops, bits.vms[msg.vm], msg.ranges, msg.pages)
        # R-REQUEST-2: one transaction per VM, so no hot-add is in flight beside the balloon
        guard = ops.Not(bits.vms[msg.vm].hot_add)
        return guard, bits.with_vm(msg.vm, vm, bits.free + counted)
    return as_step


def unballoon_step(ops: Ops, bits: PageBits, msg: BitMessage) -> tuple[Term, PageBits]:
    """An unballoon transaction (request, then response) as one step: no hot-add is in
    flight and the host has the pages free (the amount level's guards), and the listed
    pages are ballooned and each listed once (R-PG-UNBALLOON-EXACT); see
    :func:`unballoon_effect`."""
    vm = bits.vms[msg.vm]
    listed = listed_bits(ops, len(vm.ram), msg.ranges)
    asked = ops.Sum(count for _, count in msg.ranges)
    guard = ops.And(ops.Not(vm.hot_add), asked <= bits.free, asked == _ones(ops, listed),
                    *(ops.Implies(li, b) for li, b in zip(listed, vm.ballooned, strict=True)))
    return guard, unballoon_effect(ops, bits, msg.vm, listed, asked)


def unballoon_effect(ops: Ops, bits: PageBits, index: int, listed: Sequence[Term],
                     asked: Term) -> PageBits:
    """The listed pages leave the ledger; the counter and free memory drop by the pages
    asked (as ``process_unballoon_response`` and the request do)."""
    vm = bits.vms[index]
    ballooned = tuple(ops.And(b, ops.Not(li)) for b, li in zip(vm.ballooned, listed,
                                                               strict=True))
    return bits.with_vm(index, attrs.evolve(vm, ballooned=ballooned, count=vm.count - asked),
                        bits.free - asked)


def hot_add_request_step(ops: Ops, bits: PageBits, msg: BitMessage) -> tuple[Term, PageBits]:
    """A hot-add request of the region ``msg.ranges[0]`` to a VM with none in flight: it
    starts on and spans whole blocks of the guest's alignment (R-HOT-ADD-ALIGN, which
    implies R-PG-UNIT), has some pages (R-REQUEST-3), lies in the domain, shares no page
    with the address space handed out (R-PG-HOT-ADD-DISJOINT), and the host has its pages
    free (the amount level's guard); see :func:`hot_add_request_effect`."""
    vm = bits.vms[msg.vm]
    start, count = msg.ranges[0]
    guard = ops.And(start % vm.align == 0, count % vm.align == 0,
                    hot_add_region_fits(ops, bits, msg))
    return guard, hot_add_request_effect(ops, bits, msg)


def hot_add_region_fits(ops: Ops, bits: PageBits, msg: BitMessage) -> Term:
    """No hot-add in flight, a region of some pages (R-REQUEST-3) in the domain and
    disjoint from the address space handed out, its pages free: every guard of a hot-add
    request but the alignment."""
    vm = bits.vms[msg.vm]
    start, count = msg.ranges[0]
    region = listed_bits(ops, len(vm.ram), msg.ranges[:1])
    return ops.And(ops.Not(vm.hot_add), count > 0, start + count <= len(vm.ram),
                   count <= bits.free,
                   *(ops.Not(ops.And(g, r)) for g, r in zip(region, vm.regions, strict=True)))


def hot_add_request_effect(ops: Ops, bits: PageBits, msg: BitMessage) -> PageBits:
    """The region is in flight; free memory gives up its pages."""
    vm = bits.vms[msg.vm]
    start, count = msg.ranges[0]
    nxt = attrs.evolve(vm, hot_add=ops.And(), txn_start=start, txn_count=count)
    return bits.with_vm(msg.vm, nxt, bits.free - count)


def hot_add_response_step(ops: Ops, bits: PageBits, msg: BitMessage) -> tuple[Term, PageBits]:
    """The guest's answer to the hot-add in flight, any page count, success or not
    (R-PG-HOT-ADD-CREDIT): a success adds the region's first ``min(pages, region)`` pages
    to RAM, uses the whole region up, keeps charging the rest of their last unit (stranded)
    and releases the units not added; a failure adds nothing and releases the region."""
    vm = bits.vms[msg.vm]
    start, count = vm.txn_start, vm.txn_count
    added = ops.If(msg.success, ops.Min(msg.pages, count), 0)
    # whole units from the region's start: `added` rounded up to BIT_UNIT
    charged = added + (BIT_UNIT - added % BIT_UNIT) % BIT_UNIT
    pages = len(vm.ram)
    region = listed_bits(ops, pages, [(start, count)])
    online = listed_bits(ops, pages, [(start, added)])
    nxt = attrs.evolve(
        vm, ram=tuple(ops.Or(r, o) for r, o in zip(vm.ram, online, strict=True)),
        regions=tuple(ops.Or(g, ops.And(msg.success, n))
                      for g, n in zip(vm.regions, region, strict=True)),
        stranded=vm.stranded + charged - added, hot_add=ops.Or(), txn_start=0, txn_count=0)
    return vm.hot_add, bits.with_vm(msg.vm, nxt, bits.free + count - charged)


def page_bit_invariants(ops: Ops, bits: PageBits) -> dict[str, Term]:
    """The page invariants over bits, by id: PINV-ONCE, PINV-RAM, PINV-EXTENT, PINV-ALIGNED
    (per VM), PINV-LEDGER and PINV-PHYSICAL (over the host).

    The host backs the pages in RAM and not ballooned (summed page by page, which Z3
    decides far faster than RAM pages minus ledger pages; the two agree under PINV-RAM),
    the stranded pages and a hot-add region in flight. PINV-EXTENT also keeps the region in
    flight in the domain (the scope's bound: the address space of the reference has none).
    """
    used = []
    once, in_ram, extent, aligned = [], [], [], []
    for vm in bits.vms:
        pages = len(vm.ram)
        region = listed_bits(ops, pages, [(vm.txn_start, vm.txn_count)])
        in_flight = ops.If(vm.hot_add, vm.txn_count, 0)
        used.append(_ones(ops, [ops.And(r, ops.Not(b)) for r, b in zip(vm.ram, vm.ballooned,
                                                                        strict=True)])
                    + vm.stranded + in_flight)
        once.append(vm.count == _ones(ops, vm.ballooned))
        in_ram += [ops.Implies(b, r) for b, r in zip(vm.ballooned, vm.ram, strict=True)]
        extent += [*(ops.Implies(r, g) for r, g in zip(vm.ram, vm.regions, strict=True)),
                   _ones(ops, vm.ram) + vm.stranded <= _ones(ops, vm.regions),
                   ops.Implies(vm.hot_add, ops.And(
                       vm.txn_start >= 0, vm.txn_count >= 0, vm.txn_start + vm.txn_count <= pages,
                       *(ops.Not(ops.And(n, g)) for n, g in zip(region, vm.regions,
                                                                strict=True))))]
        aligned.append(ops.Implies(vm.hot_add, ops.And(vm.txn_start % vm.align == 0,
                                                       vm.txn_count % vm.align == 0)))
    total = ops.Sum(used)
    return {
        "PINV-ONCE": ops.And(*once),
        "PINV-RAM": ops.And(*in_ram),
        "PINV-EXTENT": ops.And(*extent),
        "PINV-ALIGNED": ops.And(*aligned),
        "PINV-LEDGER": bits.free + total == bits.budget,
        "PINV-PHYSICAL": total <= bits.budget,
    }


# The honest host's rules as steps, by name: what the small-scope Z3 check proves.
HONEST_BIT_STEPS: dict[str, BitStep] = {
    "balloon credit": credit_step(credit_bits),
    "unballoon": unballoon_step,
    "hot-add request": hot_add_request_step,
    "hot-add response": hot_add_response_step,
}
