"""The invariant registry (specs/invariants.md): every invariant defined once, as named clauses.

Each clause is written over the operator layer, so ``CONCRETE`` evaluates it on reference
states (plain Python, no Z3) and ``SYMBOLIC`` turns it into a Z3 term over a symbolic state
of the same shape. Three layers (STYLE rule 6): ``type`` (TypeOK), ``safety`` (the claims)
and ``aux`` (strengthening conjuncts that make the safety layer inductive).

Clause scopes: ``vm`` holds for every VM of a state, ``host`` for the state as a whole,
``pair`` for every VM present before and after a step, ``step`` for a step as a whole (the
states before and after it: a balancer tick, the one step that reads every VM). ``pair``
and ``step`` clauses are the two-state invariants.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs

from dynmem.model.ops import CONCRETE, Ops, Term
from dynmem.model.quantities import (
    assigned,
    get_top_weight,
    in_flight,
    is_accepted_version,
    is_aligned,
    is_running,
    is_squeeze,
    is_start_waiting,
    outstanding_balloon,
    owned,
    total_owned,
)
from dynmem.model.shapes import VmLike
from dynmem.model.vocabulary import (
    HOST_PROFILE_WORDS,
    MAX_BUFFER_PERCENT,
    MAX_MAXIMUM_MIB,
    MAX_WEIGHT,
    MIN_BUFFER_PERCENT,
    MIN_STARTUP_MIB,
    MIN_WEIGHT,
    VERSION_NAMES,
    Channel,
    HostProfile,
    Power,
    TxnKind,
)

Scope = Literal["vm", "host", "pair", "step"]
TWO_STATE_SCOPES = ("pair", "step")
Layer = Literal["type", "safety", "aux"]


@attrs.frozen
class Clause:
    """One named conjunct of an invariant, with a concrete explanation of its values."""

    name: str
    scope: Scope
    holds: Callable[..., Term]
    explain: Callable[..., str]


@attrs.frozen
class Invariant:
    """A registry entry: stable id, snake_case name, one-line statement, layer, clauses."""

    id: str
    name: str
    statement: str
    layer: Layer
    clauses: tuple[Clause, ...]

    @property
    def two_state(self) -> bool:
        return any(c.scope in TWO_STATE_SCOPES for c in self.clauses)


@attrs.frozen
class Violation:
    """A clause that failed on a concrete state or step, with the values that break it."""

    invariant: str
    clause: str
    vm: str | None
    message: str


# --- clause helpers ----------------------------------------------------------------------------


def _vm(name: str, holds: Callable[[Ops, Any, VmLike], Term],
        explain: Callable[[Any, VmLike], str]) -> Clause:
    return Clause(name, "vm", holds, explain)


def _host(name: str, holds: Callable[[Ops, Any], Term], explain: Callable[[Any], str]) -> Clause:
    return Clause(name, "host", holds, explain)


def _pair(name: str, holds: Callable[[Ops, Any, VmLike, VmLike], Term],
          explain: Callable[[Any, VmLike, VmLike], str]) -> Clause:
    return Clause(name, "pair", holds, explain)


def _step(name: str, holds: Callable[[Ops, Any, Any, Any], Term],
          explain: Callable[[Any, Any, Any], str]) -> Clause:
    return Clause(name, "step", holds, explain)


def is_state_clause(clause: Clause) -> bool:
    """Whether ``clause`` is judged on one state (scope ``vm`` or ``host``)."""
    return clause.scope not in TWO_STATE_SCOPES


def _dynamic_running(vm: VmLike, ops: Ops) -> Term:
    return ops.And(is_running(vm), vm.settings.dynamic)


def _owned_terms(s: Any) -> str:
    parts = [f"{vm.name} {owned(CONCRETE, vm)}" for vm in s.vms if owned(CONCRETE, vm)]
    return " + ".join(parts) or "0"


def _channel(value: int) -> str:
    """The channel's name, or the raw value when out of range (a state breaking INV-TYPE)."""
    try:
        return Channel(value).name
    except ValueError:
        return str(value)


def _txn(value: int) -> str:
    """The transaction kind's name, or the raw value when out of range (INV-TYPE)."""
    try:
        return TxnKind(value).name
    except ValueError:
        return str(value)


# --- layer (a): TypeOK -------------------------------------------------------------------------

