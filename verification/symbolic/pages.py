"""Small-scope Z3 check of the page host's rules (specs/pages.md §7).

One VM over ``pages`` pages (12 by default), or ``vms`` VMs sharing the host's free pages
and budget; a message of up to ``max_ranges`` ranges (3) that may repeat, overlap or leave
the domain, any number of pages outstanding or answered, success or not; any RAM, ledger,
address-space bits, stranded pages, guest alignment (each of ``BIT_ALIGNMENTS``) and
hot-add in flight, for every VM: a host rule (``reference/pages/bitmap.py``: the balloon
credit, an unballoon, a hot-add request, a hot-add answer; or a planted bug's twin), taken
on the first VM wherever its guard holds, must keep each page invariant — an inductive
check, one query per invariant, plus initiation and a witness that the rule can change free
memory at all (non-vacuity). Each query has a Z3 ``rlimit`` budget; an unknown is a
failure, never a pass. A counterexample is replayed through the interval-based page
reference (``replay_counterexample``) to show it is real there.

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
from dynmem.model.units import MIB, Units
from dynmem.model.vocabulary import TxnKind
from dynmem.reference.pages import (
    PAGES_PER_MIB,
    PageBalloonResponse,
    PageRange,
    PageSet,
    PageState,
    PageVm,
)
from dynmem.reference.pages.bitmap import (
    BIT_ALIGNMENTS,
    HONEST_BIT_STEPS,
    BitMessage,
    BitStep,
    PageBits,
    VmBits,
    page_bit_invariants,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.symbolic.budget import describe_unknown, new_solver, run_check

# Small scope: 12 pages and 3 ranges per message for one VM; two VMs of 6 pages each. At 16
# pages the unballoon's PINV-ONCE query used 12 M to 48 M rlimit units depending on what the
# process asked Z3 before (one shared context, before each query had its own); at 12 pages
# the costliest query of an honest rule uses 8.5 M, at 2 x 6 pages 4.3 M, at 2 x 8 pages
# 22 M: all well under the budget below (specs/pages.md §7 has the table).
SCOPE_PAGES = 12
TWO_VM_PAGES = 6
SCOPE_RANGES = 3
# Every number of the scope lies in -SCOPE_BOUND..SCOPE_BOUND; 12 bits hold twice that.
SCOPE_BOUND = 1000
_WIDTH = 12
# Each query's Z3 budget.
PAGE_RLIMIT = 100_000_000


def widen(value: Term, width: int = _WIDTH) -> Term:
    """A number as a ``width``-bit vector: a constant made one, a narrower vector
    sign-extended (exact), anything else as it is."""
    if isinstance(value, int):
        return z3.BitVecVal(value, width)
    if isinstance(value, z3.BitVecRef) and value.size() < width:
        return z3.SignExt(width - value.size(), value)
    return value


class BitVecOps:
    """The operator layer over 12-bit vectors: SYMBOLIC's connectives, numbers as vectors
    (signed comparisons are exact, since no number of the scope can wrap)."""

    symbolic = True

    def __init__(self, units: Units = MIB, width: int = _WIDTH) -> None:
        # MiB for the amount-level guards it shares; the refinement check (page_refinement.py)
        # reads the model's actions in the scope's pages over wider vectors
        self.units = units
        self.width = width

    def _bv(self, value: Term) -> Term:
        return widen(value, self.width)

    def And(self, *args: Term) -> Term:
        return SYMBOLIC.And(*args)

    def Or(self, *args: Term) -> Term:
        return SYMBOLIC.Or(*args)

    def Not(self, a: Term) -> Term:
        return SYMBOLIC.Not(a)

    def Implies(self, a: Term, b: Term) -> Term:
        return SYMBOLIC.Implies(a, b)

    def If(self, c: Term, a: Term, b: Term) -> Term:
        return z3.If(c, self._bv(a), self._bv(b))

    def Sum(self, terms: Iterable[Term]) -> Term:
        total = self._bv(0)
        for term in terms:
            total = total + self._bv(term)
        return total

    def Max(self, a: Term, b: Term) -> Term:
        return z3.If(self._bv(a) >= self._bv(b), self._bv(a), self._bv(b))

    def Min(self, a: Term, b: Term) -> Term:
        return z3.If(self._bv(a) <= self._bv(b), self._bv(a), self._bv(b))

    def all_vms(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return SYMBOLIC.all_vms(vms, fn)

    def total(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return self.Sum(fn(vm) for vm in vms)

    def all_pairs(self, pre: Sequence[Any], post: Sequence[Any],
                  fn: Callable[[Any, Any], Term]) -> Term:
        return SYMBOLIC.all_pairs(pre, post, fn)


BITVEC: Ops = BitVecOps()


@attrs.frozen
class VmCounterexample:
    """One VM of a counterexample's state."""

    ram: tuple[int, ...]
    ballooned: tuple[int, ...]
    regions: tuple[int, ...]
    count: int
    stranded: int
    align: int
    hot_add: tuple[int, int] | None  # the region in flight, (start, count)

    def __str__(self) -> str:
        flight = "" if self.hot_add is None else f", hot-add {self.hot_add[0]}+{self.hot_add[1]}"
        return (f"RAM pages {list(self.ram)} of address space {list(self.regions)}, ballooned "
                f"{list(self.ballooned)} (counter {self.count}), {self.stranded} stranded, "
                f"aligned to {self.align}{flight}")


