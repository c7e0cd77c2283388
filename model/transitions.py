"""The abstract transition system (specs/proofs.md): one action per event kind.

Every action of ``reference/events.py`` has a model action of the same name, written once
over the operator layer: its guards (each a named conjunct citing its rule R-...), the fields
it DECLARES modified, and an update giving the new value of exactly those fields. Everything
else is unchanged; :func:`get_frame` adds ``field' == field`` for it (nobody writes frames).

Two interpretations of the same definitions:

* symbolic (Z3): :func:`compute_post` builds the successor functionally (proofs),
  :func:`get_transition` relationally with the frame (BMC unrolling), :func:`get_next` is the
  whole transition relation over N slots with fresh parameters per step;
* concrete (Python): :func:`is_allowed` checks one reference step against the model without
  calling Z3 (refinement on every replayed step).

Actions act on ONE VM slot (a Python int) plus the host's free-memory ledger; their guards
see only that slot and a :class:`HostView` (host constants and ``free_mib``), never the other
slots, which is what the per-VM decomposition of the any-N proof rests on.

The balancer is NONDETERMINISTIC: ``BalloonRequest``/``UnballoonRequest``/``HotAddRequest``
take any amount their guards allow, and ``BalancerTick`` is any set of such requests, at most
one per VM, that fits in free memory together (sent in any order, each checked against the
free memory left, which is the same condition). Guest responses take any amounts (guests are
untrusted); the host's clamping is part of the update. So the proofs cover every policy that
respects the guards, not only the reference's (which is checked by refinement).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, Literal

import attrs
import z3

from dynmem.model.ops import CONCRETE, SYMBOLIC, Ops, Term
from dynmem.model.quantities import assigned, is_running, owned
from dynmem.model.state import (
    SETTINGS_BOOL_FIELDS,
    SETTINGS_INT_FIELDS,
    VM_BOOL_FIELDS,
    VM_INT_FIELDS,
    SymSettings,
    SymState,
    SymVm,
)
from dynmem.model.vocabulary import (
    BALLOON_REQUEST_CAP_MIB,
    HOT_ADD_REQUEST_CAP_MIB,
    MAX_BUFFER_PERCENT,
    MAX_MAXIMUM_MIB,
    MAX_WEIGHT,
    MEMORY_UNIT_MIB,
    MIN_BUFFER_PERCENT,
    MIN_STARTUP_MIB,
    MIN_WEIGHT,
    SUPPORTED_VERSIONS,
    UNBALLOON_REQUEST_CAP_MIB,
    Channel,
    Power,
    TxnKind,
)

# --- field vocabulary ------------------------------------------------------------------------

RUNTIME_FIELDS: tuple[str, ...] = (
    "power", "visible_mib", "ballooned_mib", "demand_mib", "has_report", "report_mib",
    "channel", "protocol_version", "cap_balloon", "cap_hot_add", "hot_add_enabled", "txn",
    "txn_mib", "txn_done_mib",
)
SETTINGS_FIELDS: tuple[str, ...] = (
    "dynamic", "startup_mib", "maximum_mib", "buffer_pct", "weight", "dm_capable",
)
# Every field of a slot an action may modify; settings fields are spelled ``settings.<f>``.
SLOT_FIELDS: tuple[str, ...] = (
    "exists", *RUNTIME_FIELDS, *(f"settings.{f}" for f in SETTINGS_FIELDS),
)
HOST_FIELDS: tuple[str, ...] = ("free_mib",)
_BOOL_FIELDS = frozenset(("exists", *VM_BOOL_FIELDS, *(f"settings.{f}" for f in
                                                       SETTINGS_BOOL_FIELDS)))
assert set(RUNTIME_FIELDS) == set(VM_INT_FIELDS) | set(VM_BOOL_FIELDS)
assert set(SETTINGS_FIELDS) == set(SETTINGS_INT_FIELDS) | set(SETTINGS_BOOL_FIELDS)

# The runtime of a VM that is off: what Create and Stop leave (specs/events.md R-CREATE, R-STOP).
OFF_RUNTIME: Mapping[str, int | bool] = {
    "power": Power.OFF, "visible_mib": 0, "ballooned_mib": 0, "demand_mib": 0,
    "has_report": False, "report_mib": 0, "channel": Channel.NONE, "protocol_version": 0,
    "cap_balloon": False, "cap_hot_add": False, "hot_add_enabled": True, "txn": TxnKind.NONE,
    "txn_mib": 0, "txn_done_mib": 0,
}


def read_field(vm: Any, field: str) -> Term:
    """The value of ``field`` (``settings.<f>`` for a setting) on a slot or reference VM."""
    if field.startswith("settings."):
        return getattr(vm.settings, field[len("settings."):])
    return getattr(vm, field)


# --- action definitions ----------------------------------------------------------------------


@attrs.frozen
class HostView:
    """What a per-slot guard or update may read besides its slot: host constants and free."""

    host: Any
    free_mib: Term


GuardFn = Callable[[Ops, HostView, Any, Any], Term]  # (ops, host view, slot, params)
UpdateFn = Callable[[Ops, HostView, Any, Any], dict[str, Term]]


@attrs.frozen
class Guard:
    """One named enabling condition of an action, with the rule it implements."""

    name: str
    spec: str
    holds: GuardFn


@attrs.frozen
class Param:
    """A parameter of an action: its name (the reference event's field) and sort."""

    name: str
    sort: Literal["int", "bool", "settings"]


@attrs.frozen
class Aggregate:
    """A joint condition over all slots (BalancerTick: the requests fit in free together).

    ``taken`` is what one slot's choice takes from free; the guard is Σ taken <= free and
    the update free' = free - Σ taken.
    """

    name: str
    spec: str
    taken: Callable[[Ops, Any, Any], Term]  # (ops, slot, params)


@attrs.frozen
class Action:
    """A model action: guards-first, then an update of exactly the ``modifies`` fields.

    ``modifies`` lists slot fields (of the acting slot) and host fields (``free_mib``).
    ``scope`` is ``slot`` (one slot acts) or ``all`` (every slot makes a choice with its own
    parameters, joined by ``aggregate``: BalancerTick).
    """

    name: str
    kind: str
    spec: str
    params: tuple[Param, ...]
    guards: tuple[Guard, ...]
    modifies: tuple[str, ...]
    update: UpdateFn
    scope: Literal["slot", "all"] = "slot"
    aggregate: Aggregate | None = None

    @property
    def slot_modifies(self) -> tuple[str, ...]:
        return tuple(f for f in self.modifies if f in SLOT_FIELDS)

    @property
    def host_modifies(self) -> tuple[str, ...]:
        return tuple(f for f in self.modifies if f in HOST_FIELDS)


def _g(name: str, spec: str, holds: GuardFn) -> Guard:
    return Guard(name, spec, holds)


# Guards shared by several actions.
def _exists(spec: str) -> Guard:
    # the event names a VM that exists
    return _g("vm exists", spec, lambda ops, h, vm, p: vm.exists)


def _running(spec: str) -> Guard:
    # the VM is running (messages of a VM that is off are refused)
    return _g("vm running", spec, lambda ops, h, vm, p: is_running(vm))


def _channel(spec: str, *allowed: Channel) -> Guard:
    names = "/".join(c.name for c in allowed)
    return _g(f"channel {names}", spec,
              lambda ops, h, vm, p: ops.Or(*[vm.channel == c for c in allowed]))


def _txn(spec: str, kind: TxnKind) -> Guard:
    return _g(f"{kind.name} in flight", spec, lambda ops, h, vm, p: vm.txn == kind)


def is_valid_settings(ops: Ops, st: Any) -> Term:
    """The range rules of a VM's settings, profile 2008R2SP1 (specs/domain.md §1.2)."""
    return ops.And(
        st.startup_mib >= MIN_STARTUP_MIB, st.startup_mib % MEMORY_UNIT_MIB == 0,
        st.startup_mib <= st.maximum_mib, st.maximum_mib <= MAX_MAXIMUM_MIB,
        st.maximum_mib % MEMORY_UNIT_MIB == 0,
        st.buffer_pct >= MIN_BUFFER_PERCENT, st.buffer_pct <= MAX_BUFFER_PERCENT,
        st.weight >= MIN_WEIGHT, st.weight <= MAX_WEIGHT,
    )


def _settings_update(p: Any) -> dict[str, Term]:
    return {f"settings.{f}": getattr(p.settings, f) for f in SETTINGS_FIELDS}


# --- admin -------------------------------------------------------------------------------------

CREATE = Action(
    "Create", "create", "R-CREATE", (Param("settings", "settings"),),
    guards=(
        # R-CREATE: names are unique: the slot holds no VM yet
        _g("slot free", "R-CREATE", lambda ops, h, vm, p: ops.Not(vm.exists)),
        # R-CREATE: settings are in range (INV-CONFIG)
        _g("settings in range", "R-CREATE",
           lambda ops, h, vm, p: is_valid_settings(ops, p.settings)),
    ),
    modifies=SLOT_FIELDS,
    update=lambda ops, h, vm, p: {"exists": True, **OFF_RUNTIME, **_settings_update(p)},
)

CONFIGURE = Action(
    "Configure", "configure", "R-CONFIGURE", (Param("settings", "settings"),),
    guards=(
        _exists("R-CONFIGURE"),
        # R-CONFIGURE: no memory setting changes while the VM runs (profile 2008R2SP1)
        _g("vm off", "R-CONFIGURE", lambda ops, h, vm, p: ops.Not(is_running(vm))),
        # R-CONFIGURE: the new settings are in range
        _g("settings in range", "R-CONFIGURE",
           lambda ops, h, vm, p: is_valid_settings(ops, p.settings)),
    ),
    modifies=tuple(f"settings.{f}" for f in SETTINGS_FIELDS),
    update=lambda ops, h, vm, p: _settings_update(p),
)

DELETE = Action(
    "Delete", "delete", "R-DELETE", (),
    guards=(
        _exists("R-DELETE"),
        # R-DELETE: only an off VM can be deleted
        _g("vm off", "R-DELETE", lambda ops, h, vm, p: ops.Not(is_running(vm))),
    ),
    modifies=("exists",),
    update=lambda ops, h, vm, p: {"exists": False},
)

START = Action(
    "Start", "start", "R-START", (),
    guards=(
        _exists("R-START"),
        # R-START: the VM is off
        _g("vm off", "R-START", lambda ops, h, vm, p: ops.Not(is_running(vm))),
        # R-START: startup memory must be free; no overcommit, ever (INV-PHYSICAL)
        _g("startup <= free", "R-START",
           lambda ops, h, vm, p: vm.settings.startup_mib <= h.free_mib),
    ),
    modifies=("power", "visible_mib", "ballooned_mib", "demand_mib", "channel",
              "hot_add_enabled", "free_mib"),
    update=lambda ops, h, vm, p: {
        "power": Power.RUNNING,
        "visible_mib": vm.settings.startup_mib,
        "ballooned_mib": 0,
        "demand_mib": 0,
        # only a dynamic VM with a DM-capable guest opens the channel
        "channel": ops.If(ops.And(vm.settings.dynamic, vm.settings.dm_capable),
                          Channel.NEGOTIATING, Channel.NONE),
        "hot_add_enabled": True,
        "free_mib": h.free_mib - vm.settings.startup_mib,
    },
)

STOP = Action(
    "Stop", "stop", "R-STOP", (),
    guards=(
        _exists("R-STOP"),
        # R-STOP: the VM is running
        _running("R-STOP"),
    ),
    modifies=(*RUNTIME_FIELDS, "free_mib"),
    # R-STOP: everything the VM owns (assigned and in flight) returns; in-flight work drops
    update=lambda ops, h, vm, p: {**OFF_RUNTIME, "free_mib": h.free_mib + owned(ops, vm)},
)

# --- guest workload and channel -----------------------------------------------------------------

DEMAND = Action(
    "Demand", "demand", "R-DEMAND", (Param("mib", "int"),),
    guards=(
        _exists("R-DEMAND"),
        _running("R-DEMAND"),
        # R-DEMAND: committed memory is a non-negative amount
        _g("mib >= 0", "R-DEMAND", lambda ops, h, vm, p: p.mib >= 0),
    ),
    modifies=("demand_mib",),
    update=lambda ops, h, vm, p: {"demand_mib": p.mib},
)


def _is_supported(ops: Ops, version: Term) -> Term:
    return ops.Or(*[version == v for v in SUPPORTED_VERSIONS])


VERSION_REQUEST = Action(
    "VersionRequest", "version_request", "R-VERSION",
    (Param("version", "int"), Param("last_attempt", "bool")),
    guards=(
        _exists("R-VERSION"),
        _running("R-VERSION"),
        # R-VERSION: only while negotiating
        _channel("R-VERSION", Channel.NEGOTIATING),
    ),
    modifies=("channel", "protocol_version"),
    # R-VERSION: a known version is accepted; a refused last attempt ends negotiation;
    # another refused attempt changes nothing (the guest tries its next version)
    update=lambda ops, h, vm, p: {
        "channel": ops.If(_is_supported(ops, p.version), Channel.CAPS,
                          ops.If(p.last_attempt, Channel.FAILED, vm.channel)),
        "protocol_version": ops.If(_is_supported(ops, p.version), p.version,
                                   vm.protocol_version),
    },
)

CAPABILITIES_REPORT = Action(
    "CapabilitiesReport", "capabilities_report", "R-CAPS",
    (Param("balloon", "bool"), Param("hot_add", "bool")),
    guards=(
        _exists("R-CAPS"),
        _running("R-CAPS"),
        # R-CAPS: only right after an accepted version
        _channel("R-CAPS", Channel.CAPS),
    ),
    modifies=("channel", "cap_balloon", "cap_hot_add"),
    update=lambda ops, h, vm, p: {
        "channel": Channel.QUIET, "cap_balloon": p.balloon, "cap_hot_add": p.hot_add,
    },
)

QUIET_PERIOD_END = Action(
    "QuietPeriodEnd", "quiet_period_end", "R-QUIET", (),
    guards=(
        _exists("R-QUIET"),
        _running("R-QUIET"),
        # R-QUIET: the quiet period runs only after the capabilities report
        _channel("R-QUIET", Channel.QUIET),
    ),
    modifies=("channel",),
    update=lambda ops, h, vm, p: {"channel": Channel.READY},
)

STATUS_REPORT = Action(
    "StatusReport", "status_report", "R-STATUS", (Param("committed_mib", "int"),),
    guards=(
        _exists("R-STATUS"),
        _running("R-STATUS"),
        # R-STATUS: a connected guest reports (after version negotiation)
        _channel("R-STATUS", Channel.CAPS, Channel.QUIET, Channel.READY),
        # R-STATUS: committed memory is a non-negative amount
        _g("committed_mib >= 0", "R-STATUS", lambda ops, h, vm, p: p.committed_mib >= 0),
    ),
    modifies=("has_report", "report_mib"),
    update=lambda ops, h, vm, p: {"has_report": True, "report_mib": p.committed_mib},
)

# --- DM requests (host -> guest): the balancer's nondeterministic choices ---------------------

# R-REQUEST-1..4: what every DM request needs (reference check_request), slot-local.
_REQUEST_COMMON = (
    _exists("R-REQUEST-1"),
    _running("R-REQUEST-1"),
    # R-REQUEST-1: requests go only over a READY channel (negotiated, quiet period over)
    _channel("R-REQUEST-1", Channel.READY),
    # R-REQUEST-1: only dynamic VMs get DM requests (INV-STATIC)
    _g("vm dynamic", "R-REQUEST-1", lambda ops, h, vm, p: vm.settings.dynamic),
    # R-REQUEST-2: at most one transaction in flight per VM (INV-ONE-TXN)
    _g("no transaction in flight", "R-REQUEST-2",
       lambda ops, h, vm, p: vm.txn == TxnKind.NONE),
    # R-REQUEST-3: amounts are positive multiples of 2 MiB
    _g("mib > 0", "R-REQUEST-3", lambda ops, h, vm, p: p.mib > 0),
    _g("mib even", "R-REQUEST-3", lambda ops, h, vm, p: p.mib % MEMORY_UNIT_MIB == 0),
)

_BALLOON_SLOT_GUARDS = (
    *_REQUEST_COMMON,
    # R-BALLOON-REQUEST: the guest reported the balloon capability
    _g("cap_balloon", "R-BALLOON-REQUEST", lambda ops, h, vm, p: vm.cap_balloon),
    # R-REQUEST-4: at most the protocol cap per balloon request
    _g("mib <= balloon cap", "R-REQUEST-4",
       lambda ops, h, vm, p: p.mib <= BALLOON_REQUEST_CAP_MIB),
    # R-BALLOON-REQUEST: never ask below startup (INV-FLOOR)
    _g("mib <= assigned - startup", "R-BALLOON-REQUEST",
       lambda ops, h, vm, p: p.mib <= assigned(vm) - vm.settings.startup_mib),
)

_UNBALLOON_SLOT_GUARDS = (
    *_REQUEST_COMMON,
    # R-REQUEST-4: at most the protocol cap per unballoon request
    _g("mib <= unballoon cap", "R-REQUEST-4",
       lambda ops, h, vm, p: p.mib <= UNBALLOON_REQUEST_CAP_MIB),
    # R-UNBALLOON-REQUEST: only ballooned pages can be returned
    _g("mib <= ballooned", "R-UNBALLOON-REQUEST",
       lambda ops, h, vm, p: p.mib <= vm.ballooned_mib),
)

_HOT_ADD_SLOT_GUARDS = (
    *_REQUEST_COMMON,
    # R-REQUEST-4: at most the protocol cap per hot-add request
    _g("mib <= hot-add cap", "R-REQUEST-4",
       lambda ops, h, vm, p: p.mib <= HOT_ADD_REQUEST_CAP_MIB),
    # R-HOT-ADD-REQUEST: the guest can hot-add and no partial/failed hot-add disabled it
    _g("cap_hot_add", "R-HOT-ADD-REQUEST", lambda ops, h, vm, p: vm.cap_hot_add),
    _g("hot_add_enabled", "R-HOT-ADD-REQUEST", lambda ops, h, vm, p: vm.hot_add_enabled),
    # R-HOT-ADD-REQUEST: unballoon first
    _g("nothing ballooned", "R-HOT-ADD-REQUEST",
       lambda ops, h, vm, p: vm.ballooned_mib == 0),
    # R-HOT-ADD-REQUEST: never above maximum (INV-CEILING)
    _g("visible + mib <= maximum", "R-HOT-ADD-REQUEST",
       lambda ops, h, vm, p: vm.visible_mib + p.mib <= vm.settings.maximum_mib),
)


def _fits_in_free(spec: str) -> Guard:
    # the memory leaves free when the request is sent (INV-PHYSICAL)
    return _g("mib <= free", spec, lambda ops, h, vm, p: p.mib <= h.free_mib)



def _open_txn(kind: TxnKind) -> UpdateFn:
    def update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
        opened: dict[str, Term] = {"txn": kind, "txn_mib": p.mib, "txn_done_mib": 0}
        if kind != TxnKind.BALLOON:  # a balloon's memory is free only when it arrives
            opened["free_mib"] = h.free_mib - p.mib
        return opened
    return update


_TXN_FIELDS = ("txn", "txn_mib", "txn_done_mib")

BALLOON_REQUEST = Action(
    "BalloonRequest", "balloon_request", "R-BALLOON-REQUEST", (Param("mib", "int"),),
    guards=_BALLOON_SLOT_GUARDS,
    modifies=_TXN_FIELDS,
    update=_open_txn(TxnKind.BALLOON),
)

UNBALLOON_REQUEST = Action(
    "UnballoonRequest", "unballoon_request", "R-UNBALLOON-REQUEST", (Param("mib", "int"),),
    # R-UNBALLOON-REQUEST: the returned pages are taken from free now
    guards=(*_UNBALLOON_SLOT_GUARDS, _fits_in_free("R-UNBALLOON-REQUEST")),
    modifies=(*_TXN_FIELDS, "free_mib"),
    update=_open_txn(TxnKind.UNBALLOON),
)

HOT_ADD_REQUEST = Action(
    "HotAddRequest", "hot_add_request", "R-HOT-ADD-REQUEST", (Param("mib", "int"),),
    # R-HOT-ADD-REQUEST: the added memory is taken from free now
    guards=(*_HOT_ADD_SLOT_GUARDS, _fits_in_free("R-HOT-ADD-REQUEST")),
    modifies=(*_TXN_FIELDS, "free_mib"),
    update=_open_txn(TxnKind.HOT_ADD),
)

# --- guest responses (untrusted amounts; the host clamps) --------------------------------------


def _even_part(mib: Term) -> Term:
    return mib - mib % MEMORY_UNIT_MIB


def _balloon_taken(ops: Ops, vm: Any, p: Any) -> Term:
    # count at most what is still outstanding, in 2 MiB units (the guest is not trusted)
    return ops.Min(_even_part(p.mib), vm.txn_mib - vm.txn_done_mib)


def _balloon_response_update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
    taken = _balloon_taken(ops, vm, p)
    done = vm.txn_done_mib + taken
    finished = ops.Or(ops.Not(p.more_pages), done == vm.txn_mib)
    return {
        "ballooned_mib": vm.ballooned_mib + taken,
        "txn": ops.If(finished, TxnKind.NONE, TxnKind.BALLOON),
        "txn_mib": ops.If(finished, 0, vm.txn_mib),
        "txn_done_mib": ops.If(finished, 0, done),
        # memory becomes free only now, and only what the response carries
        "free_mib": h.free_mib + taken,
    }


BALLOON_RESPONSE = Action(
    "BalloonResponse", "balloon_response", "R-BALLOON-RESPONSE",
    (Param("mib", "int"), Param("more_pages", "bool")),
    guards=(
        _exists("R-BALLOON-RESPONSE"),
        _running("R-BALLOON-RESPONSE"),
        # R-BALLOON-RESPONSE: answers a balloon request in flight
        _txn("R-BALLOON-RESPONSE", TxnKind.BALLOON),
        # R-BALLOON-RESPONSE: a negative amount is malformed
        _g("mib >= 0", "R-BALLOON-RESPONSE", lambda ops, h, vm, p: p.mib >= 0),
    ),
    modifies=("ballooned_mib", *_TXN_FIELDS, "free_mib"),
    update=_balloon_response_update,
)

UNBALLOON_RESPONSE = Action(
    "UnballoonResponse", "unballoon_response", "R-UNBALLOON-RESPONSE", (),
    guards=(
        _exists("R-UNBALLOON-RESPONSE"),
        _running("R-UNBALLOON-RESPONSE"),
        # R-UNBALLOON-RESPONSE: answers an unballoon request in flight
        _txn("R-UNBALLOON-RESPONSE", TxnKind.UNBALLOON),
    ),
    modifies=("ballooned_mib", *_TXN_FIELDS),
    # the returned pages, already taken from free at request time, are the guest's again
    update=lambda ops, h, vm, p: {
        "ballooned_mib": vm.ballooned_mib - vm.txn_mib,
        "txn": TxnKind.NONE, "txn_mib": 0, "txn_done_mib": 0,
    },
)


def _hot_add_response_update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
    # a failed result adds nothing; an oversized answer is clamped to the request
    added = ops.If(p.success, ops.Min(_even_part(p.mib), vm.txn_mib), 0)
    # a partial or empty success disables hot-add until the VM restarts
    disable = ops.And(p.success, added < vm.txn_mib)
    return {
        "visible_mib": vm.visible_mib + added,
        "hot_add_enabled": ops.And(vm.hot_add_enabled, ops.Not(disable)),
        "txn": TxnKind.NONE, "txn_mib": 0, "txn_done_mib": 0,
        # what was taken for the request and not added goes back to free
        "free_mib": h.free_mib + vm.txn_mib - added,
    }


HOT_ADD_RESPONSE = Action(
    "HotAddResponse", "hot_add_response", "R-HOT-ADD-RESPONSE",
    (Param("mib", "int"), Param("success", "bool")),
    guards=(
        _exists("R-HOT-ADD-RESPONSE"),
        _running("R-HOT-ADD-RESPONSE"),
        # R-HOT-ADD-RESPONSE: answers a hot-add request in flight
        _txn("R-HOT-ADD-RESPONSE", TxnKind.HOT_ADD),
        # R-HOT-ADD-RESPONSE: a negative amount is malformed
        _g("mib >= 0", "R-HOT-ADD-RESPONSE", lambda ops, h, vm, p: p.mib >= 0),
    ),
    modifies=("visible_mib", "hot_add_enabled", *_TXN_FIELDS, "free_mib"),
    update=_hot_add_response_update,
)

# --- the balancer tick: any set of allowed requests, at most one per VM ----------------------

# A tick's choice for one slot: ``request`` is a TxnKind (NONE = no request), ``mib`` its amount.
_REQUEST_GUARDS = {
    TxnKind.BALLOON: _BALLOON_SLOT_GUARDS,
    TxnKind.UNBALLOON: _UNBALLOON_SLOT_GUARDS,
    TxnKind.HOT_ADD: _HOT_ADD_SLOT_GUARDS,
}


def _is_request_allowed(ops: Ops, h: HostView, vm: Any, p: Any) -> Term:
    """The slot's choice is no request, or a request its slot guards allow."""
    def kind_allowed(kind: TxnKind) -> Term:
        return ops.And(p.request == kind, *[g.holds(ops, h, vm, p) for g in _REQUEST_GUARDS[kind]])

    return ops.Or(p.request == TxnKind.NONE, *[kind_allowed(k) for k in _REQUEST_GUARDS])


def _tick_taken(ops: Ops, vm: Any, p: Any) -> Term:
    grants = ops.Or(p.request == TxnKind.UNBALLOON, p.request == TxnKind.HOT_ADD)
    return ops.If(grants, p.mib, 0)


def _tick_update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
    idle = p.request == TxnKind.NONE
    return {
        "txn": ops.If(idle, vm.txn, p.request),
        "txn_mib": ops.If(idle, vm.txn_mib, p.mib),
        "txn_done_mib": ops.If(idle, vm.txn_done_mib, 0),
    }


BALANCER_TICK = Action(
    "BalancerTick", "balancer_tick", "R-TICK",
    (Param("request", "int"), Param("mib", "int")),  # one choice per slot
    guards=(
        # R-TICK: each VM gets at most one request, and only one its request guards allow
        # (R-REQUEST-*, R-BALLOON-REQUEST, R-UNBALLOON-REQUEST, R-HOT-ADD-REQUEST)
        _g("request allowed", "R-TICK", _is_request_allowed),
    ),
    modifies=(*_TXN_FIELDS, "free_mib"),
    update=_tick_update,
    scope="all",
    # R-TICK: unballoon and hot-add take from free when sent: together they fit in free
    aggregate=Aggregate("requests fit in free", "R-TICK", _tick_taken),
)

ACTIONS: tuple[Action, ...] = (
    CREATE, CONFIGURE, DELETE, START, STOP, DEMAND, VERSION_REQUEST, CAPABILITIES_REPORT,
    QUIET_PERIOD_END, STATUS_REPORT, BALLOON_REQUEST, BALLOON_RESPONSE, UNBALLOON_REQUEST,
    UNBALLOON_RESPONSE, HOT_ADD_REQUEST, HOT_ADD_RESPONSE, BALANCER_TICK,
)
BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}
BY_KIND: dict[str, Action] = {a.kind: a for a in ACTIONS}
for _a in ACTIONS:
    assert set(_a.modifies) <= set(SLOT_FIELDS) | set(HOST_FIELDS), _a.name