_AMOUNTS = ("visible_mib", "ballooned_mib", "demand_mib", "report_mib", "txn_mib",
            "txn_done_mib", "saved_mib")

TYPE_OK = Invariant(
    "INV-TYPE", "type_ok",
    "amounts are non-negative, enumerations in range, the reserve within physical memory",
    "type",
    (
        _vm("amounts >= 0",
            lambda ops, s, vm: ops.And(*[getattr(vm, f) >= 0 for f in _AMOUNTS]),
            lambda s, vm: f"{vm.name}: " + ", ".join(
                f"{f} {getattr(vm, f)}" for f in _AMOUNTS if getattr(vm, f) < 0)),
        _vm("enumerations in range",
            lambda ops, s, vm: ops.And(vm.power >= 0, vm.power <= 3, vm.channel >= 0,
                                       vm.channel <= 5, vm.txn >= 0, vm.txn <= 3),
            lambda s, vm: f"{vm.name}: power {vm.power}, channel {vm.channel}, txn {vm.txn}"),
        _host("reserve within physical",
              lambda ops, s: ops.And(s.host.reserve_mib >= 0,
                                     s.host.reserve_mib <= s.host.physical_mib),
              lambda s: f"reserve {s.host.reserve_mib} vs physical {s.host.physical_mib}"),
    ),
)

# --- layer (b): safety -------------------------------------------------------------------------

FLOOR = Invariant(
    "INV-FLOOR", "never_below_startup",
    "a running dynamic VM never has assigned < startup",
    "safety",
    (
        _vm("running dynamic => assigned >= startup",
            lambda ops, s, vm: ops.Implies(_dynamic_running(vm, ops),
                                           assigned(vm) >= vm.settings.startup_mib),
            lambda s, vm: f"{vm.name}: assigned {assigned(vm)} MiB (visible {vm.visible_mib} "
                          f"- ballooned {vm.ballooned_mib}) < startup "
                          f"{vm.settings.startup_mib} MiB"),
    ),
)

CEILING = Invariant(
    "INV-CEILING", "never_above_maximum",
    "assigned <= visible <= maximum for every VM",
    "safety",
    (
        _vm("assigned <= visible",
            lambda ops, s, vm: assigned(vm) <= vm.visible_mib,
            lambda s, vm: f"{vm.name}: assigned {assigned(vm)} MiB > visible "
                          f"{vm.visible_mib} MiB"),
        _vm("visible <= maximum",
            lambda ops, s, vm: vm.visible_mib <= vm.settings.maximum_mib,
            lambda s, vm: f"{vm.name}: visible {vm.visible_mib} MiB > maximum "
                          f"{vm.settings.maximum_mib} MiB"),
    ),
)

PHYSICAL = Invariant(
    "INV-PHYSICAL", "no_overcommit",
    "reserve + sum of (assigned + in-flight hot-add/unballoon) <= physical",
    "safety",
    (
        _host("reserve + owned <= physical",
              lambda ops, s: s.host.reserve_mib + total_owned(ops, s) <= s.host.physical_mib,
              lambda s: f"reserve {s.host.reserve_mib} + owned ({_owned_terms(s)}) = "
                        f"{s.host.reserve_mib + total_owned(CONCRETE, s)} > physical "
                        f"{s.host.physical_mib}"),
    ),
)

CONSERVATION = Invariant(
    "INV-CONSERVATION", "exact_accounting",
    "free + reserve + sum owned/in-flight = physical, exactly",
    "safety",
    (
        _host("free + reserve + owned = physical",
              lambda ops, s: s.free_mib + s.host.reserve_mib + total_owned(ops, s)
              == s.host.physical_mib,
              lambda s: f"free {s.free_mib} + reserve {s.host.reserve_mib} + owned "
                        f"({_owned_terms(s)}) = "
                        f"{s.free_mib + s.host.reserve_mib + total_owned(CONCRETE, s)} != "
                        f"physical {s.host.physical_mib}"),
    ),
)


def _balloon_answer_to(event: Any, vm: VmLike) -> bool:
    """Whether ``event`` is a balloon response from ``vm`` (a Python bool in both modes)."""
    return bool(event.KIND == "balloon_response" and event.vm == vm.name)


def _restart_of(event: Any, vm: Any) -> bool:
    """Whether ``event`` reboots ``vm``'s guest: it gives up its memory itself (R-RESTART)."""
    return bool(event.KIND == "guest_restart" and getattr(event, "vm", None) == vm.name)


