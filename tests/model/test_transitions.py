"""The model's actions (model/actions.py): one per event kind, frames, two interpretations.

* every event kind of reference/events.py has a model action of the same name and kind;
* every action's update writes exactly the fields it declares (the frame helper adds the
  rest) and every guard cites a rule that exists in specs/;
* the frame test (STYLE rule 4): per event kind, the fields the model declares modified
  include every field the reference changes on random steps;
* guards and updates evaluated concretely (plain Python) agree with their Z3 reading under
  ``bind`` on random reference steps;
* the relational transition (frame included) and the functional successor agree.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import z3
from model_runs import random_steps

from dynmem.model.actions import ACTIONS, BY_KIND, is_initial
from dynmem.model.fields import (
    HOST_FIELDS,
    RUNTIME_FIELDS,
    SETTINGS_FIELDS,
    SLOT_FIELDS,
    read_field,
)
from dynmem.model.instances import get_guards, get_updates
from dynmem.model.ops import CONCRETE
from dynmem.model.state import bind, make_state
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.model.symbolic_steps import (
    compute_post,
    get_frame,
    get_next,
    get_transition,
    make_instance,
)
from dynmem.reference.events import EVENT_TYPES, BalancerTick, Event
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.reference.step import step

ROOT = Path(__file__).resolve().parents[2]


class TestActionsMatchEvents:
    def test_one_action_per_event_kind(self) -> None:
        """Model actions and reference event classes have the same names and kinds (rule 1)."""
        assert {a.kind: a.name for a in ACTIONS} == {k: c.__name__ for k, c in
                                                     EVENT_TYPES.items()}

    def test_actions_cite_their_event_rule(self) -> None:
        """An action's spec id is its event class's SPEC."""
        for action in ACTIONS:
            assert action.spec == EVENT_TYPES[action.kind].SPEC, action.name

    def test_guard_rules_exist_in_specs(self) -> None:
        """Every rule id a guard cites is a heading id of specs/events.md."""
        text = (ROOT / "specs" / "events.md").read_text()
        defined = set(re.findall(r"\bR-[A-Z0-9-]*[A-Z0-9]\b", text))
        cited = {g.spec for a in ACTIONS for g in a.guards}
        assert cited <= defined, cited - defined

    def test_params_are_event_fields(self) -> None:
        """Each parameter of a per-slot action is a field of its reference event."""
        for action in (a for a in ACTIONS if a.scope == "slot"):
            fields = {f.name for f in EVENT_TYPES[action.kind].__attrs_attrs__}
            assert {p.name for p in action.params} | {"vm"} == fields, action.name


class TestDeclaredUpdates:
    @pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
    def test_update_writes_exactly_the_declared_fields(self, action: Any) -> None:
        """get_updates returns the declared fields (it raises on any other set)."""
        pre = make_state(2, "@pre")
        inst = make_instance(action, 2, None if action.scope == "all" else 1, "@s")
        updates = get_updates(SYMBOLIC, inst, pre)
        written = {f for values in updates.slots.values() for f in values} | set(updates.host)
        assert written == set(action.modifies)

    def test_undeclared_write_is_refused(self) -> None:
        """An update that writes a field it does not declare is a model bug: ValueError."""
        import attrs

        start = BY_KIND["start"]
        sloppy = attrs.evolve(start, modifies=tuple(f for f in start.modifies if f != "demand_mib"))
        with pytest.raises(ValueError, match="declares"):
            get_updates(SYMBOLIC, make_instance(sloppy, 1, 0), make_state(1, "@pre"))

    @pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
    def test_frame_covers_every_other_field(self, action: Any) -> None:
        """The frame has one equality per field of every slot and the host not updated."""
        pre = make_state(2, "@pre")
        post = make_state(2, "@post", pre.host)
        inst = make_instance(action, 2, None if action.scope == "all" else 0, "@s")
        updates = get_updates(SYMBOLIC, inst, pre)
        frame = get_frame(pre, post, updates)
        expected = 2 * len(SLOT_FIELDS) + len(HOST_FIELDS) - sum(
            len(v) for v in updates.slots.values()) - len(updates.host)
        assert len(frame) == expected


def _changed_fields(pre: DmState, post: DmState) -> set[str]:
    """The slot and host fields a reference step changed (VMs matched by name)."""
    changed = {"free_mib"} if pre.free_mib != post.free_mib else set()
    before = {vm.name: vm for vm in pre.vms}
    after = {vm.name: vm for vm in post.vms}
    for name in before.keys() | after.keys():
        if (name in before) != (name in after):
            changed.add("exists")
            if name in after:  # created: every field is set
                changed |= set(SLOT_FIELDS)
            continue
        a, b = before[name], after[name]
        changed |= {f for f in SLOT_FIELDS[1:] if read_field(a, f) != read_field(b, f)}
    return changed


class TestFrameAgainstReference:
    def test_declared_modifies_cover_reference_changes(self) -> None:
        """STYLE rule 4: per event kind, the model declares every field the reference changes."""
        seen: dict[str, set[str]] = {}
        for pre, event, result in random_steps(seed=7, runs=40, steps=120):
            if result.accepted:
                seen.setdefault(event.KIND, set()).update(_changed_fields(pre, result.state))
        assert set(seen) == set(EVENT_TYPES), set(EVENT_TYPES) - set(seen)
        for kind, fields in seen.items():
            declared = set(BY_KIND[kind].modifies)
            assert fields <= declared, f"{kind}: reference changes {fields - declared}"


def _sym_params(action: Any, inst: Any, event: Event, pre: DmState) -> list[Any]:
    """Equalities that fix ``inst``'s Z3 parameters to the concrete event's values."""
    eqs = []
    if inst.slot is None:
        return eqs
    for param in action.params:
        term, value = getattr(inst.params, param.name), getattr(event, param.name)
        if param.sort == "settings":
            eqs += [getattr(term, f) == getattr(value, f) for f in SETTINGS_FIELDS]
        else:
            eqs.append(term == value)
    return eqs


class TestTwoInterpretationsAgree:
    def test_guards_and_updates_agree_on_random_steps(self) -> None:
        """Concrete guards/updates equal the Z3 terms forced by bind() on the same step."""
        checked = 0
        for pre, event, result in random_steps(seed=11, runs=12, steps=60):
            if isinstance(event, BalancerTick) or event.vm not in {v.name for v in pre.vms}:
                continue
            action = BY_KIND[event.KIND]
            slot = [v.name for v in pre.vms].index(event.vm)
            sym = make_state(len(pre.vms), "@pre")
            inst = make_instance(action, len(pre.vms), slot, "@s")
            solver = z3.Solver()
            solver.add(*bind(sym, pre), *_sym_params(action, inst, event, pre))
            assert solver.check() == z3.sat
            model = solver.model()
            concrete = _concrete_guards(pre, event, slot)
            symbolic = [z3.is_true(model.eval(g.term, model_completion=True))
                        for g in get_guards(SYMBOLIC, inst, sym)]
            assert concrete == symbolic, event
            if all(concrete):
                post = compute_post(inst, sym)
                after = result.state.get_vm(event.vm)
                exists = model.eval(post.vms[slot].exists, model_completion=True)
                assert z3.is_true(exists) == (after is not None), event
                for f in SLOT_FIELDS[1:] if after is not None else ():
                    want = model.eval(read_field(post.vms[slot], f), model_completion=True)
                    assert _as_python(want) == int(read_field(after, f)), (event, f)
                checked += 1
        assert checked > 100

    def test_is_initial_accepts_reference_initial_states(self) -> None:
        """The model's Init holds concretely on reference initial states, and not after a Start."""
        s = initial_state(HostSettings(8192, 1024),
                          (("a", VmSettings(dynamic=True, startup_mib=1024)),
                           ("b", VmSettings(startup_mib=512))))
        from dynmem.model.concrete_steps import _align  # the concrete slot view

        view, _ = _align(s, s)
        assert is_initial(CONCRETE, view)
        from dynmem.reference.events import Start

        started, _ = _align(step(s, Start("a")).state, s)
        assert not is_initial(CONCRETE, started)


