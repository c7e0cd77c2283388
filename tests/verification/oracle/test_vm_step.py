"""The one-VM judgement behind ``check-trace``'s fast path equals the oracle's full check.

Both directions, on random reference steps (honest, adversarial and rejected events, from
``verification.symbolic.refinement.random_steps``) with the right observation and perturbed ones:
the model's slot shortcut agrees with ``transitions.is_allowed``; ``judge_vm_step`` accepts
exactly when ``judge_system_step`` does, with the same state after; a tick's requests judged
one by one (through ``LogChecker``) agree with the whole tick. The properties of the invariant
registry the shortcut relies on are checked here too, and the tests are shown to be sharp:
planted bugs in the shortcut are caught.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator

import attrs
import pytest

import dynmem.verification.oracle.judge as oracle
import dynmem.verification.oracle.vm_step as vm_step
from dynmem.model.actions import BY_KIND, HostView
from dynmem.model.concrete_steps import is_allowed
from dynmem.model.invariants import INVARIANTS, check_state
from dynmem.model.ops import CONCRETE
from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.events import (
    EVENT_TYPES,
    BalancerTick,
    BalloonRequest,
    Configure,
    Create,
    Delete,
    DmRequest,
    Event,
    HotAddRequest,
    Start,
    UnballoonRequest,
)
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import StepResult, apply_plan, step
from dynmem.verification.codec import event_to_json
from dynmem.verification.oracle.checktrace import LogChecker
from dynmem.verification.oracle.iut import Observed
from dynmem.verification.oracle.judge import judge_system_step
from dynmem.verification.oracle.loggen import log_initial, simulate_log
from dynmem.verification.oracle.observation import (
    Observation,
    ObservedVm,
    observation_to_json,
    observe,
    observe_vm,
)
from dynmem.verification.oracle.vm_step import is_slot_step_allowed, judge_vm_step
from dynmem.verification.properties.locality import FREE_BLIND
from dynmem.verification.symbolic.refinement import random_steps

RELATIONS = {"model": is_allowed, "rules": None}
_WHOLE_STATE = (Create, Configure, Delete, BalancerTick)


def _valid_steps(seed: int, runs: int = 30, steps: int = 100) -> Iterator[tuple[DmState, Event,
                                                                                  int]]:
    """(pre, event, index of its VM) for single-VM events from valid states."""
    for pre, event, _ in random_steps(seed=seed, runs=runs, steps=steps):
        names = [vm.name for vm in pre.vms]
        if isinstance(event, _WHOLE_STATE) or event.vm not in names or check_state(pre):
            continue
        yield pre, event, names.index(event.vm)


def _variants(rng: random.Random, vm: ObservedVm) -> list[ObservedVm]:
    """``vm`` and versions of it with one observed field off (kept non-negative)."""
    out = [vm]
    for field in ("visible_mib", "ballooned_mib", "txn_mib", "txn_done_mib"):
        for delta in (-2, 2, 1024):
            if getattr(vm, field) + delta >= 0:
                out.append(attrs.evolve(vm, **{field: getattr(vm, field) + delta}))
    out.append(attrs.evolve(vm, power=Power.OFF if vm.power == Power.RUNNING else Power.RUNNING))
    out += [attrs.evolve(vm, txn=kind, txn_mib=vm.txn_mib or 2) for kind in TxnKind
            if kind != vm.txn and kind != TxnKind.NONE]
    return rng.sample(out, min(len(out), 6))


def _log_steps(events: int) -> Iterator[tuple[DmState, Event, int]]:
    """(pre, event, index) along a generated host log (VMs well above their startup)."""
    state = log_initial(3)
    for event, _ in simulate_log(state, events, seed=3):
        names = [vm.name for vm in state.vms]
        if not isinstance(event, _WHOLE_STATE):
            yield state, event, names.index(event.vm)
        state = step(state, event).state


def _cases(seed: int, runs: int = 30, steps: Iterable[tuple[DmState, Event, int]] | None = None,
           ) -> Iterator[tuple[DmState, Event, int, ObservedVm, int, bool]]:
    """(pre, event, index, observed VM, free after, accepted): the right answer, the event
    marked refused with nothing changed, and four random answers with one thing wrong."""
    rng = random.Random(seed)
    for pre, event, index in steps if steps is not None else _valid_steps(seed, runs):
        result = step(pre, event)
        right = result.state if result.accepted else pre
        observed = observe_vm(right.vms[index])
        yield pre, event, index, observed, right.free_mib, True
        yield pre, event, index, observe_vm(pre.vms[index]), pre.free_mib, False
        variants = _variants(rng, observed)
        frees = (right.free_mib, pre.free_mib, right.free_mib + rng.choice((-2, 2)))
        for _ in range(4):
            yield (pre, event, index, rng.choice(variants), rng.choice(frees),
                   rng.random() < 0.8)


def _full(pre: DmState, event: Event, index: int, observed: ObservedVm, free: int,
          accepted: bool, relation: object) -> DmState | None:
    """The oracle's full check of the same answer: the state after, or None (divergence)."""
    vms = tuple(observed if j == index else observe_vm(vm) for j, vm in enumerate(pre.vms))
    answer = Observed(Observation(free, vms), (), None if accepted else "refused")
    judged = judge_system_step(1, pre, event, answer, "refinement", relation)  # type: ignore[arg-type]
    return judged.post if judged.divergence is None else None