NO_HOST_PAGING = Invariant(
    "INV-NO-HOST-PAGING", "memory_leaves_only_by_balloon",
    "assigned memory of a running VM drops only by a balloon response, by at most what was "
    "asked, or by a reboot of its guest, and its visible memory never shrinks until then",
    "safety",
    (
        _pair("assigned drops only by balloon response",
              lambda ops, e, a, b: _restart_of(e, a) or ops.Implies(
                  ops.And(is_running(a), is_running(b), assigned(b) < assigned(a)),
                  ops.And(_balloon_answer_to(e, a),
                          assigned(a) - assigned(b) <= outstanding_balloon(ops, a))),
              lambda e, a, b: f"{a.name}: assigned {assigned(a)} -> {assigned(b)} MiB on "
                              f"{e.KIND} (outstanding balloon "
                              f"{outstanding_balloon(CONCRETE, a)} MiB)"),
        _pair("visible never shrinks while running",
              lambda ops, e, a, b: _restart_of(e, a) or ops.Implies(
                  ops.And(is_running(a), is_running(b)),
                                               b.visible_mib >= a.visible_mib),
              lambda e, a, b: f"{a.name}: visible {a.visible_mib} -> {b.visible_mib} MiB on "
                              f"{e.KIND} while running"),
    ),
)

STATIC = Invariant(
    "INV-STATIC", "static_vms_never_change",
    "a running static VM has exactly its startup size, no DM channel and no transaction",
    "safety",
    (
        _vm("running static => visible = assigned = startup",
            lambda ops, s, vm: ops.Implies(
                ops.And(is_running(vm), ops.Not(vm.settings.dynamic)),
                ops.And(vm.visible_mib == vm.settings.startup_mib, vm.ballooned_mib == 0)),
            lambda s, vm: f"{vm.name}: static, visible {vm.visible_mib} ballooned "
                          f"{vm.ballooned_mib}, startup {vm.settings.startup_mib} MiB"),
        _vm("static => no channel, no transaction",
            lambda ops, s, vm: ops.Implies(
                ops.Not(vm.settings.dynamic),
                ops.And(vm.channel == Channel.NONE, vm.txn == TxnKind.NONE)),
            lambda s, vm: f"{vm.name}: static with channel {_channel(vm.channel)}, "
                          f"txn {_txn(vm.txn)}"),
    ),
)

OFF = Invariant(
    "INV-OFF", "off_vms_own_nothing",
    "an off VM owns nothing and has no channel or transaction",
    "safety",
    (
        _vm("off => owns nothing",
            lambda ops, s, vm: ops.Implies(
                ops.Not(is_running(vm)),
                ops.And(vm.visible_mib == 0, vm.ballooned_mib == 0, vm.txn == TxnKind.NONE,
                        vm.txn_mib == 0, vm.channel == Channel.NONE)),
            lambda s, vm: f"{vm.name}: off with visible {vm.visible_mib}, ballooned "
                          f"{vm.ballooned_mib}, txn {_txn(vm.txn)} {vm.txn_mib} MiB, "
                          f"channel {_channel(vm.channel)}"),
    ),
)

ONE_TXN = Invariant(
    "INV-ONE-TXN", "one_transaction_at_a_time",
    "at most one DM transaction per VM, only after negotiation and the quiet period",
    "safety",
    (
        _vm("transaction => channel READY",
            lambda ops, s, vm: ops.Implies(vm.txn != TxnKind.NONE,
                                           ops.And(is_running(vm), vm.channel == Channel.READY)),
            lambda s, vm: f"{vm.name}: {_txn(vm.txn)} in flight on channel "
                          f"{_channel(vm.channel)}"),
        _pair("a transaction in flight is never replaced",
              # Same kind and amount is the same transaction only if its progress (balloon
              # pages received) never goes back: a re-sent request would reset it.
              lambda ops, e, a, b: ops.Or(
                  a.txn == TxnKind.NONE, b.txn == TxnKind.NONE,
                  ops.And(a.txn == b.txn, a.txn_mib == b.txn_mib,
                          b.txn_done_mib >= a.txn_done_mib)),
              lambda e, a, b: f"{a.name}: {_txn(a.txn)} {a.txn_mib} MiB (received "
                              f"{a.txn_done_mib}) replaced by {_txn(b.txn)} {b.txn_mib} MiB "
                              f"(received {b.txn_done_mib}) on {e.KIND}"),
    ),
)

