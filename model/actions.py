"""The abstract transition system's spec (specs/proofs.md): one action per event kind.

Every action of ``reference/events.py`` has a model action of the same name, written once
over the operator layer: its guards (each a named conjunct citing its rule R-...), the fields
it DECLARES modified, and an update giving the new value of exactly those fields. Everything
else is unchanged: the frame, which nobody writes by hand.

One definition, two interpretations (model/instances.py evaluates an action at a step under
either): symbolically (model/symbolic_steps.py: Z3 terms for proofs and BMC) and concretely
(model/concrete_steps.py: ``is_allowed`` checks one reference step in plain Python). This
module loads no Z3.

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

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from dynmem.model.fields import (
    HOST_FIELDS,
    OFF_RUNTIME,
    RUNTIME_FIELDS,
    SETTINGS_FIELDS,
    SLOT_FIELDS,
    read_field,
)
from dynmem.model.ops import Ops, Term
from dynmem.model.quantities import (
    assigned,
    get_charged,
    get_credited,
    get_hot_add_alignment,
    is_accepted_version,
    is_advertised_alignment,
    is_aligned,
    is_running,
    is_squeeze,
    owned,
)
from dynmem.model.shapes import HostLike, SettingsLike, SlotLike
from dynmem.model.vocabulary import (
    BALLOON_REQUEST_CAP_MIB,
    DEFAULT_HOT_ADD_ALIGN_MIB,
    HOT_ADD_REQUEST_CAP_MIB,
    MAX_BUFFER_PERCENT,
    MAX_MAXIMUM_MIB,
    MAX_WEIGHT,
    MIN_BUFFER_PERCENT,
    MIN_STARTUP_MIB,
    MIN_WEIGHT,
    UNBALLOON_REQUEST_CAP_MIB,
    Channel,
    HostProfile,
    Power,
    TxnKind,
)


@attrs.frozen
class HostView:
    """What a per-slot guard or update may read besides its slot: host constants and free,
    and for a tick the highest weight that runs or waits (``get_top_weight``) and whether a
    start waits (R-RECLAIM-ORDER).
    """

    host: HostLike
    free_mib: Term
    top_weight: Term = 0
    start_waits: Term = False  # a start waits for reclaim (``is_start_waiting``)


# (ops, host view, slot, params); params are the reference event's fields (or fresh terms)
GuardFn = Callable[[Ops, HostView, SlotLike, Any], Term]
UpdateFn = Callable[[Ops, HostView, SlotLike, Any], dict[str, Term]]


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
    taken: Callable[[Ops, SlotLike, Any], Term]  # (ops, slot, params)


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


def is_valid_settings(ops: Ops, st: SettingsLike) -> Term:
    """The range rules of a VM's settings, profile 2008R2SP1 (specs/domain.md §1.2)."""
    u = ops.units
    return ops.And(
        st.startup_mib >= u.of_mib(MIN_STARTUP_MIB), st.startup_mib % u.unit == 0,
        st.startup_mib <= st.maximum_mib, st.maximum_mib <= u.of_mib(MAX_MAXIMUM_MIB),
        st.maximum_mib % u.unit == 0,
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
        # R-CONFIGURE: no memory setting changes while the VM runs (profile 2008R2SP1), is
        # saved or waits to start
        _g("vm off", "R-CONFIGURE", lambda ops, h, vm, p: vm.power == Power.OFF),
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
        _g("vm off", "R-DELETE", lambda ops, h, vm, p: vm.power == Power.OFF),
    ),
    modifies=("exists",),
    update=lambda ops, h, vm, p: {"exists": False},
)

def _boot(ops: Ops, vm: Any, visible: Term) -> dict[str, Term]:
    """A VM running at ``visible`` with a fresh DM session, or none (R-START)."""
    return {
        "power": Power.RUNNING,
        "visible_mib": visible,
        "ballooned_mib": 0,
        "demand_mib": 0,
        # only a dynamic VM with a DM-capable guest opens the channel
        "channel": ops.If(ops.And(vm.settings.dynamic, vm.settings.dm_capable),
                          Channel.NEGOTIATING, Channel.NONE),
        "hot_add_enabled": True,
    }


_BOOT_FIELDS = ("power", "visible_mib", "ballooned_mib", "demand_mib", "channel",
                "hot_add_enabled")


