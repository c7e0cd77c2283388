"""Shrink a violating trace from any source while it keeps violating the same invariant.

A trace from bmc, explore, prove, oracle or simulate is a start state and a list of events.
The shrinker replays candidate (start state, events) pairs with a step function (the
reference's ``step``, or a planted bug's, see ``--mutant``) and keeps a candidate only when

1. the replay violates the **target invariant** (by default the trace's first finding's;
   same registry id, any of its clauses) at some step or in the start state, and
2. the candidate's start state violates no invariant that the original start state did not
   violate (so shrinking never starts a trace from a state broken in a new way).

Events the step function refuses in a candidate are allowed: a refused event leaves the
state unchanged (specs/events.md), so it can neither cause nor prevent the violation, and
the final pass removes every refused event (keeping them only if, against that rule, removing
them loses the violation). The shrunk trace therefore holds only accepted events unless the
step function changes state on a refusal.

Passes, repeated until none makes progress or the replay budget (a count of candidate
replays, never seconds, so the result is the same on any machine) runs out:

* cut everything after the first step that violates the target;
* delta debugging (ddmin) over the events: fewer steps;
* remove VMs: from the start state (what a removed VM owned goes back to the host's free
  ledger, so exact accounting is kept) together with every event that names it;
* smaller sizes: the host's physical memory and reserve, each VM's startup and maximum (in
  the start state and in Create/Configure events) and every event amount (demand, status
  report, request and answer sizes), each by binary search towards its minimum, in 2 MiB
  units; a start state that is not a fresh one (a CTI, a mid-run state) keeps its runtime
  values, and its free ledger moves with physical and reserve.

Every candidate is replayed, so the result is a real violation of the reference (or the
mutant), not an estimate. The search is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from dynmem.model.invariants import BY_ID, INVARIANTS, Invariant, check_state
from dynmem.model.vocabulary import MEMORY_UNIT_MIB, MIN_STARTUP_MIB
from dynmem.reference.events import Configure, Create, Event
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.reference.step import Step, StepResult, step
from dynmem.verification.errors import InputError
from dynmem.verification.traces.trace import Trace, check_transition, record

Case = tuple[DmState, tuple[Event, ...]]

# Event fields the size pass shrinks (the protocol version is a code, not a size).
AMOUNT_FIELDS = ("mib", "committed_mib")
SETTINGS_SIZES = ("startup_mib", "maximum_mib")
# Candidate replays a shrink may spend (a count, so the result does not depend on the machine);
# the traces of the test suite shrink completely in a few hundred.
MAX_REPLAYS = 20_000
REPLAY_TICK = 50  # replays between two progress calls


@attrs.frozen
class ShrinkResult:
    """The shrunk trace and how the search went."""

    trace: Trace
    invariant: str
    original_steps: int
    original_vms: int
    replays: int
    complete: bool  # False when the replay budget stopped the search early

    def describe(self) -> str:
        """``shrunk 29 steps, 4 VMs to 1 step, 1 VM keeping INV-PHYSICAL (...)``."""
        stopped = ("" if self.complete else
                   "; stopped by the replay budget, --max-replays raises it")
        return (f"shrunk {count(self.original_steps, 'step')}, "
                f"{count(self.original_vms, 'VM')} to {count(len(self.trace.steps), 'step')}, "
                f"{count(len(self.trace.initial.vms), 'VM')} keeping {self.invariant} "
                f"({self.replays:,} replays{stopped})")


def count(n: int, word: str) -> str:
    """``1 step``, ``2 steps``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- replay -----------------------------------------------------------------------------------


def replay(case: Case, step_fn: Step) -> list[tuple[Event, StepResult]]:
    """Step ``case``'s events from its start state with ``step_fn``."""
    state, results = case[0], []
    for event in case[1]:
        result = step_fn(state, event)
        results.append((event, result))
        state = result.state
    return results


def first_violation(case: Case, step_fn: Step, invariant: Invariant) -> int | None:
    """The first step (0 = start state) at which ``invariant`` fails, or None."""
    state, only = case[0], [invariant]
    if check_state(state, only):
        return 0
    for index, event in enumerate(case[1], start=1):
        result = step_fn(state, event)
        if result.accepted and check_transition(state, event, result.state, only):
            return index
        state = result.state
    return None