_SETTINGS = ("dynamic", "startup_mib", "maximum_mib", "buffer_pct", "weight", "dm_capable")


def _settings_equal(ops: Ops, a: VmLike, b: VmLike) -> Term:
    if ops is CONCRETE and a.settings is b.settings:
        return True  # one settings value: every field equal (most steps keep it)
    return ops.And(*[getattr(a.settings, f) == getattr(b.settings, f) for f in _SETTINGS])


CONFIG = Invariant(
    "INV-CONFIG", "settings_valid_and_frozen_while_running",
    "settings are in range and change only while the VM is off (profile 2008R2SP1)",
    "safety",
    (
        _vm("settings in range",
            lambda ops, s, vm: ops.And(
                vm.settings.startup_mib >= ops.units.of_mib(MIN_STARTUP_MIB),
                vm.settings.startup_mib % ops.units.unit == 0,
                vm.settings.maximum_mib % ops.units.unit == 0,
                vm.settings.startup_mib <= vm.settings.maximum_mib,
                vm.settings.maximum_mib <= ops.units.of_mib(MAX_MAXIMUM_MIB),
                vm.settings.buffer_pct >= MIN_BUFFER_PERCENT,
                vm.settings.buffer_pct <= MAX_BUFFER_PERCENT,
                vm.settings.weight >= MIN_WEIGHT, vm.settings.weight <= MAX_WEIGHT),
            lambda s, vm: f"{vm.name}: {vm.settings!r}"),
        _pair("settings change only while off",
              lambda ops, e, a, b: ops.Implies(ops.Or(is_running(a), is_running(b)),
                                               _settings_equal(ops, a, b)),
              lambda e, a, b: f"{a.name}: settings changed on {e.KIND} while running"),
    ),
)

# --- layer (c): auxiliary strengthening --------------------------------------------------------

TXN_SHAPE = Invariant(
    "AUX-TXN", "transaction_bookkeeping",
    "a transaction's amounts fit its kind: a balloon keeps the floor, a hot-add the maximum, "
    "an unballoon the ballooned pages",
    "aux",
    (
        _vm("idle => no amounts",
            lambda ops, s, vm: ops.Implies(vm.txn == TxnKind.NONE,
                                           ops.And(vm.txn_mib == 0, vm.txn_done_mib == 0)),
            lambda s, vm: f"{vm.name}: idle with txn_mib {vm.txn_mib}, done {vm.txn_done_mib}"),
        _vm("balloon keeps the floor",
            lambda ops, s, vm: ops.Implies(
                vm.txn == TxnKind.BALLOON,
                ops.And(vm.txn_done_mib < vm.txn_mib,
                        assigned(vm) - outstanding_balloon(ops, vm) >= vm.settings.startup_mib)),
            lambda s, vm: f"{vm.name}: balloon {vm.txn_mib} (done {vm.txn_done_mib}) with "
                          f"assigned {assigned(vm)}, startup {vm.settings.startup_mib}"),
        _vm("grant fits",
            lambda ops, s, vm: ops.And(
                ops.Implies(vm.txn == TxnKind.UNBALLOON, vm.txn_mib <= vm.ballooned_mib),
                ops.Implies(vm.txn == TxnKind.HOT_ADD,
                            vm.visible_mib + vm.txn_mib <= vm.settings.maximum_mib),
                ops.Implies(vm.txn != TxnKind.BALLOON, vm.txn_done_mib == 0),
                in_flight(ops, vm) >= 0),
            lambda s, vm: f"{vm.name}: {_txn(vm.txn)} {vm.txn_mib} MiB with visible "
                          f"{vm.visible_mib}, ballooned {vm.ballooned_mib}, maximum "
                          f"{vm.settings.maximum_mib}"),
    ),
)

FREE_NONNEG = Invariant(
    "AUX-FREE", "free_ledger_non_negative",
    "the host's free-memory ledger never goes below zero",
    "aux",
    (
        _host("free >= 0", lambda ops, s: s.free_mib >= 0, lambda s: f"free {s.free_mib} < 0"),
    ),
)


# --- the lifecycle (specs/lifecycle.md) --------------------------------------------------------


