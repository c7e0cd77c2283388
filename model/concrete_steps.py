"""The concrete interpretation of the model's actions: ``is_allowed`` in plain Python.

:func:`is_allowed` checks one reference step against the model (refinement on every
replayed step, every stateful step, every oracle answer): the action's guards on the acting
slot, its declared update, and the frame of every other field. It reads the same definitions
as the symbolic builder (model/actions.py through model/instances.py) and loads no Z3.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, NamedTuple

import attrs

from dynmem.model.actions import BY_KIND, REQUEST_GUARDS, Guard, HostView
from dynmem.model.fields import RUNTIME_FIELDS, SETTINGS_FIELDS, SLOT_FIELDS
from dynmem.model.instances import Instance, get_acting, get_taken, get_updates, host_view
from dynmem.model.ops import CONCRETE, Term
from dynmem.model.vocabulary import TxnKind


class _Present:
    """A reference VM seen as a model slot (``exists`` is True)."""

    __slots__ = ("_vm",)
    exists = True

    def __init__(self, vm: Any) -> None:
        self._vm = vm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vm, name)


# The fields every guard and update reads, as properties that read the VM in C (a guard
# reads a slot's fields a dozen times per step); anything else goes through ``__getattr__``.
for _field in ("name", "settings", *RUNTIME_FIELDS):
    setattr(_Present, _field, property(operator.attrgetter(f"_vm.{_field}")))


@attrs.frozen
class _Absent:
    """A slot that holds no VM (before Create, after Delete)."""

    name: str
    exists: bool = False


class _View(NamedTuple):
    """A reference state seen as model slots aligned by VM name (a tuple: one is built for
    each side of every step checked)."""

    host: Any
    free_mib: int
    vms: tuple[Any, ...]


def _align(pre: Any, post: Any) -> tuple[_View, _View]:
    names = [vm.name for vm in pre.vms]
    if names == [vm.name for vm in post.vms] and len(set(names)) == len(names):
        # the common case, the same VMs in the same order: slots are positions
        return (_View(pre.host, pre.free_mib, tuple(map(_Present, pre.vms))),
                _View(post.host, post.free_mib, tuple(map(_Present, post.vms))))
    names += [vm.name for vm in post.vms if vm.name not in names]

    def view(state: Any) -> _View:
        by_name = {vm.name: vm for vm in state.vms}
        slots = tuple(_Present(by_name[n]) if n in by_name else _Absent(n) for n in names)
        return _View(state.host, state.free_mib, slots)

    return view(pre), view(post)


class _Reads:
    """Records the plain values a guard reads, to explain why it failed."""

    def __init__(self, target: Any, prefix: str, log: dict[str, Any]) -> None:
        self._target, self._prefix, self._log = target, prefix, log

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if isinstance(value, bool | int):
            self._log[self._prefix + name] = value
            return value
        if name in ("settings", "host"):
            return _Reads(value, f"{self._prefix}{name}.", self._log)
        return value


def _explain_guard(guard: Guard, h: HostView, vm: Any, p: Any) -> str:
    log: dict[str, Any] = {}
    reads_host: Any = _Reads(h, "", log)  # a HostView that records what is read
    guard.holds(CONCRETE, reads_host, _Reads(vm, f"{vm.name}.", log), _Reads(p, "", log))
    values = ", ".join(f"{k}={_show(v)}" for k, v in log.items())
    return f"guard '{guard.name}' ({guard.spec}) fails" + (f" with {values}" if values else "")


def _show(value: Any) -> str:
    return value.name if hasattr(value, "name") and not isinstance(value, bool) else repr(value)


def _tick_choices(pre: _View, post: _View, sent: Sequence[Any] | None) -> tuple[Any, ...] | str:
    """Each slot's request in a tick: from ``sent`` or recovered from the per-VM diffs."""
    kinds = {"balloon_request": TxnKind.BALLOON, "unballoon_request": TxnKind.UNBALLOON,
             "hot_add_request": TxnKind.HOT_ADD}
    names = [vm.name for vm in pre.vms]
    chosen: dict[str, Any] = {}
    if sent is not None:
        for request in sent:
            if request.vm in chosen:
                return f"the tick sent {request.vm!r} more than one request: R-TICK allows one"
            if request.vm not in names or request.KIND not in kinds:
                return f"the tick sent {request!r}, which is not a DM request to a known VM"
            chosen[request.vm] = SimpleNamespace(request=kinds[request.KIND], mib=request.mib)
    else:
        for a, b in zip(pre.vms, post.vms, strict=True):
            if a.exists and b.exists and a.txn == TxnKind.NONE and b.txn != TxnKind.NONE:
                chosen[a.name] = SimpleNamespace(request=b.txn, mib=b.txn_mib)
    idle = SimpleNamespace(request=TxnKind.NONE, mib=0)
    return tuple(chosen.get(n, idle) for n in names)