@attrs.frozen
class PageCounterexample:
    """A state and message the rule (on the first VM) takes to a state breaking
    ``invariant``."""

    invariant: str
    vms: tuple[VmCounterexample, ...]
    free: int
    budget: int
    ranges: tuple[tuple[int, int], ...]
    pages: int
    success: bool

    def __str__(self) -> str:
        vms = "; ".join(f"VM {i}: {vm}" for i, vm in enumerate(self.vms))
        return (f"{self.invariant} broken: {vms}; free {self.free} of {self.budget}; the "
                f"message lists {[f'{s}+{n}' for s, n in self.ranges]}, {self.pages} pages "
                f"(outstanding or answered), success {self.success}")


@attrs.frozen
class PageCheck:
    """The verdicts: invariants proved, counterexamples, unknowns (failures), the witness,
    and the rlimit units used in all and by the costliest query."""

    proved: tuple[str, ...]
    counterexamples: tuple[PageCounterexample, ...]
    unknown: tuple[str, ...]
    witnessed: bool
    rlimit_used: int
    rlimit_max: int = 0

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


def vm_bits_of(prefix: str, pages: int) -> VmBits:
    """One VM's bits over ``pages`` pages, as fresh Z3 variables named ``prefix...``."""
    return VmBits(
        ram=tuple(z3.Bool(f"{prefix}ram{p}") for p in range(pages)),
        ballooned=tuple(z3.Bool(f"{prefix}bal{p}") for p in range(pages)),
        regions=tuple(z3.Bool(f"{prefix}reg{p}") for p in range(pages)),
        count=bv_var(f"{prefix}count"), stranded=bv_var(f"{prefix}stranded"),
        align=bv_var(f"{prefix}align"), hot_add=z3.Bool(f"{prefix}hot_add"),
        txn_start=bv_var(f"{prefix}txn_start"), txn_count=bv_var(f"{prefix}txn_count"))


def bits_of(prefix: str, pages: int, vms: int = 1) -> PageBits:
    """A host of ``vms`` VMs over ``pages`` pages each, as fresh Z3 variables."""
    return PageBits(tuple(vm_bits_of(f"{prefix}vm{i}_", pages) for i in range(vms)),
                    bv_var(f"{prefix}free"), bv_var(f"{prefix}budget"))


def bounded(*terms: Term) -> list[Term]:
    """Each term within ±SCOPE_BOUND (so no sum of the scope wraps)."""
    return [z3.And(t >= -SCOPE_BOUND, t <= SCOPE_BOUND) for t in terms]


def in_scope(bits: PageBits) -> list[Term]:
    """TypeOK of a host of the scope: every number bounded, counters and budget not
    negative, each alignment one of ``BIT_ALIGNMENTS``."""
    out = [bits.budget >= 0, *bounded(bits.free, bits.budget)]
    for vm in bits.vms:
        out += [vm.stranded >= 0, z3.Or(*(vm.align == a for a in BIT_ALIGNMENTS)),
                *bounded(vm.count, vm.stranded, vm.txn_start, vm.txn_count)]
    return out