class _Oracle:
    """The shrinking property, with a cache and counters: does a candidate keep the target?

    ``max_replays`` bounds the candidates replayed after the original; once it is spent, an
    unseen candidate counts as not a keeper, so the search stops where the count says.
    """

    def __init__(self, step_fn: Step, invariant: Invariant, start_broken: set[str],
                 max_replays: int, on_replays: Callable[[int], None] | None = None) -> None:
        self.step_fn, self.invariant = step_fn, invariant
        self.start_broken, self.max_replays = start_broken, max_replays
        self.on_replays = on_replays
        self.cache: dict[Case, int | None] = {}
        self.replays = 0

    @property
    def out_of_budget(self) -> bool:
        return self.replays > self.max_replays  # the original's replay is not a candidate

    def where(self, case: Case) -> int | None:
        """The first violating step of ``case`` (None: not a keeper)."""
        if case not in self.cache:
            if self.out_of_budget:
                return None
            self.replays += 1
            if self.on_replays is not None and self.replays % REPLAY_TICK == 0:
                self.on_replays(self.replays)
            new = {v.invariant for v in check_state(case[0])} - self.start_broken
            self.cache[case] = None if new else first_violation(case, self.step_fn,
                                                                 self.invariant)
        return self.cache[case]

    def keeps(self, case: Case) -> bool:
        return self.where(case) is not None


# --- passes -------------------------------------------------------------------------------------


def _cut(case: Case, oracle: _Oracle) -> Case:
    """Drop the events after the first violating step."""
    at = oracle.where(case)
    return case if at is None else (case[0], case[1][:at])


