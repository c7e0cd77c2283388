"""``check-trace``: check a recorded log of a real system against the model, streaming.

A log (specs/formats/oracle.md §5) is a header with the initial state, then one entry per
event with the observation after it. :class:`LogChecker` judges each entry exactly as the
oracle judges a system IUT's answer in refinement mode (``judge_system_step``: the model's
``is_allowed`` and every invariant clause), keeping only the current state, bounded caches
and the last few steps (constant memory).

The fast path never decides a failure; it only certifies steps that the full check would
accept, and hands everything else (and always the first entry, whose state before is the
unchecked header) to the full check, so verdicts and messages are the full check's.

* Decoding: a line is parsed (``orjson`` when installed, else the standard library) into an
  :class:`_Entry` whose event, requests and per-VM observations are validated with the
  codec's own readers and interned as small ints; anything unusual (a float, a bad field, a
  create/configure/delete, a rejected tick) is left to the full check, which parses with
  the standard library and reports the error as before. Identical lines reuse their entry.
* Judging: an event naming one VM ``x`` changes only ``x`` and free memory, so (the state
  before satisfying every invariant) its judgement is determined by the key (event, ``x``
  before, ``x`` observed after, free before and after, rejected or not): the other VMs enter
  the host sums only through free and ``x`` (INV-CONSERVATION). Kinds that never touch free
  (``FREE_BLIND``) leave free out of the key when it stays the same. A key seen for the first
  time is judged by :func:`verification.oracle.vm_step.judge_vm_step` (the full check restricted to
  ``x``); certified keys are memoised. A tick is judged as its requests sent one after
  another (each a single-VM step, the two-state invariants seeing the tick); a tick that
  sends nothing and changes nothing needs only the two-state clauses on unchanged VMs.

``tests/verification/oracle/test_checktrace.py`` proves the fast path equivalent to the full check
on random logs with planted faults; ``tests/verification/oracle/test_vm_step.py`` proves the one-VM
judgement equivalent to ``judge_system_step`` and checks the properties of the invariant
registry it relies on. Every cache is cleared when it grows past its bound.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
import orjson

from dynmem.reference.events import (
    BalancerTick,
    DmRequest,
    Event,
)
from dynmem.reference.state import DmState, Vm
from dynmem.verification.codec import (
    count_key_tokens,
    count_keys,
    event_from_json,
    expect_object,
    load_json,
    read_lines,
    state_from_json,
)
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.iut import Observed
from dynmem.verification.oracle.judge import Divergence, IsAllowed, judge_system_step
from dynmem.verification.oracle.logwriter import LOG_FORMAT, LOG_VERSION
from dynmem.verification.oracle.observation import (
    Observation,
    ObservedVm,
    observe_vm,
    observed_vm_from_json,
    requests_from_json,
)
from dynmem.verification.oracle.vm_step import (
    is_model_relation,
    is_unchanged_vm_allowed,
    judge_vm_step,
)
from dynmem.verification.properties.locality import FREE_BLIND, MULTI_VM
from dynmem.verification.traces.trace import Finding, Trace, TraceStep

_fast_loads: Callable[[str], Any]
try:  # a C parser: JSON parsing is most of the time spent on a memoised step

    _fast_loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency; stay usable without it
    _fast_loads = json.loads

MEMO_LIMIT = 200_000
LINE_CACHE_CHARS = 8_000_000  # text of the lines kept per generation (two are kept)
# FREE_BLIND kinds' judgement does not read free memory when free stays the same: with free
# and the VM's owned memory unchanged the host sums are the (valid) ones of the state before.
_ENTRY_KEYS = ("event", "observed", "sent", "rejected")
_ENTRY_KEY_SET = frozenset(_ENTRY_KEYS)
_TICK = BalancerTick()


@attrs.frozen
class LogResult:
    """The outcome: entries checked, the first violation (if any) with its line and the
    readable window of the last steps, how many steps the fast path certified, how many of
    those needed a one-VM judgement (memo misses) and how many lines were decoded before."""

    events: int
    divergence: Divergence | None = None
    line: int | None = None
    window: Trace | None = None
    fast: int = 0
    misses: int = 0
    reused_lines: int = 0


class _Entry:
    """A decoded, validated log entry for the fast path (ids are interned small ints).

    ``names``/``obs``: the observed VMs in the log's order; ``vm``: the VM a single-VM
    event names (None for a tick); ``sent``/``sids``: a tick's requests and their ids.
    """

    __slots__ = ("event", "eid", "vm", "names", "obs", "free", "rejected", "sent", "sids",
                 "blind")

    def __init__(self, event: Event, eid: int, vm: str | None, names: tuple[str, ...],
                 obs: tuple[int, ...], free: int, rejected: str | None,
                 sent: tuple[DmRequest, ...], sids: tuple[int, ...]) -> None:
        self.event, self.eid, self.vm, self.names, self.obs = event, eid, vm, names, obs
        self.free, self.rejected, self.sent, self.sids = free, rejected, sent, sids
        self.blind = event.KIND in FREE_BLIND


def read_header(text: str, source: str) -> DmState:
    """The initial state from a log's first line (Rule L1)."""
    obj = expect_object(load_json(text, source, "line 1"), source, "line 1")
    if obj.get("type") != "header" or obj.get("format") != LOG_FORMAT:
        raise InputError(source, "line 1", obj.get("format"),
                         f'must be a header {{"type": "header", "format": "{LOG_FORMAT}", ...}}')
    if obj.get("version") != LOG_VERSION:
        raise InputError(source, "line 1.version", obj.get("version"), f"must be {LOG_VERSION}")
    return state_from_json(obj.get("initial"), source, "line 1.initial")