def _with_dm(ops: Ops, vm: Any) -> Term:
    return ops.And(vm.settings.dynamic, vm.settings.dm_capable)


NO_DM_AT_STARTUP = Invariant(
    "INV-NO-DM-STARTUP", "no_dm_guest_stays_at_startup",
    "a running VM without a DM-capable guest stays at startup: nothing hot-added or "
    "ballooned, no DM channel",
    "safety",
    (
        _vm("running without DM => at startup, no channel",
            lambda ops, s, vm: ops.Implies(
                ops.And(is_running(vm), vm.settings.dynamic, ops.Not(vm.settings.dm_capable)),
                ops.And(vm.visible_mib == vm.settings.startup_mib, vm.ballooned_mib == 0,
                        vm.channel == Channel.NONE)),
            lambda s, vm: f"{vm.name}: no DM guest, visible {vm.visible_mib} (startup "
                          f"{vm.settings.startup_mib}), ballooned {vm.ballooned_mib}, channel "
                          f"{_channel(vm.channel)}"),
    ),
)

SESSION = Invariant(
    "INV-SESSION", "new_session_starts_clean",
    "a DM session starts clean: nothing is ballooned before it is READY, and no report "
    "survives the end of a session",
    "safety",
    (
        _vm("not READY => nothing ballooned",
            lambda ops, s, vm: ops.Implies(vm.channel != Channel.READY, vm.ballooned_mib == 0),
            lambda s, vm: f"{vm.name}: {vm.ballooned_mib} MiB ballooned on channel "
                          f"{_channel(vm.channel)}"),
        _vm("new session or off => no report",
            lambda ops, s, vm: ops.Implies(
                ops.Or(vm.channel == Channel.NEGOTIATING, ops.Not(is_running(vm))),
                ops.Not(vm.has_report)),
            lambda s, vm: f"{vm.name}: report {vm.report_mib} MiB kept on channel "
                          f"{_channel(vm.channel)}"),
    ),
)


def _restore_of(event: Any, vm: Any) -> bool:
    """Whether ``event`` restores ``vm`` or admits it (a waiting restore, lifecycle.md §4.7)
    (a Python bool in both modes)."""
    return bool(event.KIND in ("restore", "start_admit")
                and getattr(event, "vm", None) == vm.name)


RESTORED = Invariant(
    "INV-RESTORED", "restored_vm_owns_its_saved_amount",
    "a restored VM owns exactly its saved amount, nothing ballooned or in flight",
    "safety",
    (
        _pair("restore => owns the saved amount",
              # a VM the step leaves alone satisfies it (L-PAIR-REFLEXIVE): a saved one is
              # not running
              lambda ops, e, a, b: (not _restore_of(e, a)) or ops.Or(
                  ops.And(a.power != Power.SAVED, a.power != Power.STARTING),
                  a.saved_mib == 0, ops.Not(is_running(b)),
                  ops.And(owned(ops, b) == a.saved_mib, b.ballooned_mib == 0,
                          b.txn == TxnKind.NONE)),
              lambda e, a, b: f"{a.name}: saved {a.saved_mib} MiB, restored owning "
                              f"{owned(CONCRETE, b)} (ballooned {b.ballooned_mib}, txn "
                              f"{_txn(b.txn)})"),
    ),
)

# --- the protocol's guards that carry a claim (specs/invariants.md, specs/protocol.md §2-3) ------


def _hot_add_answer_to(event: Any, vm: VmLike) -> bool:
    """Whether ``event`` is a hot-add response from ``vm`` (a Python bool in both modes)."""
    return bool(event.KIND == "hot_add_response" and event.vm == vm.name)


def _balloon_needs_cap(ops: Ops, vm: VmLike) -> Term:
    # pages the guest gave, or is asked to give or to take back, through its balloon
    return ops.And(ops.Implies(vm.ballooned_mib > 0, vm.cap_balloon),
                   ops.Implies(vm.txn == TxnKind.BALLOON, vm.cap_balloon),
                   ops.Implies(vm.txn == TxnKind.UNBALLOON, vm.cap_balloon))