def _event_instance(pre: _View, post: _View, event: Any,
                    sent: Sequence[Any] | None) -> Instance | str:
    action = BY_KIND.get(getattr(event, "KIND", ""))
    if action is None:
        return f"{event!r} is not an event kind of the model"
    if action.scope == "all":
        choices = _tick_choices(pre, post, sent)
        return choices if isinstance(choices, str) else Instance(action, None, choices)
    names = [vm.name for vm in pre.vms]
    if event.vm not in names:
        return f"{event!r} names VM {event.vm!r}, which is in neither state"
    return Instance(action, names.index(event.vm), event)


def _same_vm(a: Any, b: Any) -> bool:
    """Both slots hold the same reference VM value (every field equal, settings too)."""
    return (isinstance(a, _Present) and isinstance(b, _Present)
            and (a._vm is b._vm or a._vm == b._vm))


# Each compared field with a getter that reads it straight from a reference VM (a dotted
# name for a setting): the refinement check runs on every step of every engine.
_COMPARED: tuple[tuple[str, Any], ...] = tuple(
    (field, operator.attrgetter(field)) for field in SLOT_FIELDS[1:])
# Every compared field at once, as a tuple in ``_COMPARED`` order, and each field's position.
_get_compared = operator.attrgetter(*SLOT_FIELDS[1:])
_POSITION = {field: j for j, field in enumerate(SLOT_FIELDS[1:])}


def _diff_slot(a: Any, b: Any, expected: Mapping[str, Term], event: Any) -> str | None:
    exists_after = expected.get("exists", a.exists)
    if bool(b.exists) != bool(exists_after):
        how = "exist" if exists_after else "be gone"
        return f"{a.name}: the model expects the VM to {how} after {event!r}"
    if not b.exists:
        return None  # an absent slot has no fields to compare
    before = a._vm if isinstance(a, _Present) else a
    after = b._vm
    if isinstance(a, _Present):  # all fields at once; the loop below names the first wrong one
        want_all = list(_get_compared(before))
        for field, value in expected.items():
            if field in _POSITION:
                want_all[_POSITION[field]] = value
        if tuple(want_all) == _get_compared(after):
            return None
    for field, get in _COMPARED:
        want = expected[field] if field in expected else get(before)
        got = get(after)
        if want != got:
            why = "update" if field in expected else "unchanged (frame)"
            return (f"{a.name}.{field}: the model expects {_show(want)} ({why}), the step "
                    f"has {_show(got)}")
    return None


def is_allowed(pre: Any, event: Any, post: Any,
               sent: Sequence[Any] | None = None) -> str | None:
    """Whether the model allows the reference step ``pre --event--> post``, in plain Python.

    Parameters
    ----------
    pre, post : reference.state.DmState
        The states before and after the step (VMs are matched by name).
    event : reference.events.Event
        The event; its fields are the action's parameters.
    sent : sequence of DmRequest, optional
        For a BalancerTick, the requests it sent; without it they are recovered from the
        per-VM differences (a VM whose transaction opened).

    Returns
    -------
    str or None
        None if the model allows the step; otherwise why not: the failed guard with the
        values it read, or the first field whose update or frame differs, with both values.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.state import initial_state
    >>> from dynmem.reference.events import Start
    >>> from dynmem.reference.step import step
    >>> s = initial_state(HostSettings(4096, 1024), (("a", VmSettings(startup_mib=1024)),))
    >>> is_allowed(s, Start("a"), step(s, Start("a")).state) is None
    True
    >>> is_allowed(s, Start("a"), s)
    'a.power: the model expects RUNNING (update), the step has OFF'
    """
    if pre.host is not post.host and pre.host != post.host:
        return f"the host changed from {pre.host!r} to {post.host!r}: it is constant"
    a, b = _align(pre, post)
    inst = _event_instance(a, b, event, sent)
    if isinstance(inst, str):
        return inst
    h = host_view(CONCRETE, inst, a)
    reason = _failed_guard(inst, a, h)
    if reason is not None:
        return f"{event!r}: {reason}"
    updates = get_updates(CONCRETE, inst, a, h)
    for k, (x, y) in enumerate(zip(a.vms, b.vms, strict=True)):
        expected = updates.slots.get(k, {})
        if not expected and _same_vm(x, y):
            continue  # the frame holds as a whole: the common case, a step changes one VM
        reason = _diff_slot(x, y, expected, event)
        if reason is not None:
            return reason
    want_free = updates.host.get("free_mib", a.free_mib)
    if want_free != b.free_mib:
        why = "update" if "free_mib" in updates.host else "unchanged (frame)"
        return f"free_mib: the model expects {want_free} ({why}), the step has {b.free_mib}"
    return None


