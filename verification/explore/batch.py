"""The explorer's breadth-first search run on batches of queued states as numpy arrays.

``_Search`` (search.py) expands one state at a time in Python: about 22 µs a state, most of
it CPython dictionary and integer work per edge. This search takes the queue's next states in
a batch (the queue is FIFO and a batch holds only states already queued, so the states are
expanded in the same order) and does the per-edge work on arrays:

- a state is one int64 key: free memory and the VM ids (``VmTable``), ``bits`` per slot;
- a VM's memoized local steps (``SlotMemo``, per VM id, free memory and position) become rows
  of flat tables: a successor's key is the source's key plus the step's delta;
- symmetry: the VM ids of each group of same-settings positions are sorted by their
  runtime's rank (a stable sort, as ``VmTable.canonical``) and renamed from a table;
- a state's edges come in segments (the enabled steps of each slot, the tick, the extra
  steps of each slot, creates), put in the one-state search's order by ``edges.py``;
- the keys met are an open-addressing hash table of int64 keys to state ids; a batch's new
  keys get their ids in the order of their first edge (source order, then edge order), as
  the one-state search gives them;
- a new state is checked from per-VM-id verdicts and owned memory and the host verdicts
  per (free memory, total owned), as ``_Search.check_state``; a state that breaks
  something is checked again the Python way for its violations.

What is not a memoized local step is stepped in Python by ``_Search``'s own methods, per
state, with their interning deferred (``intern_new_key`` and ``found`` record instead of
acting): the balancer tick, a slot whose steps the memo keeps direct or that break a
two-state clause, lifecycle creates. Findings are then applied in edge order, so the first
counterexample of each invariant is the one-state search's; a stop (``until_found``,
``stop_at_first``, ``max_states``) cuts the batch at the state where the one-state search
would have stopped. State ids, parents, depths, edges, fixed points and findings are the
same as ``_Search``'s (tests/verification/explore/test_batch.py; benchmarks/explore_digest.py).

A key that does not fit (free memory outside the host's range, or more VM ids than the slot
width holds) raises ``Unsupported``; ``explore`` then runs the one-state search.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from dynmem.model.invariants import Violation
from dynmem.reference.events import BalancerTick, Event
from dynmem.reference.state import DmState
from dynmem.verification.explore.candidates import get_creates
from dynmem.verification.explore.edges import BatchEdges, PythonSegments, lay_out_edges
from dynmem.verification.explore.graph import Exploration
from dynmem.verification.explore.interning import PackedStates, StateKey, Vids
from dynmem.verification.explore.keytable import KeyTable
from dynmem.verification.explore.memo import SlotEntry
from dynmem.verification.explore.search import (
    ProgressCallback,
    _is_expandable,
    _Search,
)
from dynmem.verification.explore.symmetry import get_groups

__all__ = ["BatchSearch", "Unsupported"]

Array = Any  # numpy arrays (numpy's stubs are not used by the project's mypy settings)

# queued states expanded per batch: fewer numpy calls per state (3-VM search, in-process:
# 6.4 to 6.7 CPU s against 6.7 to 7.5 at 32,768); at 4 VMs about 2.2 M edges a batch
BATCH = 131_072


class Unsupported(Exception):
    """The configuration's keys do not fit this search: use the one-state search."""


class _Batch(NamedTuple):
    """The states of a batch, one row each."""

    ids: Array  # state ids, in queue order
    keys: Array
    free: Array
    vids: Array  # rows x slots, -1 for none
    present: Array  # rows x slots: a VM there
    ent: Array  # rows x slots: the VM's memo entry, -1 for none


class _Segments(NamedTuple):
    """Per row, its edges per segment (``edges.py``) and what is stepped in Python."""

    counts: Array  # rows x (2 slots + 2)
    slow: Array  # rows x slots x 2: the slot's enabled, extra steps are taken in Python
    plans: list[tuple[Any, ...]]
    plan_index: Array  # per row, its plan among ``plans``
    has_tick: Array  # per row: its plan has requests
    honest: Array  # per row: a guest has an honest message


class _NewStates(NamedTuple):
    """Each edge's target, and the batch's new states in the order of their ids."""

    target: Array  # per edge, its target's state id
    keys: Array  # canonical keys
    first_edge: Array  # the edge that finds each
    first_pos: Array  # the row of that edge's source
    renamed_keys: Array  # keys met that are not canonical, and their states' ids
    renamed_ids: Array