# --- initial states ------------------------------------------------------------------------------


def is_initial(ops: Ops, state: Any) -> Term:
    """The initial states: every VM created and off with valid settings, all memory free.

    Mirrors ``reference.state.initial_state`` (any host with 0 <= reserve <= physical).
    """
    def created_off(vm: Any) -> Term:
        return ops.And(is_valid_settings(ops, vm.settings),
                       *[read_field(vm, f) == v for f, v in OFF_RUNTIME.items()])

    return ops.And(
        state.host.reserve_mib >= 0,
        state.host.reserve_mib <= state.host.physical_mib,
        state.free_mib == state.host.physical_mib - state.host.reserve_mib,
        ops.all_vms(state.vms, created_off),
    )


# --- symbolic steps ------------------------------------------------------------------------------


@attrs.frozen
class Instance:
    """One step of the model: an action, the acting slot, and its parameters.

    ``slot`` is the acting slot (a Python int); for a scope-``all`` action it is None and
    ``params`` is a tuple with one parameter namespace per slot. ``outside_taken`` is what
    VMs outside the state's slots take from free in the same tick (the any-N decomposition
    abstracts them, model/decomposition.py); 0 otherwise.
    """

    action: Action
    slot: int | None
    params: Any
    outside_taken: Term = 0


def make_params(action: Action, slot: int, suffix: str = "") -> Any:
    """Fresh Z3 constants for ``action``'s parameters at ``slot``; ``suffix`` names the step."""
    def fresh(param: Param) -> Any:
        base = f"{action.kind}.vm{slot}.{param.name}{suffix}"
        if param.sort == "bool":
            return z3.Bool(base)
        if param.sort == "int":
            return z3.Int(base)
        return SymSettings(**{f: z3.Int(f"{base}.{f}") for f in SETTINGS_INT_FIELDS},
                           **{f: z3.Bool(f"{base}.{f}") for f in SETTINGS_BOOL_FIELDS})

    return SimpleNamespace(**{param.name: fresh(param) for param in action.params})


