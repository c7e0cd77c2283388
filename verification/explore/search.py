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

import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from itertools import compress, repeat

from dynmem.model.invariants import BY_ID, Violation
from dynmem.reference.events import BalancerTick, DmRequest, Event
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Plan, Step, apply_plan, process_request, step
from dynmem.verification.explore.candidates import get_candidate_events, get_creates
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.graph import Counterexample, Exploration
from dynmem.verification.explore.interning import (
    WIDTH,
    PackedStates,
    StateKey,
    Vids,
    VmTable,
)
from dynmem.verification.explore.memo import (
    DIRECT,
    KIND_INDEX,
    SlotEntry,
    SlotMemo,
    SlotStep,
    get_next_words,
)
from dynmem.verification.properties.coverage import Coverage, compute_reason_key
from dynmem.verification.properties.invariants import InvariantCache
from dynmem.verification.properties.locality import is_slot_change
from dynmem.verification.properties.progress import check_squeeze_order

ProgressCallback = Callable[[int, int, int], None]

# One accepted step taken on a whole state: (kind index, event, free memory and VMs after,
# progress edge, violations).
_Step = tuple[int, Event, int, tuple[Vm, ...], bool, list[Violation]]

_TICK = KIND_INDEX[BalancerTick]
# A request's memoized result that is not one VM's change: its tick is stepped whole.
_NOT_LOCAL = (-1, 0)


# --- the search ------------------------------------------------------------------------------