ADVERTISED = Invariant(
    "INV-ADVERTISED", "requests_only_of_advertised_kinds",
    "a guest gets only requests of the kinds it advertised: balloon and unballoon need the "
    "balloon capability, hot-add the hot-add capability",
    "safety",
    (
        _vm("balloon pages => cap_balloon",
            lambda ops, s, vm: _balloon_needs_cap(ops, vm),
            lambda s, vm: f"{vm.name}: txn {_txn(vm.txn)}, ballooned {vm.ballooned_mib} MiB, "
                          f"but the guest did not advertise balloon"),
        _vm("hot-add in flight => cap_hot_add",
            lambda ops, s, vm: ops.Implies(vm.txn == TxnKind.HOT_ADD, vm.cap_hot_add),
            lambda s, vm: f"{vm.name}: hot-add of {vm.txn_mib} MiB in flight, but the guest "
                          f"did not advertise hot-add"),
    ),
)


def _partial_disables_hot_add(ops: Ops, e: Any, a: VmLike, b: VmLike) -> Term:
    """A partial hot-add answer (something added, less than asked) disables hot-add, and only
    a reboot of the guest enables it again (R-HOT-ADD-RESPONSE, R-RESTART).

    An empty answer cannot be told from a transient failure here (a two-state clause sees
    the event's kind, not its result): the refinement check covers that case of the update.
    """
    if _restart_of(e, a):
        return True
    stays_off = ops.Implies(ops.Not(a.hot_add_enabled), ops.Not(b.hot_add_enabled))
    if _hot_add_answer_to(e, a):
        added = b.visible_mib - a.visible_mib
        partial = ops.And(a.txn == TxnKind.HOT_ADD, added > 0, added < a.txn_mib)
        stays_off = ops.And(stays_off, ops.Implies(partial, ops.Not(b.hot_add_enabled)))
    return ops.Implies(ops.And(is_running(a), is_running(b)), stays_off)


NO_HOT_ADD_AFTER_PARTIAL = Invariant(
    "INV-NO-HOT-ADD-AFTER-PARTIAL", "no_hot_add_after_partial",
    "after a partial hot-add the host sends no hot-add until the guest restarts",
    "safety",
    (
        _vm("hot-add in flight => hot-add enabled",
            lambda ops, s, vm: ops.Implies(vm.txn == TxnKind.HOT_ADD, vm.hot_add_enabled),
            lambda s, vm: f"{vm.name}: hot-add of {vm.txn_mib} MiB in flight after hot-add "
                          f"was disabled"),
        _pair("a partial hot-add disables hot-add until restart", _partial_disables_hot_add,
              lambda e, a, b: f"{a.name}: hot-add enabled {a.hot_add_enabled} -> "
                              f"{b.hot_add_enabled} on {e.KIND} (visible {a.visible_mib} -> "
                              f"{b.visible_mib}, {_txn(a.txn)} {a.txn_mib} MiB)"),
    ),
)

UNBALLOON_FIRST = Invariant(
    "INV-UNBALLOON-FIRST", "unballoon_before_hot_add",
    "the host hot-adds only to a VM none of whose pages it holds ballooned: it gives them "
    "back first",
    "safety",
    (
        _vm("hot-add in flight => nothing ballooned",
            lambda ops, s, vm: ops.Implies(vm.txn == TxnKind.HOT_ADD, vm.ballooned_mib == 0),
            lambda s, vm: f"{vm.name}: hot-add of {vm.txn_mib} MiB in flight while "
                          f"{vm.ballooned_mib} MiB are ballooned"),
    ),
)

HOT_ADD_ALIGNED = Invariant(
    "INV-HOT-ADD-ALIGNED", "hot_add_aligned_to_advertised",
    "a hot-add is a multiple of the alignment the guest advertised (at least 2 MiB), which "
    "is a power of two up to 32 GiB",
    "safety",
    (
        _vm("alignment 2^k MiB, 2 MiB to 32 GiB",
            lambda ops, s, vm: is_aligned(ops, 0, vm.hot_add_align_mib),
            lambda s, vm: f"{vm.name}: hot-add alignment {vm.hot_add_align_mib} MiB is not a "
                          f"power of two from 2 MiB to 32 GiB"),
        _vm("hot-add in flight => aligned",
            lambda ops, s, vm: ops.Implies(vm.txn == TxnKind.HOT_ADD,
                                           is_aligned(ops, vm.txn_mib, vm.hot_add_align_mib)),
            lambda s, vm: f"{vm.name}: hot-add of {vm.txn_mib} MiB in flight, not a multiple "
                          f"of the {vm.hot_add_align_mib} MiB its guest advertised"),
        # implied by the clause above (an alignment is at least 2 MiB) but linear: the proof
        # in pages that a partial hot-add's charge (its last unit whole) fits the request
        # needs it, and Z3 finds it slowly through the variable alignment
        _vm("hot-add in flight => whole 2 MiB units",
            lambda ops, s, vm: ops.Implies(vm.txn == TxnKind.HOT_ADD,
                                           vm.txn_mib % ops.units.unit == 0),
            lambda s, vm: f"{vm.name}: hot-add of {vm.txn_mib} MiB in flight, not whole 2 MiB "
                          f"units"),
    ),
)

