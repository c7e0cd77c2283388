"""One unrolled step of the model for BMC: a compact encoding of ``transitions.get_next``.

``get_next`` is the relation "some action × slot fires": a disjunction, per instance, of its
guards, its declared updates and a frame equality for every other field of every slot, with
fresh parameters per instance. For deep unrollings two changes make Z3 several times faster
on this model (benchmarks/bench_bmc.py) without changing the relation:

* parameters are SHARED by the instances of one step (one ``mib``, one ``settings``, ...):
  the selector picks exactly one instance, which alone reads them (a BalancerTick keeps one
  choice per slot);
* the successor is written per field, as the update of the selected instance when it
  declares that field and the field's old value otherwise (the frame, by construction), and
  each instance's guards hold when it is selected.

Guards and updates come from the model itself (``get_guards``/``get_updates``), so a mutated
action is encoded the same way. tests/verification/test_bmc.py checks with Z3 that this
step and the relational ``get_transition`` of each instance are equivalent.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import z3

from dynmem.model.actions import Action, Param
from dynmem.model.fields import SETTINGS_BOOL_FIELDS, SETTINGS_INT_FIELDS, SLOT_FIELDS, read_field
from dynmem.model.instances import Instance, get_guards, get_updates
from dynmem.model.state import SymSettings, SymState
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.model.symbolic_steps import NextStep


class _SharedParams:
    """The parameter constants of one step, one per (name, sort), created on first use."""

    def __init__(self, suffix: str) -> None:
        self._suffix = suffix
        self._made: dict[tuple[str, str], Any] = {}

    def get(self, name: str, param: Param) -> Any:
        key = (name, param.sort)
        if key not in self._made:
            base = f"param.{name}{self._suffix}"
            if param.sort == "bool":
                self._made[key] = z3.Bool(base)
            elif param.sort == "int":
                self._made[key] = z3.Int(base)
            else:
                self._made[key] = SymSettings(
                    **{f: z3.Int(f"{base}.{f}") for f in SETTINGS_INT_FIELDS},
                    **{f: z3.Bool(f"{base}.{f}") for f in SETTINGS_BOOL_FIELDS})
        return self._made[key]


def make_step_instances(actions: Sequence[Action], n_slots: int, suffix: str
                        ) -> tuple[Instance, ...]:
    """Every (action, slot) of one step, sharing the step's parameter constants."""
    shared = _SharedParams(suffix)
    found = []
    for action in actions:
        if action.scope == "all":  # one choice per slot (BalancerTick)
            params = tuple(SimpleNamespace(**{p.name: shared.get(f"vm{k}.{action.kind}."
                                                                 f"{p.name}", p)
                                              for p in action.params})
                           for k in range(n_slots))
            found.append(Instance(action, None, params))
            continue
        for k in range(n_slots):
            found.append(Instance(action, k, SimpleNamespace(
                **{p.name: shared.get(p.name, p) for p in action.params})))
    return tuple(found)


def _as_term(value: Any) -> Any:
    if isinstance(value, z3.ExprRef):
        return value
    return z3.BoolVal(value) if isinstance(value, bool) else z3.IntVal(int(value))


def _chain(old: Any, cases: list[tuple[int, Any]], selector: Any) -> Any:
    term = old
    for number, value in reversed(cases):
        term = z3.If(selector == number, _as_term(value), term)
    return term


def get_step(pre: SymState, post: SymState, suffix: str, actions: Sequence[Action]
             ) -> NextStep:
    """``pre -> post`` by exactly one instance of ``actions`` (the selector names it)."""
    instances = make_step_instances(actions, len(pre.vms), suffix)
    selector = z3.Int(f"step.action{suffix}")
    terms = [selector >= 0, selector < len(instances)]
    cases: dict[tuple[int | None, str], list[tuple[int, Any]]] = {}
    for number, inst in enumerate(instances):
        guards = [g.term for g in get_guards(SYMBOLIC, inst, pre)]
        terms.append(z3.Implies(selector == number, SYMBOLIC.And(*guards)))
        updates = get_updates(SYMBOLIC, inst, pre)
        for k, values in updates.slots.items():
            for field, value in values.items():
                cases.setdefault((k, field), []).append((number, value))
        for field, value in updates.host.items():
            cases.setdefault((None, field), []).append((number, value))
    for k, (a, b) in enumerate(zip(pre.vms, post.vms, strict=True)):
        terms += [read_field(b, f) == _chain(read_field(a, f), cases.get((k, f), []), selector)
                  for f in SLOT_FIELDS]
    terms.append(post.free_mib == _chain(pre.free_mib, cases.get((None, "free_mib"), []),
                                         selector))
    return NextStep(z3.And(*terms), selector, instances)
