"""Small-scope Z3 check of the page host's rules (specs/pages.md §7).

One VM, ``pages`` pages (12 by default), a message of up to ``max_ranges`` ranges (3) that
may repeat, overlap or leave the domain, any number of pages outstanding, any RAM bits and
ledger: a host rule (``reference/pages/bitmap.py``: the balloon credit, an unballoon, a
hot-add; or a planted bug's twin), wherever its guard holds, must keep each page invariant
— an inductive check, one query per invariant, plus initiation and a witness that the rule
can change free memory at all (non-vacuity). Each query has a Z3 ``rlimit``
budget; an unknown is a failure, never a pass. A counterexample is replayed through the
interval-based page reference (``replay_counterexample``) to show it is real there.

The numbers are 12-bit vectors bounded to ±``SCOPE_BOUND`` (so no sum can wrap): Z3
bit-blasts them and decides a query in seconds, where the same query over unbounded
integers (16 sums of if-then-else terms) ran out of a 200 M rlimit budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import z3

from dynmem.model.ops import Ops, Term
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.model.vocabulary import TxnKind
from dynmem.reference.pages import (
    PAGES_PER_MIB,
    PageBalloonResponse,
    PageRange,
    PageSet,
    PageState,
    PageVm,
)
from dynmem.reference.pages.bitmap import HONEST_BIT_STEPS, BitStep, PageBits, page_bit_invariants
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.symbolic.budget import describe_unknown, new_solver, run_check

# Small scope: 12 pages and 3 ranges per message. At 16 pages the unballoon's PINV-ONCE query
# used 12 M to 48 M rlimit units depending on what the process asked Z3 before (its context
# is shared); at 12 pages the most one query used, in any order, was 15 M: under a sixth of
# the budget below.
SCOPE_PAGES = 12
SCOPE_RANGES = 3
# Every number of the scope lies in -SCOPE_BOUND..SCOPE_BOUND; 12 bits hold twice that.
SCOPE_BOUND = 1000
_WIDTH = 12
# Each query's Z3 budget.
PAGE_RLIMIT = 100_000_000


def _bv(value: Term) -> Term:
    return z3.BitVecVal(value, _WIDTH) if isinstance(value, int) else value


class _BitVecOps:
    """The operator layer over 12-bit vectors: SYMBOLIC's connectives, numbers as vectors
    (signed comparisons are exact, since no number of the scope can wrap)."""

    symbolic = True

    def And(self, *args: Term) -> Term:
        return SYMBOLIC.And(*args)

    def Or(self, *args: Term) -> Term:
        return SYMBOLIC.Or(*args)

    def Not(self, a: Term) -> Term:
        return SYMBOLIC.Not(a)

    def Implies(self, a: Term, b: Term) -> Term:
        return SYMBOLIC.Implies(a, b)

    def If(self, c: Term, a: Term, b: Term) -> Term:
        return z3.If(c, _bv(a), _bv(b))

    def Sum(self, terms: Iterable[Term]) -> Term:
        total = _bv(0)
        for term in terms:
            total = total + _bv(term)
        return total

    def Max(self, a: Term, b: Term) -> Term:
        return z3.If(_bv(a) >= _bv(b), _bv(a), _bv(b))

    def Min(self, a: Term, b: Term) -> Term:
        return z3.If(_bv(a) <= _bv(b), _bv(a), _bv(b))

    def all_vms(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return SYMBOLIC.all_vms(vms, fn)

    def total(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return self.Sum(fn(vm) for vm in vms)

    def all_pairs(self, pre: Sequence[Any], post: Sequence[Any],
                  fn: Callable[[Any, Any], Term]) -> Term:
        return SYMBOLIC.all_pairs(pre, post, fn)


BITVEC: Ops = _BitVecOps()


@attrs.frozen
class PageCounterexample:
    """A state and message the rule takes to a state breaking ``invariant``."""

    invariant: str
    ram: tuple[int, ...]
    ballooned: tuple[int, ...]
    count: int
    free: int
    budget: int
    ranges: tuple[tuple[int, int], ...]
    outstanding: int

    def __str__(self) -> str:
        return (f"{self.invariant} broken: RAM pages {list(self.ram)}, ballooned "
                f"{list(self.ballooned)} (counter {self.count}), free {self.free} of "
                f"{self.budget}, {self.outstanding} outstanding; the guest lists "
                f"{[f'{s}+{n}' for s, n in self.ranges]}")


@attrs.frozen
class PageCheck:
    """The verdicts: invariants proved, counterexamples, unknowns (failures), the witness."""

    proved: tuple[str, ...]
    counterexamples: tuple[PageCounterexample, ...]
    unknown: tuple[str, ...]
    witnessed: bool
    rlimit_used: int

    @property
    def ok(self) -> bool:
        """Everything proved, a step witnessed, and nothing undecided."""
        return not self.counterexamples and not self.unknown and self.witnessed

    @property
    def broken(self) -> tuple[str, ...]:
        return tuple(c.invariant for c in self.counterexamples)


def bv_var(name: str) -> Term:
    """A number of the scope: a fresh bit-vector variable."""
    return z3.BitVec(name, _WIDTH)


def bits_of(prefix: str, pages: int) -> PageBits:
    """One VM's page bits over ``pages`` pages, as fresh Z3 variables named ``prefix...``."""
    return PageBits(
        ram=tuple(z3.Bool(f"{prefix}ram{p}") for p in range(pages)),
        ballooned=tuple(z3.Bool(f"{prefix}bal{p}") for p in range(pages)),
        count=z3.BitVec(f"{prefix}count", _WIDTH), free=z3.BitVec(f"{prefix}free", _WIDTH),
        budget=z3.BitVec(f"{prefix}budget", _WIDTH))