LIFECYCLE = Invariant(
    "AUX-LIFECYCLE", "lifecycle_bookkeeping",
    "only a saved VM or a restore waiting for reclaim has an image, and it fits its "
    "settings; only a transaction in flight can be stuck",
    "aux",
    (
        _vm("saved image fits",
            lambda ops, s, vm: ops.If(
                ops.Or(vm.power == Power.SAVED,
                       ops.And(vm.power == Power.STARTING, vm.saved_mib > 0)),
                ops.If(_with_dm(ops, vm),
                       ops.And(vm.saved_mib >= vm.settings.startup_mib,
                               vm.saved_mib <= vm.settings.maximum_mib),
                       vm.saved_mib == vm.settings.startup_mib),
                vm.saved_mib == 0),
            lambda s, vm: f"{vm.name}: power {vm.power}, saved {vm.saved_mib} MiB (startup "
                          f"{vm.settings.startup_mib}, maximum {vm.settings.maximum_mib})"),
        _vm("stuck => transaction",
            lambda ops, s, vm: ops.Implies(vm.stuck, vm.txn != TxnKind.NONE),
            lambda s, vm: f"{vm.name}: stuck with no transaction"),
    ),
)

def _connected(ops: Ops, vm: VmLike) -> Term:
    """Past version negotiation: the channel is CAPS, QUIET or READY (consecutive values)."""
    return ops.And(vm.channel >= Channel.CAPS, vm.channel <= Channel.READY)


def _version_word(version: int) -> str:
    return VERSION_NAMES.get(version, f"{version:#x}")


VERSION = Invariant(
    "INV-VERSION", "negotiated_version_accepted_by_host",
    "a negotiated protocol version is one the host's profile accepts",
    "safety",
    (
        _vm("connected => version accepted by the host",
            lambda ops, s, vm: ops.Implies(_connected(ops, vm),
                                           is_accepted_version(ops, s.host,
                                                               vm.protocol_version)),
            lambda s, vm: f"{vm.name}: channel {_channel(vm.channel)} on protocol "
                          f"{_version_word(vm.protocol_version)}, which host profile "
                          f"{_profile_word(s.host.profile)} does not accept"),
    ),
)


def _profile_word(profile: int) -> str:
    try:
        return HOST_PROFILE_WORDS[HostProfile(profile)]
    except ValueError:
        return str(profile)


# --- the order of squeezes (R-RECLAIM-ORDER, specs/invariants.md) -------------------------------


def _new_balloon(ops: Ops, a: VmLike, b: VmLike) -> Term:
    """The step opened a balloon on this VM (a tick's request)."""
    return ops.And(a.txn == TxnKind.NONE, b.txn == TxnKind.BALLOON)


def _squeezes_only_below_heavier(ops: Ops, e: Any, pre: Any, post: Any) -> Term:
    if e.KIND != "balancer_tick":
        return True  # a request on its own is another balancer's decision (events.md §3)
    waits = is_start_waiting(ops, pre.vms)
    if waits is False:  # concretely no start waits: nothing is a squeeze (skip the pairs)
        return True
    top = get_top_weight(ops, pre.vms)

    def ordered(a: VmLike, b: VmLike) -> Term:
        squeezed = ops.And(waits, _new_balloon(ops, a, b), is_squeeze(ops, a, b.txn_mib))
        return ops.Implies(squeezed, a.settings.weight < top)

    return ops.all_pairs(pre.vms, post.vms, ordered)