def _failed_guard(inst: Instance, pre: _View, h: HostView) -> str | None:
    for _, vm, p in get_acting(inst, pre):
        if inst.slot is None and not vm.exists:
            continue  # a tick makes no choice for an empty slot
        for guard in inst.action.guards:
            if not guard.holds(CONCRETE, h, vm, p):
                if inst.slot is None and guard.name == "request allowed":
                    return f"{vm.name}: " + _explain_tick_choice(h, vm, p)
                return (f"{vm.name}: " if inst.slot is None else "") + _explain_guard(
                    guard, h, vm, p)
    agg = inst.action.aggregate
    if agg is not None:
        taken = get_taken(CONCRETE, inst, pre)
        if taken > h.free_mib:
            return (f"guard '{agg.name}' ({agg.spec}) fails: the requests take {taken} MiB, "
                    f"free is {h.free_mib} MiB")
    return None


def _explain_tick_choice(h: HostView, vm: Any, p: Any) -> str:
    kind = TxnKind(p.request) if p.request in {k.value for k in TxnKind} else None
    if kind is None or kind == TxnKind.NONE:
        return f"request kind {p.request!r} is not a DM request"
    for guard in REQUEST_GUARDS[kind]:
        if not guard.holds(CONCRETE, h, vm, p):
            return f"{kind.name} request of {p.mib} MiB: " + _explain_guard(guard, h, vm, p)
    return f"{kind.name} request of {p.mib} MiB is not allowed"


# A VM's settings (as one value) and runtime fields, plain attributes read in C: what a slot
# effect compares (``SlotEffect.is_met``), in this order.
_get_plain = operator.attrgetter("settings", *RUNTIME_FIELDS)
_PLAIN_POSITION = {field: j for j, field in enumerate(RUNTIME_FIELDS, start=1)}
_SETTING = "settings."


@attrs.frozen
class SlotEffect:
    """What the model's slot action does to its slot at one step: the declared new values of
    runtime fields (``positions`` into the settings and runtime fields) and of settings, and
    free memory after (None: unchanged). Every other field keeps its value (the frame)."""

    positions: tuple[int, ...]
    values: tuple[Any, ...]
    settings: tuple[tuple[str, Any], ...]
    free_mib: Any

    def is_met(self, before: Any, after: Any, free_before: int, free_after: int) -> bool:
        """Whether the reference VM ``after`` and free memory ``free_after`` are what the
        effect makes of ``before`` and ``free_before`` (``is_allowed``'s comparison)."""
        want = self.free_mib if self.free_mib is not None else free_before
        if want != free_after:
            return False
        values = list(_get_plain(before))
        for position, value in zip(self.positions, self.values, strict=True):
            values[position] = value
        if self.settings:  # a configure: its settings field by field, the rest as a whole
            written = dict(self.settings)
            old, new = before.settings, after.settings
            if any(getattr(new, f) != written.get(f, getattr(old, f)) for f in SETTINGS_FIELDS):
                return False
            values[0] = new
        return tuple(values) == _get_plain(after)


def get_slot_effect(pre: Any, event: Any) -> SlotEffect | None:
    """The model's effect of ``event``, a slot action's, on its VM in the reference state
    ``pre``: None when the event is not a slot action's, names no VM of ``pre``, or a guard
    fails (``is_allowed`` then says why); else the declared update, which ``is_allowed``
    compares with the step. A function of what the action reads (``model.dependence``)."""
    view, _ = _align(pre, pre)
    inst = _event_instance(view, view, event, None)
    if isinstance(inst, str) or inst.slot is None or inst.action.scope != "slot":
        return None
    h = host_view(CONCRETE, inst, view)
    if _failed_guard(inst, view, h) is not None:
        return None
    updates = get_updates(CONCRETE, inst, view, h)
    declared = updates.slots.get(inst.slot, {})
    if not all(f in _PLAIN_POSITION or f.startswith(_SETTING) for f in declared):
        return None  # a create or a delete (``exists``): not a change of a present VM
    runtime = [(_PLAIN_POSITION[f], v) for f, v in declared.items() if f in _PLAIN_POSITION]
    settings = tuple((f[len(_SETTING):], v) for f, v in declared.items()
                     if f.startswith(_SETTING))
    return SlotEffect(tuple(p for p, _ in runtime), tuple(v for _, v in runtime), settings,
                      updates.host.get("free_mib"))
