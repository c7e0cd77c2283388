"""The operator layer's symbolic interpretation: the connectives as Z3 terms.

``SYMBOLIC`` reads the same invariant and guard definitions as ``ops.CONCRETE`` but builds
Z3 terms (proofs, BMC). It lives apart from model/ops.py so the concrete checks never load Z3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import z3

from dynmem.model.ops import Ops, Term
from dynmem.model.units import MIB, Units


class _Symbolic:
    """Z3 semantics. Symbolic VM slots carry ``exists``; absent slots are skipped."""

    symbolic = True

    def __init__(self, units: Units = MIB) -> None:
        self.units = units

    def And(self, *args: Term) -> Term:
        return z3.And(*args) if args else z3.BoolVal(True)

    def Or(self, *args: Term) -> Term:
        return z3.Or(*args) if args else z3.BoolVal(False)

    def Not(self, a: Term) -> Term:
        return z3.Not(a)

    def Implies(self, a: Term, b: Term) -> Term:
        return z3.Implies(a, b)

    def If(self, c: Term, a: Term, b: Term) -> Term:
        return z3.If(c, a, b)

    def Sum(self, terms: Iterable[Term]) -> Term:
        items = list(terms)
        return z3.Sum(items) if items else z3.IntVal(0)

    def Max(self, a: Term, b: Term) -> Term:
        return z3.If(a >= b, a, b)

    def Min(self, a: Term, b: Term) -> Term:
        return z3.If(a <= b, a, b)

    def all_vms(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return self.And(*[z3.Implies(vm.exists, fn(vm)) for vm in vms])

    def total(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return self.Sum(z3.If(vm.exists, fn(vm), 0) for vm in vms)

    def all_pairs(
        self, pre: Sequence[Any], post: Sequence[Any], fn: Callable[[Any, Any], Term]
    ) -> Term:
        # Symbolic states keep a VM in the same slot across a step.
        return self.And(*[z3.Implies(z3.And(a.exists, b.exists), fn(a, b))
                          for a, b in zip(pre, post, strict=True)])


SYMBOLIC: Ops = _Symbolic()


def get_symbolic(units: Units) -> Ops:
    """The symbolic operators over amounts counted in ``units``."""
    return SYMBOLIC if units == MIB else _Symbolic(units)
