"""Non-vacuity (STYLE rule 9): every action can fire, and change the state, from a reachable
state within a bounded number of steps.

A proof that an action preserves the invariants says nothing if its guards can never hold. So
for each action, a BMC query that MUST be satisfiable: a path from the initial states whose
last step is that action and changes the state. One search serves several actions: it asks
for any action still without a witness, and every step of a path found (that changes the
state) is a witness for its action. Every witness path is replayed through the reference
step function like a counterexample, so a witness the reference cannot take is a mismatch.

Paths from the initial states are searched up to ``DIRECT_DEPTH`` steps only; deeper witnesses
extend a path already found, from its (concrete, reachable) last state, by up to
``EXTEND_DEPTH`` steps; an action still missing then gets deeper queries of its own from the
initial states (a single goal, well within the default budget). Why: the deep queries from the
initial states had heavy-tailed solver work. The same depth-8 goal took 31 M rlimit units in a
fresh process and 137 M after other queries in the same process, and a depth-7 one ran out of
the default 200 M in CI (Z3's work depends on its heap, not only on the query). Queries from a
concrete state, and the shallow ones, stay under 10 M (measured 2026-12-04).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import attrs

from dynmem.model.actions import ACTIONS, Action
from dynmem.model.invariants import INVARIANTS
from dynmem.model.params import MINIMAL
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.reference.state import DmState
from dynmem.reference.step import Step, step
from dynmem.verification.symbolic.replay import replay_path
from dynmem.verification.symbolic.scope import Scope, small_scope
from dynmem.verification.symbolic.unrolling import (
    Hit,
    Miss,
    ModelPath,
    Progress,
    Stuck,
    Unrolling,
    decode_path,
    get_clauses_at,
    is_action_taken,
    is_state_changed,
    search,
)
from dynmem.verification.traces.trace import Trace


@attrs.frozen
class Witness:
    """``action`` fires at step ``step`` of ``trace`` (a reference replay) and changes it."""

    action: str
    step: int
    trace: Trace


@attrs.frozen
class WitnessRun:
    """The witnesses found, the actions without one within ``depth``, and any failure.

    ``problem`` is a Z3 unknown or a replay mismatch; ``ok`` needs a witness for every
    action and no problem.
    """

    depth: int
    witnesses: tuple[Witness, ...]
    missing: tuple[str, ...]
    problem: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.missing and self.problem is None


def _fires(names: Sequence[str]) -> Any:
    def goal(u: Unrolling) -> Any:
        last = u.depth - 1
        return SYMBOLIC.And(is_action_taken(u, last, names),
                            is_state_changed(u.states[last], u.states[last + 1]))
    return goal


def _invariants_hold(u: Unrolling, index: int) -> Any:
    # Only prunes: a witness through invariant-breaking states is not needed (and a path
    # found is a real path either way).
    return SYMBOLIC.And(*[term for _, term in get_clauses_at(INVARIANTS, u, index)])


def _changing_steps(path: ModelPath) -> list[tuple[int, str]]:
    """(1-based step, action) of each step of ``path`` that changes the state."""
    found, before = [], path.initial
    for index, item in enumerate(path.steps, start=1):
        if item.state != before:
            found.append((index, item.action))
        before = item.state
    return found


# How deep a path from the initial states is searched, and by how many steps a path found is
# extended from its last state (module docstring: why).
DIRECT_DEPTH = 5
EXTEND_DEPTH = 3


def find_witnesses(scope: Scope, depth: int, actions: Sequence[Action] = ACTIONS,
                   step_fn: Step = step, rlimit: int = MINIMAL.rlimit,
                   progress: Progress | None = None) -> WitnessRun:
    """A reachability witness per action, on paths of 1..``depth`` steps.

    Examples
    --------
    >>> from dynmem.verification.symbolic.scope import small_scope
    >>> from dynmem.model.actions import START, STOP
    >>> run = find_witnesses(small_scope(1), 2, actions=(START, STOP))
    >>> run.ok, [(w.action, w.step) for w in run.witnesses]
    (True, [('Start', 1), ('Stop', 2)])
    """
    started = time.perf_counter()
    found: dict[str, Witness] = {}
    names = [a.name for a in actions]
    # An action that needs a crowded host cannot fire here: asking for it anyway made the
    # deepest query run out of budget (a goal that is unsat in this scope, disjoined with a hard
    # sat one), so it is left missing for find_crowded_witnesses.
    searched = [n for n in names if CROWDED_WITNESSES.get(n, (0,))[0] <= scope.n_vms]
    paths: list[ModelPath] = []  # every path found, each a prefix to extend

    def missing() -> list[str]:
        return [n for n in searched if n not in found]

    def take(hit: Hit | Miss | Stuck, prefix: ModelPath | None) -> str | None:
        """Record the witnesses of ``hit`` (after ``prefix``); a problem, or None."""
        if isinstance(hit, Stuck):
            return hit.reason
        if isinstance(hit, Miss):
            return None
        path = decode_path(hit)
        if prefix is not None:
            path = attrs.evolve(prefix, steps=prefix.steps + path.steps)
        replay = replay_path(path, step_fn, "witness", (("depth", len(path.steps)),))
        if replay.mismatch is not None:
            return f"witness path does not replay: {replay.mismatch}"
        before = len(found)
        for index, action in _changing_steps(path):
            found.setdefault(action, Witness(action, index, replay.trace))
        if len(found) == before:  # the model's step changed nothing the reference shows
            return (f"the path at depth {len(path.steps)} fires {path.steps[-1].action} "
                    "without a visible change")
        paths.append(path)
        return None

    current = 1
    while current <= min(depth, DIRECT_DEPTH) and missing():
        hit = search(scope, actions, range(current, current + 1), _fires(missing()),
                     _invariants_hold, rlimit, progress)
        problem = take(hit, None)
        if problem is not None:
            return _run(depth, found, names, problem, started)
        if isinstance(hit, Miss):  # a hit asks the same depth again for what is missing
            current += 1
    # The longest path not yet extended first (the earliest found among equals): the
    # missing actions are the deep ones, and a long path's last state is nearest to them.
    extended: set[int] = set()
    while missing() and len(extended) < len(paths):
        index = max((i for i in range(len(paths)) if i not in extended),
                    key=lambda i: (len(paths[i].steps), -i))
        extended.add(index)
        prefix = paths[index]
        room = min(EXTEND_DEPTH, depth - len(prefix.steps))
        last = prefix.steps[-1].state
        if room < 1 or last is None or not _fills_slots(last):
            continue
        problem = take(search(scope, actions, range(1, room + 1), _fires(missing()),
                              _invariants_hold, rlimit, start=last), prefix)
        if problem is not None:
            return _run(depth, found, names, problem, started)
    # Which paths were found depends on Z3's models, so an extension can miss (measured: the
    # unballoon request found at step 10 left no room for its response). What is still
    # missing is then searched from the initial states, one action per query: a missing
    # witness is never an accident of the paths found.
    for name in missing():
        if name in found:  # on the path of an action searched before it
            continue
        problem = take(search(scope, actions, range(DIRECT_DEPTH + 1, depth + 1),
                              _fires([name]), _invariants_hold, rlimit, progress), None)
        if problem is not None:
            return _run(depth, found, names, problem, started)
    return _run(depth, found, names, None, started)


def _fills_slots(state: DmState) -> bool:
    """Slot ``i`` holds ``vm<i>``: the VMs of ``state`` bind to the unrolling's slots."""
    return all(vm.name == f"vm{i}" for i, vm in enumerate(state.vms))