@pytest.mark.parametrize("relation", sorted(RELATIONS))
def test_one_vm_judgement_equals_the_full_check(relation: str) -> None:
    """judge_vm_step accepts exactly the answers judge_system_step accepts, same state after
    (R-* guards, updates and frames; every INV-* clause), for right and wrong answers."""
    tally: Counter[tuple[str, bool]] = Counter()
    for pre, event, index, observed, free, accepted in _cases(seed=11):
        full = _full(pre, event, index, observed, free, accepted, RELATIONS[relation])
        local = judge_vm_step(pre, index, event, observed, free, accepted, RELATIONS[relation])
        assert (local is None) == (full is None), (pre, event, observed, free, accepted)
        if full is not None:
            assert full.vms[index] == local and full.free_mib == free
            assert full.vms[:index] + full.vms[index + 1:] == pre.vms[:index] + pre.vms[index + 1:]
        tally[(event.KIND, full is not None)] += 1
    kinds = {kind for kind, ok in tally if ok}
    assert {"start", "stop", "status_report", "balloon_response", "hot_add_response",
            "balloon_request", "unballoon_request", "hot_add_request"} <= kinds
    assert sum(n for (_, ok), n in tally.items() if ok) > 300
    assert sum(n for (_, ok), n in tally.items() if not ok) > 3000


def test_slot_shortcut_equals_is_allowed() -> None:
    """is_slot_step_allowed(pre, i, e, vm, free) is exactly ``is_allowed(...) is None`` on the
    whole states, for the reference's post state and for posts with one field changed."""
    rng = random.Random(3)
    agree: Counter[bool] = Counter()
    for pre, event, index in _valid_steps(seed=5):
        result = step(pre, event)
        base = result.state.vms[index] if result.accepted else pre.vms[index]
        free = result.state.free_mib
        posts = [base, attrs.evolve(base, report_mib=base.report_mib + 2),
                 attrs.evolve(base, channel=Channel((base.channel + 1) % 6)),
                 attrs.evolve(base, visible_mib=base.visible_mib + 2),
                 attrs.evolve(base, hot_add_enabled=not base.hot_add_enabled),
                 attrs.evolve(base, settings=attrs.evolve(base.settings,
                                                          weight=base.settings.weight + 1))]
        for post_vm in rng.sample(posts, 3):
            for after in (free, free + 2):
                post = DmState(pre.host, after,
                               (*pre.vms[:index], post_vm, *pre.vms[index + 1:]))
                want = is_allowed(pre, event, post) is None
                assert is_slot_step_allowed(pre, index, event, post_vm, after) == want, (
                    pre, event, post_vm, after)
                agree[want] += 1
    assert agree[True] > 300 and agree[False] > 1000


# --- ticks: requests one by one through LogChecker ------------------------------------------