def make_instance(action: Action, n_slots: int, slot: int | None, suffix: str = "") -> Instance:
    """``action`` at ``slot`` (None for BalancerTick) with fresh parameters for step ``suffix``."""
    if action.scope == "all":
        return Instance(action, None, tuple(make_params(action, k, suffix)
                                            for k in range(n_slots)))
    if slot is None or not 0 <= slot < n_slots:
        raise ValueError(f"{action.name} needs a slot in 0..{n_slots - 1}, got {slot!r}")
    return Instance(action, slot, make_params(action, slot, suffix))


def get_instances(n_slots: int, suffix: str = "",
                  actions: Sequence[Action] = ACTIONS) -> list[Instance]:
    """Every (action, slot) of an ``n_slots`` model with fresh parameters (one tick)."""
    found = []
    for action in actions:
        slots: Sequence[int | None] = [None] if action.scope == "all" else range(n_slots)
        found += [make_instance(action, n_slots, k, suffix) for k in slots]
    return found


def host_view(state: Any) -> HostView:
    return HostView(state.host, state.free_mib)


def _acting(inst: Instance, state: Any) -> list[tuple[int, Any, Any]]:
    """(slot index, slot, params) of every slot that makes a choice in ``inst``."""
    if inst.slot is not None:
        return [(inst.slot, state.vms[inst.slot], inst.params)]
    return [(k, vm, inst.params[k]) for k, vm in enumerate(state.vms)]


