"""``check-trace``: check a recorded log of a real system against the model, streaming.

A log (specs/formats/oracle.md §5) is a header with the initial state, then one entry per
event with the observation after it. :class:`LogChecker` judges each entry exactly as the
oracle judges a system IUT's answer in refinement mode (``judge_system_step``: the model's
``is_allowed`` and every invariant clause), keeping only the current state and the last
few steps (constant memory).

The fast path never decides a failure; it only certifies steps that the full check would
accept, and hands everything else to the full check, so verdicts and messages are the
full check's. It certifies a step from a memo of earlier full checks keyed on what the
step's judgement depends on:

* an event naming one VM ``x`` (every kind but ticks and create/configure/delete) changes
  only ``x`` and free memory; the key is (event, ``x`` before, ``x``'s observation after,
  free before and after, rejected or not). Since the state before satisfies every invariant
  (the check stops at the first violation), the other VMs enter the host sums only through
  free and ``x`` (INV-CONSERVATION), so the key determines the result. Kinds that never
  touch free (``FREE_BLIND``) leave free out of the key when it stays the same;
* a tick is judged as its requests sent one after another (each one a single-VM step);
  a tick that sends nothing and changes nothing is keyed on the whole state.

``tests/verification/test_checktrace.py`` proves the fast path equivalent to the full check
on random logs with planted faults. The memo is cleared when it grows past a bound.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from dynmem.reference.events import BalancerTick, Configure, Create, Delete, Event
from dynmem.reference.state import DmState, Vm
from dynmem.verification.codec import event_from_json, expect_object, state_from_json
from dynmem.verification.errors import InputError
from dynmem.verification.iut import Observed
from dynmem.verification.observation import (
    Observation,
    ObservedVm,
    observe_vm,
    observed_vm_from_json,
    requests_from_json,
)
from dynmem.verification.oracle import Divergence, IsAllowed, judge_system_step
from dynmem.verification.trace import Finding, Trace, TraceStep

MEMO_LIMIT = 200_000
# Kinds whose judgement does not read free memory when free stays the same: their model
# actions and reference processors neither read nor write free_mib, and with free and the
# VM's owned memory unchanged the host sums are the (valid) ones of the state before.
# tests/verification/test_checktrace.py checks this claim on random states.
FREE_BLIND = frozenset(("status_report", "demand", "version_request", "capabilities_report",
                        "quiet_period_end", "unballoon_response"))
_MULTI_VM = (BalancerTick, Create, Configure, Delete)
_ENTRY_KEYS = ("event", "observed", "sent", "rejected")


@attrs.frozen
class LogResult:
    """The outcome: entries checked, the first violation (if any) with its line and the
    readable window of the last steps, and how many steps the fast path certified."""

    events: int
    divergence: Divergence | None = None
    line: int | None = None
    window: Trace | None = None
    fast: int = 0
    misses: int = 0


def read_header(text: str, source: str) -> DmState:
    """The initial state from a log's first line (Rule L1)."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise InputError(source, "line 1", text[:80], f"is not JSON: {err}") from None
    obj = expect_object(data, source, "line 1")
    if obj.get("type") != "header" or obj.get("format") != "dynmem-log":
        raise InputError(source, "line 1", obj.get("format"),
                         'must be a header {"type": "header", "format": "dynmem-log", ...}')
    if obj.get("version") != 1:
        raise InputError(source, "line 1.version", obj.get("version"), "must be 1")
    return state_from_json(obj.get("initial"), source, "line 1.initial")