class LogChecker:
    """Judge log entries one at a time from ``initial`` (see the module docstring).

    The fast path needs to see through ``is_allowed``: it runs with the model's relation or
    with the rules (None); any other relation gets the full check on every entry.
    """

    def __init__(self, initial: DmState, source: str, is_allowed: IsAllowed | None,
                 window: int = 8, fast: bool = True) -> None:
        self.source, self.is_allowed = source, is_allowed
        self.fast = fast and (is_allowed is None or is_model_relation(is_allowed))
        self.host = initial.host
        self.valid = False  # the state satisfies every invariant (after one full check)
        # The last steps: (free before, VMs before, event, rejected, sent, state after).
        self.recent: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=window)
        self.count = self.certified = self.misses = self.reused = 0
        self._ids = itertools.count()  # ids are never reused, even after a reset
        self.names: tuple[str, ...] = ()
        self._clear_tables()
        self._set_state(initial.free_mib, initial.vms)

    # state ----------------------------------------------------------------------------------

    def state(self) -> DmState:
        return DmState(self.host, self.free, self.vms)

    def _set_state(self, free: int, vms: tuple[Vm, ...]) -> None:
        self.free, self.vms = free, tuple(vms)
        names = self._intern_names(tuple(vm.name for vm in self.vms))
        if names != self.names:
            self.perms.clear()
        self.names = names
        self.pos = {name: index for index, name in enumerate(names)}
        self.ids = [self._vm_id(vm) for vm in self.vms]
        self.obs = tuple(self._observed_id(observe_vm(vm)) for vm in self.vms)

    # interning and bounded tables -----------------------------------------------------------

    def _clear_tables(self) -> None:
        self.memo: dict[tuple[Any, ...], tuple[int, Vm]] = {}
        self.lines: dict[str, _Entry] = {}
        self.old_lines: dict[str, _Entry] = {}
        self.line_chars = 0
        self.raw_events: dict[Any, tuple[Event, int]] = {}
        self.event_ids: dict[Event, int] = {}
        self.raw_vms: dict[Any, tuple[str, int]] = {}
        self.observed_ids: dict[ObservedVm, int] = {}
        self.observed: dict[int, ObservedVm] = {}
        self.vm_ids: dict[Vm, int] = {}
        self.name_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.perms: dict[tuple[str, ...], tuple[int, ...] | None] = {}
        self.tick_ok: set[int] = set()
        self.vm_ok: set[Vm] = set()  # VMs that satisfy every vm clause
        self.full_tables = False

    def _reset_tables(self) -> None:
        self._clear_tables()
        self._set_state(self.free, self.vms)

    def _intern(self, table: dict[Any, int], value: Any) -> int:
        found = table.get(value)
        if found is None:
            found = table[value] = next(self._ids)
            self.full_tables = self.full_tables or len(table) >= MEMO_LIMIT
        return found

    def _judge(self, key: tuple[Any, ...], pre: DmState, index: int, event: Event, seen: int,
               after: int, accepted: bool, in_tick: bool = False) -> tuple[int, Vm] | None:
        """A memo miss: the one-VM judgement; remembered (VM id, VM) if it conforms."""
        self.misses += 1
        post = judge_vm_step(pre, index, event, self.observed[seen], after, accepted,
                             self.is_allowed, in_tick=in_tick, vm_ok=self.vm_ok)
        found = None if post is None else (self._vm_id(post), post)
        if found is not None:
            self.memo[key] = found
        if len(self.memo) >= MEMO_LIMIT or len(self.vm_ok) >= MEMO_LIMIT:
            self.full_tables = True  # cleared before the next line
        return found

    def _vm_id(self, vm: Vm) -> int:
        return self._intern(self.vm_ids, vm)

    def _observed_id(self, vm: ObservedVm) -> int:
        oid = self._intern(self.observed_ids, vm)
        self.observed[oid] = vm
        return oid

    def _intern_names(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return self.name_tuples.setdefault(names, names)

    # decoding for the fast path (None: leave the line to the full check) -------------------

    def _entry(self, text: str) -> _Entry | None:
        entry = self.old_lines.get(text)
        if entry is not None:
            self.reused += 1
        else:
            entry = self._decode(text)
            if entry is None:
                return None
        self.lines[text] = entry
        self.line_chars += len(text)
        if self.line_chars >= LINE_CACHE_CHARS:  # the older generation is dropped
            self.old_lines, self.lines, self.line_chars = self.lines, {}, 0
        return entry

    def _decode(self, text: str) -> _Entry | None:
        try:
            data = _fast_loads(text)
        except ValueError:
            return None
        if count_keys(data) != count_key_tokens(text):  # a key given twice: the full path
            return None
        if (type(data) is not dict or "event" not in data or "observed" not in data
                or not data.keys() <= _ENTRY_KEY_SET):
            return None
        found = self._event_id(data["event"])
        rejected, observed = data.get("rejected"), data["observed"]
        if found is None or (rejected is not None and type(rejected) is not str):
            return None
        if type(observed) is not dict or len(observed) != 2:
            return None
        free, items = observed.get("free_mib"), observed.get("vms")
        if type(free) is not int or type(items) is not list:
            return None
        names, obs = [], []
        for item in items:
            seen = self._observed_vm_id(item)
            if seen is None:
                return None
            names.append(seen[0])
            obs.append(seen[1])
        if len(set(names)) != len(names):
            return None
        event, eid = found
        sent_raw = data.get("sent", [])
        if isinstance(event, BalancerTick):
            if rejected is not None:
                return None
            try:
                sent = requests_from_json(sent_raw, self.source, "sent")
            except InputError:
                return None
            if len({r.vm for r in sent}) != len(sent):
                return None  # R-TICK: one request per VM (the full check explains)
            sids = tuple(self._intern(self.event_ids, r) for r in sent)
            return _Entry(event, eid, None, self._intern_names(tuple(names)), tuple(obs), free,
                          None, sent, sids)
        if isinstance(event, MULTI_VM) or type(sent_raw) is not list or sent_raw:
            return None
        vm: str = getattr(event, "vm")  # noqa: B009 - every single-VM kind has one
        return _Entry(event, eid, vm, self._intern_names(tuple(names)), tuple(obs), free,
                      rejected, (), ())

    def _event_id(self, raw: Any) -> tuple[Event, int] | None:
        if type(raw) is not dict:
            return None
        # Types are part of the key: JSON true must not pass for 1.
        types = tuple(map(type, raw.values()))
        if dict in types or list in types:
            return None  # create/configure carry settings: the full check decodes them
        key = (tuple(raw.items()), types)
        found = self.raw_events.get(key)
        if found is None:
            try:
                event = event_from_json(raw, self.source, "event")
            except InputError:
                return None
            found = self.raw_events[key] = (event, self._intern(self.event_ids, event))
            self.full_tables = self.full_tables or len(self.raw_events) >= MEMO_LIMIT
        return found

    def _observed_vm_id(self, item: Any) -> tuple[str, int] | None:
        if type(item) is not dict:
            return None
        key = (tuple(item.items()), tuple(map(type, item.values())))
        try:
            found = self.raw_vms.get(key)
        except TypeError:  # an unhashable value (a list): invalid, the full check says why
            return None
        if found is None:
            try:
                vm = observed_vm_from_json(item, self.source, "observed")
            except InputError:
                return None
            found = self.raw_vms[key] = (vm.name, self._observed_id(vm))
            self.full_tables = self.full_tables or len(self.raw_vms) >= MEMO_LIMIT
        return found

    def _aligned(self, entry: _Entry) -> tuple[int, ...] | None:
        """The entry's observations in the state's VM order (None: other VMs)."""
        if entry.names == self.names:
            return entry.obs
        if entry.names not in self.perms:
            same = sorted(entry.names) == sorted(self.names)
            self.perms[entry.names] = (tuple(entry.names.index(n) for n in self.names)
                                       if same else None)
        perm = self.perms[entry.names]
        return None if perm is None else tuple(entry.obs[k] for k in perm)

    # checking -------------------------------------------------------------------------------

    def check(self, line: int, text: str) -> Divergence | None:
        """Judge one log line (blank lines are skipped); None when it conforms."""
        if self.fast and self.valid:
            if self.full_tables:
                self._reset_tables()
            entry = self.lines.get(text)
            if entry is None:
                entry = self._entry(text)
            else:
                self.reused += 1
            if entry is not None and (self._certify_one(entry) if entry.vm is not None
                                      else self._certify_tick(entry)):
                self.count += 1
                self.certified += 1
                return None
        return self._check_full(line, text)

    def _check_full(self, line: int, text: str) -> Divergence | None:
        if not text.strip():
            return None
        where = f"line {line}"
        entry = load_json(text, self.source, where)
        if not isinstance(entry, dict) or "event" not in entry or "observed" not in entry:
            raise InputError(self.source, where, text[:80],
                             "must be an entry {\"event\": ..., \"observed\": ...}")
        for key in entry:
            if key not in _ENTRY_KEYS:
                raise InputError(self.source, f"{where}.{key}", entry[key],
                                 "unknown field; known: " + ", ".join(_ENTRY_KEYS))
        event = event_from_json(entry["event"], self.source, f"{where}.event")
        self.count += 1
        return self._full(event, self._answer(entry, where))

    def _observation(self, raw: Any, where: str) -> Observation:
        obj = expect_object(raw, self.source, f"{where}.observed")
        vms, seen = [], set()
        items = obj.get("vms")
        if not isinstance(items, list):
            raise InputError(self.source, f"{where}.observed.vms", items, "must be a JSON array")
        for index, item in enumerate(items):
            path = f"{where}.observed.vms[{index}]"
            vm = observed_vm_from_json(item, self.source, path)
            if vm.name in seen:
                raise InputError(self.source, f"{path}.name", vm.name, "names a VM twice")
            seen.add(vm.name)
            vms.append(vm)
        free = obj.get("free_mib")
        if not isinstance(free, int) or isinstance(free, bool):
            raise InputError(self.source, f"{where}.observed.free_mib", free,
                             "must be an integer (MiB)")
        if set(obj) - {"free_mib", "vms"}:
            extra = sorted(set(obj) - {"free_mib", "vms"})[0]
            raise InputError(self.source, f"{where}.observed.{extra}", obj[extra],
                             "unknown field; known: free_mib, vms")
        return Observation(free, tuple(vms))

    def _answer(self, entry: dict[str, Any], where: str) -> Observed:
        sent = requests_from_json(entry.get("sent", []), self.source, f"{where}.sent")
        rejected = entry.get("rejected")
        if rejected is not None and not isinstance(rejected, str):
            raise InputError(self.source, f"{where}.rejected", rejected,
                             "must be null or a string")
        return Observed(self._observation(entry.get("observed"), where), sent, rejected)

    def _full(self, event: Event, answer: Observed) -> Divergence | None:
        pre = self.state()
        judged = judge_system_step(self.count, pre, event, answer, "refinement",
                                   self.is_allowed)
        self.recent.append((pre.free_mib, pre.vms, event, answer.rejected, answer.sent,
                            judged.post))
        if judged.divergence is None:
            self._set_state(judged.post.free_mib, judged.post.vms)
            self.valid = True  # the state after a conforming step satisfies every invariant
        return judged.divergence

    # the fast path --------------------------------------------------------------------------

    def _certify_one(self, entry: _Entry) -> bool:
        index = self.pos.get(entry.vm)  # type: ignore[arg-type]
        obs = entry.obs if entry.names is self.names else self._aligned(entry)
        if index is None or obs is None:
            return False
        if obs != self.obs and not self._others_unchanged(obs, (index,)):
            return False  # another VM changed: the full check explains
        free, after, accepted = self.free, entry.free, entry.rejected is None
        seen, vm_id = obs[index], self.ids[index]
        key: tuple[Any, ...]
        if entry.blind and after == free:
            key = (entry.eid, vm_id, seen, accepted)
        else:
            key = (entry.eid, vm_id, seen, free, after, accepted)
        found = self.memo.get(key)
        if found is None:
            post = self._judge(key, self.state(), index, entry.event, seen, after, accepted)
            if post is None:
                return False
            found = post
        self.recent.append((free, self.vms, entry.event, entry.rejected, (), None))
        if found[0] != vm_id:
            vms = self.vms
            self.vms = (*vms[:index], found[1], *vms[index + 1:])
            self.ids[index] = found[0]
        self.obs, self.free = obs, after
        return True

    def _others_unchanged(self, obs: tuple[int, ...], acting: Iterable[int | None]) -> bool:
        """Whether every VM but the ``acting`` ones is observed as before."""
        current = self.obs
        return all(seen == current[j] or j in acting for j, seen in enumerate(obs))

    def _certify_tick(self, entry: _Entry) -> bool:
        obs = entry.obs if entry.names is self.names else self._aligned(entry)
        if obs is None:
            return False
        if not entry.sent:
            if obs != self.obs or entry.free != self.free:
                return False
            for vm_id, vm in zip(self.ids, self.vms, strict=True):
                if vm_id not in self.tick_ok:
                    if not is_unchanged_vm_allowed(_TICK, vm):
                        return False
                    self.tick_ok.add(vm_id)
            self.recent.append((self.free, self.vms, entry.event, None, (), None))
            return True
        indexes = [self.pos.get(r.vm) for r in entry.sent]
        if None in indexes or not self._others_unchanged(obs, indexes):
            return False
        ids, vms, free = list(self.ids), list(self.vms), self.free
        for request, rid, index in zip(entry.sent, entry.sids, indexes, strict=True):
            assert index is not None
            # R-TICK: each request is a one-VM step; free moves by what it takes.
            after = free if request.KIND == "balloon_request" else free - request.mib
            key = ("tick", rid, ids[index], obs[index], free, after)
            found = self.memo.get(key)
            if found is None:
                post = self._judge(key, DmState(self.host, free, tuple(vms)), index, request,
                                   obs[index], after, True, in_tick=True)
                if post is None:
                    return False
                found = post
            ids[index], vms[index] = found
            free = after
        if free != entry.free:
            return False
        self.recent.append((self.free, self.vms, entry.event, None, entry.sent, None))
        self.ids, self.vms, self.obs, self.free = ids, tuple(vms), obs, free
        return True

    # the report -----------------------------------------------------------------------------

    def window(self) -> Trace:
        """The last steps as a trace (states re-materialised from the snapshots)."""
        items = list(self.recent)
        steps = []
        for index, (_free, _vms, event, rejected, sent, post) in enumerate(items):
            if post is None:
                nxt = items[index + 1] if index + 1 < len(items) else None
                post = (DmState(self.host, nxt[0], nxt[1]) if nxt is not None
                        else self.state())
            steps.append(TraceStep(event, post, rejected, tuple(sent)))
        initial = DmState(self.host, items[0][0], items[0][1]) if items else self.state()
        first = self.count - len(items) + 1
        return Trace(initial, tuple(steps), (), "check-trace", (("first_step", first),))


PROGRESS_LINES = 20_000  # lines between two progress calls (about 0.1 s at full speed)


def check_log(lines: Iterable[str], source: str, is_allowed: IsAllowed | None,
              fast: bool = True, window: int = 8,
              on_progress: Callable[[int], None] | None = None) -> LogResult:
    """Check a whole log (an iterable of lines, header first) in constant memory;
    ``on_progress(events)`` every ``PROGRESS_LINES`` lines (a count: no clock per line).

    Examples
    --------
    >>> import json
    >>> from dynmem.reference.settings import HostSettings
    >>> from dynmem.verification.codec import state_to_json
    >>> header = {"type": "header", "format": "dynmem-log", "version": 1,
    ...           "initial": state_to_json(DmState(HostSettings(4096, 1024), 3072))}
    >>> check_log([json.dumps(header)], "log", None).events
    0
    """
    numbered: Iterator[tuple[int, str]] = enumerate(read_lines(lines, source), start=1)
    first = next(numbered, None)
    if first is None:
        raise InputError(source, "", None, "is empty: the first line must be the header")
    checker = LogChecker(read_header(first[1], source), source, is_allowed, window, fast)
    with _fewer_collections():
        check = checker.check
        for number, text in numbered:
            if on_progress is not None and number % PROGRESS_LINES == 0:
                on_progress(checker.count)
            found = check(number, text)
            if found is not None:
                trace = checker.window()
                findings = tuple(Finding(len(trace.steps), v) for v in found.violations)
                return LogResult(checker.count, found, number,
                                 attrs.evolve(trace, findings=findings), checker.certified,
                                 checker.misses, checker.reused)
    return LogResult(checker.count, fast=checker.certified, misses=checker.misses,
                     reused_lines=checker.reused)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while streaming (restored after).

    What a line allocates is acyclic and freed by reference counting; the collector's
    passes over the bounded caches cost about a tenth of the time at the default threshold.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 100_000), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
