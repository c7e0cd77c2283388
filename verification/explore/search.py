"""Exhaustive breadth-first exploration of the reference for small configurations.

From the initial state of an :class:`ExploreConfig`, every event the environment may offer
(``reference.environment.enabled_events`` plus admin events, explicit DM requests and
adversarial guests) is stepped; accepted steps are edges, reached states are interned (with
symmetry reduction) and every state and step is checked against every registry invariant.
BFS order makes the first counterexample of each invariant a shortest one; it is replayed
into the common :class:`~dynmem.verification.traces.trace.Trace`.

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
from collections import deque
from collections.abc import Callable, Collection, Sequence

from dynmem.model.invariants import BY_ID, Violation
from dynmem.reference.environment import compute_honest_message
from dynmem.reference.events import (
    BalancerTick,
    Event,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Plan, Step, step
from dynmem.verification.explore.candidates import get_candidate_events, get_creates
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.graph import Counterexample, Exploration
from dynmem.verification.explore.memo import (
    KIND_INDEX,
    SlotMemo,
    SlotStep,
)
from dynmem.verification.explore.progress import find_progress_violations
from dynmem.verification.explore.symmetry import Canonicalizer
from dynmem.verification.properties.coverage import Coverage, compute_reason_key
from dynmem.verification.properties.invariants import InvariantCache
from dynmem.verification.properties.progress import check_squeeze_order

ProgressCallback = Callable[[int, int, int], None]

# One accepted step of a state: (kind index, event, free memory and VMs after, progress edge,
# violations).
_Step = tuple[int, Event, int, tuple[Vm, ...], bool, list[Violation]]
_Key = tuple[int, tuple[Vm, ...]]  # a state's (free memory, VMs)



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
        key = (free, vms)
        sid = self.ids.get(key)
        if sid is None and self.raw is not self.ids:
            sid = self.raw.get(key)
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
        # Only keys that are not canonical need a second table (memory: at 3 VMs the
        # canonical keys are most of the 1.6 M raw keys met).
        if self.raw is not self.ids and canon.vms != vms:
            self.raw[key] = sid
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
        for event in get_creates(state, x.config):
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
            out.append(self.get_step(state, event, result.state, progress, result.sent))

    def get_step(self, state: DmState, event: Event, post: DmState, progress: bool,
                 sent: Sequence[Event] = ()) -> _Step:
        """The step and what it breaks: every invariant, and on a tick the order in which
        its balloons squeeze VMs (PROG-RECLAIM-ORDER)."""
        if post.host != state.host:
            raise ValueError(f"{event!r} changed the host settings: {state.host} -> "
                             f"{post.host}")
        broken = self.checker.check_step(state, event, post)
        if sent:
            broken = broken + check_squeeze_order(state, sent)
        return (KIND_INDEX[type(event)], event, post.free_mib, post.vms, progress, broken)

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
                                     isinstance(event, BalancerTick) or event in honest,
                                     result.sent))
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
        x.queued = len(self.queue)
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
    >>> from dynmem.verification.explore.config import get_config
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
        del search  # its interning tables and memo: not needed by the progress analysis
        if progress and x.complete and not x.counterexamples:
            started = time.perf_counter()
            x.progress = find_progress_violations(x)
            x.seconds += time.perf_counter() - started
    finally:
        if collecting:
            gc.enable()
    return x


