"""The operator layer: one vocabulary of logical operators, two interpretations.

Invariants and guards are written once against an :class:`Ops` value. ``CONCRETE`` evaluates
them on Python ints and bools (fast, no Z3 call: trace replay of a million events);
``SYMBOLIC`` (model/symbolic_ops.py, which loads Z3) builds Z3 terms from the same
definition (proofs, BMC). Comparisons and ``+ - *`` already work on both kinds of value, so
only the connectives need two versions. This module loads no Z3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from dynmem.model.units import MIB, Units

# A value of either interpretation: a Python int/bool or a Z3 term.
Term = Any


class Ops(Protocol):
    """The connectives an invariant or guard may use, and the unit amounts are counted in."""

    symbolic: bool
    units: Units

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
    """Python semantics: short-circuit booleans, plain ints; amounts in MiB, the reference's
    (another unit only to evaluate a definition in pages: tests)."""

    symbolic = False

    def __init__(self, units: Units = MIB) -> None:
        self.units = units

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


CONCRETE: Ops = _Concrete()