def ddmin(items: Sequence[Any], keeps: Callable[[tuple[Any, ...]], bool],
          stop: Callable[[], bool] = lambda: False) -> tuple[Any, ...]:
    """Zeller's delta debugging: a 1-minimal sub-sequence of ``items`` that ``keeps``.

    Examples
    --------
    >>> ddmin(range(10), lambda xs: 3 in xs and 7 in xs)
    (3, 7)
    """
    current, n = tuple(items), 2
    while len(current) >= 2 and not stop():
        size = -(-len(current) // n)
        chunks = [current[i:i + size] for i in range(0, len(current), size)]
        for i in range(len(chunks)):
            rest = tuple(x for j, c in enumerate(chunks) if j != i for x in c)
            if keeps(rest):
                current, n = rest, max(n - 1, 2)
                break
        else:
            if n >= len(current):
                break
            n = min(len(current), 2 * n)
    return current


def _events_pass(case: Case, oracle: _Oracle) -> Case:
    start = case[0]
    events = ddmin(case[1], lambda evs: oracle.keeps((start, evs)),
                   lambda: oracle.out_of_budget)
    return start, events


def _without_vm(case: Case, name: str) -> Case:
    start, events = case
    gone = start.get_vm(name)
    owned = gone.owned_mib if gone is not None else 0
    state = attrs.evolve(start, free_mib=start.free_mib + owned,
                         vms=tuple(vm for vm in start.vms if vm.name != name))
    return state, tuple(e for e in events if getattr(e, "vm", None) != name)


def _vm_names(case: Case) -> list[str]:
    names = [vm.name for vm in case[0].vms]
    names += [e.vm for e in case[1] if isinstance(e, Create) and e.vm not in names]
    return names


def _vms_pass(case: Case, oracle: _Oracle) -> Case:
    for name in _vm_names(case):
        if oracle.out_of_budget:
            break
        candidate = _without_vm(case, name)
        if oracle.keeps(candidate):
            case = candidate
    return case


def _drop_refused(case: Case, oracle: _Oracle) -> Case:
    """Remove the events the step function refuses (they leave the state unchanged)."""
    kept = tuple(e for e, r in replay(case, oracle.step_fn) if r.accepted)
    candidate = (case[0], kept)
    return candidate if oracle.keeps(candidate) else case


# --- sizes ------------------------------------------------------------------------------------

@attrs.frozen
class Knob:
    """One size of a case: how to read it, how to set it, and its smallest valid value."""

    name: str
    get: Callable[[Case], int]
    put: Callable[[Case, int], Case]
    floor: Callable[[Case], int]


def _is_fresh(state: DmState) -> bool:
    return state == initial_state(state.host, tuple((vm.name, vm.settings) for vm in state.vms))


def _set_host(case: Case, field: str, value: int) -> Case:
    start, events = case
    changes: dict[str, Any] = {field: value}
    host = attrs.evolve(start.host, **changes)
    # The free ledger follows physical - reserve, so exact accounting still holds.
    delta = (host.physical_mib - host.reserve_mib) - (start.host.physical_mib
                                                       - start.host.reserve_mib)
    return attrs.evolve(start, host=host, free_mib=start.free_mib + delta), events


def _host_knob(field: str) -> Knob:
    def get(c: Case) -> int:
        return int(getattr(c[0].host, field))

    def put(c: Case, v: int) -> Case:
        return _set_host(c, field, v)

    def floor(c: Case) -> int:
        if field == "reserve_mib":
            return 0
        return max(MEMORY_UNIT_MIB, c[0].host.reserve_mib)

    return Knob(f"host.{field}", get, put, floor)


def _settings_floor(settings: VmSettings, field: str) -> int:
    return MIN_STARTUP_MIB if field == "startup_mib" else settings.startup_mib


def _evolve_settings(settings: VmSettings, field: str, value: int) -> VmSettings:
    changes: dict[str, Any] = {field: value}
    changed = attrs.evolve(settings, **changes)
    if changed.maximum_mib < changed.startup_mib:  # keep startup <= maximum
        changed = attrs.evolve(changed, maximum_mib=changed.startup_mib)
    return changed


def _start_settings(case: Case, name: str) -> VmSettings:
    vm = case[0].get_vm(name)
    assert vm is not None
    return vm.settings


def _start_setting_knob(name: str, field: str) -> Knob:
    def get(c: Case) -> int:
        return int(getattr(_start_settings(c, name), field))

    def put(c: Case, v: int) -> Case:
        start, events = c
        vms = tuple(attrs.evolve(vm, settings=_evolve_settings(vm.settings, field, v))
                    if vm.name == name else vm for vm in start.vms)
        return attrs.evolve(start, vms=vms), events

    def floor(c: Case) -> int:
        return _settings_floor(_start_settings(c, name), field)

    return Knob(f"{name}.{field}", get, put, floor)


def _set_event(case: Case, index: int, edit: Callable[[Event], Event]) -> Case:
    events = list(case[1])
    events[index] = edit(events[index])
    return case[0], tuple(events)


def _event_amount_knob(index: int, field: str) -> Knob:
    def get(c: Case) -> int:
        return int(getattr(c[1][index], field))

    def put(c: Case, v: int) -> Case:
        changes: dict[str, Any] = {field: v}
        return _set_event(c, index, lambda e: attrs.evolve(e, **changes))

    return Knob(f"events[{index}].{field}", get, put, lambda c: 0)


def _event_settings(case: Case, index: int) -> VmSettings:
    event = case[1][index]
    assert isinstance(event, Create | Configure)
    return event.settings


def _event_setting_knob(index: int, field: str) -> Knob:
    def get(c: Case) -> int:
        return int(getattr(_event_settings(c, index), field))

    def edit(event: Event, v: int) -> Event:
        assert isinstance(event, Create | Configure)
        return attrs.evolve(event, settings=_evolve_settings(event.settings, field, v))

    def put(c: Case, v: int) -> Case:
        return _set_event(c, index, lambda e: edit(e, v))

    def floor(c: Case) -> int:
        return _settings_floor(_event_settings(c, index), field)

    return Knob(f"events[{index}].settings.{field}", get, put, floor)


def get_knobs(case: Case) -> list[Knob]:
    """Every size of ``case`` the size pass shrinks, host first, then settings, then events.

    A start state that is not fresh keeps its VMs' settings: a running VM's sizes depend on
    them, and changing one without the other would start the trace from a broken state.
    """
    knobs = [_host_knob("physical_mib"), _host_knob("reserve_mib")]
    if _is_fresh(case[0]):
        knobs += [_start_setting_knob(vm.name, f) for vm in case[0].vms for f in SETTINGS_SIZES]
    for i, event in enumerate(case[1]):
        knobs += [_event_amount_knob(i, f) for f in AMOUNT_FIELDS if hasattr(event, f)]
        if isinstance(event, Create | Configure):
            knobs += [_event_setting_knob(i, f) for f in SETTINGS_SIZES]
    return knobs


def _round_up(value: int) -> int:
    return value + (-value % MEMORY_UNIT_MIB)


def _smallest(case: Case, knob: Knob, oracle: _Oracle) -> Case:
    """Binary search for the smallest value of ``knob`` that keeps the violation."""
    get, put = knob.get, knob.put
    value, low = get(case), knob.floor(case)
    if value <= low or oracle.out_of_budget:
        return case
    if oracle.keeps(put(case, low)):
        return put(case, low)
    bad, good = low, value  # put(bad) loses the violation, put(good) keeps it
    while good - bad > MEMORY_UNIT_MIB and not oracle.out_of_budget:
        mid = _round_up((bad + good) // 2)
        if not bad < mid < good:
            break
        if oracle.keeps(put(case, mid)):
            good = mid
        else:
            bad = mid
    return put(case, good)


def _sizes_pass(case: Case, oracle: _Oracle) -> Case:
    for knob in get_knobs(case):
        if oracle.out_of_budget:
            break
        case = _smallest(case, knob, oracle)
    return case


PASSES: tuple[Callable[[Case, _Oracle], Case], ...] = (
    _cut, _events_pass, _vms_pass, _sizes_pass, _cut,
)


def _rounds(case: Case, oracle: _Oracle) -> Iterator[Case]:
    while True:
        before = case
        for shrink_pass in PASSES:
            case = shrink_pass(case, oracle)
        yield case
        if case == before or oracle.out_of_budget:
            return


# --- entry point --------------------------------------------------------------------------------


def get_target(trace: Trace, invariant: str | None, source: str) -> Invariant:
    """The registry invariant to keep: ``invariant`` or the trace's first registry finding's
    (a re-checked trace may also hold TRACE-STEP/TRACE-SHAPE findings: not invariants)."""
    if invariant is None:
        first = trace.first_finding
        if first is None:
            raise InputError(source, "#meta.findings", [],
                             "re-checking the trace finds no violation, so there is nothing "
                             "to shrink")
        invariant = next((f.invariant for f in trace.findings if f.invariant in BY_ID),
                         first.invariant)
    if invariant not in BY_ID:
        known = ", ".join(inv.id for inv in INVARIANTS)
        raise InputError(source, "invariant", invariant,
                         f"only registry invariants can be shrunk; known: {known}")
    return BY_ID[invariant]


def _not_reproduced(trace: Trace, step_fn: Step, target: Invariant, source: str,
                    mutant: str | None) -> InputError:
    """Why the trace's violation does not reproduce: where the replay leaves the trace."""
    state, where = trace.initial, ""
    for index, item in enumerate(trace.steps, start=1):
        state = step_fn(state, item.event).state
        if state != item.state:
            where = (f"; the replay leaves the recorded states at step {index} "
                     f"({item.event.KIND})")
            break
    with_what = f"mutant {mutant!r}" if mutant else "the reference"
    hint = "" if mutant else (" (a planted bug's trace needs --mutant NAME; an "
                              "implementation's trace, a mutant with the same bug)")
    return InputError(source, "", None,
                      f"{target.id} is not violated when {with_what} replays the trace's "
                      f"{len(trace.steps)} events{where}{hint}")


def shrink_trace(trace: Trace, step_fn: Step = step, *, invariant: str | None = None,
                 max_replays: int = MAX_REPLAYS, source: str = "trace",
                 mutant: str | None = None,
                 on_round: Callable[[int, Case], None] | None = None,
                 on_replays: Callable[[int], None] | None = None) -> ShrinkResult:
    """Shrink ``trace`` (see the module docstring for what is kept and how).

    At most ``max_replays`` candidates are replayed (a count: the same result on any
    machine). ``on_round(n, case)`` is called after each round of passes and
    ``on_replays(replays)`` every ``REPLAY_TICK`` replays (progress).

    Raises
    ------
    InputError
        When the trace violates no registry invariant, names an unknown one, or its
        violation does not reproduce when ``step_fn`` replays its events.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings
    >>> s = initial_state(HostSettings(2048, 1024), (("a", VmSettings(startup_mib=2048)),))
    >>> broken = record(attrs.evolve(s, free_mib=-1024), [])  # the ledger is off
    >>> shrink_trace(broken).trace.initial.free_mib < 0
    True
    """
    target = get_target(trace, invariant, source)
    case: Case = (trace.initial, tuple(s.event for s in trace.steps))
    start_broken = {v.invariant for v in check_state(trace.initial)}
    oracle = _Oracle(step_fn, target, start_broken, max_replays, on_replays)
    if not oracle.keeps(case):
        raise _not_reproduced(trace, step_fn, target, source, mutant)
    for number, shrunk_case in enumerate(_rounds(case, oracle), start=1):
        case = shrunk_case
        if on_round is not None:
            on_round(number, case)  # progress: the case after each round of passes
    case = _drop_refused(case, oracle)
    notes: tuple[tuple[str, Any], ...] = (
        ("shrunk_from", trace.source), ("invariant", target.id),
        ("original_steps", len(trace.steps)))
    notes += (("mutant", mutant),) if mutant else ()
    shrunk = record(case[0], replay(case, step_fn), source="shrink", notes=notes)
    return ShrinkResult(shrunk, target.id, len(trace.steps), len(trace.initial.vms),
                        oracle.replays, not oracle.out_of_budget)