def _requests(rng: random.Random, state: DmState) -> tuple[DmRequest, ...]:
    """A random plan: allowed and refused requests, sometimes two for one VM."""
    plan: list[DmRequest] = []
    for vm in state.vms:
        if rng.random() < 0.6:
            cls = rng.choice((BalloonRequest, UnballoonRequest, HotAddRequest))
            room = max(2, {BalloonRequest: vm.assigned_mib - vm.settings.startup_mib,
                           UnballoonRequest: vm.ballooned_mib,
                           HotAddRequest: vm.settings.maximum_mib - vm.visible_mib}[cls])
            plan.append(cls(vm.name, rng.choice((rng.randrange(2, room + 2, 2), 2, 3, room))))
    if plan and rng.random() < 0.1:
        plan.append(BalloonRequest(plan[0].vm, 2))
    rng.shuffle(plan)
    return tuple(plan)


def _entry_line(event: Event, answer: Observed) -> str:
    entry: dict[str, object] = {"event": event_to_json(event),
                                "observed": observation_to_json(answer.observation)}
    if answer.sent:
        entry["sent"] = [event_to_json(r) for r in answer.sent]
    if answer.rejected is not None:
        entry["rejected"] = answer.rejected
    return json.dumps(entry)


def _tick_answers(rng: random.Random, pre: DmState) -> Iterator[Observed]:
    plan = _requests(rng, pre)
    applied = apply_plan(pre, plan)
    after = observe(applied.state)
    yield Observed(after, plan)
    if after.vms:
        vm = rng.choice(after.vms)
        wrong = [attrs.evolve(vm, txn=TxnKind.NONE, txn_mib=0, txn_done_mib=0),
                 attrs.evolve(vm, visible_mib=vm.visible_mib + 2)]
        if vm.txn != TxnKind.NONE:
            wrong.append(attrs.evolve(vm, txn_mib=vm.txn_mib + 2))
        for bad in wrong:
            vms = tuple(bad if v.name == vm.name else v for v in after.vms)
            yield Observed(Observation(after.free_mib, vms), plan)
    yield Observed(Observation(after.free_mib + 2, after.vms), plan)
    yield Observed(observe(pre), ())


@pytest.mark.parametrize("relation", sorted(RELATIONS))
def test_tick_judged_request_by_request_equals_the_whole_tick(relation: str) -> None:
    """A tick entry certified by the fast path (each request a one-VM step, R-TICK) is one
    the full check accepts, with the same state; and the fast path certifies the correct
    ticks (it does not just fall back)."""
    rng = random.Random(17)
    tally: Counter[str] = Counter()
    seen = 0
    for pre, _, _ in random_steps(seed=21, runs=40, steps=80):
        if check_state(pre) or not any(vm.channel == Channel.READY for vm in pre.vms):
            continue
        seen += 1
        if seen % 3:
            continue
        for answer in _tick_answers(rng, pre):
            full = judge_system_step(1, pre, BalancerTick(), answer, "refinement",
                                     RELATIONS[relation])
            checker = LogChecker(pre, "log", RELATIONS[relation])
            checker.valid = True  # pre satisfies every invariant (checked above)
            found = checker.check(2, _entry_line(BalancerTick(), answer))
            assert (found is None) == (full.divergence is None)
            if found is None:
                assert checker.state() == full.post
                tally["fast" if checker.certified else "full"] += 1
            else:
                assert found.headline() == full.divergence.headline()  # type: ignore[union-attr]
                tally["divergence"] += 1
    assert tally["fast"] > 50 and tally["divergence"] > 50
    assert tally["full"] <= tally["fast"] // 10


# --- properties of the invariant registry the shortcut relies on ------------------------------


class _HostOnly:
    """Stands for a state of which only the host's constants may be read (no step changes
    them: INV-VERSION reads the host's profile)."""

    host = HostSettings(8192, 1024)

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"a vm clause read the state's {name}")


def _random_vms(seed: int) -> list[Vm]:
    vms = [vm for pre, _, _ in random_steps(seed=seed, runs=20, steps=60) for vm in pre.vms]
    rng = random.Random(seed)
    odd = [attrs.evolve(rng.choice(vms), txn=rng.choice(list(TxnKind)),
                        txn_mib=rng.randrange(0, 64, 2), txn_done_mib=rng.randrange(0, 64, 2),
                        ballooned_mib=rng.randrange(0, 4096, 2)) for _ in range(200)]
    return vms + odd


