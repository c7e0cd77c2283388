"""Exhaustive breadth-first exploration of the reference for small configurations.

From the initial state of an :class:`ExploreConfig`, every event the environment may offer
(``reference.environment.enabled_events`` plus admin events, explicit DM requests and
adversarial guests) is stepped; accepted steps are edges, reached states are interned (with
symmetry reduction) and every state and step is checked against every registry invariant.
BFS order makes the first counterexample of each invariant a shortest one; it is replayed
into the common :class:`~dynmem.verification.trace.Trace`.

After the search, the progress properties (specs/invariants.md §3) are checked on the graph
of *progress edges* (honest guest messages and balancer ticks, demand held constant): a
non-trivial strongly connected component is an oscillation (PROG-FIXED-POINT), and every
fixed point is checked for PROG-NO-STARVATION and PROG-WEIGHT-ORDER.

The state graph is kept as parent pointers and compact edge arrays; :meth:`Exploration.graph`
builds the networkx ``DiGraph`` on demand.
"""

from __future__ import annotations

import gc
import time
from array import array
from collections import deque
from collections.abc import Callable, Collection, Iterable

import attrs
import networkx as nx

from dynmem.model.invariants import BY_ID, Violation
from dynmem.reference.environment import compute_honest_message
from dynmem.reference.events import (
    EVENT_TYPES,
    BalancerTick,
    Create,
    Event,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Plan, Step, StepResult, step
from dynmem.verification.checking import InvariantCache
from dynmem.verification.coverage import Coverage, compute_reason_key
from dynmem.verification.explore_config import ExploreConfig
from dynmem.verification.explore_memo import (
    KIND_INDEX,
    SlotMemo,
    SlotStep,
    get_vm_events,
    get_vm_extras,
)
from dynmem.verification.symmetry import Canonicalizer, canonicalize

KINDS = tuple(EVENT_TYPES)

ProgressCallback = Callable[[int, int, int], None]

# One accepted step of a state: (kind index, event, free memory and VMs after, progress edge,
# violations).
_Step = tuple[int, Event, int, tuple[Vm, ...], bool, list[Violation]]
_Key = tuple[int, tuple[Vm, ...]]  # a state's (free memory, VMs)


def get_candidate_events(state: DmState, config: ExploreConfig, plan: Plan) -> list[Event]:
    """The events offered in ``state``: the environment's, admin events and DM requests.

    Per VM in order ``get_vm_events`` (what the reference accepts), then a BalancerTick if
    the plan sends anything, then per VM ``get_vm_extras`` (tried and may be refused: a
    start without memory, a configure while running, a request the guards refuse), then
    Create for each absent VM when the lifecycle is explored.
    """
    free = state.free_mib
    events = [e for vm in state.vms for e in get_vm_events(vm, free, config)]
    if plan(state):
        events.append(BalancerTick())
    events += [e for vm in state.vms for e in get_vm_extras(vm, free, config)]
    return events + _get_creates(state, config)


def _get_creates(state: DmState, config: ExploreConfig) -> list[Event]:
    if not config.lifecycle:
        return []
    present = {vm.name for vm in state.vms}
    return [Create(name, s) for name, s in config.vms if name not in present]


@attrs.frozen
class Counterexample:
    """A violation found by the search: the path's last edge and what broke there."""

    source: int  # state id before the last event
    event: Event  # canonical event (as explored)
    length: int  # number of events from the initial state
    violations: tuple[Violation, ...]

    @property
    def invariants(self) -> tuple[str, ...]:
        return tuple(sorted({v.invariant for v in self.violations}))


@attrs.frozen
class ProgressFinding:
    """A progress violation: at a fixed point (``cycle`` empty) or an oscillation."""

    state: int  # the fixed point, or the state where the cycle starts
    violations: tuple[Violation, ...]
    cycle: tuple[int, ...] = ()  # state ids around the cycle, starting at ``state``


@attrs.define
class Exploration:
    """The explored state space: interned states, parent pointers, edges and findings."""

    config: ExploreConfig
    step_fn: Step
    plan: Plan
    states: list[DmState] = attrs.field(factory=list)
    parent: array[int] = attrs.field(factory=lambda: array("i"))
    depth: array[int] = attrs.field(factory=lambda: array("i"))
    via: list[Event | None] = attrs.field(factory=list)
    edge_src: array[int] = attrs.field(factory=lambda: array("i"))
    edge_dst: array[int] = attrs.field(factory=lambda: array("i"))
    edge_kind: array[int] = attrs.field(factory=lambda: array("b"))
    edge_progress: bytearray = attrs.field(factory=bytearray)
    fixed: bytearray = attrs.field(factory=bytearray)
    counterexamples: dict[str, Counterexample] = attrs.field(factory=dict)
    violating_steps: int = 0
    progress: list[ProgressFinding] = attrs.field(factory=list)
    complete: bool = False
    stopped_early: bool = False  # stopped on purpose at a violation (not the state limit)
    seconds: float = 0.0  # the search and the progress analysis
    search_seconds: float = 0.0  # the search alone
    coverage: Coverage | None = None
    index: dict[DmState, int] | None = None

    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_edges(self) -> int:
        return len(self.edge_src)

    @property
    def ok(self) -> bool:
        return self.complete and not self.counterexamples and not self.progress

    def path_to(self, state_id: int) -> list[tuple[Event, int]]:
        """The BFS-tree path from the initial state to ``state_id``: (event, state id after)."""
        path: list[tuple[Event, int]] = []
        while state_id > 0:
            event = self.via[state_id]
            assert event is not None
            path.append((event, state_id))
            state_id = self.parent[state_id]
        return path[::-1]

    def get_id(self, state: DmState) -> int | None:
        """The id of the explored (canonical) ``state``, or None."""
        if self.index is None:
            self.index = {s: i for i, s in enumerate(self.states)}
        return self.index.get(state)

    def successors(self, state_id: int) -> Iterable[tuple[Event, StepResult, int | None]]:
        """Recompute the accepted steps of ``state_id``: (event, result, successor id)."""
        state = self.states[state_id]
        for event in get_candidate_events(state, self.config, self.plan):
            result = self.step_fn(state, event)
            if result.accepted:
                canon = (canonicalize(result.state)[0] if self.config.symmetry
                         else result.state)
                yield event, result, self.get_id(canon)

    def graph(self, kinds: bool = False) -> nx.DiGraph:
        """The state graph as a networkx ``DiGraph`` (node = state id, attribute ``depth``).

        With ``kinds`` each edge carries ``kinds``, the set of event kinds between the pair.
        """
        g = nx.DiGraph()
        g.add_nodes_from((i, {"depth": d}) for i, d in enumerate(self.depth))
        if not kinds:
            g.add_edges_from(zip(self.edge_src, self.edge_dst, strict=True))
            return g
        for s, t, k in zip(self.edge_src, self.edge_dst, self.edge_kind, strict=True):
            if g.has_edge(s, t):
                g.edges[s, t]["kinds"].add(KINDS[k])
            else:
                g.add_edge(s, t, kinds={KINDS[k]})
        return g

    def progress_graph(self) -> nx.DiGraph:
        """The subgraph of progress edges (honest messages and ticks, demand constant)."""
        g = nx.DiGraph()
        g.add_nodes_from(range(self.n_states))
        g.add_edges_from((s, t) for s, t, p in zip(self.edge_src, self.edge_dst,
                                                   self.edge_progress, strict=True) if p)
        return g


# --- the search ------------------------------------------------------------------------------


class _Search:
    """One breadth-first search; builds an :class:`Exploration`."""

    def __init__(self, config: ExploreConfig, step_fn: Step, plan: Plan,
                 stop_at_first: bool, until_found: Collection[str], coverage: bool,
                 memo: bool = True) -> None:
        self.x = Exploration(config, step_fn, plan, coverage=Coverage() if coverage else None)
        self.checker = InvariantCache()
        # States are keyed by (free memory, VMs): the host never changes in one exploration,
        # and with every VM value interned (``pool``) tuple comparison stops at identity.
        self.ids: dict[_Key, int] = {}
        self.raw: dict[_Key, int] = self.ids if not config.symmetry else {}
        self.pool: dict[Vm, Vm] = {}
        self.canon = Canonicalizer(self.pool)
        self.stop_at_first = stop_at_first
        self.until_found = frozenset(until_found)
        self.rejections: dict[tuple[str, str], int] = {}
        self.queue: deque[int] = deque()
        # Coverage records every candidate in its state, so it steps each one (direct).
        self.memo = (SlotMemo(config, step_fn, self.checker.check_step, self.pool)
                     if memo and not coverage else None)

    def add_state(self, state: DmState, parent: int, event: Event | None, depth: int) -> int:
        x = self.x
        sid = len(x.states)
        self.ids[(state.free_mib, state.vms)] = sid
        x.states.append(state)
        x.parent.append(parent)
        x.depth.append(depth)
        x.via.append(event)
        x.fixed.append(0)
        return sid

    def found(self, source: int, event: Event, violations: list[Violation]) -> None:
        x = self.x
        x.violating_steps += 1
        example = Counterexample(source, event, x.depth[source] + 1, tuple(violations))
        for inv in example.invariants:
            x.counterexamples.setdefault(inv, example)

    def canonical(self, free: int, vms: tuple[Vm, ...]) -> DmState:
        """The state (free, vms) in canonical form, its VMs taken from the pool."""
        if self.x.config.symmetry:
            return DmState(self.x.config.host, free, self.canon(vms))
        pool = self.pool
        return DmState(self.x.config.host, free, tuple(pool.setdefault(vm, vm) for vm in vms))

    def intern(self, free: int, vms: tuple[Vm, ...], source: int, event: Event) -> int:
        """The id of the state (free, vms) (canonicalised), adding and checking it if new."""
        sid = self.raw.get((free, vms))
        if sid is not None:
            return sid
        canon = self.canonical(free, vms)
        sid = self.ids.get((free, canon.vms))
        if sid is None:
            sid = self.add_state(canon, source, event, self.x.depth[source] + 1)
            broken = self.checker.check_state(canon)
            if broken:
                self.found(source, event, broken)
            if _is_expandable(broken):
                self.queue.append(sid)
        if self.raw is not self.ids:
            self.raw[(free, vms)] = sid
        return sid

    def expand(self, sid: int) -> None:
        x = self.x
        edges, fixed = self.compute_edges(x.states[sid])
        for kind, event, free, vms, progress, broken in edges:
            tid = self.intern(free, vms, sid, event)
            if broken:
                self.found(sid, event, broken)
            x.edge_src.append(sid)
            x.edge_dst.append(tid)
            x.edge_kind.append(kind)
            x.edge_progress.append(progress)
        if fixed:
            x.fixed[sid] = 1

    def compute_edges(self, state: DmState) -> tuple[list[_Step], bool]:
        """The accepted steps of ``state`` in candidate order, and whether it is a fixed
        point (no guest has a message to send and the plan sends nothing)."""
        memo = self.memo
        if memo is None:
            return self.compute_edges_directly(state)
        x = self.x
        entries = [memo.get(state, i) for i in range(len(state.vms))]
        out: list[_Step] = []
        for i, entry in enumerate(entries):
            self.add_slot_steps(state, i, entry.enabled, out)
        planned = bool(x.plan(state))
        if planned:
            self.add_direct_step(state, BalancerTick(), True, out)
        for i, entry in enumerate(entries):
            self.add_slot_steps(state, i, entry.extra, out)
        for event in _get_creates(state, x.config):
            self.add_direct_step(state, event, False, out)
        return out, not planned and not any(entry.honest for entry in entries)

    def add_slot_steps(self, state: DmState, index: int, steps: list[SlotStep],
                       out: list[_Step]) -> None:
        """Add the memoized steps of VM ``index`` to ``out``: its VM and free memory put
        into ``state``, or stepped again when the memo keeps the step direct."""
        host, vms = state.host, state.vms
        head, tail = vms[:index], vms[index + 1:]
        for kind, event, after, free, progress, pair_ok in steps:
            if after is None:
                self.add_direct_step(state, event, progress, out)
                continue
            vms_after = (*head, after, *tail)
            broken = [] if pair_ok else self.checker.check_step(
                state, event, DmState(host, free, vms_after))
            out.append((kind, event, free, vms_after, progress, broken))

    def add_direct_step(self, state: DmState, event: Event, progress: bool,
                        out: list[_Step]) -> None:
        result = self.x.step_fn(state, event)
        if result.reason is None:
            out.append(self.get_step(state, event, result.state, progress))

    def get_step(self, state: DmState, event: Event, post: DmState, progress: bool) -> _Step:
        if post.host != state.host:
            raise ValueError(f"{event!r} changed the host settings: {state.host} -> "
                             f"{post.host}")
        return (KIND_INDEX[type(event)], event, post.free_mib, post.vms, progress,
                self.checker.check_step(state, event, post))

    def compute_edges_directly(self, state: DmState) -> tuple[list[_Step], bool]:
        """``compute_edges`` stepping every candidate (and recording coverage if asked)."""
        x = self.x
        cov = x.coverage
        honest = {m for m in map(compute_honest_message, state.vms) if m is not None}
        out: list[_Step] = []
        for event in get_candidate_events(state, x.config, x.plan):
            result = x.step_fn(state, event)
            if result.reason is not None:
                if cov is not None:
                    key = (event.KIND, result.reason)
                    self.rejections[key] = self.rejections.get(key, 0) + 1
                continue
            out.append(self.get_step(state, event, result.state,
                                     isinstance(event, BalancerTick) or event in honest))
            if cov is not None:
                cov.record(state, event, None, result.sent)
        return out, not honest and not x.plan(state)

    def run(self, on_progress: ProgressCallback | None) -> Exploration:
        x = self.x
        start = time.perf_counter()
        initial = x.config.initial()
        root = self.canonical(initial.free_mib, initial.vms)
        broken = self.checker.check_state(root)
        self.add_state(root, -1, None, 0)
        if _is_expandable(broken):
            self.queue.append(0)
        expanded = 0
        while self.queue:
            if len(x.states) > x.config.max_states:
                break
            if self.is_done():
                break
            self.expand(self.queue.popleft())
            expanded += 1
            if on_progress is not None and expanded % 2000 == 0:
                on_progress(len(x.states), len(x.edge_src), len(self.queue))
        x.complete = not self.queue
        x.stopped_early = bool(self.queue) and self.is_done()
        x.seconds = x.search_seconds = time.perf_counter() - start
        self.finish_coverage()
        return x

    def is_done(self) -> bool:
        found = self.x.counterexamples
        if self.until_found:
            return self.until_found <= found.keys()
        return self.stop_at_first and bool(found)

    def finish_coverage(self) -> None:
        cov = self.x.coverage
        if cov is None:
            return
        names = {name for name, _ in self.x.config.vms}
        for (kind, reason), count in self.rejections.items():
            cov.outcomes[(kind, compute_reason_key(reason, names))] += count


def _is_expandable(broken: list[Violation]) -> bool:
    """States that break only auxiliary invariants are expanded further, so that what a
    broken bookkeeping leads to (a safety violation) is also found; others are not."""
    return all(BY_ID[v.invariant].layer == "aux" for v in broken if v.invariant in BY_ID)


def explore(config: ExploreConfig, step_fn: Step = step, plan: Plan = compute_plan, *,
            stop_at_first: bool = False, until_found: Collection[str] = (),
            coverage: bool = False, progress: bool = True,
            on_progress: ProgressCallback | None = None, memo: bool = True) -> Exploration:
    """Explore every state reachable in ``config`` and check every invariant on the way.

    Parameters
    ----------
    config : ExploreConfig
        The configuration (see ``explore_config.PRESETS``).
    step_fn, plan : callable
        The step function and the balancer policy (a planted bug passes its own).
    stop_at_first : bool
        Stop as soon as an invariant is violated (the counterexample is still a shortest
        one); the progress analysis is then skipped.
    until_found : collection of str
        Stop once each of these invariant ids has a counterexample (a planted bug's).
        States that break only auxiliary invariants are still expanded.
    coverage : bool
        Record coverage pairs and guard outcomes (slower).
    progress : bool
        Check the progress properties on the finished graph.
    on_progress : callable, optional
        Called every 2000 expanded states with (states,
        edges, queued).
    memo : bool
        Step each single-VM event once per (VM, free memory) and reuse the result
        (``explore_memo``; sound for step functions that keep R-LOCAL, as the reference and
        every planted bug do). False steps every candidate of every state. Coverage runs
        always step directly.

    Returns
    -------
    Exploration
        The explored graph, counterexamples by invariant id and progress findings.

    Examples
    --------
    >>> from dynmem.verification.explore_config import get_config
    >>> x = explore(get_config(1))
    >>> x.complete, x.ok, x.n_states > 100
    (True, True, True)
    """
    search = _Search(config, step_fn, plan, stop_at_first, until_found, coverage, memo)
    # Every state is kept to the end, so the cyclic collector would only rescan the growing
    # graph (12 % of a 3-VM search, 30 % of its progress analysis); the few cycles made
    # meanwhile (networkx views) are collected afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        x = search.run(on_progress)
        if progress and x.complete and not x.counterexamples:
            started = time.perf_counter()
            from dynmem.verification.explore_progress import find_progress_violations

            x.progress = find_progress_violations(x)
            x.seconds += time.perf_counter() - started
    finally:
        if collecting:
            gc.enable()
    return x