@attrs.frozen
class GuardTerm:
    """A guard instantiated at a step: ``label`` (guard name, with the slot for a tick)."""

    label: str
    spec: str
    term: Term


def get_guards(ops: Ops, inst: Instance, pre: Any) -> list[GuardTerm]:
    """The guards of ``inst`` in ``pre``, one term per named conjunct (and slot, for a tick)."""
    h = host_view(pre)
    found = []
    for k, vm, p in _acting(inst, pre):
        if inst.slot is None and not ops.symbolic and not vm.exists:
            continue  # a tick makes no choice for an empty slot
        prefix = f"vm{k}: " if inst.slot is None else ""
        for guard in inst.action.guards:
            term = guard.holds(ops, h, vm, p)
            if inst.slot is None and ops.symbolic:  # only a slot holding a VM chooses
                term = ops.Implies(vm.exists, term)
            found.append(GuardTerm(prefix + guard.name, guard.spec, term))
    agg = inst.action.aggregate
    if agg is not None:
        found.append(GuardTerm(agg.name, agg.spec, get_taken(ops, inst, pre) <= h.free_mib))
    return found


def get_taken(ops: Ops, inst: Instance, pre: Any) -> Term:
    """What a scope-``all`` step takes from free in total (0 for other actions)."""
    agg = inst.action.aggregate
    if agg is None:
        return 0
    return ops.Sum([*[ops.If(vm.exists, agg.taken(ops, vm, p), 0)
                      for _, vm, p in _acting(inst, pre)], inst.outside_taken])