def message_of(prefix: str, max_ranges: int) -> BitMessage:
    """A message to the first VM, as fresh Z3 variables."""
    return BitMessage(0, tuple((bv_var(f"{prefix}start{i}"), bv_var(f"{prefix}count{i}"))
                               for i in range(max_ranges)),
                      bv_var(f"{prefix}pages"), z3.Bool(f"{prefix}success"))


def message_scope(msg: BitMessage, pages: int) -> list[Term]:
    """A message may reach twice past the domain; its page count is not negative."""
    return [*(z3.And(s >= 0, s <= 2 * pages, n >= 0, n <= pages) for s, n in msg.ranges),
            msg.pages >= 0, *bounded(msg.pages)]


def _decode(model: z3.ModelRef, invariant: str, bits: PageBits,
            msg: BitMessage) -> PageCounterexample:
    def num(term: Any) -> int:
        return int(model.eval(term, model_completion=True).as_signed_long())

    def true(term: Any) -> bool:
        return bool(z3.is_true(model.eval(term, model_completion=True)))

    def on(terms: tuple[Any, ...]) -> tuple[int, ...]:
        return tuple(p for p, t in enumerate(terms) if true(t))

    vms = tuple(VmCounterexample(
        on(vm.ram), on(vm.ballooned), on(vm.regions), num(vm.count), num(vm.stranded),
        num(vm.align), (num(vm.txn_start), num(vm.txn_count)) if true(vm.hot_add) else None)
        for vm in bits.vms)
    return PageCounterexample(invariant, vms, num(bits.free), num(bits.budget),
                              tuple((num(s), num(n)) for s, n in msg.ranges), num(msg.pages),
                              true(msg.success))


def check_page_rule(rule: BitStep = HONEST_BIT_STEPS["balloon credit"],
                    pages: int = SCOPE_PAGES, max_ranges: int = SCOPE_RANGES,
                    rlimit: int = PAGE_RLIMIT, vms: int = 1,
                    until_broken: bool = False) -> PageCheck:
    """Prove ``rule``, taken on the first of ``vms`` VMs, keeps every page invariant of
    ``page_bit_invariants`` (init and consecution), each with its own ``rlimit`` budget;
    see the module docstring. ``until_broken``: stop asking at the first invariant broken
    (a planted bug needs one counterexample; proving the invariants it keeps can cost far
    more than finding the one it breaks)."""
    pre = bits_of("", pages, vms)
    msg = message_of("", max_ranges)
    scope = [*in_scope(pre), *message_scope(msg, pages)]
    guard, post = rule(BITVEC, pre, msg)
    scope.append(guard)
    before, after = page_bit_invariants(BITVEC, pre), page_bit_invariants(BITVEC, post)
    proved, found, unknown, used_all = [], [], [], []
    for inv_id, holds_after in after.items():
        solver = new_solver(rlimit)
        solver.add(*scope, *before.values(), z3.Not(holds_after))
        result, used = run_check(solver)
        used_all.append(used)
        if result == z3.unsat:
            proved.append(inv_id)
        elif result == z3.sat:
            found.append(_decode(solver.model(), inv_id, pre, msg))
            if until_broken:
                break
        else:
            unknown.append(describe_unknown(solver, f"the page rule keeps {inv_id}", used,
                                            rlimit))
    more, used = _check_init(pages, vms, rlimit)
    unknown += more
    used_all.append(used)
    witnessed, more, used = _witness(scope, before, pre, post, rlimit)
    unknown += more
    used_all.append(used)
    return PageCheck(tuple(proved), tuple(found), tuple(unknown), witnessed, sum(used_all),
                     max(used_all))