# edge, 0 for a new state's own violations or 1 for a step's, source, event, violations
_Finding = tuple[int, int, int, Event, list[Violation]]


class _Keys(Sequence[int]):
    """The int64 keys of the states found, by state id (``PackedStates`` reads them)."""

    def __init__(self, search: BatchSearch) -> None:
        self.search = search

    def __len__(self) -> int:
        return self.search.n

    def __getitem__(self, index: int | slice) -> Any:
        return self.search.k64[:self.search.n][index].tolist()

    def __iter__(self) -> Any:
        return iter(self.search.k64[:self.search.n].tolist())


class BatchSearch(_Search):
    """``_Search`` on batches of queued states (module docstring). Needs the slot memo
    (``memo`` on, no coverage)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.memo is None:
            raise Unsupported("the batch search needs the slot memo")
        self.x.engine = "batch"
        config = self.x.config
        k = self.k = len(config.vms)
        self.bits = min(16, 48 // k)
        if self.bits < 8:
            raise Unsupported(f"{k} VMs do not fit an int64 key")
        self.fshift = self.bits * k
        self.fbias = 1 << (62 - self.fshift)
        self.vmask = (1 << self.bits) - 1
        self.shifts = np.array([self.bits * i for i in range(k)], np.int64)
        self.foff = config.host.physical_mib + 1  # free memory in [-foff, foff]
        self.fr = 2 * self.foff + 1
        if self.fr > 1 << 12 or self.fr << self.fshift >= 1 << 62:
            raise Unsupported(f"free memory up to {self.foff} MiB does not fit the tables")
        self.n = 0
        self.k64 = np.zeros(1 << 16, np.int64)
        self.depths = np.zeros(1 << 16, np.int32)
        self.queue_ids = np.zeros(1 << 16, np.int64)
        self.qhead = self.qlen = 0
        self.seen = KeyTable()
        self.x.states = PackedStates(config.host, self.table, _Keys(self), self.unpack64)
        # per VM id (resized as the table grows)
        self.nv = 0
        self.ent_of = np.full((0, self.fr, k), -1, np.int32)  # memo entry per (vid, free, i)
        self.rank = np.zeros(0, np.int64)  # runtime's rank (symmetry)
        self.layout = np.zeros(0, np.int64)
        self.name_of = np.zeros(0, np.int64)
        self.renamed = np.full((0, 0), -1, np.int64)
        self.planned = np.zeros(0, np.int64)
        self.names: dict[str, int] = {}
        # memo entries as flat tables: per entry and list (0 enabled, 1 extra) the start,
        # length and whether it is taken in Python; per step its delta, kind, progress, event
        self.entries: list[SlotEntry] = []
        self.e_start: list[list[int]] = [[], []]
        self.e_len: list[list[int]] = [[], []]
        self.e_slow: list[list[bool]] = [[], []]
        self.e_honest: list[bool] = []
        self.s_delta: list[int] = []
        self.s_kind: list[int] = []
        self.s_prog: list[bool] = []
        self.s_event: list[Event] = []
        self.tables: tuple[Array, ...] = ()
        self.tables_size = -1
        self.plan_of: dict[int, tuple[Any, ...]] = {}
        self.fixed_layout = [self.table.get_settings_id(s) for _, s in config.vms]
        self.fixed_groups = get_groups(tuple(self.fixed_layout)) if config.symmetry else []
        # deferred interning (Python steps): edges and findings recorded, not applied
        self.rec_keys: list[int] = []
        self.rec_events: list[Event] = []
        self.rec_found: list[tuple[int, int, Event, list[Violation]]] = []

    # --- keys ----------------------------------------------------------------------------

    def pack64(self, free: int, vids: Vids) -> int:
        if not -self.foff <= free <= self.foff:
            raise Unsupported(f"free memory {free} outside the host's range")
        key = (free + self.fbias) << self.fshift
        for i, vid in enumerate(vids):
            if vid + 1 > self.vmask:
                raise Unsupported("more VM values than a key's slot holds")
            key += (vid + 1) << (self.bits * i)
        return key

    def unpack64(self, key: StateKey) -> tuple[int, Vids]:
        vids = [((key >> (self.bits * i)) & self.vmask) - 1 for i in range(self.k)]
        if -1 in vids:
            vids = vids[:vids.index(-1)]
        return (key >> self.fshift) - self.fbias, tuple(vids)

    def decode(self, keys: Array) -> tuple[Array, Array]:
        """Free memory and VM ids (n x slots, -1 for none) of ``keys``."""
        free = (keys >> self.fshift) - self.fbias
        vids = ((keys[:, None] >> self.shifts) & self.vmask) - 1
        return free, vids

    # --- per-VM-id tables ----------------------------------------------------------------

    def sync(self) -> None:
        """Extend the per-VM-id arrays to the VM values the table now holds."""
        table = self.table
        nv = len(table.vms)
        if nv == self.nv:
            return
        if nv + 1 > self.vmask:
            raise Unsupported("more VM values than a key's slot holds")
        if nv > len(self.ent_of):
            size = max(nv, 2 * len(self.ent_of), 64)
            grown = np.full((size, self.fr, self.k), -1, np.int32)
            grown[:len(self.ent_of)] = self.ent_of
            self.ent_of = grown
        for name in table.names[self.nv:]:
            self.names.setdefault(name, len(self.names))
        self.name_of = np.array([self.names[n] for n in table.names], np.int64)
        if nv > self.renamed.shape[0] or len(self.names) > self.renamed.shape[1]:
            renamed = np.full((max(nv, 2 * self.renamed.shape[0], 64), len(self.names)), -1,
                              np.int64)
            renamed[:self.renamed.shape[0], :self.renamed.shape[1]] = self.renamed
            self.renamed = renamed
        self.layout = np.array(table.layouts, np.int64)
        self.planned = np.array(table.planned_as, np.int64)
        self.nv = nv

    def update_rank(self) -> None:
        """Each VM id's runtime rank among the table's (equal runtimes, equal ranks)."""
        self.sync()
        if len(self.rank) == self.nv:
            return
        runtimes = self.table.runtimes
        order = sorted(range(self.nv), key=runtimes.__getitem__)
        rank = np.zeros(self.nv, np.int64)
        r = 0
        for j, vid in enumerate(order):
            if j and runtimes[order[j - 1]] < runtimes[vid]:
                r += 1
            rank[vid] = r
        self.rank = rank

    def get_tables(self) -> tuple[Array, ...]:
        if self.tables_size != len(self.s_delta) + len(self.entries):
            self.tables = (np.array(self.e_start, np.int64).T.reshape(-1, 2),
                           np.array(self.e_len, np.int64).T.reshape(-1, 2),
                           np.array(self.e_slow, bool).T.reshape(-1, 2),
                           np.array(self.e_honest, bool),
                           np.array(self.s_delta, np.int64),
                           np.array(self.s_kind, np.int8),
                           np.array(self.s_prog, bool))
            self.tables_size = len(self.s_delta) + len(self.entries)
        return self.tables

    def add_entry(self, free: int, vids: Vids, index: int) -> None:
        """The memo's entry of VM ``index`` of (free, vids), in the flat tables."""
        vid = vids[index]
        entry = self.compute_entry(free, vids, index)
        self.sync()
        self.ent_of[vid, free + self.foff, index] = len(self.entries)
        self.entries.append(entry)
        before = self.part64(free, vid, index)
        for w, fast, steps in ((0, entry.fast_enabled, entry.enabled),
                               (1, entry.fast_extra, entry.extra)):
            self.e_start[w].append(len(self.s_delta))
            self.e_slow[w].append(fast is None)
            if fast is None or not steps:
                self.e_len[w].append(0)
                continue
            self.e_len[w].append(len(steps))
            for kind, event, after, _, free_after, is_progress, _ in steps:
                self.s_delta.append(self.part64(free_after, after, index) - before)
                self.s_kind.append(kind)
                self.s_prog.append(is_progress)
                self.s_event.append(event)
        self.e_honest.append(entry.honest)

    def part64(self, free: int, vid: int, index: int) -> int:
        if not -self.foff <= free <= self.foff:
            raise Unsupported(f"free memory {free} outside the host's range")
        return ((free + self.fbias) << self.fshift) + ((vid + 1) << (self.bits * index))

    # --- deferred interning --------------------------------------------------------------

    def intern_new_key(self, key: StateKey, source: int, event: Event,
                       unpacked: tuple[int, Vids] | None = None) -> int:
        free, vids = unpacked or self.table.unpack(key)
        self.rec_keys.append(self.pack64(free, vids))
        self.rec_events.append(event)
        return len(self.rec_keys) - 1

    def found(self, source: int, event: Event, violations: list[Violation]) -> None:
        self.rec_found.append((len(self.rec_keys) - 1, source, event, violations))

    # --- symmetry ------------------------------------------------------------------------

    def canonical64(self, keys: Array) -> Array:
        """The canonical keys of ``keys`` (``VmTable.canonical`` on each)."""
        free, vids = self.decode(keys)
        self.update_rank()
        present = vids >= 0
        lay = np.where(present, self.layout[np.maximum(vids, 0)], -1)
        fixed = np.array(self.fixed_layout, np.int64)
        same = (lay == fixed).all(axis=1)
        out = vids.copy()
        if same.all():
            self.sort_groups(vids, out, np.arange(len(keys)), self.fixed_groups)
        else:
            code = np.zeros(len(keys), np.int64)
            span = int(self.layout.max(initial=0)) + 2
            for i in range(self.k):
                code = code * span + lay[:, i] + 1
            codes, first, inverse = np.unique(code, return_index=True, return_inverse=True)
            for c in range(len(codes)):
                row = lay[first[c]]
                groups = get_groups(tuple(int(v) for v in row if v >= 0))
                if groups:
                    self.sort_groups(vids, out, np.flatnonzero(inverse == c), groups)
        changed = (out != vids).any(axis=1)
        if not changed.any():
            return keys
        keys = keys.copy()
        rows = np.flatnonzero(changed)
        new = np.where(out[rows] >= 0, out[rows] + 1, 0)
        keys[rows] = ((free[rows] + self.fbias) << self.fshift) + (new << self.shifts).sum(1)
        return keys

    def sort_groups(self, vids: Array, out: Array, rows: Array,
                    groups: list[list[int]]) -> None:
        for positions in groups:
            pos = np.array(positions)
            held = vids[np.ix_(rows, pos)]
            ranks = self.rank[held]
            if len(positions) == 2:
                swap = ranks[:, 1] < ranks[:, 0]
                if not swap.any():
                    continue
                order = np.where(swap[:, None], np.array([1, 0]), np.array([0, 1]))
            else:
                order = np.argsort(ranks, axis=1, kind="stable")
            moved = order != np.arange(len(positions))
            if not moved.any():
                continue
            r, c = np.nonzero(moved)
            source = held[r, order[r, c]]
            slot_name = self.name_of[held[r, c]]
            renamed = self.get_renamed(source, slot_name)
            out[rows[r], pos[c]] = renamed

    def get_renamed(self, vids: Array, names: Array) -> Array:
        found = self.renamed[vids, names]
        missing = found < 0
        if missing.any():
            names_by_index = list(self.names)
            pairs = np.unique(np.stack([vids[missing], names[missing]], 1), axis=0)
            for vid, name in pairs.tolist():
                self.renamed_put(vid, name, self.table.rename(vid, names_by_index[name]))
            found = self.renamed[vids, names]
        return found

    def renamed_put(self, vid: int, name: int, new: int) -> None:
        self.sync()
        self.renamed[vid, name] = new

    # --- states --------------------------------------------------------------------------

    def add_states(self, keys: Array, parents: Array, events: list[Event | None]) -> None:
        """Append states (ids from ``self.n`` on) with their parents and first events."""
        m = len(keys)
        need = self.n + m
        if need > len(self.k64):
            size = max(need, 2 * len(self.k64))
            self.k64 = np.resize(self.k64, size)
            self.depths = np.resize(self.depths, size)
        self.k64[self.n:need] = keys
        depth = np.where(parents >= 0, self.depths[np.maximum(parents, 0)] + 1, 0)
        self.depths[self.n:need] = depth
        self.seen.insert(keys, np.arange(self.n, need))
        x = self.x
        x.parent.frombytes(np.asarray(parents, np.int32).tobytes())
        x.depth.frombytes(depth.astype(np.int32).tobytes())
        x.via.extend(events)
        x.fixed.extend(bytes(m))
        self.n = need

    def enqueue(self, sids: Array) -> None:
        need = self.qlen + len(sids)
        if need > len(self.queue_ids):
            self.queue_ids = np.resize(self.queue_ids, max(need, 2 * len(self.queue_ids)))
        self.queue_ids[self.qlen:need] = sids
        self.qlen = need

    def check_new(self, keys: Array) -> list[list[Violation] | None]:
        """What each state of ``keys`` breaks (None: nothing), from the per-id verdicts;
        a state with a verdict not yet known or a broken clause is checked the Python way
        (``_Search.check_state``, which fills the verdicts in)."""
        free, vids = self.decode(keys)
        table = self.table
        ok = np.array([-1 if v is None else int(v) for v in table.vm_ok], np.int64)
        owned = np.array([-1 if v is None else v for v in table.owned], np.int64)
        present = vids >= 0
        v = np.maximum(vids, 0)
        vm_ok = np.where(present, ok[v], 1)
        amount = np.where(present, owned[v], 0)
        good = (vm_ok == 1).all(1) & (amount >= 0).all(1)
        total = amount.sum(1)
        rows = np.flatnonzero(good)
        if len(rows):
            code = (free[rows] + self.foff) * (1 << 40) + total[rows]
            _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
            host = np.array([_get_host(self.host_ok, int(free[rows[f]]), int(total[rows[f]]))
                             for f in first.tolist()], np.int8)
            good[rows] = host[inverse.ravel()] == 1
        out: list[list[Violation] | None] = [None] * len(keys)
        for r in np.flatnonzero(~good).tolist():
            broken = self.check_state(self.vid_tuple(vids[r]), int(free[r]))
            out[r] = broken or None
        return out

    @staticmethod
    def vid_tuple(row: Array) -> Vids:
        return tuple(v for v in row.tolist() if v >= 0)

    # --- the search ----------------------------------------------------------------------

    def run(self, on_progress: ProgressCallback | None) -> Exploration:
        x = self.x
        start = time.perf_counter()
        initial, vids = self.get_initial()
        self.add_states(np.array([self.pack64(initial.free_mib, vids)], np.int64),
                        np.array([-1]), [None])
        broken = self.check_state(vids, initial.free_mib)
        if not broken or _is_expandable(broken):
            self.enqueue(np.array([0]))
        while self.qhead < self.qlen:
            if self.n > x.config.max_states or self.is_done():
                break
            batch = self.queue_ids[self.qhead:min(self.qlen, self.qhead + BATCH)].copy()
            self.qhead += self.expand_batch(batch)
            if on_progress is not None:
                on_progress(self.n, x.edge_count, self.qlen - self.qhead)
        queued = self.qlen - self.qhead
        x.complete = not queued
        x.queued = queued
        x.stopped_early = bool(queued) and self.is_done()
        x.seconds = x.search_seconds = time.perf_counter() - start
        return x

    def expand_batch(self, sources: Array) -> int:
        """Expand the queued states ``sources`` (in queue order) up to where the one-state
        search would stop; the number expanded."""
        # the states' VMs and memo entries, their edges per segment, the Python steps
        batch = self.get_batch(sources)
        tables = self.get_tables()  # after ``get_batch``, which adds the entries missing
        segments = self.count_segments(batch, tables)
        python = self.step_in_python(batch, segments)
        # every edge in the one-state search's order, its target, the new states
        e_start, _, _, _, s_delta, s_kind, s_prog = tables
        edges = lay_out_edges(batch.keys, segments.counts, batch.present, batch.ent,
                              segments.slow, (e_start, s_delta, s_kind, s_prog), python)
        new = self.number_new_states(edges)
        broken = self.check_new(new.keys)
        # the findings in edge order, applied up to where the one-state search stops
        n = len(sources)
        cut = self.apply_findings(self.get_findings(sources, edges, new, broken), edges.pos,
                                  self.cut_at_state_limit(n, new.first_pos))
        # what the rows before the cut found goes into the graph
        edges_kept = int(edges.offsets[cut, 0]) if cut < n else len(edges.key)
        states_kept = int(np.searchsorted(new.first_pos, cut, side="left"))
        self.add_new_states(sources, edges, new, broken, states_kept)
        self.add_edges(sources, edges, new.target, edges_kept)
        self.mark_fixed_points(sources, segments, cut)
        return cut

    def get_batch(self, sources: Array) -> _Batch:
        """The states ``sources`` decoded, with the memo entry of each VM; the entries the
        memo lacks are computed first, in order of their first row and slot."""
        k = self.k
        keys = self.k64[sources]
        free, vids = self.decode(keys)
        if (np.abs(free) > self.foff).any():
            raise Unsupported("free memory outside the host's range")
        present = vids >= 0
        self.sync()
        slots = np.arange(k)
        fidx = free + self.foff
        ent = np.where(present, self.ent_of[np.maximum(vids, 0), fidx[:, None], slots], -1)
        missing = present & (ent < 0)
        if missing.any():
            rows, cols = np.nonzero(missing)
            code = (vids[rows, cols] * self.fr + fidx[rows]) * k + cols
            _, first = np.unique(code, return_index=True)
            for f in np.sort(first).tolist():
                r = int(rows[f])
                self.add_entry(int(free[r]), self.vid_tuple(vids[r]), int(cols[f]))
            ent = np.where(present, self.ent_of[np.maximum(vids, 0), fidx[:, None], slots],
                           -1)
        return _Batch(sources, keys, free, vids, present, ent)

    def count_segments(self, batch: _Batch, tables: tuple[Array, ...]) -> _Segments:
        """Each state's edges per segment as far as the memo knows them, and what must be
        stepped in Python: the slots' lists the memo does not take on arrays, and the tick
        when the state's plan has requests (whose count ``step_in_python`` fills in)."""
        k = self.k
        present = batch.present
        _, e_len, e_slow, e_honest, _, _, _ = tables
        e = np.maximum(batch.ent, 0)
        # segments: enabled of slots 0..k-1, the tick, extra of slots 0..k-1, creates
        counts = np.zeros((len(present), 2 * k + 2), np.int64)
        counts[:, :k] = np.where(present, e_len[e, 0], 0)
        counts[:, k + 1:2 * k + 1] = np.where(present, e_len[e, 1], 0)
        slow = present[:, :, None] & e_slow[e]  # n x k x 2
        plans, plan_index = self.get_plans(batch.free, batch.vids, present)
        has_tick = np.array([bool(p) for p in plans], bool)[plan_index]
        honest = (present & e_honest[e]).any(1)
        return _Segments(counts, slow, plans, plan_index, has_tick, honest)

    def get_plans(self, free: Array, vids: Array, present: Array
                  ) -> tuple[list[tuple[Any, ...]], Array]:
        """The plans of the states and each state's index among them: the reference's once
        per (free memory, managed VMs and waiting starts), as ``_Search.expand``; another
        policy on every state."""
        x = self.x
        n = len(free)
        if self.plans is None:
            return ([tuple(x.plan(self.get_state(int(free[r]), self.vid_tuple(vids[r]))))
                     for r in range(n)], np.arange(n))
        self.sync()
        span = 1 << self.bits  # a plan view's id + 2 is below it (at most one per VM id)
        code = free + self.foff
        planned_as = np.where(present, self.planned[np.maximum(vids, 0)] + 2, 0)
        for i in range(self.k):
            code = code * span + planned_as[:, i]
        codes, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        plans: list[tuple[Any, ...]] = []
        plan_of = self.plan_of
        for c, f in zip(codes.tolist(), first.tolist(), strict=True):
            found = plan_of.get(c)
            if found is None:
                state = self.get_state(int(free[f]), self.vid_tuple(vids[f]))
                found = plan_of[c] = tuple(x.plan(state))
            plans.append(found)
        return plans, inverse.ravel()

    def step_in_python(self, batch: _Batch, segments: _Segments) -> PythonSegments:
        """Step in Python what is not a memoized local step taken on arrays: the balancer
        tick, a slot whose steps the memo keeps direct or that break a two-state clause,
        lifecycle creates. Interning and findings are recorded, not applied
        (``intern_new_key``, ``found``), so that they keep the one-state search's order;
        each segment's number of edges goes into ``segments.counts``."""
        x, k = self.x, self.k
        sources, free, vids, present, ent = (batch.ids, batch.free, batch.vids, batch.present,
                                             batch.ent)
        slow, plans, plan_index = segments.slow, segments.plans, segments.plan_index
        n = len(sources)
        self.rec_keys, self.rec_events, self.rec_found = [], [], []
        # their edges (placeholders of ``rec_keys``, kinds, progress flags) and, per
        # segment stepped, its row, segment and number of edges
        dst: list[int] = []
        kinds: list[int] = []
        progress: list[bool] = []
        seg_rows: list[int] = []
        seg_ids: list[int] = []
        seg_counts: list[int] = []
        lifecycle = x.config.lifecycle
        python_rows = (segments.has_tick | slow.any((1, 2)) if not lifecycle
                       else np.ones(n, bool))
        rows = np.flatnonzero(python_rows)
        row_slow = slow[rows].any((1, 2)).tolist()
        n_vms = present[rows].sum(1).tolist()
        for r, sid, f, all_vids, n_vm, plan, any_slow in zip(
                rows.tolist(), sources[rows].tolist(), free[rows].tolist(),
                vids[rows].tolist(), n_vms, plan_index[rows].tolist(), row_slow, strict=True):
            row_vids = tuple(all_vids[:n_vm])  # a state's VMs are the first slots
            state: DmState | None = None
            planned = plans[plan]
            stepped: list[tuple[int, Any]] = []
            if any_slow:
                stepped += [(i, (0, i)) for i in range(n_vm) if slow[r, i, 0]]
            if planned:
                stepped.append((k, None))
            if any_slow:
                stepped += [(k + 1 + i, (1, i)) for i in range(n_vm) if slow[r, i, 1]]
            if lifecycle:
                stepped.append((2 * k + 1, "create"))
            for seg, what in stepped:
                before = len(dst)
                if what is None:
                    if self.reference_tick:
                        self.add_tick(sid, state, f, row_vids, planned, dst, kinds,
                                      progress)
                    else:
                        state = state or self.get_state(f, row_vids)
                        self.add_direct_step(sid, state, BalancerTick(), True, dst, kinds,
                                             progress, planned, row_vids)
                elif what == "create":
                    state = state or self.get_state(f, row_vids)
                    for event in get_creates(state, x.config):
                        self.add_direct_step(sid, state, event, False, dst, kinds, progress)
                else:
                    w, i = what
                    state = state or self.get_state(f, row_vids)
                    entry = self.entries[int(ent[r, i])]
                    self.add_slot_steps(sid, state, self.table.pack(f, row_vids), row_vids,
                                        i, entry.extra if w else entry.enabled, dst, kinds,
                                        progress)
                seg_rows.append(r)
                seg_ids.append(seg)
                seg_counts.append(len(dst) - before)
        # each Python edge was interned once, in order (``intern_new_key``)
        assert dst == list(range(len(self.rec_keys)))
        if seg_rows:
            segments.counts[seg_rows, seg_ids] = seg_counts
        return PythonSegments(seg_rows, seg_ids, seg_counts, self.rec_keys, kinds, progress)

    def number_new_states(self, edges: BatchEdges) -> _NewStates:
        """Each edge's target state id, and the new states. A key met before is in the hash
        table (it holds every key met, canonical or renamed); the other keys are put in
        canonical form, and the states not met before get ids from ``self.n`` on in the
        order of their first edge, as the one-state search numbers them."""
        e_key = edges.key
        target = self.seen.lookup(e_key).astype(np.int64)
        miss = np.flatnonzero(target < 0)
        raw, raw_inverse = np.unique(e_key[miss], return_inverse=True)
        canon = self.canonical64(raw) if self.x.config.symmetry else raw
        canon_target = self.seen.lookup(canon).astype(np.int64)
        fresh = np.flatnonzero(canon_target < 0)  # raw keys whose state is new
        new_keys, new_inverse = np.unique(canon[fresh], return_inverse=True)
        # first edge of each new state: the first missed edge of any of its raw keys
        raw_first = np.full(len(raw), len(e_key), np.int64)
        np.minimum.at(raw_first, raw_inverse.ravel(), miss)
        first_of_new = np.full(len(new_keys), len(e_key), np.int64)
        np.minimum.at(first_of_new, new_inverse.ravel(), raw_first[fresh])
        order = np.argsort(first_of_new, kind="stable")
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        canon_target[fresh] = self.n + rank[new_inverse.ravel()]
        target[miss] = canon_target[raw_inverse.ravel()]
        first_edge = first_of_new[order]
        renamed = canon != raw
        return _NewStates(target, new_keys[order], first_edge, edges.pos[first_edge],
                          raw[renamed], canon_target[renamed])

    def get_findings(self, sources: Array, edges: BatchEdges, new: _NewStates,
                     broken: list[list[Violation] | None]) -> list[_Finding]:
        """The findings in edge order, as the one-state search makes them: a new state's
        own (``broken``), at its first edge and before that step's, and those the Python
        steps recorded."""
        records: list[_Finding] = []
        events = self.s_event
        py_events = self.rec_events
        e_event = edges.event

        def event_of(edge: int) -> Event:
            code = int(e_event[edge])
            return events[code] if code >= 0 else py_events[-1 - code]

        first_edge = new.first_edge
        sources_of_new = sources[new.first_pos]
        for m, b in enumerate(broken):
            if b is not None:
                edge = int(first_edge[m])
                records.append((edge, 0, int(sources_of_new[m]), event_of(edge), b))
        py_dest = edges.python_dest
        for placeholder, source, event, violations in self.rec_found:
            records.append((int(py_dest[placeholder]), 1, source, event, violations))
        records.sort(key=lambda rec: (rec[0], rec[1]))
        return records

    def cut_at_state_limit(self, n: int, first_pos: Array) -> int:
        """The first of the ``n`` rows the one-state search would not expand because the
        states found before it exceed ``max_states`` (``first_pos``: the row that finds
        each new state); ``n`` if none."""
        limit = self.x.config.max_states
        if self.n + len(first_pos) <= limit:
            return n
        found_before = np.searchsorted(first_pos, np.arange(n), side="left")
        over = np.flatnonzero(self.n + found_before > limit)
        return int(over[0]) if len(over) else n

    def apply_findings(self, records: list[_Finding], pos: Array, cut: int) -> int:
        """Apply the findings of the rows before ``cut`` in order (``_Search.found``); if
        the search stops at a finding (``stop_at_first``, ``until_found``), the rows after
        the one that made it are cut too. The new cut."""
        stops = self.stop_at_first or bool(self.until_found)
        done_at = -1
        for edge, _, source, event, violations in records:
            row = int(pos[edge])
            if row >= cut or (done_at >= 0 and row > done_at):
                break
            _Search.found(self, source, event, violations)
            if stops and done_at < 0 and self.is_done():
                done_at = row
        if done_at >= 0:
            cut = min(cut, done_at + 1)
        return cut

    def add_new_states(self, sources: Array, edges: BatchEdges, new: _NewStates,
                       broken: list[list[Violation] | None], states_kept: int) -> None:
        """Add the first ``states_kept`` new states with their parents and first events,
        remember the renamed keys of the states kept (unless short of memory), and queue
        the new states that may be expanded."""
        events = self.s_event
        py_events = self.rec_events
        first_edge = new.first_edge[:states_kept]
        self.add_states(new.keys[:states_kept], sources[new.first_pos[:states_kept]],
                        [events[c] if c >= 0 else py_events[-1 - c]
                         for c in edges.event[first_edge].tolist()])
        # the renamed keys whose state is kept: met again, they need no canonical form
        keep_renamed = new.renamed_ids < self.n
        if not self.remember_renamed:  # short of memory (``ExploreConfig.renamed_keys``)
            keep_renamed[:] = False
        self.seen.insert(new.renamed_keys[keep_renamed], new.renamed_ids[keep_renamed])
        expandable = np.array([b is None or _is_expandable(b)
                               for b in broken[:states_kept]], bool)
        self.enqueue(self.n - states_kept + np.flatnonzero(expandable))

    def add_edges(self, sources: Array, edges: BatchEdges, target: Array,
                  edges_kept: int) -> None:
        """Append the first ``edges_kept`` edges to the graph (with ``all_edges`` off, only
        the progress edges are kept; all are counted)."""
        x = self.x
        src = sources[edges.pos[:edges_kept]]
        dst_ids, kinds_kept, prog_kept = (target[:edges_kept], edges.kind[:edges_kept],
                                          edges.progress[:edges_kept])
        x.edge_count += edges_kept
        if not self.all_edges:
            src, dst_ids, kinds_kept = src[prog_kept], dst_ids[prog_kept], kinds_kept[prog_kept]
            prog_kept = prog_kept[prog_kept]
        x.edge_src.frombytes(src.astype(np.int32).tobytes())
        x.edge_dst.frombytes(dst_ids.astype(np.int32).tobytes())
        x.edge_kind.frombytes(kinds_kept.astype(np.int8).tobytes())
        x.edge_progress.extend(prog_kept.astype(np.uint8).tobytes())

    def mark_fixed_points(self, sources: Array, segments: _Segments, cut: int) -> None:
        """Mark the states expanded (``sources`` before ``cut``) that are fixed points: no
        guest has an honest message and the plan is empty (``compute_edges_directly``)."""
        fixed = ~segments.has_tick[:cut] & ~segments.honest[:cut]
        fixed_view = np.frombuffer(self.x.fixed, np.uint8)
        fixed_view[sources[:cut][fixed]] = 1
        del fixed_view


def _get_host(cache: dict[tuple[int, int], bool], free: int, total: int) -> int:
    found = cache.get((free, total))
    return -1 if found is None else int(found)