def _as_python(value: Any) -> int:
    return int(z3.is_true(value)) if z3.is_bool(value) else value.as_long()


def _concrete_guards(pre: DmState, event: Event, slot: int) -> list[bool]:
    from dynmem.model.concrete_steps import _align
    from dynmem.model.instances import Instance

    view, _ = _align(pre, pre)
    inst = Instance(BY_KIND[event.KIND], slot, event)
    return [bool(g.term) for g in get_guards(CONCRETE, inst, view)]


class TestRelationalAndFunctionalAgree:
    @pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
    def test_transition_equals_functional_successor(self, action: Any) -> None:
        """get_transition(pre, post) ∧ guards ⇔ post == compute_post(pre), field by field."""
        pre = make_state(2, "@pre")
        post = make_state(2, "@post", pre.host)
        inst = make_instance(action, 2, None if action.scope == "all" else 1, "@s")
        functional = compute_post(inst, pre)
        same = z3.And(*[read_field(post.vms[k], f) == read_field(functional.vms[k], f)
                        for k in range(2) for f in SLOT_FIELDS],
                      post.free_mib == functional.free_mib)
        guards = z3.And(*[g.term for g in get_guards(SYMBOLIC, inst, pre)])
        solver = z3.Solver()
        solver.add(z3.Not(get_transition(inst, pre, post) == z3.And(guards, same)))
        assert solver.check() == z3.unsat

    def test_next_step_decodes_to_one_instance(self) -> None:
        """get_next: a satisfying model's selector names the instance that moved the state."""
        pre = make_state(2, "@0")
        post = make_state(2, "@1", pre.host)
        nxt = get_next(pre, post, "@0")
        assert len(nxt.instances) == (len(ACTIONS) - 1) * 2 + 1  # two slots each, one tick
        solver = z3.Solver()
        start0 = next(i for i, inst in enumerate(nxt.instances)
                      if inst.action.name == "Start" and inst.slot == 0)
        solver.add(nxt.formula, nxt.selector == start0)
        assert solver.check() == z3.sat
        assert z3.is_true(solver.model().eval(post.vms[0].power == 1, model_completion=True))


def test_runtime_fields_match_reference_vm() -> None:
    """The model's field list is the reference Vm's runtime fields, in order."""
    from dynmem.reference.state import Vm

    names = [f.name for f in Vm.__attrs_attrs__ if f.name not in ("name", "settings")]
    assert tuple(names) == RUNTIME_FIELDS


def test_random_steps_helper_is_seeded() -> None:
    """The run generator is deterministic (failures replay)."""
    a = [(e, r.state) for _, e, r in random_steps(seed=3, runs=2, steps=20)]
    b = [(e, r.state) for _, e, r in random_steps(seed=3, runs=2, steps=20)]
    assert a == b and random.Random(3).random() == random.Random(3).random()


def test_the_concrete_reading_loads_no_z3() -> None:
    """``is_allowed``, the invariants and the oracle's judge import without loading Z3."""
    code = ("import sys\n"
            "import dynmem.model.concrete_steps, dynmem.model.invariants\n"
            "import dynmem.verification.oracle.judge, dynmem.verification.oracle.checktrace\n"
            "print(sorted(m for m in sys.modules if m == 'z3' or m.startswith('z3.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]", out