def bounded(*terms: Term) -> list[Term]:
    """Each term within ±SCOPE_BOUND (so no sum of the scope wraps)."""
    return [z3.And(t >= -SCOPE_BOUND, t <= SCOPE_BOUND) for t in terms]


def _decode(model: z3.ModelRef, invariant: str, bits: PageBits,
            ranges: list[tuple[Any, Any]], outstanding: Any) -> PageCounterexample:
    def num(term: Any) -> int:
        return int(model.eval(term, model_completion=True).as_signed_long())

    def on(terms: tuple[Any, ...]) -> tuple[int, ...]:
        return tuple(p for p, t in enumerate(terms)
                     if z3.is_true(model.eval(t, model_completion=True)))
    return PageCounterexample(invariant, on(bits.ram), on(bits.ballooned), num(bits.count),
                              num(bits.free), num(bits.budget),
                              tuple((num(s), num(n)) for s, n in ranges), num(outstanding))


def check_page_rule(rule: BitStep = HONEST_BIT_STEPS["balloon credit"],
                    pages: int = SCOPE_PAGES, max_ranges: int = SCOPE_RANGES,
                    rlimit: int = PAGE_RLIMIT) -> PageCheck:
    """Prove ``rule`` keeps PINV-ONCE, PINV-RAM, PINV-LEDGER and PINV-PHYSICAL (init and
    consecution), each with its own ``rlimit`` budget; see the module docstring."""
    pre = bits_of("", pages)
    ranges = [(z3.BitVec(f"start{i}", _WIDTH), z3.BitVec(f"count{i}", _WIDTH))
              for i in range(max_ranges)]
    outstanding = z3.BitVec("outstanding", _WIDTH)
    # A message may reach twice past the domain; the host has whole MiB for VMs.
    scope = [z3.And(s >= 0, s <= 2 * pages, n >= 0, n <= pages) for s, n in ranges]
    scope += [outstanding >= 0, pre.budget >= PAGES_PER_MIB,
              z3.URem(pre.budget, PAGES_PER_MIB) == 0,
              *bounded(outstanding, pre.count, pre.free, pre.budget)]
    guard, post = rule(BITVEC, pre, ranges, outstanding)
    scope.append(guard)
    before, after = page_bit_invariants(BITVEC, pre), page_bit_invariants(BITVEC, post)
    proved, found, unknown, used_total = [], [], [], 0
    for inv_id, holds_after in after.items():
        solver = new_solver(rlimit)
        solver.add(*scope, *before.values(), z3.Not(holds_after))
        result, used = run_check(solver)
        used_total += used
        if result == z3.unsat:
            proved.append(inv_id)
        elif result == z3.sat:
            found.append(_decode(solver.model(), inv_id, pre, ranges, outstanding))
        else:
            unknown.append(describe_unknown(solver, f"the page rule keeps {inv_id}", used,
                                            rlimit))
    unknown += _check_init(pages, rlimit)
    witnessed, more = _witness(scope, before, pre, post, rlimit)
    unknown += more
    return PageCheck(tuple(proved), tuple(found), tuple(unknown), witnessed, used_total)


