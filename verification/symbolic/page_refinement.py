"""Small-scope Z3 check that the page host's rules refine the model counted in pages
(specs/pages.md §7, specs/proofs.md §7).

The bits of ``reference/pages/bitmap.py`` are abstracted to the model's counts: a VM's
visible pages are its RAM pages plus its stranded ones, its ballooned pages the host's
counter, free is free. Each rule, taken wherever its guard holds in a state with the page
invariants, must be the model's own action on that abstraction (model/actions.py, read in
the scope's unit: exact credit, a 2-page unit as ``BIT_UNIT``): every guard of the action
true, and its update the abstraction of the rule's result.

- the balloon credit of ``k`` pages is ``BalloonResponse(k)`` of a balloon with the pages
  outstanding in flight;
- an unballoon of ``k`` listed pages is ``UnballoonRequest(k)`` then
  ``UnballoonResponse``;
- a hot-add request of a region of ``k`` pages is ``HotAddRequest(k)``;
- the answer to it is ``HotAddResponse`` with the page count and success the guest sent.

The bit rules leave out some amount-level guards the page reference applies by delegating
to the amount reference (a request moves whole, positive 2 MiB units: R-REQUEST-3, R-PG-UNIT;
unballoon before hot-add: R-HOT-ADD-REQUEST); they are premises here, named by
``AMOUNT_PREMISES``. Page identity is what the counts cannot see: a rule that credits a page
twice still refines them (PINV-ONCE says it is wrong); a rule whose counts differ does not.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import attrs
import z3

from dynmem.model.actions import (
    BALLOON_RESPONSE,
    HOT_ADD_REQUEST,
    HOT_ADD_RESPONSE,
    UNBALLOON_REQUEST,
    UNBALLOON_RESPONSE,
    Action,
    HostView,
)
from dynmem.model.ops import Term
from dynmem.model.units import Units
from dynmem.model.vocabulary import VERSION_WIN10, Channel, HostProfile, Power, TxnKind
from dynmem.reference.pages.bitmap import (
    BIT_UNIT,
    HONEST_BIT_STEPS,
    BitMessage,
    BitStep,
    PageBits,
    VmBits,
    page_bit_invariants,
)
from dynmem.verification.symbolic.budget import describe_unknown, new_solver, run_check
from dynmem.verification.symbolic.pages import (
    PAGE_RLIMIT,
    SCOPE_PAGES,
    SCOPE_RANGES,
    BitVecOps,
    bits_of,
    in_scope,
    message_of,
    message_scope,
    widen,
)

__all__ = ["AMOUNT_PREMISES", "SCOPE_UNITS", "RefinementCheck", "check_page_refinement"]

# The scope's unit: a page per "MiB" and answers exact, so its 2 MiB unit is BIT_UNIT pages
# and its alignments (2, 4, 8) are those the model accepts.
SCOPE_UNITS = Units("scope-page", per_mib=1, exact=True)
assert SCOPE_UNITS.unit == BIT_UNIT
# The bits are read over their 12-bit vectors; the model over 24-bit ones, since its
# constants (the protocol caps, the alignments up to 32 GiB) do not fit 12 bits: each count
# is sign-extended, exactly (no number of the scope wraps). Over integers (BV2Int) the
# balloon credit's query took 95 M rlimit units instead of 0.3 M.
_WIDE = 24
_BITS = BitVecOps()


_MODEL = BitVecOps(SCOPE_UNITS, _WIDE)


def _int(term: Term) -> Term:
    """A 12-bit count of the bits as a number of the model (a constant as it is)."""
    return term if isinstance(term, int) else widen(term, _WIDE)

# Rule -> (what the page reference checks besides the bit rule, as words) for the report.
AMOUNT_PREMISES: dict[str, str] = {
    "balloon credit": "a balloon is in flight with pages outstanding (AUX-TXN)",
    "unballoon": "the listed pages are whole, positive 2 MiB units (R-REQUEST-3, R-PG-UNIT)",
    "hot-add request": "nothing is ballooned (R-HOT-ADD-REQUEST: unballoon first)",
    "hot-add response": "",
}


@attrs.frozen
class RefinementCheck:
    """One rule: refined (unsat), a counterexample's words, or unknown (a failure)."""

    rule: str
    refined: bool
    counterexample: str = ""
    unknown: str = ""
    rlimit_used: int = 0


def _ones(bits: tuple[Term, ...]) -> Term:
    return _int(_BITS.Sum(_BITS.If(b, 1, 0) for b in bits))


def abstract_vm(vm: VmBits, pages: int, txn: Term, txn_mib: Term) -> SimpleNamespace:
    """The model's view of a VM's bits: a running, connected, dynamic VM whose visible
    pages are RAM + stranded and whose ballooned pages are the host's counter, startup 0
    and maximum the domain (the bits have neither), with ``txn`` of ``txn_mib`` in flight."""
    settings = SimpleNamespace(dynamic=True, dm_capable=True, startup_mib=0, maximum_mib=pages,
                               buffer_pct=20, weight=5000)
    return SimpleNamespace(
        exists=True, power=Power.RUNNING, channel=Channel.READY, settings=settings,
        visible_mib=_ones(vm.ram) + _int(vm.stranded), ballooned_mib=_int(vm.count),
        demand_mib=0, has_report=False, report_mib=0, protocol_version=VERSION_WIN10,
        cap_balloon=True, cap_hot_add=True, hot_add_enabled=True, txn=txn,
        txn_mib=_int(txn_mib), txn_done_mib=0, stuck=False, saved_mib=0,
        hot_add_align_mib=_int(vm.align))


def _host(bits: PageBits) -> HostView:
    return HostView(SimpleNamespace(physical_mib=_int(bits.budget), reserve_mib=0,
                                    profile=HostProfile.QEMU), _int(bits.free))