@attrs.frozen
class Updates:
    """The declared new values of a step: per acting slot, and of the host's fields."""

    slots: dict[int, dict[str, Term]]
    host: dict[str, Term]


def get_updates(ops: Ops, inst: Instance, pre: Any) -> Updates:
    """The new values of exactly the fields ``inst.action`` declares modified.

    Raises ``ValueError`` when an update writes other fields than it declares (a model bug).
    """
    h = host_view(pre)
    action = inst.action
    # a per-slot update writes every declared field; a tick's per-slot update writes the
    # slot fields and the aggregate writes free_mib
    per_slot = set(action.modifies if action.scope == "slot" else action.slot_modifies)
    slots: dict[int, dict[str, Term]] = {}
    host: dict[str, Term] = {}
    for k, vm, p in _acting(inst, pre):
        values = action.update(ops, h, vm, p)
        if set(values) != per_slot:
            raise ValueError(f"{action.name} updates {sorted(values)} but declares "
                             f"{sorted(per_slot)}")
        slots[k] = {f: v for f, v in values.items() if f in SLOT_FIELDS}
        host.update({f: v for f, v in values.items() if f in HOST_FIELDS})
    if action.aggregate is not None:
        host["free_mib"] = h.free_mib - get_taken(ops, inst, pre)
    return Updates(slots, host)