def _start_update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
    # R-START: with startup free the VM runs now; otherwise the start waits for reclaim and
    # owns nothing (whether reclaim could cover it is the policy's business, P-RECLAIM)
    fits = vm.settings.startup_mib <= h.free_mib
    booted = _boot(ops, vm, vm.settings.startup_mib)
    update = {f: ops.If(fits, booted[f], read_field(vm, f)) for f in _BOOT_FIELDS}
    update["power"] = ops.If(fits, Power.RUNNING, Power.STARTING)
    update["free_mib"] = ops.If(fits, h.free_mib - vm.settings.startup_mib, h.free_mib)
    return update


START = Action(
    "Start", "start", "R-START", (),
    guards=(
        _exists("R-START"),
        # R-START: the VM is off (not running, saved or already starting)
        _g("vm off", "R-START", lambda ops, h, vm, p: vm.power == Power.OFF),
    ),
    modifies=(*_BOOT_FIELDS, "free_mib"),
    update=_start_update,
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


def _accepted(ops: Ops, h: HostView, p: Any) -> Term:
    return is_accepted_version(ops, h.host, p.version)


VERSION_REQUEST = Action(
    "VersionRequest", "version_request", "R-VERSION",
    (Param("version", "int"), Param("last_attempt", "bool")),
    guards=(
        _exists("R-VERSION"),
        _running("R-VERSION"),
        # R-VERSION: only while negotiating
        _channel("R-VERSION", Channel.NEGOTIATING),
        # R-VERSION: a version is a u32 on the wire; a negative one is malformed
        _g("version >= 0", "R-VERSION", lambda ops, h, vm, p: p.version >= 0),
    ),
    modifies=("channel", "protocol_version"),
    # R-VERSION: a version the host's profile speaks is accepted; a refused last attempt ends
    # negotiation; another refused attempt is recorded (the guest tries the next one below it)
    update=lambda ops, h, vm, p: {
        "channel": ops.If(_accepted(ops, h, p), Channel.CAPS,
                          ops.If(p.last_attempt, Channel.FAILED, vm.channel)),
        "protocol_version": ops.If(ops.And(p.last_attempt, ops.Not(_accepted(ops, h, p))), 0,
                                   p.version),
    },
)

CAPABILITIES_REPORT = Action(
    "CapabilitiesReport", "capabilities_report", "R-CAPS",
    (Param("balloon", "bool"), Param("hot_add", "bool"), Param("align_mib", "int")),
    guards=(
        _exists("R-CAPS"),
        _running("R-CAPS"),
        # R-CAPS: only right after an accepted version
        _channel("R-CAPS", Channel.CAPS),
        # R-CAPS: the alignment is 2^k MiB, k < 16 (a 4-bit log2 on the wire)
        _g("alignment 2^k MiB", "R-CAPS",
           lambda ops, h, vm, p: is_advertised_alignment(ops, p.align_mib)),
    ),
    modifies=("channel", "cap_balloon", "cap_hot_add", "hot_add_align_mib"),
    # R-HOT-ADD-ALIGN: the host keeps the alignment, at least the 2 MiB unit
    update=lambda ops, h, vm, p: {
        "channel": Channel.QUIET, "cap_balloon": p.balloon, "cap_hot_add": p.hot_add,
        "hot_add_align_mib": get_hot_add_alignment(ops, p.align_mib),
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
    _g("mib even", "R-REQUEST-3", lambda ops, h, vm, p: p.mib % ops.units.unit == 0),
)

_BALLOON_SLOT_GUARDS = (
    *_REQUEST_COMMON,
    # R-BALLOON-REQUEST: the guest reported the balloon capability
    _g("cap_balloon", "R-BALLOON-REQUEST", lambda ops, h, vm, p: vm.cap_balloon),
    # R-REQUEST-4: at most the protocol cap per balloon request
    _g("mib <= balloon cap", "R-REQUEST-4",
       lambda ops, h, vm, p: p.mib <= ops.units.of_mib(BALLOON_REQUEST_CAP_MIB)),
    # R-BALLOON-REQUEST: never ask below startup (INV-FLOOR)
    _g("mib <= assigned - startup", "R-BALLOON-REQUEST",
       lambda ops, h, vm, p: p.mib <= assigned(vm) - vm.settings.startup_mib),
)

_UNBALLOON_SLOT_GUARDS = (
    *_REQUEST_COMMON,
    # R-REQUEST-4: at most the protocol cap per unballoon request
    _g("mib <= unballoon cap", "R-REQUEST-4",
       lambda ops, h, vm, p: p.mib <= ops.units.of_mib(UNBALLOON_REQUEST_CAP_MIB)),
    # R-UNBALLOON-REQUEST: only ballooned pages can be returned
    _g("mib <= ballooned", "R-UNBALLOON-REQUEST",
       lambda ops, h, vm, p: p.mib <= vm.ballooned_mib),
)

_HOT_ADD_SLOT_GUARDS = (
    *_REQUEST_COMMON,
    # R-REQUEST-4: at most the protocol cap per hot-add request
    _g("mib <= hot-add cap", "R-REQUEST-4",
       lambda ops, h, vm, p: p.mib <= ops.units.of_mib(HOT_ADD_REQUEST_CAP_MIB)),
    # R-HOT-ADD-REQUEST: the guest can hot-add and no partial/failed hot-add disabled it
    _g("cap_hot_add", "R-HOT-ADD-REQUEST", lambda ops, h, vm, p: vm.cap_hot_add),
    _g("hot_add_enabled", "R-HOT-ADD-REQUEST", lambda ops, h, vm, p: vm.hot_add_enabled),
    # R-HOT-ADD-ALIGN: a multiple of the alignment the guest advertised
    _g("mib aligned", "R-HOT-ADD-ALIGN",
       lambda ops, h, vm, p: is_aligned(ops, p.mib, vm.hot_add_align_mib)),
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
    def update(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> dict[str, Term]:
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


def _balloon_taken(ops: Ops, vm: SlotLike, p: Any) -> Term:
    # count at most what is still outstanding (the guest is not trusted)
    return ops.Min(get_credited(ops, p.mib), vm.txn_mib - vm.txn_done_mib)


def _balloon_response_update(ops: Ops, h: HostView, vm: SlotLike, p: Any
                             ) -> dict[str, Term]:
    taken = _balloon_taken(ops, vm, p)
    done = vm.txn_done_mib + taken
    finished = ops.Or(ops.Not(p.more_pages), done == vm.txn_mib)
    return {
        "ballooned_mib": vm.ballooned_mib + taken,
        "txn": ops.If(finished, TxnKind.NONE, TxnKind.BALLOON),
        "txn_mib": ops.If(finished, 0, vm.txn_mib),
        "txn_done_mib": ops.If(finished, 0, done),
        "stuck": False,  # it answered (R-STUCK)
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
    modifies=("ballooned_mib", *_TXN_FIELDS, "stuck", "free_mib"),
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
    modifies=("ballooned_mib", *_TXN_FIELDS, "stuck"),
    # the returned pages, already taken from free at request time, are the guest's again
    update=lambda ops, h, vm, p: {
        "ballooned_mib": vm.ballooned_mib - vm.txn_mib,
        "txn": TxnKind.NONE, "txn_mib": 0, "txn_done_mib": 0, "stuck": False,
    },
)


def _hot_add_response_update(ops: Ops, h: HostView, vm: SlotLike, p: Any
                             ) -> dict[str, Term]:
    # a failed result adds nothing; an oversized answer is clamped to the request
    added = ops.If(p.success, ops.Min(get_credited(ops, p.mib), vm.txn_mib), 0)
    # a partial or empty success disables hot-add until the VM restarts
    disable = ops.And(p.success, added < vm.txn_mib)
    # in pages the last 2 MiB unit of the region is charged whole (R-PG-HOT-ADD-CREDIT)
    charged = get_charged(ops, added)
    return {
        "visible_mib": vm.visible_mib + charged,
        "hot_add_enabled": ops.And(vm.hot_add_enabled, ops.Not(disable)),
        "txn": TxnKind.NONE, "txn_mib": 0, "txn_done_mib": 0, "stuck": False,
        # what was taken for the request and not charged goes back to free
        "free_mib": h.free_mib + vm.txn_mib - charged,
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
    modifies=("visible_mib", "hot_add_enabled", *_TXN_FIELDS, "stuck", "free_mib"),
    update=_hot_add_response_update,
)

# --- the balancer tick: any set of allowed requests, at most one per VM ----------------------

# A tick's choice for one slot: ``request`` is a TxnKind (NONE = no request), ``mib`` its amount.
REQUEST_GUARDS = {
    TxnKind.BALLOON: _BALLOON_SLOT_GUARDS,
    TxnKind.UNBALLOON: _UNBALLOON_SLOT_GUARDS,
    TxnKind.HOT_ADD: _HOT_ADD_SLOT_GUARDS,
}


def _is_request_allowed(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> Term:
    """The slot's choice is no request, or a request its slot guards allow."""
    def kind_allowed(kind: TxnKind) -> Term:
        return ops.And(p.request == kind, *[g.holds(ops, h, vm, p) for g in REQUEST_GUARDS[kind]])

    return ops.Or(p.request == TxnKind.NONE, *[kind_allowed(k) for k in REQUEST_GUARDS])


def _keeps_reclaim_order(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> Term:
    """While a start waits, a balloon that squeezes the VM (``is_squeeze``) needs a VM of
    strictly higher weight that runs or waits to start: reclaim never squeezes the heaviest
    VMs (R-RECLAIM-ORDER)."""
    squeezes = ops.And(h.start_waits, p.request == TxnKind.BALLOON, is_squeeze(ops, vm, p.mib))
    return ops.Implies(squeezes, vm.settings.weight < h.top_weight)


def _tick_taken(ops: Ops, vm: SlotLike, p: Any) -> Term:
    grants = ops.Or(p.request == TxnKind.UNBALLOON, p.request == TxnKind.HOT_ADD)
    return ops.If(grants, p.mib, 0)


def _tick_update(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> dict[str, Term]:
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
        # R-RECLAIM-ORDER: while a start waits, reclaim (P-RECLAIM) and contention
        # (P-CONTENTION) squeeze only VMs of lower weight than one that waits; a give-back
        # does not squeeze
        _g("squeeze only below a heavier VM", "R-RECLAIM-ORDER", _keeps_reclaim_order),
    ),
    modifies=(*_TXN_FIELDS, "free_mib"),
    update=_tick_update,
    scope="all",
    # R-TICK: unballoon and hot-add take from free when sent: together they fit in free
    aggregate=Aggregate("requests fit in free", "R-TICK", _tick_taken),
)

# --- the lifecycle of a running VM (specs/lifecycle.md) -----------------------------------------


def _power(spec: str, power: Power) -> Guard:
    return _g(f"vm {power.name.lower()}", spec, lambda ops, h, vm, p: vm.power == power)


def _grant_in_flight(ops: Ops, vm: Any, kind: TxnKind) -> Term:
    return ops.If(vm.txn == kind, vm.txn_mib, 0)


def _regained(ops: Ops, vm: Any) -> Term:
    # R-CLOSE: an unballoon in flight completes, so only the rest of the ballooned pages is
    # regained from free
    return vm.ballooned_mib - _grant_in_flight(ops, vm, TxnKind.UNBALLOON)


_FRESH_SESSION: Mapping[str, int | bool] = {
    "has_report": False, "report_mib": 0, "protocol_version": 0, "cap_balloon": False,
    "cap_hot_add": False, "txn": TxnKind.NONE, "txn_mib": 0, "txn_done_mib": 0,
    "stuck": False, "hot_add_align_mib": DEFAULT_HOT_ADD_ALIGN_MIB,
}

def _needed(ops: Ops, vm: Any) -> Term:
    # R-START-ADMIT: a waiting restore needs its image (saved_mib > 0), a waiting start its
    # startup (lifecycle.md §4.7)
    return ops.If(vm.saved_mib > 0, vm.saved_mib, vm.settings.startup_mib)


START_ADMIT = Action(
    "StartAdmit", "start_admit", "R-START-ADMIT", (),
    guards=(
        _exists("R-START-ADMIT"),
        # R-START-ADMIT: only a start (or restore) waiting for reclaim completes
        _power("R-START-ADMIT", Power.STARTING),
        # R-START-ADMIT: once its startup (a restore: its image) is free (INV-PHYSICAL)
        _g("needed <= free", "R-START-ADMIT",
           lambda ops, h, vm, p: _needed(ops, vm) <= h.free_mib),
    ),
    modifies=(*RUNTIME_FIELDS, "free_mib"),
    # a restore keeps the demand it was saved with; a waiting start has none
    update=lambda ops, h, vm, p: {
        **OFF_RUNTIME, **_boot(ops, vm, _needed(ops, vm)),
        "demand_mib": ops.If(vm.saved_mib > 0, vm.demand_mib, 0),
        "free_mib": h.free_mib - _needed(ops, vm)},
)

START_ABORT = Action(
    "StartAbort", "start_abort", "R-START-ABORT", (),
    guards=(
        _exists("R-START-ABORT"),
        # R-START-ABORT: only a start (or restore) waiting for reclaim gives up
        _power("R-START-ABORT", Power.STARTING),
    ),
    modifies=RUNTIME_FIELDS,
    # it owned nothing, so free is unchanged; a restore is saved again with its image
    update=lambda ops, h, vm, p: {
        **OFF_RUNTIME,
        "power": ops.If(vm.saved_mib > 0, Power.SAVED, Power.OFF),
        "demand_mib": ops.If(vm.saved_mib > 0, vm.demand_mib, 0),
        "saved_mib": vm.saved_mib},
)

GUEST_RESTART = Action(
    "GuestRestart", "guest_restart", "R-RESTART", (),
    guards=(_exists("R-RESTART"), _running("R-RESTART")),
    modifies=(*RUNTIME_FIELDS, "free_mib"),
    # R-RESTART: back at startup with a new session; everything above startup returns
    update=lambda ops, h, vm, p: {
        **OFF_RUNTIME, **_boot(ops, vm, vm.settings.startup_mib),
        "free_mib": h.free_mib + owned(ops, vm) - vm.settings.startup_mib,
    },
)

CHANNEL_RESET = Action(
    "ChannelReset", "channel_reset", "R-CHANNEL-RESET", (),
    guards=(
        _exists("R-CHANNEL-RESET"),
        _running("R-CHANNEL-RESET"),
        # R-CHANNEL-RESET: only a VM with a DM channel has one to reset
        _g("channel not NONE", "R-CHANNEL-RESET",
           lambda ops, h, vm, p: vm.channel != Channel.NONE),
        # R-CHANNEL-RESET: the regained ballooned pages are backed from free, or the reset
        # is refused (INV-PHYSICAL)
        _g("regained <= free", "R-CHANNEL-RESET",
           lambda ops, h, vm, p: _regained(ops, vm) <= h.free_mib),
    ),
    modifies=("visible_mib", "ballooned_mib", "channel", *_FRESH_SESSION, "free_mib"),
    # R-CLOSE: a hot-add in flight counts as added; then the session starts clean
    update=lambda ops, h, vm, p: {
        **_FRESH_SESSION,
        "visible_mib": vm.visible_mib + _grant_in_flight(ops, vm, TxnKind.HOT_ADD),
        "ballooned_mib": 0,
        "channel": Channel.NEGOTIATING,
        "free_mib": h.free_mib - _regained(ops, vm),
    },
)

STUCK_TIMEOUT = Action(
    "StuckTimeout", "stuck_timeout", "R-STUCK", (),
    guards=(
        _exists("R-STUCK"),
        _running("R-STUCK"),
        # R-STUCK: the watchdog fires on a transaction in flight, once
        _g("transaction in flight", "R-STUCK", lambda ops, h, vm, p: vm.txn != TxnKind.NONE),
        _g("not stuck", "R-STUCK", lambda ops, h, vm, p: ops.Not(vm.stuck)),
    ),
    modifies=("stuck",),
    # nothing is freed: memory never received stays the guest's
    update=lambda ops, h, vm, p: {"stuck": True},
)

SAVE = Action(
    "Save", "save", "R-SAVE", (),
    guards=(_exists("R-SAVE"), _running("R-SAVE")),
    modifies=(*RUNTIME_FIELDS, "free_mib"),
    # R-SAVE: by R-CLOSE the image is everything the VM owns; all of it returns
    update=lambda ops, h, vm, p: {
        **OFF_RUNTIME, "power": Power.SAVED, "demand_mib": vm.demand_mib,
        "saved_mib": owned(ops, vm), "free_mib": h.free_mib + owned(ops, vm),
    },
)

def restore_update_when(fits: GuardFn) -> UpdateFn:
    """R-RESTORE's update where ``fits`` says whether the image may be taken now: then the
    VM runs at its image, else the restore waits for reclaim (``STARTING``), owning nothing
    and keeping its image (lifecycle.md §4.7)."""
    def update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
        now = fits(ops, h, vm, p)
        booted: dict[str, Term] = {
            **OFF_RUNTIME, **_boot(ops, vm, vm.saved_mib), "demand_mib": vm.demand_mib,
            "free_mib": h.free_mib - vm.saved_mib}
        waits: dict[str, Term] = {f: read_field(vm, f) for f in booted if f != "free_mib"}
        waits["power"] = Power.STARTING
        waits["free_mib"] = h.free_mib
        return {f: ops.If(now, booted[f], waits[f]) for f in booted}
    return update


RESTORE = Action(
    "Restore", "restore", "R-RESTORE", (),
    guards=(
        _exists("R-RESTORE"),
        _power("R-RESTORE", Power.SAVED),
    ),
    modifies=(*RUNTIME_FIELDS, "free_mib"),
    # R-RESTORE: its saved (current) memory must be free, not startup (INV-PHYSICAL);
    # without it the restore waits for reclaim
    update=restore_update_when(lambda ops, h, vm, p: vm.saved_mib <= h.free_mib),
)

MIGRATE_OUT = Action(
    "MigrateOut", "migrate_out", "R-MIGRATE-OUT", (),
    guards=(_exists("R-MIGRATE-OUT"), _running("R-MIGRATE-OUT")),
    modifies=(*RUNTIME_FIELDS, "free_mib"),
    # R-MIGRATE-OUT: everything it owns returns, transactions in flight included
    update=lambda ops, h, vm, p: {**OFF_RUNTIME, "free_mib": h.free_mib + owned(ops, vm)},
)


def _arrival_fits(ops: Ops, h: HostView, vm: Any, p: Any) -> Term:
    # R-MIGRATE-IN: within startup..maximum with DM; exactly startup without
    with_dm = ops.And(vm.settings.dynamic, vm.settings.dm_capable)
    return ops.If(with_dm, ops.And(vm.settings.startup_mib <= p.mib,
                                   p.mib <= vm.settings.maximum_mib),
                  p.mib == vm.settings.startup_mib)


MIGRATE_IN = Action(
    "MigrateIn", "migrate_in", "R-MIGRATE-IN", (Param("mib", "int"),),
    guards=(
        _exists("R-MIGRATE-IN"),
        _power("R-MIGRATE-IN", Power.OFF),
        # R-MIGRATE-IN: a multiple of 2 MiB that fits the VM's settings
        _g("mib even", "R-MIGRATE-IN", lambda ops, h, vm, p: p.mib % ops.units.unit == 0),
        _g("mib fits the settings", "R-MIGRATE-IN", _arrival_fits),
        # R-MIGRATE-IN: its current memory must be free (INV-PHYSICAL)
        _g("mib <= free", "R-MIGRATE-IN", lambda ops, h, vm, p: p.mib <= h.free_mib),
    ),
    modifies=(*RUNTIME_FIELDS, "free_mib"),
    update=lambda ops, h, vm, p: {**OFF_RUNTIME, **_boot(ops, vm, p.mib),
                                  "free_mib": h.free_mib - p.mib},
)

ACTIONS: tuple[Action, ...] = (
    CREATE, CONFIGURE, DELETE, START, STOP, DEMAND, VERSION_REQUEST, CAPABILITIES_REPORT,
    QUIET_PERIOD_END, STATUS_REPORT, BALLOON_REQUEST, BALLOON_RESPONSE, UNBALLOON_REQUEST,
    UNBALLOON_RESPONSE, HOT_ADD_REQUEST, HOT_ADD_RESPONSE, BALANCER_TICK,
    START_ADMIT, START_ABORT, GUEST_RESTART, CHANNEL_RESET, STUCK_TIMEOUT, SAVE, RESTORE,
    MIGRATE_OUT, MIGRATE_IN,
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
    def created_off(vm: SlotLike) -> Term:
        return ops.And(is_valid_settings(ops, vm.settings),
                       *[read_field(vm, f) == v for f, v in OFF_RUNTIME.items()])

    return ops.And(
        state.host.reserve_mib >= 0,
        state.host.reserve_mib <= state.host.physical_mib,
        ops.Or(*[state.host.profile == profile for profile in HostProfile]),
        state.free_mib == state.host.physical_mib - state.host.reserve_mib,
        ops.all_vms(state.vms, created_off),
    )
