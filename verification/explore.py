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
import multiprocessing
import os
import time
import traceback
from array import array
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any

import attrs
import networkx as nx

from dynmem.model.invariants import BY_ID, Violation
from dynmem.model.vocabulary import SUPPORTED_VERSIONS
from dynmem.reference.environment import compute_honest_message, enabled_events
from dynmem.reference.events import (
    EVENT_TYPES,
    BalancerTick,
    BalloonRequest,
    Configure,
    Create,
    Delete,
    Event,
    HotAddRequest,
    Start,
    UnballoonRequest,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Plan, Step, StepResult, step
from dynmem.verification.checking import InvariantCache
from dynmem.verification.coverage import Coverage, compute_reason_key
from dynmem.verification.explore_config import ExploreConfig
from dynmem.verification.symmetry import canonicalize

KINDS = tuple(EVENT_TYPES)
_KIND_INDEX = {cls: i for i, cls in enumerate(EVENT_TYPES.values())}
_REQUESTS = (BalloonRequest, UnballoonRequest, HotAddRequest)

ProgressCallback = Callable[[int, int, int], None]

# One accepted step computed by a worker: (kind index, target, progress edge, event, step
# violations). target >= 0 is a known state id; -1 - j is the chunk's j-th new state. The
# event is sent only when the parent may need it (a new target, a violation).
_Edge = tuple[int, int, bool, Event | None, list[Violation]]
_Chunk = tuple[list[tuple[list[_Edge], bool]], list[DmState]]
_MIN_PARALLEL_LEVEL = 256  # smaller BFS levels are expanded in-process (a fork costs more)
_PARENT_SHARE = 0.88  # of an even share: the parent also merges its chunk while workers run


def get_candidate_events(state: DmState, config: ExploreConfig, plan: Plan,
                         extras: dict[tuple[Vm, bool], list[Event]] | None = None,
                         ) -> list[Event]:
    """The events offered in ``state``: the environment's, admin events and DM requests.

    ``enabled_events`` lists what the reference accepts; the rest is tried and may be
    rejected (a start without memory, a configure while running, a request the guards
    refuse), so a planted bug that relaxes a guard is exercised. ``extras`` memoizes the
    admin events and requests per (VM, start refused for lack of memory): they depend on
    nothing else, and the search builds them for every state.
    """
    events = enabled_events(state, config.demands, config.adversarial, plan)
    if not config.all_versions:
        events = [e for e in events if not (isinstance(e, VersionRequest)
                                            and e.version in SUPPORTED_VERSIONS[1:])]
    present = set()
    for vm in state.vms:
        present.add(vm.name)
        short = not vm.running and state.free_mib < vm.settings.startup_mib
        if extras is None:
            events += _get_vm_extras(vm, short, config)
            continue
        key = (vm, short)
        more = extras.get(key)
        if more is None:
            more = extras[key] = _get_vm_extras(vm, short, config)
        events += more
    if config.lifecycle:
        events += [Create(name, s) for name, s in config.vms if name not in present]
    return events


def _get_vm_extras(vm: Vm, short: bool, config: ExploreConfig) -> list[Event]:
    """The admin events and DM requests offered for ``vm`` beyond ``enabled_events``."""
    events: list[Event] = []
    if not vm.running:
        if short:
            events.append(Start(vm.name))
        if config.lifecycle:
            events.append(Delete(vm.name))
    else:
        events += [cls(vm.name, mib) for cls in _REQUESTS for mib in config.request_amounts]
    events += [Configure(vm.name, s) for s in config.alternatives if s != vm.settings]
    return events


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
    seconds: float = 0.0
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
                 workers: int = 1) -> None:
        self.x = Exploration(config, step_fn, plan, coverage=Coverage() if coverage else None)
        # Level-synchronous workers only where they give the same result as the serial loop:
        # no early stop (checked per state there) and no coverage (recorded in order).
        self.workers = workers if not (stop_at_first or until_found or coverage) else 1
        self.checker = InvariantCache()
        self.ids: dict[DmState, int] = {}
        self.raw: dict[DmState, int] = self.ids if not config.symmetry else {}
        self.stop_at_first = stop_at_first
        self.until_found = frozenset(until_found)
        self.rejections: dict[tuple[str, str], int] = {}
        self.queue: deque[int] = deque()
        self.extras: dict[tuple[Vm, bool], list[Event]] = {}

    def add_state(self, state: DmState, parent: int, event: Event | None, depth: int) -> int:
        x = self.x
        sid = len(x.states)
        self.ids[state] = sid
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

    def intern(self, post: DmState, source: int, event: Event) -> int:
        """The id of ``post`` (canonicalised), adding and checking it when new."""
        sid = self.raw.get(post)
        if sid is not None:
            return sid
        canon = canonicalize(post)[0] if self.x.config.symmetry else post
        sid = self.ids.get(canon)
        if sid is None:
            sid = self.add_state(canon, source, event, self.x.depth[source] + 1)
            broken = self.checker.check_state(canon)
            if broken:
                self.found(source, event, broken)
            if _is_expandable(broken):
                self.queue.append(sid)
        if self.raw is not self.ids:
            self.raw[post] = sid
        return sid

    def expand(self, sid: int) -> None:
        x, state = self.x, self.x.states[sid]
        honest = {m for m in map(compute_honest_message, state.vms) if m is not None}
        cov = x.coverage
        for event in get_candidate_events(state, x.config, x.plan, self.extras):
            result = x.step_fn(state, event)
            if result.reason is not None:
                if cov is not None:
                    key = (event.KIND, result.reason)
                    self.rejections[key] = self.rejections.get(key, 0) + 1
                continue
            post = result.state
            broken = self.checker.check_step(state, event, post)
            tid = self.intern(post, sid, event)
            if broken:
                self.found(sid, event, broken)
            x.edge_src.append(sid)
            x.edge_dst.append(tid)
            x.edge_kind.append(_KIND_INDEX[type(event)])
            x.edge_progress.append(isinstance(event, BalancerTick) or event in honest)
            if cov is not None:
                cov.record(state, event, None, result.sent)
        if not honest and not x.plan(state):
            x.fixed[sid] = 1

    def run(self, on_progress: ProgressCallback | None) -> Exploration:
        x = self.x
        start = time.perf_counter()
        root = canonicalize(x.config.initial())[0]
        broken = self.checker.check_state(root)
        self.add_state(root, -1, None, 0)
        if _is_expandable(broken):
            self.queue.append(0)
        if self.workers > 1:
            self.run_levels(on_progress)
        else:
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
        x.seconds = time.perf_counter() - start
        self.finish_coverage()
        return x

    # --- level-synchronous parallel expansion (workers > 1) ---------------------------------
    #
    # A FIFO queue expands every state of BFS level d before any of level d + 1, so the serial
    # search is level-synchronous already. Here each level is cut into contiguous chunks;
    # forked workers (which see the search as it was at the start of the level) step the
    # candidates of their chunk, check each step and look the successors up; the parent
    # merges the chunks in queue order, so ids, parent pointers and first counterexamples
    # are exactly the serial search's (a test compares the two).

    def run_levels(self, on_progress: ProgressCallback | None) -> None:
        x = self.x
        while self.queue:
            level = list(self.queue)
            for sid, (edges, fixed), new in self.expand_level(level):
                if len(x.states) > x.config.max_states:
                    return
                assert self.queue.popleft() == sid
                self.merge(sid, edges, fixed, new)
            if on_progress is not None:
                on_progress(len(x.states), len(x.edge_src), len(self.queue))

    def expand_level(self, level: list[int]
                     ) -> Iterator[tuple[int, tuple[list[_Edge], bool], list[DmState]]]:
        """Each state of ``level`` in order with its computed edges and its chunk's new
        states. Forked workers compute all chunks but the first, which the parent computes
        and hands over for merging while the workers still run (so it takes a smaller one)."""
        n = self.workers if len(level) >= _MIN_PARALLEL_LEVEL else 1
        if n == 1:
            yield from _by_state(level, self.compute_chunk(level))
            return
        own = int(len(level) * _PARENT_SHARE / n)
        bounds = [0] + [own + (len(level) - own) * i // (n - 1) for i in range(n)]
        chunks = [level[bounds[i]:bounds[i + 1]] for i in range(n)]
        ctx = multiprocessing.get_context("fork")
        children: list[tuple[Any, Connection]] = []
        # Frozen objects are left alone by the collector, which would otherwise touch (and so
        # copy) every page shared with the forked workers.
        gc.freeze()
        try:
            for chunk in chunks[1:]:
                receive, send = ctx.Pipe(duplex=False)
                child = ctx.Process(target=self.work, args=(chunk, send), daemon=True)
                child.start()
                send.close()
                children.append((child, receive))
            yield from _by_state(chunks[0], self.compute_chunk(chunks[0]))
            for chunk, (_, receive) in zip(chunks[1:], children, strict=True):
                try:
                    answer = receive.recv()
                except EOFError:
                    answer = ("error", "the exploration worker died without an answer")
                if isinstance(answer[0], str):
                    raise RuntimeError(f"exploration worker failed: {answer[1]}")
                yield from _by_state(chunk, answer)
        finally:
            gc.unfreeze()
            for child, receive in children:  # all answered, or the merge stopped early
                if child.is_alive():
                    child.terminate()
                child.join()
                receive.close()

    def work(self, chunk: list[int], send: Connection) -> None:
        """A forked worker: compute ``chunk`` and send the result (or the error) back."""
        gc.disable()  # the steps make no reference cycles, and the worker exits right after
        try:
            send.send(self.compute_chunk(chunk))
        except BaseException:  # noqa: BLE001 - reported to the parent, which raises
            send.send(("error", traceback.format_exc()))
        finally:
            send.close()
            os._exit(0)  # skip the parent's atexit handlers and buffers

    def compute_chunk(self, chunk: list[int]) -> _Chunk:
        """The accepted steps of each state in ``chunk`` (see ``_Edge``) and the chunk's
        successors not known at the start of the level, each once."""
        x = self.x
        new: list[DmState] = []
        new_ids: dict[DmState, int] = {}
        out = []
        for sid in chunk:
            state = x.states[sid]
            honest = {m for m in map(compute_honest_message, state.vms) if m is not None}
            edges: list[_Edge] = []
            for event in get_candidate_events(state, x.config, x.plan, self.extras):
                result = x.step_fn(state, event)
                if result.reason is not None:
                    continue
                post = result.state
                broken = self.checker.check_step(state, event, post)
                target = self.raw.get(post)
                if target is None:
                    canon = canonicalize(post)[0] if x.config.symmetry else post
                    target = self.ids.get(canon)
                    if target is None:
                        j = new_ids.get(canon)
                        if j is None:
                            j = new_ids[canon] = len(new)
                            new.append(canon)
                        target = -1 - j
                keep = target < 0 or bool(broken)
                edges.append((_KIND_INDEX[type(event)], target,
                              isinstance(event, BalancerTick) or event in honest,
                              event if keep else None, broken))
            out.append((edges, not honest and not x.plan(state)))
        return out, new

    def merge(self, sid: int, edges: list[_Edge], fixed: bool, new: list[DmState]) -> None:
        """Add one expanded state's edges exactly as ``expand`` would have."""
        x = self.x
        depth = x.depth[sid] + 1
        for kind, target, progress, event, broken in edges:
            tid = target
            if target < 0:
                canon = new[-1 - target]
                found = self.ids.get(canon)
                if found is None:
                    assert event is not None
                    tid = self.add_state(canon, sid, event, depth)
                    bad = self.checker.check_state(canon)
                    if bad:
                        self.found(sid, event, bad)
                    if _is_expandable(bad):
                        self.queue.append(tid)
                else:
                    tid = found
            if broken:
                assert event is not None
                self.found(sid, event, broken)
            x.edge_src.append(sid)
            x.edge_dst.append(tid)
            x.edge_kind.append(kind)
            x.edge_progress.append(progress)
        if fixed:
            x.fixed[sid] = 1

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


def _by_state(chunk: list[int], computed: _Chunk
              ) -> Iterator[tuple[int, tuple[list[_Edge], bool], list[DmState]]]:
    expanded, new = computed
    for sid, edges in zip(chunk, expanded, strict=True):
        yield sid, edges, new


def _is_expandable(broken: list[Violation]) -> bool:
    """States that break only auxiliary invariants are expanded further, so that what a
    broken bookkeeping leads to (a safety violation) is also found; others are not."""
    return all(BY_ID[v.invariant].layer == "aux" for v in broken if v.invariant in BY_ID)


def explore(config: ExploreConfig, step_fn: Step = step, plan: Plan = compute_plan, *,
            stop_at_first: bool = False, until_found: Collection[str] = (),
            coverage: bool = False, progress: bool = True,
            on_progress: ProgressCallback | None = None, workers: int = 1) -> Exploration:
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
        Called every 2000 expanded states (with ``workers``, every BFS level) with (states,
        edges, queued).
    workers : int
        Processes that expand each BFS level (forked; POSIX only). The result is exactly the
        serial one; runs that stop early or record coverage are always serial.

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
    search = _Search(config, step_fn, plan, stop_at_first, until_found, coverage, workers)
    x = search.run(on_progress)
    if progress and x.complete and not x.counterexamples:
        started = time.perf_counter()
        from dynmem.verification.explore_progress import find_progress_violations

        x.progress = find_progress_violations(x)
        x.seconds += time.perf_counter() - started
    return x


