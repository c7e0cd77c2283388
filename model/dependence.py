"""What an action's or a clause's definition depends on: a third reading of the operator layer.

The guards and the update of an action are evaluated over stand-in values (:class:`_Probe`)
that remember whether they were computed from free memory; so the definition itself says
whether the action READS ``free_mib``, and its declared frame (``modifies``) whether it
WRITES it. The oracle's check-trace keys a step of an action that does neither without free
memory (``FREE_BLIND`` in verification/oracle/checktrace.py). Plain Python, no Z3.

The same reading over slots that log every field read (:func:`get_action_reads`,
:func:`get_clause_reads`) tells which fields of a VM a definition reads: a definition is one
text for Z3 and for Python values, so it cannot branch in Python on a field's value (a Z3
term has no truth value), and the probes refuse to be branched on too (a definition that
does gets ``None``: its reads cannot be told). A verdict is then a function of the fields
read, which the walk uses to judge a new VM value by what changed (specs/invariants.md,
"Read sets").

Examples
--------
>>> from dynmem.model.actions import BALLOON_REQUEST, START, STATUS_REPORT
>>> is_free_blind(STATUS_REPORT), is_free_blind(BALLOON_REQUEST), is_free_blind(START)
(True, True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from dynmem.model.actions import Action, HostView
from dynmem.model.ops import Term
from dynmem.model.units import MIB


class _Branches(Exception):
    """A definition asked a strict probe for its truth value: it branches in Python."""


class _Probe:
    """Any value of a definition; ``from_free`` when it was computed from free memory;
    ``strict`` when it may not be branched on (reads are being logged)."""

    __slots__ = ("from_free", "strict")
    name = "probe"  # a slot's name is a Python string in both readings

    def __init__(self, from_free: bool = False, strict: bool = False) -> None:
        self.from_free, self.strict = from_free, strict

    def __getattr__(self, name: str) -> _Probe:  # a field of a slot, a setting, a parameter
        return _Probe(self.from_free, self.strict)

    def __bool__(self) -> bool:
        if self.strict:
            raise _Branches
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
    probes = [v for v in values if isinstance(v, _Probe)]
    return _Probe(any(p.from_free for p in probes), any(p.strict for p in probes))


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


class _Logged:
    """A slot, a state or an event whose every field read is logged in ``reads`` and gives a
    strict probe; ``known`` fields give their value (a name, an event's kind), and a name
    in neither ``known`` nor ``fields`` (when given) is missing, as on the real object."""

    def __init__(self, reads: set[str], known: dict[str, Any],
                 fields: frozenset[str] | None = None) -> None:
        self._reads, self._known, self._fields = reads, known, fields

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._known:
            return self._known[name]
        if self._fields is not None and name not in self._fields:
            raise AttributeError(name)
        self._reads.add(name)
        return _Probe(strict=True)


def _slot(reads: set[str], name: str = "x") -> _Logged:
    """A slot holding a VM named ``name`` (``exists``: a present slot's constant)."""
    return _Logged(reads, {"name": name, "exists": True})


def get_action_reads(action: Action) -> frozenset[str] | None:
    """The fields of its slot that a slot action's guards and update read (host settings,
    free memory and the parameters aside: ``reads_free`` tells free); None when the
    definition branches on a value in Python, or is not a slot action.

    >>> from dynmem.model.actions import STATUS_REPORT
    >>> sorted(get_action_reads(STATUS_REPORT) or ())
    ['channel', 'power']
    """
    if action.scope != "slot" or action.aggregate is not None:
        return None
    reads: set[str] = set()
    host = HostView(_Probe(strict=True), _Probe(strict=True))
    slot, params = _slot(reads), _Probe(strict=True)
    try:
        for guard in action.guards:
            guard.holds(_Depends(), host, slot, params)
        action.update(_Depends(), host, slot, params)
    except _Branches:
        return None
    return frozenset(reads)


def get_clause_reads(scope: str, holds: Callable[..., Any], event: Any = None,
                     names_vm: bool = True) -> frozenset[str] | None:
    """The fields of its VM that a ``vm`` clause reads (of the state it may read only the
    host settings), or of the VM before or after that a ``pair`` clause reads on a step of
    ``event``'s kind that names (``names_vm``) or does not name that VM; None when it
    branches on a value in Python or reads more of the state.

    >>> from dynmem.model.invariants import CEILING
    >>> sorted(get_clause_reads("vm", CEILING.clauses[0].holds) or ())
    ['ballooned_mib', 'visible_mib']
    """
    reads: set[str] = set()
    try:
        if scope == "vm":
            state: set[str] = set()
            holds(_Depends(), _Logged(state, {"host": _Probe(strict=True)}), _slot(reads))
            return frozenset(reads) if not state else None
        if scope == "pair":
            known = {"KIND": event.KIND}
            if hasattr(event, "vm"):
                known["vm"] = "x" if names_vm else "y"
            fields = (frozenset(f.name for f in attrs.fields(type(event)))
                      if attrs.has(type(event)) else None)
            holds(_Depends(), _Logged(set(), known, fields), _slot(reads), _slot(reads))
            return frozenset(reads)
    except _Branches:
        return None
    return None