class LogChecker:
    """Judge log entries one at a time from ``initial`` (see the module docstring)."""

    def __init__(self, initial: DmState, source: str, is_allowed: IsAllowed | None,
                 window: int = 8, fast: bool = True) -> None:
        self.source, self.is_allowed, self.fast = source, is_allowed, fast
        self.host = initial.host
        self.free = initial.free_mib
        self.vms: dict[str, Vm] = {vm.name: vm for vm in initial.vms}
        self.raw: dict[str, Any] = {}  # last observed JSON per VM, already validated
        self.memo: dict[Any, Any] = {}
        self.events: dict[tuple[Any, ...], Event] = {}
        # The last steps: (free before, VMs before, event, rejected, sent, state after).
        self.recent: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=window)
        self.count = self.certified = self.misses = 0  # misses: memo misses (full checks)

    # state ----------------------------------------------------------------------------------

    def state(self) -> DmState:
        return DmState(self.host, self.free, tuple(self.vms.values()))

    def _adopt(self, post: DmState) -> None:
        self.free = post.free_mib
        if tuple(self.vms) != tuple(vm.name for vm in post.vms):
            self.raw = {}
        self.vms = {vm.name: vm for vm in post.vms}

    # decoding -------------------------------------------------------------------------------

    def _event(self, raw: Any, where: str) -> Event:
        if isinstance(raw, dict) and all(not isinstance(v, dict | list) for v in raw.values()):
            # Types are part of the key: JSON true must not pass for 1.
            key = (tuple(raw.items()), tuple(map(type, raw.values())))
            event = self.events.get(key)
            if event is None:
                event = event_from_json(raw, self.source, f"{where}.event")
                if len(self.events) < MEMO_LIMIT:
                    self.events[key] = event
            return event
        return event_from_json(raw, self.source, f"{where}.event")

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

    # checking -------------------------------------------------------------------------------

    def check(self, line: int, text: str) -> Divergence | None:
        """Judge one log line (blank lines are skipped); None when it conforms."""
        if not text.strip():
            return None
        where = f"line {line}"
        try:
            entry = json.loads(text)
        except ValueError as err:
            raise InputError(self.source, where, text[:80], f"is not JSON: {err}") from None
        if not isinstance(entry, dict) or "event" not in entry or "observed" not in entry:
            raise InputError(self.source, where, text[:80],
                             "must be an entry {\"event\": ..., \"observed\": ...}")
        for key in entry:
            if key not in _ENTRY_KEYS:
                raise InputError(self.source, f"{where}.{key}", entry[key],
                                 "unknown field; known: " + ", ".join(_ENTRY_KEYS))
        event = self._event(entry["event"], where)
        self.count += 1
        if self.fast and self._certify(event, entry, where):
            self.certified += 1
            return None
        return self._full(event, entry, self._answer(entry, where))

    def _full(self, event: Event, entry: dict[str, Any], answer: Observed) -> Divergence | None:
        pre = self.state()
        judged = judge_system_step(self.count, pre, event, answer, "refinement",
                                   self.is_allowed)
        self.recent.append((pre.free_mib, pre.vms, event, answer.rejected, answer.sent,
                            judged.post))
        if judged.divergence is None:
            self._adopt(judged.post)
            # The entry's VM objects were validated by the full decode above.
            self.raw = {item["name"]: item for item in entry["observed"]["vms"]}
        return judged.divergence

    # the fast path --------------------------------------------------------------------------

    def _changed(self, observed: Any) -> dict[str, Any] | None:
        """The observed VM objects that differ from the last ones, or None if the VM list
        does not match (the full check explains that)."""
        if not isinstance(observed, dict) or not isinstance(observed.get("vms"), list):
            return None
        items = observed["vms"]
        if len(items) != len(self.vms) or len(observed) != 2:
            return None
        changed = {}
        for item in items:
            name = item.get("name") if isinstance(item, dict) else None
            if name not in self.vms:
                return None
            if self.raw.get(name) != item or any(v.__class__ is bool for v in item.values()):
                changed[name] = item  # (JSON true == 1 in Python: a bool is never "same")
        return changed

    def _certify(self, event: Event, entry: dict[str, Any], where: str) -> bool:
        observed = entry["observed"]
        changed = self._changed(observed)
        free = observed.get("free_mib") if isinstance(observed, dict) else None
        if changed is None or not isinstance(free, int) or isinstance(free, bool):
            return False
        rejected = entry.get("rejected")
        if rejected is not None and not isinstance(rejected, str):
            return False
        sent = entry.get("sent", [])
        before = (self.free, tuple(self.vms.values()))
        if isinstance(event, _MULTI_VM):
            ok = (isinstance(event, BalancerTick) and rejected is None and isinstance(sent, list)
                  and self._certify_tick(sent, changed, free, where))
        else:
            name: str = getattr(event, "vm")  # noqa: B009 - every single-VM kind has one
            ok = (sent == [] and set(changed) <= {name}
                  and self._certify_one(event, name, changed, free, rejected is None, where))
        if ok:
            self.recent.append((*before, event, rejected, sent, None))
            for name, item in changed.items():
                self.raw[name] = item
        return ok

    def _observed_vm(self, name: str, changed: dict[str, Any], where: str) -> ObservedVm:
        item = changed.get(name)
        if item is None:
            return observe_vm(self.vms[name])
        return observed_vm_from_json(item, self.source, f"{where}.observed.vms[{name}]")

    def _certify_one(self, event: Event, name: str, changed: dict[str, Any], free: int,
                     accepted: bool, where: str) -> bool:
        if name not in self.vms:
            return False
        item = changed.get(name)
        seen = tuple(item.items()) if item is not None else None
        if free == self.free and event.KIND in FREE_BLIND:
            key: tuple[Any, ...] = (event, self.vms[name], seen, accepted)
        else:
            key = (event, self.vms[name], seen, self.free, free, accepted)
        post = self.memo.get(key)
        if post is None:
            post = self._judge_one(event, name, changed, free, accepted, where)
            if post is None:
                return False
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            self.memo[key] = post
        self.vms[name] = post
        self.free = free
        return True

    def _judge_one(self, event: Event, name: str, changed: dict[str, Any], free: int,
                   accepted: bool, where: str) -> Vm | None:
        """The full check of a single-VM step; the VM after it if it conforms."""
        self.misses += 1
        try:
            mine = self._observed_vm(name, changed, where)
        except InputError:
            return None
        others = tuple(observe_vm(vm) if vm.name != name else mine for vm in self.vms.values())
        answer = Observed(Observation(free, others), (), None if accepted else "rejected")
        pre = self.state()
        judged = judge_system_step(self.count, pre, event, answer, "refinement",
                                   self.is_allowed)
        if judged.divergence is not None:
            return None
        post = judged.post.get_vm(name)
        if post is None or any(judged.post.get_vm(vm.name) is not vm
                               for vm in pre.vms if vm.name != name):
            return None
        return post

    def _certify_tick(self, sent: Any, changed: dict[str, Any], free: int, where: str) -> bool:
        if sent == []:
            if changed or free != self.free:
                return False
            key = ("tick", self.free, tuple(self.vms.values()))
            if key not in self.memo:
                self.misses += 1
                pre = self.state()
                quiet = Observed(Observation(self.free, tuple(map(observe_vm, pre.vms))))
                if judge_system_step(self.count, pre, BalancerTick(), quiet, "refinement",
                                     self.is_allowed).divergence is not None:
                    return False
                self.memo[key] = True
            return True
        try:
            requests = requests_from_json(sent, self.source, f"{where}.sent")
        except InputError:
            return False
        names = [r.vm for r in requests]
        if len(set(names)) != len(names) or set(changed) - set(names):
            return False
        saved = (self.free, dict(self.vms))
        taken = 0
        for request in requests:
            # Each request is a single-VM step; free moves by what the request takes.
            cost = 0 if request.KIND == "balloon_request" else request.mib
            taken += cost
            if not self._certify_one(request, request.vm, changed, self.free - cost, True,
                                     where):
                self.free, self.vms = saved[0], saved[1]
                return False
        if self.free != free:
            self.free, self.vms = saved[0], saved[1]
            return False
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
            if isinstance(sent, list):
                sent = requests_from_json(sent, self.source, "sent")
            steps.append(TraceStep(event, post, rejected, tuple(sent)))
        initial = DmState(self.host, items[0][0], items[0][1]) if items else self.state()
        first = self.count - len(items) + 1
        return Trace(initial, tuple(steps), (), "check-trace", (("first_step", first),))