def _events(vm: Vm) -> list[Event]:
    out: list[Event] = []
    for cls in EVENT_TYPES.values():
        fields = {f.name: (vm.name if f.name == "vm" else 2 if f.type in ("int", int) else
                           True if f.type in ("bool", bool) else vm.settings)
                  for f in attrs.fields(cls)}
        out.append(cls(**fields))
    return out


def test_vm_clauses_read_only_their_vm_and_pair_clauses_hold_on_unchanged_vms() -> None:
    """The other VMs of a one-VM step need no check: their vm clauses held before (INV-*
    vm clauses read of the state only the host's constants, which no step changes), and
    every pair clause holds on an unchanged VM, for every event kind (INV-NO-HOST-PAGING,
    INV-ONE-TXN, INV-CONFIG)."""
    clauses = [c for inv in INVARIANTS for c in inv.clauses]
    # (the one "step" clause, INV-RECLAIM-ORDER, reads a tick only: vm_step judges it apart)
    assert {c.scope for c in clauses} == {"vm", "pair", "host", "step"}
    for vm in _random_vms(seed=2):
        for clause in clauses:
            if clause.scope == "vm":
                clause.holds(CONCRETE, _HostOnly(), vm)
        for event in _events(vm):
            assert vm_step.is_unchanged_vm_allowed(event, vm), (event, vm)


def test_host_clauses_read_free_and_the_sum_owned_only() -> None:
    """Host clauses (INV-PHYSICAL, INV-CONSERVATION, AUX-FREE, INV-TYPE) depend on a state
    only through its host, free memory and Σ owned: the memo key (free before/after, the VM
    before/after) then fixes them, since the state before keeps INV-CONSERVATION."""
    rng = random.Random(4)
    host_clauses = [c for inv in INVARIANTS for c in inv.clauses if c.scope == "host"]
    # the argument needs INV-CONSERVATION: a valid state before gives Σ owned from free
    assert "INV-CONSERVATION" in {inv.id for inv in INVARIANTS}
    for pre, _, _ in random_steps(seed=9, runs=30, steps=60):
        if len(pre.vms) < 2:
            continue
        a, b = pre.vms[0], pre.vms[1]
        moved = rng.randrange(0, a.visible_mib + 1, 2) if a.visible_mib else 0
        # the same Σ owned, shared out differently between two VMs
        other = DmState(pre.host, pre.free_mib, (
            attrs.evolve(a, visible_mib=a.visible_mib - moved),
            attrs.evolve(b, visible_mib=b.visible_mib + moved), *pre.vms[2:]))
        for free in (pre.free_mib, pre.free_mib + 2, -2):
            s, t = attrs.evolve(pre, free_mib=free), attrs.evolve(other, free_mib=free)
            assert [c.holds(CONCRETE, s) for c in host_clauses] == [
                c.holds(CONCRETE, t) for c in host_clauses]


def test_free_blind_kinds_neither_read_nor_write_free() -> None:
    """FREE_BLIND: the reference and the model give the same verdict and VMs whatever free
    is, and leave free unchanged; so a step of these kinds keeping free is keyed without it."""
    checked: Counter[str] = Counter()
    for pre, event, index in _valid_steps(seed=13):
        if event.KIND not in FREE_BLIND:
            continue
        results = [step(attrs.evolve(pre, free_mib=f), event) for f in (pre.free_mib, 0, 10**6)]
        assert len({(r.accepted, r.state.vms) for r in results}) == 1
        assert all(r.state.free_mib == f for r, f in zip(results, (pre.free_mib, 0, 10**6),
                                                         strict=True))
        action = BY_KIND[event.KIND]
        slot = vm_step._Slot(pre.vms[index])
        views = [HostView(pre.host, f) for f in (pre.free_mib, 0, 10**6)]
        assert "free_mib" not in action.modifies
        assert len({tuple(g.holds(CONCRETE, h, slot, event) for g in action.guards)
                    for h in views}) == 1
        checked[event.KIND] += 1
    assert set(checked) == set(FREE_BLIND)