def _as_term(field: str, value: Term) -> Any:
    if isinstance(value, z3.ExprRef):
        return value
    return z3.BoolVal(bool(value)) if field in _BOOL_FIELDS else z3.IntVal(int(value))


def _with_fields(vm: SymVm, values: Mapping[str, Term]) -> SymVm:
    runtime = {f: _as_term(f, v) for f, v in values.items() if not f.startswith("settings.")}
    settings = {f[len("settings."):]: _as_term(f, v) for f, v in values.items()
                if f.startswith("settings.")}
    new_settings = attrs.evolve(vm.settings, **settings) if settings else vm.settings
    return attrs.evolve(vm, settings=new_settings, **runtime)


def compute_post(inst: Instance, pre: Any) -> Any:
    """The successor of ``pre`` under ``inst``, built functionally (unchanged fields are the
    pre-state's own terms: the frame holds by construction). Guards are NOT included.

    ``pre`` is a :class:`SymState` or any attrs state with ``host``, ``free_mib``, ``vms``
    (the decomposition's one-slot view); the result has the same class.
    """
    updates = get_updates(SYMBOLIC, inst, pre)
    vms = tuple(_with_fields(vm, updates.slots[k]) if k in updates.slots else vm
                for k, vm in enumerate(pre.vms))
    free = _as_term("free_mib", updates.host.get("free_mib", pre.free_mib))
    return attrs.evolve(pre, vms=vms, free_mib=free)