def _check_init(pages: int, vms: int, rlimit: int) -> tuple[list[str], int]:
    """Initiation: each VM's RAM its address space, nothing ballooned or stranded, counter
    0, no hot-add in flight, the rest of the budget free ⇒ every invariant."""
    init = bits_of("init_", pages, vms)
    solver = new_solver(rlimit)
    assigned = BITVEC.Sum(BITVEC.If(r, 1, 0) for vm in init.vms for r in vm.ram)
    solver.add(*in_scope(init), init.free == init.budget - assigned, init.free >= 0,
               *(z3.And(*(z3.Not(b) for b in vm.ballooned), vm.count == 0, vm.stranded == 0,
                        z3.Not(vm.hot_add),
                        *(r == g for r, g in zip(vm.ram, vm.regions, strict=True)))
                 for vm in init.vms),
               z3.Not(z3.And(*page_bit_invariants(BITVEC, init).values())))
    result, used = run_check(solver)
    if result == z3.unsat:
        return [], used
    if result == z3.sat:
        return [f"initiation fails: {solver.model()}"], used
    return [describe_unknown(solver, "initiation of the page invariants", used, rlimit)], used


def _witness(scope: list[Any], before: dict[str, Any], pre: PageBits, post: PageBits,
             rlimit: int) -> tuple[bool, list[str], int]:
    """Non-vacuity: from a state with the invariants, the rule can change free memory."""
    solver = new_solver(rlimit)
    solver.add(*scope, *before.values(), post.free != pre.free)
    result, used = run_check(solver)
    if result == z3.unknown:
        return False, [describe_unknown(solver, "the page-rule witness", used, rlimit)], used
    return result == z3.sat, [], used


def build_page_case(ram: Sequence[int], ballooned: Sequence[int], count: int, free: int,
                    budget: int, ranges: Sequence[tuple[int, int]], outstanding: int,
                    regions: Sequence[int] | None = None,
                    stranded: int = 0) -> tuple[PageState, PageBalloonResponse]:
    """A small case as a page-reference state and message: one VM ``a`` with the listed RAM,
    address space (its RAM unless given), stranded and ballooned pages, whose balloon of
    ``outstanding`` pages is in flight, on a host with ``budget`` pages for VMs, ``free`` of
    them free. The host's settings are whole MiB: the pages of them above ``budget`` are
    added to free memory (so the ledger, PINV-LEDGER, is the same equation)."""
    ram_set = PageSet.from_intervals((p, p + 1) for p in ram)
    space = ram_set if regions is None else PageSet.from_intervals((p, p + 1) for p in regions)
    vm = PageVm(name="a", settings=VmSettings(dynamic=True), regions=space, ram=ram_set,
                stranded_pages=stranded,
                ballooned=PageSet.from_intervals((p, p + 1) for p in ballooned),
                ballooned_count=count, txn=TxnKind.BALLOON, txn_pages=outstanding)
    host = HostSettings(physical_mib=-(-budget // PAGES_PER_MIB) + 1, reserve_mib=1)
    pad = (host.physical_mib - host.reserve_mib) * PAGES_PER_MIB - budget
    event = PageBalloonResponse("a", tuple(PageRange(s, n) for s, n in ranges), True)
    return PageState(host, free + pad, (vm,)), event


def replay_counterexample(cex: PageCounterexample) -> tuple[PageState, PageBalloonResponse]:
    """A balloon-credit counterexample as a page-reference state and message, to run through
    a page step: the first VM ``a`` with the balloon in flight, any other as ``b``, ``c``, ...
    with its hot-add in flight if it has one."""
    vm = cex.vms[0]
    state, event = build_page_case(vm.ram, vm.ballooned, vm.count, cex.free, cex.budget,
                                   cex.ranges, cex.pages, vm.regions, vm.stranded)
    return attrs.evolve(state, vms=(*state.vms, *(
        _other_vm(chr(ord("a") + i), other) for i, other in enumerate(cex.vms[1:], 1)))), event


def _other_vm(name: str, vm: VmCounterexample) -> PageVm:
    def pages(listed: Sequence[int]) -> PageSet:
        return PageSet.from_intervals((p, p + 1) for p in listed)
    idle = PageVm(name=name, settings=VmSettings(dynamic=True), regions=pages(vm.regions),
                  ram=pages(vm.ram), stranded_pages=vm.stranded, ballooned=pages(vm.ballooned),
                  ballooned_count=vm.count)
    if vm.hot_add is None:
        return idle
    start, count = vm.hot_add
    return attrs.evolve(idle, txn=TxnKind.HOT_ADD, txn_pages=count,
                        txn_ranges=PageSet.from_intervals([(start, start + count)]))