def _run(depth: int, found: dict[str, Witness], names: Sequence[str], problem: str | None,
         started: float) -> WitnessRun:
    ordered = tuple(found[n] for n in names if n in found)
    return WitnessRun(depth, ordered, tuple(n for n in names if n not in found), problem,
                      time.perf_counter() - started)


# A start waits only when free < startup, and is admitted only after memory comes back: one VM
# never shows it, so its witness is searched on a crowded host (3 VMs of the small scope do
# not fit at startup) with just the actions it needs.
CROWDED_WITNESSES: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "StartAdmit": (3, 5, ("Start", "Stop", "StartAdmit")),
}


def find_crowded_witnesses(names: Sequence[str], actions: Sequence[Action] = ACTIONS,
                           step_fn: Step = step, rlimit: int = MINIMAL.rlimit) -> WitnessRun:
    """Witnesses of the ``names`` (among CROWDED_WITNESSES) on their crowded hosts."""
    found: list[Witness] = []
    missing: list[str] = []
    started = time.perf_counter()
    for name in names:
        n_vms, depth, needed = CROWDED_WITNESSES[name]
        run = find_witnesses(small_scope(n_vms), depth, [a for a in actions if a.name in needed],
                             step_fn, rlimit)
        if run.problem is not None:
            return run
        found += [w for w in run.witnesses if w.action == name]
        missing += [name] if name in run.missing else []
    return WitnessRun(max((CROWDED_WITNESSES[n][1] for n in names), default=0), tuple(found),
                      tuple(missing), None, time.perf_counter() - started)