def get_frame(pre: SymState, post: SymState, updates: Updates) -> list[Any]:
    """``field' == field`` for every field of every slot and the host not in ``updates``."""
    frame = []
    for k, (a, b) in enumerate(zip(pre.vms, post.vms, strict=True)):
        changed = updates.slots.get(k, {})
        frame += [read_field(b, f) == read_field(a, f) for f in SLOT_FIELDS if f not in changed]
    frame += [getattr(post, f) == getattr(pre, f) for f in HOST_FIELDS if f not in updates.host]
    return frame


def get_transition(inst: Instance, pre: SymState, post: SymState) -> Any:
    """The relational step ``pre --inst--> post``: guards, declared updates, and the frame."""
    updates = get_updates(SYMBOLIC, inst, pre)
    guards = [g.term for g in get_guards(SYMBOLIC, inst, pre)]
    assigned_values = [read_field(post.vms[k], f) == v
                       for k, values in updates.slots.items() for f, v in values.items()]
    assigned_values += [getattr(post, f) == v for f, v in updates.host.items()]
    return z3.And(*guards, *assigned_values, *get_frame(pre, post, updates))


@attrs.frozen
class NextStep:
    """The whole transition relation of one unrolled step, with a selector to decode it.

    ``formula`` says: ``selector`` = i and ``instances[i]`` moves ``pre`` to ``post``.
    """

    formula: Any
    selector: Any
    instances: tuple[Instance, ...]