def _take(action: Action, bits: PageBits, vm: SimpleNamespace, params: Any
          ) -> tuple[Term, SimpleNamespace, Term]:
    """(every guard of ``action`` true, the VM after its update, free after it)."""
    host = _host(bits)
    params = SimpleNamespace(**{k: _int(v) for k, v in vars(params).items()})
    guards = _MODEL.And(*[g.holds(_MODEL, host, vm, params) for g in action.guards])
    update = action.update(_MODEL, host, vm, params)
    after = SimpleNamespace(**{**vars(vm), **{k: v for k, v in update.items()
                                              if k != "free_mib"}})
    return guards, after, update.get("free_mib", host.free_mib)


def _same(model_vm: SimpleNamespace, free: Term, vm: VmBits, bits: PageBits,
          txn: Term | None) -> Term:
    """The model's result and the rule's, abstracted, agree on the counts and (unless
    ``txn`` is None: the bits keep no balloon state) the transaction in flight."""
    counts = [model_vm.visible_mib == _ones(vm.ram) + _int(vm.stranded),
              model_vm.ballooned_mib == _int(vm.count), free == _int(bits.free)]
    return z3.And(*counts, *([] if txn is None else [model_vm.txn == txn]))


def _refinement(rule: str, pre: PageBits, msg: BitMessage, post: PageBits,
                pages: int) -> tuple[list[Term], Term]:
    """(the premises the page reference adds, the claim) for ``rule`` on the first VM."""
    vm, after = pre.vms[0], post.vms[0]
    if rule == "balloon credit":
        outstanding = msg.pages
        start = abstract_vm(vm, pages, TxnKind.BALLOON, outstanding)
        counted = after.count - vm.count
        ok, done, free = _take(BALLOON_RESPONSE, pre, start,
                               SimpleNamespace(mib=counted, more_pages=True))
        # the model ends the balloon when all arrived; the bits keep no balloon state
        return [outstanding > 0], z3.And(ok, _same(done, free, after, post, None))
    if rule == "unballoon":
        asked = _BITS.Sum(count for _, count in msg.ranges)
        start = abstract_vm(vm, pages, TxnKind.NONE, 0)
        ok_request, sent, free = _take(UNBALLOON_REQUEST, pre, start, SimpleNamespace(mib=asked))
        ok_answer, done, free = _take(UNBALLOON_RESPONSE, attrs.evolve(pre, free=free), sent,
                                      SimpleNamespace())
        premises = [asked > 0, asked % BIT_UNIT == 0]
        return premises, z3.And(ok_request, ok_answer,
                                _same(done, free, after, post, TxnKind.NONE))
    if rule == "hot-add request":
        _, count = msg.ranges[0]
        start = abstract_vm(vm, pages, TxnKind.NONE, 0)
        ok, sent, free = _take(HOT_ADD_REQUEST, pre, start, SimpleNamespace(mib=count))
        return [vm.count == 0], z3.And(ok, _same(sent, free, after, post, TxnKind.HOT_ADD),
                                       sent.txn_mib == _int(after.txn_count))
    if rule == "hot-add response":
        start = abstract_vm(vm, pages, TxnKind.HOT_ADD, vm.txn_count)
        ok, done, free = _take(HOT_ADD_RESPONSE, pre, start,
                               SimpleNamespace(mib=msg.pages, success=msg.success))
        return [], z3.And(ok, _same(done, free, after, post, TxnKind.NONE))
    raise ValueError(f"no refinement for the rule {rule!r}; rules: {', '.join(AMOUNT_PREMISES)}")


def check_page_refinement(rule: str, step: BitStep | None = None, pages: int = SCOPE_PAGES,
                          max_ranges: int = SCOPE_RANGES, rlimit: int = PAGE_RLIMIT,
                          vms: int = 1) -> RefinementCheck:
    """Prove the rule called ``rule`` (or ``step`` in its place: a planted bug's twin)
    refines the model in pages: see the module docstring."""
    step = HONEST_BIT_STEPS[rule] if step is None else step
    pre = bits_of("", pages, vms)
    msg = message_of("", max_ranges)
    guard, post = step(_BITS, pre, msg)
    premises, claim = _refinement(rule, pre, msg, post, pages)
    solver = new_solver(rlimit)
    solver.add(*in_scope(pre), *message_scope(msg, pages),
               *page_bit_invariants(_BITS, pre).values(), guard, *premises, z3.Not(claim))
    result, used = run_check(solver)
    if result == z3.unsat:
        return RefinementCheck(rule, True, rlimit_used=used)
    if result == z3.sat:
        return RefinementCheck(rule, False, _describe(solver.model(), pre, msg, post),
                               rlimit_used=used)
    return RefinementCheck(rule, False, unknown=describe_unknown(
        solver, f"the refinement of the page rule {rule}", used, rlimit), rlimit_used=used)


def _describe(model: z3.ModelRef, pre: PageBits, msg: BitMessage, post: PageBits) -> str:
    def num(term: Any) -> int:
        return int(model.eval(term, model_completion=True).as_signed_long())

    def counts(bits: PageBits) -> str:
        vm = bits.vms[0]
        return (f"visible {num(_ones(vm.ram) + _int(vm.stranded))}, ballooned {num(vm.count)}, "
                f"free {num(bits.free)}")
    listed = ", ".join(f"{num(s)}+{num(n)}" for s, n in msg.ranges)
    return (f"before: {counts(pre)}; message {listed}, {num(msg.pages)} pages, success "
            f"{z3.is_true(model.eval(msg.success, model_completion=True))}; after: "
            f"{counts(post)}: no model step does that")

