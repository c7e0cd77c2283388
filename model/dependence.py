"""What an action's definition depends on: a third reading of the operator layer.

The guards and the update of an action are evaluated over stand-in values (:class:`_Probe`)
that remember whether they were computed from free memory; so the definition itself says
whether the action READS ``free_mib``, and its declared frame (``modifies``) whether it
WRITES it. The oracle's check-trace keys a step of an action that does neither without free
memory (``FREE_BLIND`` in verification/oracle/checktrace.py). Plain Python, no Z3.

Examples
--------
>>> from dynmem.model.actions import BALLOON_REQUEST, START, STATUS_REPORT
>>> is_free_blind(STATUS_REPORT), is_free_blind(BALLOON_REQUEST), is_free_blind(START)
(True, True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dynmem.model.actions import Action, HostView
from dynmem.model.ops import Term
from dynmem.model.units import MIB


class _Probe:
    """Any value of a definition; ``from_free`` when it was computed from free memory."""

    __slots__ = ("from_free",)
    name = "probe"  # a slot's name is a Python string in both readings

    def __init__(self, from_free: bool = False) -> None:
        self.from_free = from_free

    def __getattr__(self, name: str) -> _Probe:  # a field of a slot, a setting, a parameter
        return _Probe(self.from_free)

    def __bool__(self) -> bool:
        return True

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> _Probe:  # type: ignore[override]
        return _join(self, other)

    def __ne__(self, other: object) -> _Probe:  # type: ignore[override]
        return _join(self, other)

    def __lt__(self, other: object) -> _Probe:
        return _join(self, other)

    def __le__(self, other: object) -> _Probe:
        return _join(self, other)

    def __gt__(self, other: object) -> _Probe:
        return _join(self, other)

    def __ge__(self, other: object) -> _Probe:
        return _join(self, other)

    def __add__(self, other: object) -> _Probe:
        return _join(self, other)

    def __sub__(self, other: object) -> _Probe:
        return _join(self, other)

    def __mul__(self, other: object) -> _Probe:
        return _join(self, other)

    def __mod__(self, other: object) -> _Probe:
        return _join(self, other)

    def __floordiv__(self, other: object) -> _Probe:
        return _join(self, other)

    __radd__, __rsub__, __rmul__, __rmod__ = __add__, __sub__, __mul__, __mod__

    def __neg__(self) -> _Probe:
        return _join(self)


def _join(*values: object) -> _Probe:
    return _Probe(any(isinstance(v, _Probe) and v.from_free for v in values))


class _Depends:
    """The connectives over probes: each result depends on every argument."""

    symbolic = False
    units = MIB  # amounts in MiB, as the reference counts (model/units.py)

    def And(self, *args: Term) -> Term:
        return _join(*args)

    def Or(self, *args: Term) -> Term:
        return _join(*args)

    def Not(self, a: Term) -> Term:
        return _join(a)

    def Implies(self, a: Term, b: Term) -> Term:
        return _join(a, b)

    def If(self, c: Term, a: Term, b: Term) -> Term:
        return _join(c, a, b)

    def Sum(self, terms: Iterable[Term]) -> Term:
        return _join(*terms)

    def Max(self, a: Term, b: Term) -> Term:
        return _join(a, b)

    def Min(self, a: Term, b: Term) -> Term:
        return _join(a, b)

    def all_vms(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return _join(*[fn(vm) for vm in vms])

    def total(self, vms: Sequence[Any], fn: Callable[[Any], Term]) -> Term:
        return _join(*[fn(vm) for vm in vms])

    def all_pairs(
        self, pre: Sequence[Any], post: Sequence[Any], fn: Callable[[Any, Any], Term]
    ) -> Term:
        return _join(*[fn(a, b) for a, b in zip(pre, post, strict=True)])


def reads_free(action: Action) -> bool:
    """Whether a guard or the update of ``action`` depends on the host's free memory."""
    if action.aggregate is not None:
        return True  # the joint guard is Σ taken <= free
    ops, host = _Depends(), HostView(_Probe(), _Probe(from_free=True))
    slot, params = _Probe(), _Probe()
    terms = [guard.holds(ops, host, slot, params) for guard in action.guards]
    terms += list(action.update(ops, host, slot, params).values())
    return any(isinstance(t, _Probe) and t.from_free for t in terms)


def is_free_blind(action: Action) -> bool:
    """Whether ``action`` neither reads (guards, update) nor writes (frame) free memory."""
    return "free_mib" not in action.modifies and not reads_free(action)