def _check_init(pages: int, rlimit: int) -> list[str]:
    """Initiation: nothing ballooned, counter 0, the rest free ⇒ every invariant."""
    init = bits_of("init_", pages)
    solver = new_solver(rlimit)
    assigned = BITVEC.Sum(BITVEC.If(r, 1, 0) for r in init.ram)
    solver.add(*(z3.Not(b) for b in init.ballooned), init.count == 0,
               init.free == init.budget - assigned, init.free >= 0,
               *bounded(init.count, init.free, init.budget),
               z3.Not(z3.And(*page_bit_invariants(BITVEC, init).values())))
    result, used = run_check(solver)
    if result == z3.unsat:
        return []
    if result == z3.sat:
        return [f"initiation fails: {solver.model()}"]
    return [describe_unknown(solver, "initiation of the page invariants", used, rlimit)]


def _witness(scope: list[Any], before: dict[str, Any], pre: PageBits, post: PageBits,
             rlimit: int) -> tuple[bool, list[str]]:
    """Non-vacuity: from a state with the invariants, the rule can change free memory."""
    solver = new_solver(rlimit)
    solver.add(*scope, *before.values(), post.free != pre.free)
    result, used = run_check(solver)
    if result == z3.unknown:
        return False, [describe_unknown(solver, "the page-rule witness", used, rlimit)]
    return result == z3.sat, []


def build_page_case(ram: Sequence[int], ballooned: Sequence[int], count: int, free: int,
                    budget: int, ranges: Sequence[tuple[int, int]],
                    outstanding: int) -> tuple[PageState, PageBalloonResponse]:
    """A small case as a page-reference state and message: one VM ``a`` with the listed RAM
    and ballooned pages whose balloon of ``outstanding`` pages is in flight, on a host with
    ``budget`` pages above a 1 MiB reserve."""
    ram_set = PageSet.from_intervals((p, p + 1) for p in ram)
    vm = PageVm(name="a", settings=VmSettings(dynamic=True), regions=ram_set, ram=ram_set,
                ballooned=PageSet.from_intervals((p, p + 1) for p in ballooned),
                ballooned_count=count, txn=TxnKind.BALLOON, txn_pages=outstanding)
    host = HostSettings(physical_mib=budget // PAGES_PER_MIB + 1, reserve_mib=1)
    event = PageBalloonResponse("a", tuple(PageRange(s, n) for s, n in ranges), True)
    return PageState(host, free, (vm,)), event


def replay_counterexample(cex: PageCounterexample) -> tuple[PageState, PageBalloonResponse]:
    """The counterexample as a page-reference state and message, to run through a page step."""
    return build_page_case(cex.ram, cex.ballooned, cex.count, cex.free, cex.budget,
                           cex.ranges, cex.outstanding)
