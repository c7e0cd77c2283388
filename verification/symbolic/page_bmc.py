"""Bounded model checking of the page host's rules (specs/pages.md §7).

The small-scope check of ``symbolic/pages.py`` proves each rule keeps the page invariants
from *any* state where they hold (induction); this one searches the *reachable* states: from
a VM whose RAM is pages ``0 .. r`` (its address space) with nothing ballooned and any
alignment of the scope, ``k`` steps of the host's rules (a balloon credit of any message of
up to ``max_ranges`` ranges against any outstanding count, an unballoon transaction, a
hot-add request, the guest's answer of any page count, success or not; each where its guard
holds),
for k = 1, 2, ... up to ``depth``. The first depth at which some path breaks a page
invariant is a shortest counterexample from a real start, decoded step by step (which rule,
which ranges). The balloon in flight is abstracted as in the induction: its outstanding
count is any number, so a credit may happen at any step. Every query has an ``rlimit``
budget; an unknown is a failure, never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import z3

from dynmem.reference.pages.bitmap import (
    HONEST_BIT_STEPS,
    BitMessage,
    BitStep,
    PageBits,
    page_bit_invariants,
)
from dynmem.verification.symbolic.budget import describe_unknown, new_solver, run_check
from dynmem.verification.symbolic.pages import (
    BITVEC,
    SCOPE_RANGES,
    bits_of,
    bv_var,
    in_scope,
    message_of,
    message_scope,
)

# 6 pages, 3 ranges, 2 steps: the honest rules use about 20 M rlimit units (3 CPU s); a third
# step (or 8 pages at depth 2: 51 M, 11 s) costs far more, while every planted page bug is
# found at depth 1 from some start.
PAGE_BMC_PAGES = 6
PAGE_BMC_DEPTH = 2
PAGE_BMC_RLIMIT = 100_000_000


@attrs.frozen
class PageBmcStep:
    """One step of a counterexample: the rule, the message's ranges, what was outstanding
    (a balloon) or answered (a hot-add answer, with its success)."""

    rule: str
    ranges: tuple[tuple[int, int], ...]
    outstanding: int
    success: bool = True

    def __str__(self) -> str:
        if self.rule == "hot-add response":
            return (f"{self.rule}: {self.outstanding} pages added, "
                    f"{'success' if self.success else 'failure'}")
        listed = ", ".join(f"pages {s}..{s + n - 1}" for s, n in self.ranges)
        asked = f" ({self.outstanding} outstanding)" if self.rule == "balloon credit" else ""
        return f"{self.rule}: {listed or 'no pages'}{asked}"


@attrs.frozen
class PageBmcResult:
    """The verdict: the depth reached clean, or the first broken invariants with a path."""

    depth: int
    broken: tuple[str, ...] = ()
    ram_pages: int = 0
    steps: tuple[PageBmcStep, ...] = ()
    unknown: str | None = None
    rlimit_used: int = 0

    @property
    def ok(self) -> bool:
        return not self.broken and self.unknown is None


def _same(a: PageBits, b: PageBits) -> Any:
    same = [a.free == b.free, a.budget == b.budget]
    for x, y in zip(a.vms, b.vms, strict=True):
        same += [*(p == q for p, q in zip(x.ram + x.ballooned + x.regions,
                                          y.ram + y.ballooned + y.regions, strict=True)),
                 x.count == y.count, x.stranded == y.stranded, x.align == y.align,
                 x.hot_add == y.hot_add, x.txn_start == y.txn_start,
                 x.txn_count == y.txn_count]
    return z3.And(*same)


def check_page_bmc(rules: Mapping[str, BitStep] = HONEST_BIT_STEPS,
                   depth: int = PAGE_BMC_DEPTH, pages: int = PAGE_BMC_PAGES,
                   max_ranges: int = SCOPE_RANGES,
                   rlimit: int = PAGE_BMC_RLIMIT) -> PageBmcResult:
    """Unroll ``rules`` from every start (RAM a prefix of the domain, nothing ballooned)
    until a page invariant breaks or ``depth`` steps passed; see the module docstring."""
    names = list(rules)
    start = bits_of("s0_", pages)
    vm = start.vms[0]
    ram_top = bv_var("ram_top")
    solver = new_solver(rlimit)
    # The start: RAM pages 0 .. ram_top, its address space; the rest of the budget free.
    solver.add(*in_scope(start), ram_top >= 1, ram_top <= pages, vm.count == 0,
               vm.stranded == 0, z3.Not(vm.hot_add), start.free == start.budget - ram_top,
               start.free >= 0, *(r == (p < ram_top) for p, r in enumerate(vm.ram)),
               *(g == r for g, r in zip(vm.regions, vm.ram, strict=True)),
               *(z3.Not(b) for b in vm.ballooned))
    states, choices, messages = [start], [], []
    used_total = 0
    for k in range(1, depth + 1):
        pre, post = states[-1], bits_of(f"s{k}_", pages)
        choice = bv_var(f"rule{k}")
        msg = message_of(f"m{k}_", max_ranges)
        solver.add(*message_scope(msg, pages), *in_scope(post), choice >= 0,
                   choice < len(names))
        options = []
        for index, name in enumerate(names):
            guard, after = rules[name](BITVEC, pre, msg)
            options.append(z3.And(choice == index, guard, _same(post, after)))
        solver.add(z3.Or(*options))
        states.append(post)
        choices.append(choice)
        messages.append(msg)
        holds = page_bit_invariants(BITVEC, post)
        result, used = run_check(solver, z3.Not(z3.And(*holds.values())))
        used_total += used
        if result == z3.unknown:
            return PageBmcResult(k - 1, unknown=describe_unknown(
                solver, f"page BMC at depth {k}", used, rlimit), rlimit_used=used_total)
        if result == z3.sat:
            return _decode(solver.model(), k, holds, ram_top, names, choices, messages,
                           used_total)
    return PageBmcResult(depth, rlimit_used=used_total)


def _decode(model: z3.ModelRef, k: int, holds: Mapping[str, Any], ram_top: Any,
            names: Sequence[str], choices: Sequence[Any], messages: Sequence[BitMessage],
            used: int) -> PageBmcResult:
    def num(term: Any) -> int:
        return int(model.eval(term, model_completion=True).as_signed_long())

    broken = tuple(name for name, term in holds.items()
                   if z3.is_false(model.eval(term, model_completion=True)))
    steps = []
    for choice, msg in zip(choices, messages, strict=True):
        rule = names[num(choice)]
        # a hot-add request reads its region only, its answer no range
        read = {"hot-add request": msg.ranges[:1], "hot-add response": ()}.get(rule, msg.ranges)
        steps.append(PageBmcStep(rule, tuple((num(s), num(n)) for s, n in read if num(n)),
                                 num(msg.pages),
                                 bool(z3.is_true(model.eval(msg.success,
                                                            model_completion=True)))))
    return PageBmcResult(k, broken, num(ram_top), tuple(steps), rlimit_used=used)