# --- the tests are sharp: planted bugs in the shortcut are caught -----------------------------


def _disagreements(relation: str, cases: list[tuple[DmState, Event, int, ObservedVm, int, bool]],
                   full: list[DmState | None]) -> int:
    return sum((judge_vm_step(pre, i, e, o, f, a, RELATIONS[relation]) is None) != (
        want is None) for (pre, e, i, o, f, a), want in zip(cases, full, strict=True))


def _start_above_maximum(state: DmState, event: Event) -> StepResult:
    """Planted reference bug: a started VM gets 2 MiB more than its maximum (free pays)."""
    result = step(state, event)
    if not isinstance(event, Start) or not result.accepted:
        return result
    vm = result.state.vms[[v.name for v in state.vms].index(event.vm)]
    extra = vm.settings.maximum_mib + 2 - vm.visible_mib
    grown = attrs.evolve(vm, visible_mib=vm.visible_mib + extra)
    return StepResult(attrs.evolve(result.state.with_vm(grown),
                                   free_mib=result.state.free_mib - extra))


def _start_keeps_free(state: DmState, event: Event) -> StepResult:
    """Planted reference bug: a start takes no memory from free."""
    result = step(state, event)
    if not isinstance(event, Start) or not result.accepted:
        return result
    return StepResult(attrs.evolve(result.state, free_mib=state.free_mib))


def _report_shrinks_visible(state: DmState, event: Event) -> StepResult:
    """Planted reference bug: a status report takes 2 MiB back (free gets them)."""
    result = step(state, event)
    vm = result.state.get_vm(getattr(event, "vm", ""))
    if event.KIND != "status_report" or not result.accepted or vm is None or (
            vm.assigned_mib < vm.settings.startup_mib + 4):
        return result
    return StepResult(attrs.evolve(result.state.with_vm(attrs.evolve(
        vm, visible_mib=vm.visible_mib - 2)), free_mib=result.state.free_mib + 2))


def _report_fails_channel(state: DmState, event: Event) -> StepResult:
    """Planted reference bug: a status report also marks the channel failed."""
    result = step(state, event)
    vm = result.state.get_vm(getattr(event, "vm", ""))
    if event.KIND != "status_report" or not result.accepted or vm is None or vm.txn:
        return result
    return StepResult(result.state.with_vm(attrs.evolve(vm, channel=Channel.FAILED)))


PLANTS = {  # what the shortcut loses, the reference bug only that part catches, the relation
    "vm clauses (INV-CEILING)": ("_VM_CLAUSES", _start_above_maximum, "rules"),
    "host clauses (INV-CONSERVATION)": ("_HOST_CLAUSES", _start_keeps_free, "rules"),
    "pair clauses (INV-NO-HOST-PAGING)": ("_PAIR_CLAUSES", _report_shrinks_visible, "rules"),
    "the model's frame (R-STATUS)": ("_shape", _report_fails_channel, "model"),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_each_part_of_the_shortcut_is_needed(plant: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With a planted reference bug that only one part of the judgement catches, the
    shortcut still agrees with the full check (which rejects some steps), and it would not
    without that part: the equivalence test is sharp."""
    part, buggy, relation = PLANTS[plant]
    monkeypatch.setattr(vm_step, "step", buggy)
    monkeypatch.setattr(oracle, "step", buggy)
    cases = [*_cases(seed=11, runs=8), *_cases(seed=11, steps=_log_steps(400))]
    full = [_full(*c[:6], RELATIONS[relation]) for c in cases]  # type: ignore[misc]
    right = [step(c[0], c[1]) for c in cases]
    # some right answers of the buggy reference are rejected by the full check
    assert sum(f is None and c[5] and r.accepted and observe_vm(r.state.vms[c[2]]) == c[3]
               for c, f, r in zip(cases, full, right, strict=True)) > 0
    assert _disagreements(relation, cases, full) == 0
    if part == "_shape":  # compare no field with the model's update or frame
        monkeypatch.setattr(vm_step, part, lambda action: vm_step._ActionShape(
            frozenset(action.modifies), False, lambda vm: (), {}))
    else:
        monkeypatch.setattr(vm_step, part, ())
    assert _disagreements(relation, cases, full) > 0