def _explain_squeeze(e: Any, pre: Any, post: Any) -> str:
    after = {vm.name: vm for vm in post.vms}
    top = get_top_weight(CONCRETE, pre.vms)
    for a in pre.vms:
        b = after.get(a.name)
        if (b is not None and is_start_waiting(CONCRETE, pre.vms) and _new_balloon(CONCRETE, a, b)
                and is_squeeze(CONCRETE, a, b.txn_mib) and a.settings.weight >= top):
            return (f"{a.name} (weight {a.settings.weight}) is ballooned {b.txn_mib} MiB from "
                    f"assigned {assigned(a)}, below the demand its report shows "
                    f"({a.report_mib} MiB reported, {a.ballooned_mib} ballooned) while a start "
                    f"waits, and no VM of higher weight runs or waits to start (highest: {top})")
    return "a tick squeezed a VM of the highest weight"


RECLAIM_ORDER = Invariant(
    "INV-RECLAIM-ORDER", "squeeze_only_below_a_heavier_vm",
    "while a start waits, a balancer tick balloons a VM below the demand its report shows (a "
    "squeeze) only when a VM of strictly higher weight runs or waits to start: reclaim never "
    "squeezes a VM of the highest weight",
    "safety",
    (_step("a tick squeezes only below a heavier VM", _squeezes_only_below_heavier,
           _explain_squeeze),),
)

INVARIANTS: tuple[Invariant, ...] = (
    TYPE_OK, FLOOR, CEILING, PHYSICAL, NO_HOST_PAGING, CONSERVATION, STATIC, OFF, ONE_TXN,
    CONFIG, NO_DM_AT_STARTUP, SESSION, RESTORED, ADVERTISED, NO_HOT_ADD_AFTER_PARTIAL,
    UNBALLOON_FIRST, VERSION, RECLAIM_ORDER, HOT_ADD_ALIGNED, TXN_SHAPE, FREE_NONNEG,
    LIFECYCLE,
)
BY_ID: dict[str, Invariant] = {inv.id: inv for inv in INVARIANTS}


# --- evaluation ---------------------------------------------------------------------------------


def _clause_term(ops: Ops, clause: Clause, s: Any) -> Term:
    if clause.scope == "vm":
        return ops.all_vms(s.vms, lambda vm: clause.holds(ops, s, vm))
    return clause.holds(ops, s)


def holds(ops: Ops, invariant: Invariant, state: Any) -> Term:
    """The state clauses of ``invariant`` on ``state`` (pair clauses are ignored here)."""
    return ops.And(*[_clause_term(ops, c, state) for c in invariant.clauses
                     if is_state_clause(c)])


def holds_step(ops: Ops, invariant: Invariant, pre: Any, event: Any, post: Any) -> Term:
    """The two-state clauses of ``invariant`` on the step ``pre --event--> post``."""
    def pair_term(clause: Clause) -> Term:
        if clause.scope == "step":
            return clause.holds(ops, event, pre, post)
        return ops.all_pairs(pre.vms, post.vms, lambda a, b: clause.holds(ops, event, a, b))

    return ops.And(*[pair_term(c) for c in invariant.clauses if not is_state_clause(c)])


def check_state(state: Any, invariants: Sequence[Invariant] = INVARIANTS) -> list[Violation]:
    """Every state clause that fails on ``state``, concretely, with its values."""
    found = []
    for inv in invariants:
        for clause in inv.clauses:
            if clause.scope == "host" and not clause.holds(CONCRETE, state):
                found.append(Violation(inv.id, clause.name, None, clause.explain(state)))
            elif clause.scope == "vm":
                for vm in state.vms:
                    if not clause.holds(CONCRETE, state, vm):
                        found.append(Violation(inv.id, clause.name, vm.name,
                                               clause.explain(state, vm)))
    return found


def check_step(pre: Any, event: Any, post: Any,
               invariants: Sequence[Invariant] = INVARIANTS) -> list[Violation]:
    """Every two-state clause that fails on the step ``pre --event--> post``, concretely."""
    found = []
    after = {vm.name: vm for vm in post.vms}
    for inv in invariants:
        for clause in (c for c in inv.clauses if c.scope == "step"):
            if not clause.holds(CONCRETE, event, pre, post):
                found.append(Violation(inv.id, clause.name, None,
                                       clause.explain(event, pre, post)))
        for clause in (c for c in inv.clauses if c.scope == "pair"):
            for a in pre.vms:
                b = after.get(a.name)
                if b is not None and not clause.holds(CONCRETE, event, a, b):
                    found.append(Violation(inv.id, clause.name, a.name,
                                           clause.explain(event, a, b)))
    return found
