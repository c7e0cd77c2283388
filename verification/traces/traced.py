"""The EXPLAIN interpretation of the operator layer: values that remember how they were made.

Invariant clauses are written once over the operator layer (model/ops.py); ``CONCRETE``
evaluates them on Python values and ``SYMBOLIC`` builds Z3 terms. :data:`EXPLAIN` is a third
reading: every state field reads as a :class:`Traced` leaf (``visible 3072``), and every
operator builds a node that computes the concrete value and keeps its parts, so a false
clause can be taken apart (verification/traces/blame.py) and each part shown with its values.
Named quantities (``assigned``, ``in-flight``) are recognised by evaluating the functions of
model/quantities.py themselves, never by restating their formulas.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from enum import IntEnum
from typing import Any

import attrs

from dynmem.model import quantities
from dynmem.model.units import MIB
from dynmem.model.vocabulary import HOST_PROFILE_WORDS, VERSION_NAMES, HostProfile
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import DmState, Vm

# --- traced values ------------------------------------------------------------------------


class Traced:
    """A value of the EXPLAIN interpretation: the concrete ``value`` plus how it was made.

    ``kind`` is ``leaf`` (a state field; ``label`` is its display name, ``field`` its
    attribute name), ``const``, ``arith`` / ``cmp`` (``label`` is the operator), ``and``,
    ``or``, ``not``, ``implies``, ``if``, ``sum`` (``parts`` are ``vm`` nodes, one per VM),
    ``vm`` (``label`` is the VM name) or ``call`` (``max``/``min``).
    """

    __slots__ = ("value", "kind", "label", "field", "parts")
    __hash__ = None  # type: ignore[assignment]  # == builds a comparison, not a bool

    def __init__(self, value: Any, kind: str, label: str = "", parts: Sequence[Traced] = (),
                 field: str = "") -> None:
        self.value, self.kind, self.label = value, kind, label
        self.parts, self.field = tuple(parts), field

    def __repr__(self) -> str:
        return f"Traced({self.kind} {self.label!r} = {self.value!r})"

    def __bool__(self) -> bool:
        return bool(self.value)

    # arithmetic
    def __add__(self, other: Any) -> Traced:
        return _arith("+", self, other)

    def __radd__(self, other: Any) -> Traced:
        return _arith("+", other, self)

    def __sub__(self, other: Any) -> Traced:
        return _arith("-", self, other)

    def __rsub__(self, other: Any) -> Traced:
        return _arith("-", other, self)

    def __mul__(self, other: Any) -> Traced:
        return _arith("*", self, other)

    def __rmul__(self, other: Any) -> Traced:
        return _arith("*", other, self)

    def __mod__(self, other: Any) -> Traced:
        return _arith("%", self, other)

    def __rmod__(self, other: Any) -> Traced:  # a remainder by a traced alignment
        return _arith("%", other, self)

    def __neg__(self) -> Traced:
        return _arith("-", 0, self)

    # comparisons build a comparison node (as Z3 terms do), never a plain bool
    def __eq__(self, other: object) -> Traced:  # type: ignore[override]
        return _cmp("==", self, other)

    def __ne__(self, other: object) -> Traced:  # type: ignore[override]
        return _cmp("!=", self, other)

    def __lt__(self, other: Any) -> Traced:
        return _cmp("<", self, other)

    def __le__(self, other: Any) -> Traced:
        return _cmp("<=", self, other)

    def __gt__(self, other: Any) -> Traced:
        return _cmp(">", self, other)

    def __ge__(self, other: Any) -> Traced:
        return _cmp(">=", self, other)


def lift(value: Any) -> Traced:
    """``value`` as a traced value (a plain int, bool or enum becomes a constant)."""
    return value if isinstance(value, Traced) else Traced(value, "const")


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "%": lambda a, b: a % b,
}
_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b), "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b), "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b), ">=": lambda a, b: bool(a >= b),
}


def _arith(op: str, a: Any, b: Any) -> Traced:
    x, y = lift(a), lift(b)
    return Traced(_ARITH[op](int(x.value), int(y.value)), "arith", op, (x, y))


def _cmp(op: str, a: Any, b: Any) -> Traced:
    x, y = lift(a), lift(b)
    return Traced(_CMP[op](x.value, y.value), "cmp", op, (x, y))


class _Explain:
    """The operator layer on traced values (model/ops.py's protocol)."""

    symbolic = False
    units = MIB  # amounts in MiB, as the reference counts (model/units.py)

    def And(self, *args: Any) -> Traced:
        parts = [lift(a) for a in args]
        return Traced(all(p.value for p in parts), "and", parts=parts)

    def Or(self, *args: Any) -> Traced:
        parts = [lift(a) for a in args]
        return Traced(any(p.value for p in parts), "or", parts=parts)

    def Not(self, a: Any) -> Traced:
        return Traced(not lift(a).value, "not", parts=(lift(a),))

    def Implies(self, a: Any, b: Any) -> Traced:
        x, y = lift(a), lift(b)
        return Traced((not x.value) or bool(y.value), "implies", parts=(x, y))

    def If(self, c: Any, a: Any, b: Any) -> Traced:
        cond, yes, no = lift(c), lift(a), lift(b)
        return Traced(yes.value if cond.value else no.value, "if", parts=(cond, yes, no))

    def Sum(self, terms: Iterable[Any]) -> Traced:
        parts = [lift(t) for t in terms]
        return Traced(sum(int(p.value) for p in parts), "sum", parts=parts)

    def Max(self, a: Any, b: Any) -> Traced:
        x, y = lift(a), lift(b)
        return Traced(max(x.value, y.value), "call", "max", (x, y))

    def Min(self, a: Any, b: Any) -> Traced:
        x, y = lift(a), lift(b)
        return Traced(min(x.value, y.value), "call", "min", (x, y))

    def all_vms(self, vms: Sequence[Any], fn: Callable[[Any], Any]) -> Traced:
        parts = []
        for vm in vms:
            term = lift(fn(vm))
            parts.append(Traced(term.value, "vm", vm.name, (term,)))
        return Traced(all(p.value for p in parts), "and", parts=parts)

    def total(self, vms: Sequence[Any], fn: Callable[[Any], Any]) -> Traced:
        parts = []
        for vm in vms:
            term = lift(fn(vm))
            parts.append(Traced(term.value, "vm", vm.name, (term,)))
        return Traced(sum(int(p.value) for p in parts), "sum", parts=parts)

    def all_pairs(self, pre: Sequence[Any], post: Sequence[Any],
                  fn: Callable[[Any, Any], Any]) -> Traced:
        after = {vm.name: vm for vm in post}
        parts = []
        for vm in pre:
            if vm.name in after:
                term = lift(fn(vm, after[vm.name]))
                parts.append(Traced(term.value, "vm", vm.name, (term,)))
        return Traced(all(p.value for p in parts), "and", parts=parts)


EXPLAIN = _Explain()

# --- views of reference values whose fields read as traced leaves ----------------------------

# How a field reads in blame text; every other field drops ``_mib`` and ``_`` becomes a space.
_FIELD_WORDS = {"txn_mib": "requested", "txn_done_mib": "received", "buffer_pct": "buffer",
                "dm_capable": "DM guest", "reserve_mib": "reserve", "free_mib": "free"}


def field_word(name: str) -> str:
    """The display name of a state or settings field, e.g. ``txn_done_mib`` -> ``received``."""
    return _FIELD_WORDS.get(name, name.removesuffix("_mib").replace("_", " "))


class View:
    """Attribute access on a reference value that returns traced leaves named ``prefix+word``."""

    def __init__(self, target: Any, prefix: str) -> None:
        self._target, self._prefix = target, prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name == "name" or isinstance(value, str):
            return value  # identity, compared in plain Python (e.g. an event's VM)
        if attrs.has(type(value)):
            return View(value, self._prefix)
        return Traced(value, "leaf", self._prefix + field_word(name), field=name)


def state_view(state: DmState) -> Any:
    """A state whose host and free fields are leaves and whose VMs name themselves."""
    view = View(state, "")
    view.__dict__["vms"] = tuple(View(vm, f"{vm.name} ") for vm in state.vms)
    return view


# --- the derived quantities, named by evaluating model/quantities.py itself ------------------


def _shape(t: Traced) -> str:
    """A structural key of ``t``: leaves by field (VM prefix dropped), constants by value."""
    if t.kind == "leaf":
        return t.field
    if t.kind == "const":
        return repr(t.value)
    return f"{t.kind}{t.label}(" + ",".join(_shape(p) for p in t.parts) + ")"


@functools.cache
def _quantity_names() -> dict[str, str]:
    """Shape -> name of the quantities a clause may use (owned is shown by its parts)."""
    vm = View(Vm("vm", VmSettings()), "")
    return {
        _shape(lift(quantities.assigned(vm))): "assigned",
        _shape(lift(quantities.in_flight(EXPLAIN, vm))): "in-flight",
        _shape(lift(quantities.outstanding_balloon(EXPLAIN, vm))): "outstanding balloon",
    }


# --- rendering ---------------------------------------------------------------------------------

_NEGATION = {"<=": ">", "<": ">=", ">=": "<", ">": "<=", "==": "!=", "!=": "="}


def _value_word(value: Any) -> str:
    if isinstance(value, IntEnum):
        return value.name.lower().replace("_", "-")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _enum_case(t: Traced) -> str | None:
    """For an if-node, the enum constant its true condition selects (``hot_add``)."""
    found: list[str] = []

    def walk(node: Traced) -> None:
        if node.kind == "cmp" and node.label == "==" and node.value:
            found.extend(_value_word(p.value) for p in node.parts
                         if p.kind == "const" and isinstance(p.value, IntEnum))
        elif node.kind in ("or", "and"):
            for p in node.parts:
                walk(p)

    walk(t.parts[0])
    return found[0] if found else None


def _first_leaf(t: Traced) -> Traced | None:
    if t.kind == "leaf":
        return t
    return next((leaf for p in t.parts if (leaf := _first_leaf(p)) is not None), None)


def quantity_parts(t: Traced) -> tuple[str, str, str] | None:
    """``(prefix, name, case)`` when ``t`` is a named quantity: the VM or side its leaves
    belong to (``after ``), the quantity's name and, for a selected branch, the enum case
    that selected it (``hot-add``)."""
    name = _quantity_names().get(_shape(t))
    if name is None:
        return None
    leaf = _first_leaf(t)
    prefix = (leaf.label[: len(leaf.label) - len(field_word(leaf.field))]
              if leaf is not None else "")
    case = _enum_case(t) if t.kind == "if" and t.value else None
    return prefix, name, case if case and case not in name else ""


def quantity(t: Traced) -> str | None:
    """``assigned 2048`` / ``in-flight hot-add 1024`` when ``t`` is a named quantity."""
    parts = quantity_parts(t)
    if parts is None:
        return None
    prefix, name, case = parts
    return f"{prefix}{name} {case + ' ' if case else ''}{t.value}"


def addends(t: Traced, sign: int = 1) -> list[tuple[int, Traced]]:
    """``t`` flattened over ``+`` and ``-`` (named quantities stay whole)."""
    if t.kind == "arith" and t.label in "+-" and quantity(t) is None:
        a, b = t.parts
        return addends(a, sign) + addends(b, sign if t.label == "+" else -sign)
    return [(sign, t)]


def _render_sum(t: Traced) -> str:
    """A sum over VMs: per component (assigned, in-flight) its total and the VMs it comes
    from, when every VM's term has the same shape; else each VM's value."""
    rows = [(p.label, addends(p.parts[0])) for p in t.parts]
    shapes = {tuple((s, _shape(x)) for s, x in adds) for _, adds in rows}
    if len(shapes) != 1 or not rows:
        items = [f"{name} {p.value}" for name, p in ((p.label, p) for p in t.parts) if p.value]
        return "(" + (" + ".join(items) or "0") + ")"
    pieces = []
    for i, (sign, first) in enumerate(rows[0][1]):
        per_vm = [(name, adds[i][1]) for name, adds in rows]
        total = sum(int(x.value) for _, x in per_vm)
        if total == 0:
            continue
        named = quantity_parts(first)
        word = named[1] if named else render(first).rsplit(" ", 1)[0]
        from_vms = [f"{name} {_quantity_case(x)}{x.value}" for name, x in per_vm if x.value]
        where = f" ({' + '.join(from_vms)})" if len(rows) > 1 else ""
        pieces.append(("- " if sign < 0 else "+ ") + f"{word} {total}{where}")
    text = " ".join(pieces).removeprefix("+ ")
    return text or "0"


def _quantity_case(t: Traced) -> str:
    named = quantity_parts(t)
    return f"{named[2]} " if named and named[2] else ""


def render(t: Traced, outer: str = "") -> str:
    """``t`` with the values of its leaves: ``visible 3072 - ballooned 1024``."""
    named = quantity(t)
    if named is not None:
        return named
    if t.kind == "leaf":
        return f"{t.label} {_value_word(t.value)}"
    if t.kind == "const":
        return _value_word(t.value)
    if t.kind == "sum":
        return _render_sum(t)
    if t.kind == "if":
        return render(t.parts[1] if t.parts[0].value else t.parts[2], outer)
    if t.kind == "call":
        return f"{t.label}({render(t.parts[0])}, {render(t.parts[1])})"
    if t.kind == "arith":
        a, b = t.parts
        right = render(b, t.label)
        if b.kind == "arith" and t.label in "-%*" and quantity(b) is None:
            right = f"({right})"
        text = f"{render(a, t.label)} {t.label} {right}"
        return f"({text})" if outer in "*%" and outer and t.label in "+-" else text
    return describe_condition(t)


def _is_compound(t: Traced) -> bool:
    if quantity(t) is not None:
        return False  # "assigned 1024" already shows its value
    return t.kind in ("arith", "sum", "call") or (t.kind == "if" and quantity(t) is None
                                                  and _is_compound(t.parts[1 if t.parts[0].value
                                                                           else 2]))


def _side(t: Traced) -> str:
    text = render(t)
    return f"{text} = {_value_word(t.value)}" if _is_compound(t) else text


def _profile_word(value: int) -> str:
    try:
        return HOST_PROFILE_WORDS[HostProfile(value)]
    except ValueError:
        return str(value)


# Integer fields whose values have names (the model keeps them as plain ints).
_VALUE_WORDS: dict[str, Callable[[int], str]] = {
    "protocol_version": lambda v: VERSION_NAMES.get(v, f"{v:#x}"),
    "profile": _profile_word,
}


def _named(leaf: Traced, value: Any) -> str:
    """A value of ``leaf``'s field in words: an enum's name, a protocol version's name."""
    word = _VALUE_WORDS.get(leaf.field)
    if word is not None and not isinstance(value, bool):
        return word(value)
    return _value_word(value)


def _is_named(leaf: Traced, const: Traced) -> bool:
    return leaf.kind == "leaf" and const.kind == "const" and (
        isinstance(const.value, IntEnum) or leaf.field in _VALUE_WORDS)


def _enum_cmp(t: Traced, required: bool) -> str | None:
    """An (in)equality with an enum constant or a protocol version, in words: ``txn is
    balloon``; a ``required`` comparison that failed also says what it must be (``channel is
    none, must be ready``; ``protocol version is 2.0 (WIN10), must be 0.3 (WIN7)``)."""
    a, b = t.parts
    if _is_named(a, b):
        leaf, const = a, b
    elif _is_named(b, a):
        leaf, const = b, a
    else:
        return None
    fact = f"{leaf.label} is {_named(leaf, leaf.value)}"
    if not required or t.value:
        return fact
    return f"{fact}, must be {_named(leaf, const.value)}" if t.label == "==" else \
        f"{fact}, must not be"


def merge_sides(texts: list[str], joiner: str) -> list[str]:
    """``before power is running`` + ``after power is running`` -> ``power is running before
    and after`` (a two-state clause's condition on both sides)."""
    out: list[str] = []
    for text in texts:
        if out and out[-1].startswith("before ") and text == "after " + out[-1][7:]:
            out[-1] = f"{text[6:]} before{joiner}after"
        else:
            out.append(text)
    return out


def describe_condition(t: Traced, required: bool = False) -> str:
    """A condition with its values, as it evaluated (true or false); ``required`` marks a
    condition that had to hold (its failure then says what was required).

    Examples
    --------
    >>> from dynmem.reference.settings import VmSettings
    >>> vm = View(Vm("web", VmSettings(startup_mib=2048), visible_mib=3072), "")
    >>> describe_condition(vm.visible_mib - vm.ballooned_mib <= vm.settings.startup_mib, True)
    'assigned 3072 > startup 2048'
    >>> describe_condition(EXPLAIN.And(vm.visible_mib > 0, vm.settings.dynamic))
    'visible 3072 > 0 and not dynamic'
    """
    if t.kind == "cmp":
        worded = _enum_cmp(t, required) if t.label in ("==", "!=") else None
        if worded is not None:
            return worded
        op = t.label if t.value else _NEGATION[t.label]
        return f"{_side(t.parts[0])} {'=' if op == '==' else op} {_side(t.parts[1])}"
    if t.kind == "leaf" and isinstance(t.value, bool):
        return t.label if t.value else f"not {t.label}"
    if t.kind == "and" and required and not t.value:
        return " and ".join(describe_condition(p, True) for p in t.parts if not p.value)
    if t.kind in ("and", "or"):
        joiner = " and " if t.kind == "and" else " or "
        return joiner.join(merge_sides([describe_condition(p, required) for p in t.parts],
                                        joiner))
    if t.kind == "not":
        return describe_condition(t.parts[0])  # the facts, as they evaluated
    if t.kind == "implies":
        return f"if {describe_condition(t.parts[0])} then {describe_condition(t.parts[1])}"
    if t.kind == "const" and isinstance(t.value, bool):
        return "the event condition holds" if t.value else "the event condition fails"
    return _side(t)