def check_log(lines: Iterable[str], source: str, is_allowed: IsAllowed | None,
              fast: bool = True, window: int = 8) -> LogResult:
    """Check a whole log (an iterable of lines, header first) in constant memory.

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
    numbered: Iterator[tuple[int, str]] = enumerate(lines, start=1)
    first = next(numbered, None)
    if first is None:
        raise InputError(source, "", None, "is empty: the first line must be the header")
    checker = LogChecker(read_header(first[1], source), source, is_allowed, window, fast)
    for number, text in numbered:
        found = checker.check(number, text)
        if found is not None:
            trace = checker.window()
            findings = tuple(Finding(len(trace.steps), v) for v in found.violations)
            return LogResult(checker.count, found, number, attrs.evolve(trace,
                                                                         findings=findings),
                             checker.certified, checker.misses)
    return LogResult(checker.count, fast=checker.certified, misses=checker.misses)


def format_log(initial: DmState, entries: Iterable[tuple[Event, Observed]],
               source: str = "dynmem") -> Iterator[str]:
    """The lines of a log (§5) for ``initial`` and ``(event, answer)`` pairs, header first."""
    from dynmem.verification.codec import event_to_json, state_to_json
    from dynmem.verification.observation import observation_to_json

    yield json.dumps({"type": "header", "format": "dynmem-log", "version": 1,
                      "initial": state_to_json(initial), "source": source})
    for event, answer in entries:
        entry: dict[str, Any] = {"event": event_to_json(event),
                                 "observed": observation_to_json(answer.observation)}
        if answer.sent:
            entry["sent"] = [event_to_json(r) for r in answer.sent]
        if answer.rejected is not None:
            entry["rejected"] = answer.rejected
        yield json.dumps(entry)
