"""The operator layer: one vocabulary of logical operators, two interpretations.

Invariants and guards are written once against an :class:`Ops` value. ``CONCRETE`` evaluates
them on Python ints and bools (fast, no Z3 call: trace replay of a million events);
``SYMBOLIC`` builds Z3 terms from the same definition (proofs, BMC). Comparisons and
``+ - *`` already work on both kinds of value, so only the connectives need two versions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import z3

# A value of either interpretation: a Python int/bool or a Z3 term.
Term = Any


class Ops(Protocol):
    """The connectives an invariant or guard may use."""

    symbolic: bool

    def And(self, *args: Term) -> Term: ...
    def Or(self, *args: Term) -> Term: ...
    def Not(self, a: Term) -> Term: ...
    def Implies(self, a: Term, b: Term) -> Term: ...
    def If(self, c: Term, a: Term, b: Term) -> Term: ...
    def Sum(self, terms: Iterable[Term]) -> Term: ...
    def Max(self, a: Term, b: Term) -> Term: ...
    def Min(self, a: Term, b: Term) -> Term: ...
    def all_vms(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term: ...
    def total(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term: ...
    def all_pairs(
        self, pre: Sequence[Any], post: Sequence[Any], fn: Callable[[Any, Any], Term]
    ) -> Term: ...


class _Concrete:
    """Python semantics: short-circuit booleans, plain ints."""

    symbolic = False

    def And(self, *args: Term) -> Term:
        return all(args)

    def Or(self, *args: Term) -> Term:
        return any(args)

    def Not(self, a: Term) -> Term:
        return not a

    def Implies(self, a: Term, b: Term) -> Term:
        return (not a) or bool(b)

    def If(self, c: Term, a: Term, b: Term) -> Term:
        return a if c else b

    def Sum(self, terms: Iterable[Term]) -> Term:
        return sum(terms)

    def Max(self, a: Term, b: Term) -> Term:
        return a if a >= b else b

    def Min(self, a: Term, b: Term) -> Term:
        return a if a <= b else b

    def all_vms(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return all(fn(vm) for vm in vms)

    def total(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return sum(fn(vm) for vm in vms)

    def all_pairs(
        self, pre: Sequence[Any], post: Sequence[Any], fn: Callable[[Any, Any], Term]
    ) -> Term:
        # A VM before and after a step is the one with the same name (creation and deletion
        # shift positions in the reference's tuple).
        after = {vm.name: vm for vm in post}
        return all(fn(vm, after[vm.name]) for vm in pre if vm.name in after)


class _Symbolic:
    """Z3 semantics. Symbolic VM slots carry ``exists``; absent slots are skipped."""

    symbolic = True

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


CONCRETE: Ops = _Concrete()
SYMBOLIC: Ops = _Symbolic()