class _Search:
    """One breadth-first search; builds an :class:`Exploration`.

    States are keyed by one int packing free memory and VM ids (``interning.VmTable``): the
    host never changes in one exploration, and an int hashes in C. What a VM id needs
    (its invariant verdicts, owned memory, renamed copies, the memo's steps) is computed once
    per id. With symmetry reduction a second table maps non-canonical keys met to their
    state, so a successor is canonicalised only the first time it is met.
    """

    def __init__(self, config: ExploreConfig, step_fn: Step, plan: Plan,
                 stop_at_first: bool, until_found: Collection[str], coverage: bool,
                 memo: bool = True) -> None:
        self.x = Exploration(config, step_fn, plan, coverage=Coverage() if coverage else None)
        self.checker = InvariantCache()
        self.table = VmTable(len(config.vms))
        self.vm_bits = WIDTH * len(config.vms)  # a key shifted by this is its free memory
        # Every key met, canonical or not, to its (canonical) state: a successor is
        # canonicalised only the first time it is met. (At 3 VMs 254,556 of the 955,534
        # keys are not canonical; at 4 VMs 1.4 for each canonical one, more than half the
        # search's memory: ``ExploreConfig.renamed_keys`` False keeps only canonical keys,
        # and a renamed successor is canonicalised each time it is met.)
        self.ids: dict[StateKey, int] = {}
        self.keys: list[StateKey] = []  # by state id
        # the states are built from their keys when read (memory: no DmState per state)
        self.x.states = PackedStates(config.host, self.table, self.keys)
        # host clause verdicts by (free, total owned): the host is the same in every state
        self.host_ok: dict[tuple[int, int], bool] = {}
        self.stop_at_first = stop_at_first
        self.until_found = frozenset(until_found)
        self.rejections: dict[tuple[str, str], int] = {}
        self.queue: deque[int] = deque()
        # Coverage records every candidate in its state, so it steps each one (direct).
        self.memo = (SlotMemo(config, step_fn, self.checker.check_step, self.table)
                     if memo and not coverage else None)
        # The reference plan reads only the VMs it manages and waiting starts, and free
        # memory (reference/policy.py; tests/verification/explore/test_plan_memo.py): many
        # states share one plan. Another policy (a planted bug's) is computed per state.
        self.plans: dict[tuple[int, ...], tuple[DmRequest, ...]] | None = (
            {} if plan is compute_plan else None)
        # The reference tick is ``apply_plan`` of that plan (reference/step.py): reuse it.
        self.reference_tick = step_fn is step and plan is compute_plan
        # Its requests one by one, each a step of one VM (R-LOCAL), like the slot memo:
        # (VM id, free memory, position, request) -> (VM id, free memory) after, None when
        # refused. Each tick is still checked (``add_tick``).
        self.requests: dict[tuple[int, int, int, DmRequest], tuple[int, int] | None] = {}
        self.all_edges = self.x.all_edges = config.all_edges
        # The edges found and not yet in the graph's arrays (``flush_edges``): source,
        # target, kind, progress flag.
        self.src: list[int] = []
        self.dst: list[int] = []
        self.kinds: list[int] = []
        self.progress: list[bool] = []
        # The non-canonical keys met, too (see ``ids``), unless the preset is short of memory.
        self.remember_renamed = config.renamed_keys

    # --- states --------------------------------------------------------------------------

    def add_state(self, key: StateKey, vids: Vids, parent: int, event: Event | None,
                  depth: int) -> int:
        """Add the canonical state ``key`` (VMs ``vids``), check it, and queue it if it may
        be expanded."""
        x = self.x
        sid = len(self.keys)
        self.ids[key] = sid
        self.keys.append(key)  # x.states reads them
        x.parent.append(parent)
        x.depth.append(depth)
        x.via.append(event)
        x.fixed.append(0)
        broken = self.check_state(vids, key >> self.vm_bits)
        if not broken:
            self.queue.append(sid)
            return sid
        if parent >= 0:
            assert event is not None
            self.found(parent, event, broken)
        if _is_expandable(broken):
            self.queue.append(sid)
        return sid

    def get_state(self, free: int, vids: Vids) -> DmState:
        vms = self.table.vms
        return DmState(self.x.config.host, free, tuple([vms[v] for v in vids]))

    def check_state(self, vids: Vids, free: int) -> list[Violation]:
        """``checker.check_state`` of the state (free, vids) from the verdicts and owned
        memory per VM id and the host verdicts per (free, total owned)."""
        table, checker = self.table, self.checker
        vm_ok, owned = table.vm_ok, table.owned
        total = 0
        good = True
        for vid in vids:
            ok = vm_ok[vid]
            if ok is None:
                ok = vm_ok[vid] = checker.is_vm_ok(self.get_state(free, vids), table.vms[vid])
            amount = owned[vid]
            if amount is None:
                amount = owned[vid] = checker.get_owned(table.vms[vid])
            good = good and ok
            total += amount
        if good:
            host_ok = self.host_ok.get((free, total))
            if host_ok is None:
                host_ok = self.host_ok[(free, total)] = checker.is_host_ok(
                    self.get_state(free, vids), total)
            if host_ok:
                return []
        return checker.check_state(self.get_state(free, vids))

    def found(self, source: int, event: Event, violations: list[Violation]) -> None:
        x = self.x
        x.violating_steps += 1
        example = Counterexample(source, event, x.depth[source] + 1, tuple(violations))
        for inv in example.invariants:
            x.counterexamples.setdefault(inv, example)

    def intern_new_key(self, key: StateKey, source: int, event: Event,
                       unpacked: tuple[int, Vids] | None = None) -> int:
        """The id of the state ``key``, a key not met before, reached by ``event`` from
        ``source``: canonicalised, and added and checked if new. ``unpacked``: its (free
        memory, VM ids), if the caller knows them."""
        depth = self.x.depth[source] + 1
        table = self.table
        free, vids = unpacked or table.unpack(key)
        if not self.x.config.symmetry:
            return self.add_state(key, vids, source, event, depth)
        canon = table.canonical(vids)
        if canon is vids:
            return self.add_state(key, vids, source, event, depth)
        canon_key = table.pack(free, canon)
        sid = self.ids.get(canon_key)
        if sid is None:
            sid = self.add_state(canon_key, canon, source, event, depth)
        if self.remember_renamed:
            self.ids[key] = sid
        return sid

    def intern_state(self, state: DmState, source: int, event: Event,
                     pre: DmState | None = None, pre_vids: Vids | None = None) -> int:
        """The id of ``state`` met by ``event`` from ``source`` (see ``intern_new_key``);
        a VM that is the same object as in ``pre`` (ids ``pre_vids``) keeps its id."""
        table = self.table
        if pre is None or pre_vids is None or len(pre.vms) != len(state.vms):
            vids = table.ids(state.vms)
        else:
            vids = tuple([vid if a is b else table.id(b)
                          for vid, a, b in zip(pre_vids, pre.vms, state.vms, strict=True)])
        key = table.pack(state.free_mib, vids)
        sid = self.ids.get(key)
        return sid if sid is not None else self.intern_new_key(key, source, event)

    # --- steps ---------------------------------------------------------------------------

    def expand(self, sid: int) -> None:
        x = self.x
        key = self.keys[sid]
        free, vids = self.table.unpack(key)
        memo = self.memo
        if memo is None:
            self.expand_directly(sid, self.get_state(free, vids))
            return
        # The state object is built only when something steps it: a memo miss, a plan miss,
        # a tick or a direct step (most states need none of these).
        get_entry = memo.entries.get
        entries = [get_entry((vid, free, i)) or self.compute_entry(free, vids, i)
                   for i, vid in enumerate(vids)]
        dst, kinds, progress = self.dst, self.kinds, self.progress
        before = len(dst)
        self.add_local_steps(sid, key, free, vids, entries, False, dst, kinds, progress)
        plans = self.plans
        state: DmState | None = None
        if plans is None:
            state = self.get_state(free, vids)
            planned = tuple(x.plan(state))
        else:  # the reference plan: once per (free, managed VMs and waiting starts)
            part = (free, *map(self.table.planned_as.__getitem__, vids))
            found = plans.get(part)
            if found is None:
                state = self.get_state(free, vids)
                found = plans[part] = tuple(x.plan(state))
            planned = found
        if planned:
            if self.reference_tick:
                self.add_tick(sid, state, free, vids, planned, dst, kinds, progress)
            else:
                state = state or self.get_state(free, vids)
                self.add_direct_step(sid, state, BalancerTick(), True, dst, kinds, progress,
                                     planned, vids)
        self.add_local_steps(sid, key, free, vids, entries, True, dst, kinds, progress)
        if x.config.lifecycle:
            state = state or self.get_state(free, vids)
            for event in get_creates(state, x.config):
                self.add_direct_step(sid, state, event, False, dst, kinds, progress)
        self.src += repeat(sid, len(dst) - before)
        if not planned:
            for entry in entries:
                if entry.honest:
                    break
            else:
                x.fixed[sid] = 1

    def compute_entry(self, free: int, vids: Vids, index: int) -> SlotEntry:
        """The memo's entry of VM ``index`` of the state (free, vids), computed."""
        assert self.memo is not None
        return self.memo.get(self.get_state(free, vids), index, vids[index])

    def flush_edges(self) -> None:
        """Move the edges found since the last call into the graph's arrays: all of them,
        or with ``all_edges`` off only the progress edges (the only ones the progress
        analysis reads), counting the rest. Batched: one array extend per many states."""
        x = self.x
        src, dst, kinds, progress = self.src, self.dst, self.kinds, self.progress
        x.edge_count += len(dst)
        if self.all_edges:
            x.edge_src.extend(src)
            x.edge_dst.extend(dst)
            x.edge_kind.extend(kinds)
            x.edge_progress.extend(progress)
        else:
            x.edge_src.extend(compress(src, progress))
            x.edge_dst.extend(compress(dst, progress))
            x.edge_kind.extend(compress(kinds, progress))
            x.edge_progress.extend(repeat(1, progress.count(True)))
        for pending in (src, dst, kinds, progress):
            pending.clear()

    def resolve_new(self, sid: int, key: StateKey, vids: Vids, index: int,
                    steps: list[SlotStep], deltas: list[int],
                    targets: list[int | None]) -> None:
        """Fill in ``targets`` (successor ids of the fast ``steps`` of VM ``index`` of the
        state ``key``, VM ids ``vids``) where the lookup missed: in order, so that new
        states get their ids in edge order."""
        ids_get = self.ids.get
        head, tail = vids[:index], vids[index + 1:]
        for j, tid in enumerate(targets):
            if tid is None:
                target = key + deltas[j]
                tid = ids_get(target)  # met by an earlier step of this list
                if tid is None:
                    _, event, after, _, free, _, _ = steps[j]
                    tid = self.intern_new_key(target, sid, event, (free, (*head, after, *tail)))
                targets[j] = tid

    def expand_directly(self, sid: int, state: DmState) -> None:
        """``expand`` stepping every candidate (no memo, or coverage)."""
        x = self.x
        edges, fixed = self.compute_edges_directly(state)
        dst, kinds, progress = self.dst, self.kinds, self.progress
        before = len(dst)
        for kind, event, free, vms, is_progress, broken in edges:
            tid = self.intern_state(DmState(state.host, free, vms), sid, event)
            if broken:
                self.found(sid, event, broken)
            dst.append(tid)
            kinds.append(kind)
            progress.append(is_progress)
        self.src += repeat(sid, len(dst) - before)
        if fixed:
            x.fixed[sid] = 1

    def add_local_steps(self, sid: int, key: StateKey, free: int, vids: Vids,
                        entries: list[SlotEntry], extra: bool, dst: list[int], kinds: list[int],
                        progress: list[bool]) -> None:
        """The VM-local steps of every slot (its ``extra`` ones: after the tick, the order
        the edges had before the memo). The hot loop (about 13 edges per state at 3 VMs): a
        local step's successor is the key plus its delta, looked up in C (``map``); only
        keys not met before go through ``intern_new_key``."""
        ids_get = self.ids.get
        key_plus = key.__add__
        for i, entry in enumerate(entries):
            fast = entry.fast_extra if extra else entry.fast_enabled
            if not fast:  # None: taken the long way; (): no step
                if fast is None:
                    self.add_slot_steps(sid, self.get_state(free, vids), key, vids, i,
                                        entry.extra if extra else entry.enabled, dst, kinds,
                                        progress)
                continue
            deltas, step_kinds, step_progress = fast
            targets = list(map(ids_get, map(key_plus, deltas)))
            if None in targets:
                self.resolve_new(sid, key, vids, i, entry.extra if extra else entry.enabled,
                                 deltas, targets)
            dst += targets  # type: ignore[arg-type]  # no None left (resolve_new)
            kinds += step_kinds
            progress += step_progress

    def add_slot_steps(self, sid: int, state: DmState, key: StateKey, vids: Vids, index: int,
                       steps: list[SlotStep], dst: list[int], kinds: list[int],
                       progress: list[bool]) -> None:
        """Add the memoized steps of VM ``index`` of state ``sid``: its VM and free memory
        put into ``key``, or stepped again when the memo keeps the step direct."""
        base = key - self.table.get_slot_part(index, state.free_mib, vids[index])
        ids_get = self.ids.get
        for kind, event, after, part, free, is_progress, pair_ok in steps:
            if after == DIRECT:
                self.add_direct_step(sid, state, event, is_progress, dst, kinds, progress)
                continue
            target = base + part
            tid = ids_get(target)
            if tid is None:
                tid = self.intern_new_key(target, sid, event)
            if not pair_ok:
                vms = self.table.vms
                post = DmState(state.host, free, tuple(
                    [vms[after if i == index else v] for i, v in enumerate(vids)]))
                broken = self.checker.check_step(state, event, post)
                if broken:
                    self.found(sid, event, broken)
            dst.append(tid)
            kinds.append(kind)
            progress.append(is_progress)

    def add_direct_step(self, sid: int, state: DmState, event: Event, is_progress: bool,
                        dst: list[int], kinds: list[int], progress: list[bool],
                        planned: tuple[DmRequest, ...] = (), vids: Vids | None = None) -> None:
        """Step ``event`` on ``state`` itself (a tick reuses the plan ``planned`` when it is
        the reference's) and add the edge if the step is accepted. ``vids``: the ids of
        ``state``'s VMs, if known (a VM the step leaves as it was keeps its id)."""
        result = (apply_plan(state, planned) if planned and self.reference_tick
                  else self.x.step_fn(state, event))
        if result.reason is not None:
            return
        kind, event, free, vms, is_progress, broken = self.get_step(
            state, event, result.state, is_progress, result.sent)
        tid = self.intern_state(result.state, sid, event, state, vids)
        if broken:
            self.found(sid, event, broken)
        dst.append(tid)
        kinds.append(kind)
        progress.append(is_progress)

    def add_tick(self, sid: int, state: DmState | None, free: int, vids: Vids,
                 planned: tuple[DmRequest, ...], dst: list[int], kinds: list[int],
                 progress: list[bool]) -> None:
        """The reference tick of state ``sid`` (free, vids), whose plan is ``planned``: its
        requests' results from the request memo (``apply_plan`` sends them in order and is
        refused if one is), then the step checked as ``get_step`` checks it."""
        names = self.table.names
        after = list(vids)
        f = free
        for request in planned:
            i = next((j for j, v in enumerate(after) if names[v] == request.vm), -1)
            if i < 0:  # no such VM: refused, the long way
                after.clear()
                break
            memo_key = (after[i], f, i, request)
            if memo_key in self.requests:
                found = self.requests[memo_key]
            else:
                found = self.requests[memo_key] = self.step_request(f, after, i, request)
            if found is None:  # refused: so is the tick
                return
            if found is _NOT_LOCAL:
                after.clear()
                break
            after[i], f = found
        state = state or self.get_state(free, vids)
        event = BalancerTick()
        if not after:
            self.add_direct_step(sid, state, event, True, dst, kinds, progress, planned, vids)
            return
        post_vids = tuple(after)
        post = self.get_state(f, post_vids)
        broken = self.checker.check_step(state, event, post) + check_squeeze_order(state,
                                                                                    planned)
        target = self.table.pack(f, post_vids)
        tid = self.ids.get(target)
        if tid is None:
            tid = self.intern_new_key(target, sid, event, (f, post_vids))
        if broken:
            self.found(sid, event, broken)
        dst.append(tid)
        kinds.append(_TICK)
        progress.append(True)

    def step_request(self, free: int, vids: list[int], index: int,
                     request: DmRequest) -> tuple[int, int] | None:
        """``process_request`` on VM ``index`` of the state (free, vids): (its VM id, free
        memory) after, None if refused, ``_NOT_LOCAL`` if it changed more than that VM."""
        pre = self.get_state(free, tuple(vids))
        result = process_request(pre, request)
        if result.reason is not None:
            return None
        if not is_slot_change(pre, index, result.state):
            return _NOT_LOCAL
        return self.table.id(result.state.vms[index]), result.state.free_mib

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
        """The accepted steps of ``state`` in candidate order, stepping every candidate
        (and recording coverage if asked), and whether it is a fixed point (no guest has a
        message to send and the plan sends nothing)."""
        x = self.x
        cov = x.coverage
        honest = get_next_words(state, x.config)
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

    def get_initial(self) -> tuple[DmState, Vids]:
        """The configuration's initial state and its VM ids (canonical under symmetry)."""
        initial = self.x.config.initial()
        vids = self.table.ids(initial.vms)
        return initial, self.table.canonical(vids) if self.x.config.symmetry else vids

    def run(self, on_progress: ProgressCallback | None) -> Exploration:
        x = self.x
        start = time.perf_counter()
        initial, vids = self.get_initial()
        self.add_state(self.table.pack(initial.free_mib, vids), vids, -1, None, 0)
        expanded = 0
        while self.queue:
            if len(self.keys) > x.config.max_states:
                break
            if self.is_done():
                break
            self.expand(self.queue.popleft())
            expanded += 1
            if expanded % 2000 == 0:
                self.flush_edges()
                if on_progress is not None:
                    on_progress(len(self.keys), x.edge_count, len(self.queue))
        self.flush_edges()
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