def get_next(pre: SymState, post: SymState, suffix: str,
             actions: Sequence[Action] = ACTIONS) -> NextStep:
    """The disjunction over every action × slot, fresh parameters per step (BMC unrolling)."""
    instances = tuple(get_instances(len(pre.vms), suffix, actions))
    selector = z3.Int(f"step.action{suffix}")
    cases = [z3.And(selector == i, get_transition(inst, pre, post))
             for i, inst in enumerate(instances)]
    return NextStep(z3.Or(*cases), selector, instances)


# --- concrete steps: is_allowed ------------------------------------------------------------------


class _Present:
    """A reference VM seen as a model slot (``exists`` is True)."""

    __slots__ = ("_vm",)
    exists = True

    def __init__(self, vm: Any) -> None:
        self._vm = vm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vm, name)


@attrs.frozen
class _Absent:
    """A slot that holds no VM (before Create, after Delete)."""

    name: str
    exists: bool = False


@attrs.frozen
class _View:
    """A reference state seen as model slots aligned by VM name."""

    host: Any
    free_mib: int
    vms: tuple[Any, ...]


def _align(pre: Any, post: Any) -> tuple[_View, _View]:
    names = [vm.name for vm in pre.vms]
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


def _diff_slot(a: Any, b: Any, expected: Mapping[str, Term], event: Any) -> str | None:
    exists_after = expected.get("exists", a.exists)
    if bool(b.exists) != bool(exists_after):
        how = "exist" if exists_after else "be gone"
        return f"{a.name}: the model expects the VM to {how} after {event!r}"
    if not b.exists:
        return None  # an absent slot has no fields to compare
    for field in SLOT_FIELDS[1:]:
        want = expected[field] if field in expected else read_field(a, field)
        got = read_field(b, field)
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
    if pre.host != post.host:
        return f"the host changed from {pre.host!r} to {post.host!r}: it is constant"
    a, b = _align(pre, post)
    inst = _event_instance(a, b, event, sent)
    if isinstance(inst, str):
        return inst
    reason = _failed_guard(inst, a)
    if reason is not None:
        return f"{event!r}: {reason}"
    updates = get_updates(CONCRETE, inst, a)
    for k, (x, y) in enumerate(zip(a.vms, b.vms, strict=True)):
        reason = _diff_slot(x, y, updates.slots.get(k, {}), event)
        if reason is not None:
            return reason
    want_free = updates.host.get("free_mib", a.free_mib)
    if want_free != b.free_mib:
        why = "update" if "free_mib" in updates.host else "unchanged (frame)"
        return f"free_mib: the model expects {want_free} ({why}), the step has {b.free_mib}"
    return None


def _failed_guard(inst: Instance, pre: _View) -> str | None:
    h = host_view(pre)
    for _, vm, p in _acting(inst, pre):
        if inst.slot is None and not vm.exists:
            continue  # a tick makes no choice for an empty slot
        for guard in inst.action.guards:
            if not guard.holds(CONCRETE, h, vm, p):
                if inst.slot is None:
                    return f"{vm.name}: " + _explain_tick_choice(h, vm, p)
                return _explain_guard(guard, h, vm, p)
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
    for guard in _REQUEST_GUARDS[kind]:
        if not guard.holds(CONCRETE, h, vm, p):
            return f"{kind.name} request of {p.mib} MiB: " + _explain_guard(guard, h, vm, p)
    return f"{kind.name} request of {p.mib} MiB is not allowed"
