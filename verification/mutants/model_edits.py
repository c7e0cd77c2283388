"""Planted bugs at the model level: each a small, pure edit of the model's actions.

A model mutant is a function from the action tuple of model/actions.py to a new tuple in
which one guard is dropped or weakened, or one update is replaced. Nothing is copied: the
helpers below rebuild just the touched :class:`~dynmem.model.actions.Action` with
``attrs.evolve``, and refuse (``ValueError``) to edit a guard or action that does not exist,
so a renamed guard cannot silently turn a mutant into the real model.

Each mutant is the model-level twin of the reference-level bug of the same name in the
shared catalogue (verification/mutants/catalogue.py): the same guard weakened the same way, the same
update, so a counterexample BMC finds replays step for step in that bug's reference step.
Every mutant names the invariant (DOMAIN.md §3, specs/invariants.md) BMC must find broken;
together they cover INV-FLOOR, INV-CEILING, INV-PHYSICAL, INV-NO-HOST-PAGING,
INV-CONSERVATION, INV-STATIC, INV-OFF, INV-ONE-TXN and INV-CONFIG, and the protocol guards'
INV-ADVERTISED, INV-NO-HOT-ADD-AFTER-PARTIAL, INV-UNBALLOON-FIRST and INV-HOT-ADD-ALIGNED.
The request bugs
mutate the individual request actions, not the nondeterministic BalancerTick: a bug needs
one path to show, and the tick sends the same requests (its unmutated guards are stricter,
so every tick the model takes is one the buggy reference takes too). The one tick-only rule,
R-RECLAIM-ORDER (INV-RECLAIM-ORDER), is mutated on the tick itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from dynmem.model.actions import (
    ACTIONS,
    Action,
    Guard,
    HostView,
    UpdateFn,
    restore_update_when,
)
from dynmem.model.ops import Ops, Term
from dynmem.model.quantities import assigned
from dynmem.model.shapes import SlotLike
from dynmem.model.vocabulary import (
    MAX_MAXIMUM_MIB,
    MEMORY_UNIT_MIB,
    SUPPORTED_VERSIONS,
    Channel,
    TxnKind,
)

Actions = tuple[Action, ...]
Mutation = Callable[[Actions], Actions]

# The DM request actions (each is also one choice of a BalancerTick).
REQUEST_ACTIONS = ("BalloonRequest", "UnballoonRequest", "HotAddRequest")


@attrs.frozen
class ModelMutant:
    """A planted bug in the model: its name, what it does, the invariant it must break."""

    name: str
    description: str
    invariant: str
    mutate: Mutation
    # the reference-level property ``invariant`` reads without the policy's target, when the
    # reference bug is listed by that property (INV-RECLAIM-ORDER reads PROG-RECLAIM-ORDER)
    reads: str | None = None

    def apply(self, actions: Sequence[Action] = ACTIONS) -> Actions:
        """The mutated actions (the real model's by default)."""
        return self.mutate(tuple(actions))


# --- edit helpers ---------------------------------------------------------------------------


def get_action(actions: Sequence[Action], name: str) -> Action:
    """The action called ``name`` (``ValueError`` if there is none)."""
    for action in actions:
        if action.name == name:
            return action
    raise ValueError(f"no action named {name!r}; actions: {[a.name for a in actions]}")


def replace_action(actions: Actions, name: str, edit: Callable[[Action], Action]) -> Actions:
    """``actions`` with the one called ``name`` replaced by ``edit(action)``."""
    get_action(actions, name)  # fails loudly on an unknown name
    return tuple(edit(a) if a.name == name else a for a in actions)


def _guard_index(action: Action, guard_name: str) -> int:
    for index, guard in enumerate(action.guards):
        if guard.name == guard_name:
            return index
    raise ValueError(f"{action.name} has no guard {guard_name!r}; guards: "
                     f"{[g.name for g in action.guards]}")


def drop_guard(action: Action, guard_name: str) -> Action:
    """``action`` without its guard ``guard_name``."""
    index = _guard_index(action, guard_name)
    return attrs.evolve(action, guards=action.guards[:index] + action.guards[index + 1:])


def swap_guard(action: Action, guard_name: str, guard: Guard) -> Action:
    """``action`` with its guard ``guard_name`` replaced by ``guard``."""
    index = _guard_index(action, guard_name)
    return attrs.evolve(action, guards=(*action.guards[:index], guard,
                                        *action.guards[index + 1:]))


def swap_update(action: Action, update: UpdateFn,
                modifies: tuple[str, ...] | None = None) -> Action:
    """``action`` with another update (and declared fields, when they change)."""
    return attrs.evolve(action, update=update,
                        modifies=action.modifies if modifies is None else modifies)


def _each(names: Sequence[str], edit: Callable[[Action], Action]) -> Mutation:
    def mutate(actions: Actions) -> Actions:
        for name in names:
            actions = replace_action(actions, name, edit)
        return actions
    return mutate


def _one(name: str, edit: Callable[[Action], Action]) -> Mutation:
    return _each((name,), edit)


# --- the mutated guards and updates -----------------------------------------------------------


def _fits_with_reserve(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> Term:
    # BUG: the reserve is counted as available (grants take from free only:
    # R-HOT-ADD-REQUEST, R-UNBALLOON-REQUEST)
    return p.mib <= h.free_mib + h.host.reserve_mib


def _within_assigned(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> Term:
    # BUG: the floor is forgotten (R-BALLOON-REQUEST keeps assigned - mib >= startup)
    return p.mib <= assigned(vm)


def _within_limit(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> Term:
    # BUG: the profile's 64 GiB limit is read instead of the VM's maximum (R-HOT-ADD-REQUEST)
    return vm.visible_mib + p.mib <= MAX_MAXIMUM_MIB


def _quiet_or_ready(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> Term:
    # BUG: requests go out during the quiet period too (R-REQUEST-1 wants READY)
    return ops.Or(vm.channel == Channel.QUIET, vm.channel == Channel.READY)


def _with_update(action: Action, extra: UpdateFn,
                 modifies: tuple[str, ...]) -> Action:
    """``action`` whose update is the original one overridden by ``extra``'s values."""
    original = action.update

    def update(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> dict[str, Term]:
        return {**original(ops, h, vm, p), **extra(ops, h, vm, p)}

    return swap_update(action, update, modifies)


def _balloon_freed_at_request(action: Action) -> Action:
    # BUG: a balloon's pages count as free when asked for, not when the response brings them
    return _with_update(action, lambda ops, h, vm, p: {"free_mib": h.free_mib + p.mib},
                        (*action.modifies, "free_mib"))


def _balloon_taken_at_request(action: Action) -> Action:
    # BUG: the host takes the pages itself when it asks (no transaction, no guest answer)
    return swap_update(action, lambda ops, h, vm, p: {
        "ballooned_mib": vm.ballooned_mib + p.mib, "free_mib": h.free_mib + p.mib,
    }, ("ballooned_mib", "free_mib"))


def _stop_returns_assigned_only(action: Action) -> Action:
    # BUG: in-flight memory (hot-add, unballoon) is not given back on stop (R-STOP)
    return _with_update(action, lambda ops, h, vm, p: {"free_mib": h.free_mib + assigned(vm)},
                        action.modifies)


_TXN_FIELDS = ("txn", "txn_mib", "txn_done_mib")


def _stop_keeps_txn(action: Action) -> Action:
    # BUG: the transaction in flight survives the stop (R-STOP drops it), and with it the
    # memory in flight: only the assigned memory returns; the frame keeps the txn fields
    original = action.update

    def update(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> dict[str, Term]:
        kept = {f: v for f, v in original(ops, h, vm, p).items() if f not in _TXN_FIELDS}
        return {**kept, "free_mib": h.free_mib + assigned(vm)}

    return swap_update(action, update, tuple(f for f in action.modifies if f not in _TXN_FIELDS))


def _start_without_free(action: Action) -> Action:
    # BUG: R-START boots the VM even when startup is not free (it should wait for reclaim):
    # the original update, shown a free ledger that always fits, then charged the real one
    original = action.update

    def update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
        startup = vm.settings.startup_mib
        fits = HostView(h.host, ops.If(startup <= h.free_mib, h.free_mib, startup))
        return {**original(ops, fits, vm, p), "free_mib": h.free_mib - startup}

    return swap_update(action, update)


def _reset_keeps_ballooned(action: Action) -> Action:
    # BUG: the reset forgets that the guest regains its ballooned pages (R-CHANNEL-RESET):
    # they stay ballooned and free; only an unballoon in flight completes
    return _with_update(action, lambda ops, h, vm, p: {
        "ballooned_mib": vm.ballooned_mib - ops.If(vm.txn == TxnKind.UNBALLOON, vm.txn_mib, 0),
        "free_mib": h.free_mib,
    }, action.modifies)


def _stuck_takes_outstanding(action: Action) -> Action:
    # BUG: giving up on a balloon counts its outstanding pages as received (R-STUCK frees
    # nothing)
    def update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
        balloon = vm.txn == TxnKind.BALLOON
        outstanding = ops.If(balloon, vm.txn_mib - vm.txn_done_mib, 0)
        return {"stuck": ops.Not(balloon),
                "ballooned_mib": vm.ballooned_mib + outstanding,
                "txn": ops.If(balloon, TxnKind.NONE, vm.txn),
                "txn_mib": ops.If(balloon, 0, vm.txn_mib),
                "txn_done_mib": ops.If(balloon, 0, vm.txn_done_mib),
                "free_mib": h.free_mib + outstanding}

    return swap_update(action, update, ("stuck", "ballooned_mib", *_TXN_FIELDS, "free_mib"))


def _restart_keeps_report(action: Action) -> Action:
    # BUG: the report from before the reboot survives (R-RESTART drops it): the update no
    # longer sets it, so the frame keeps it
    original = action.update

    def update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
        return {f: v for f, v in original(ops, h, vm, p).items()
                if f not in ("has_report", "report_mib")}

    return swap_update(action, update, tuple(f for f in action.modifies
                                             if f not in ("has_report", "report_mib")))


def _restore_when_startup_free(ops: Ops, h: HostView, vm: Any, p: Any) -> Term:
    # BUG: the restore checks startup, not the saved (current) memory (R-RESTORE)
    return vm.settings.startup_mib <= h.free_mib


def _admits_at_startup(action: Action) -> Action:
    # BUG: a waiting restore is admitted as a start: at startup, its image forgotten
    # (R-START-ADMIT runs a restore at its image, lifecycle.md §4.7)
    startup_fits = Guard("startup <= free", "R-START-ADMIT",
                         lambda ops, h, vm, p: vm.settings.startup_mib <= h.free_mib)
    return _with_update(swap_guard(action, "needed <= free", startup_fits),
                        lambda ops, h, vm, p: {
                            "visible_mib": vm.settings.startup_mib,
                            "free_mib": h.free_mib - vm.settings.startup_mib},
                        action.modifies)


def _start_opens_channel_for_all(action: Action) -> Action:
    # BUG: every DM-capable guest gets a DM channel, static VMs too (R-START: dynamic only)
    return _with_update(action, lambda ops, h, vm, p: {
        "channel": ops.If(vm.settings.dm_capable, Channel.NEGOTIATING, Channel.NONE),
    }, action.modifies)


def _balloon_answer_unclamped(action: Action) -> Action:
    # BUG: the guest's amount is trusted, not clamped to what is still outstanding
    def update(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> dict[str, Term]:
        taken = p.mib - p.mib % MEMORY_UNIT_MIB
        done = vm.txn_done_mib + taken
        finished = ops.Or(ops.Not(p.more_pages), done >= vm.txn_mib)
        return {"ballooned_mib": vm.ballooned_mib + taken,
                "txn": ops.If(finished, TxnKind.NONE, TxnKind.BALLOON),
                "txn_mib": ops.If(finished, 0, vm.txn_mib),
                "txn_done_mib": ops.If(finished, 0, done),
                "stuck": False,
                "free_mib": h.free_mib + taken}

    return swap_update(action, update)


def _partial_keeps_hot_add(action: Action) -> Action:
    # BUG: a partial or empty hot-add answer leaves hot-add enabled (R-HOT-ADD-RESPONSE
    # disables it until the guest restarts)
    return _with_update(action, lambda ops, h, vm, p: {"hot_add_enabled": vm.hot_add_enabled},
                        action.modifies)


def _accepts_every_known_version(action: Action) -> Action:
    def known(ops: Ops, version: Term) -> Term:
        return ops.Or(*[version == v for v in SUPPORTED_VERSIONS])

    def update(ops: Ops, h: HostView, vm: SlotLike, p: Any) -> dict[str, Term]:
        refused_last = ops.And(p.last_attempt, ops.Not(known(ops, p.version)))
        return {"channel": ops.If(known(ops, p.version), Channel.CAPS,
                                  ops.If(p.last_attempt, Channel.FAILED, vm.channel)),
                "protocol_version": ops.If(refused_last, 0, p.version)}

    return swap_update(action, update)


# --- the catalogue ----------------------------------------------------------------------------

_MUTANTS = (
    ModelMutant(
        "hot_add_ignores_reserve",
        "HotAddRequest and UnballoonRequest check mib <= free + reserve: the host's reserve "
        "is given to a VM",
        "INV-PHYSICAL",
        _each(("HotAddRequest", "UnballoonRequest"), lambda a: swap_guard(a, "mib <= free", Guard(
            "mib <= free + reserve", a.spec, _fits_with_reserve)))),
    ModelMutant(
        "balloon_counted_free_at_request",
        "BalloonRequest adds the requested pages to free at once, before any response",
        "INV-CONSERVATION",
        _one("BalloonRequest", _balloon_freed_at_request)),
    ModelMutant(
        "stop_leaks_in_flight",
        "Stop returns only the assigned memory; an in-flight hot-add or unballoon is lost",
        "INV-CONSERVATION",
        _one("Stop", _stop_returns_assigned_only)),
    ModelMutant(
        "stop_keeps_transaction",
        "Stop leaves the transaction in flight on the VM that is now off",
        "INV-OFF",
        _one("Stop", _stop_keeps_txn)),
    ModelMutant(
        "balloon_below_startup",
        "BalloonRequest checks mib <= assigned instead of assigned - startup: the guest "
        "balloons below its startup memory",
        "INV-FLOOR",
        _one("BalloonRequest", lambda a: swap_guard(a, "mib <= assigned - startup", Guard(
            "mib <= assigned", "R-BALLOON-REQUEST", _within_assigned)))),
    ModelMutant(
        "static_vm_gets_dm_request",
        "Start opens a DM channel for static VMs too and the requests skip the 'vm dynamic' "
        "guard: a static VM negotiates and gets DM requests",
        "INV-STATIC",
        lambda actions: _each(REQUEST_ACTIONS, lambda a: drop_guard(a, "vm dynamic"))(
            replace_action(actions, "Start", _start_opens_channel_for_all))),
    ModelMutant(
        "settings_change_while_running",
        "Configure lacks its 'vm off' guard: settings change while the VM runs",
        "INV-CONFIG",
        _one("Configure", lambda a: drop_guard(a, "vm off"))),
    ModelMutant(
        "oversized_answer_not_clamped",
        "BalloonResponse counts every page the guest claims, even more than is outstanding",
        "INV-NO-HOST-PAGING",
        _one("BalloonResponse", _balloon_answer_unclamped)),
    ModelMutant(
        "second_txn_while_in_flight",
        "The DM requests lack 'no transaction in flight': a second transaction replaces the "
        "first",
        "INV-ONE-TXN",
        _each(REQUEST_ACTIONS, lambda a: drop_guard(a, "no transaction in flight"))),
    ModelMutant(
        "take_without_balloon_response",
        "BalloonRequest takes the pages from the VM at once: memory leaves a running VM "
        "without a balloon response",
        "INV-NO-HOST-PAGING",
        _one("BalloonRequest", _balloon_taken_at_request)),
    ModelMutant(
        "start_without_free_memory",
        "Start never waits for 'startup <= free': a VM starts without enough free memory",
        "INV-PHYSICAL",
        _one("Start", lambda a: _start_without_free(a))),
    ModelMutant(
        "hot_add_ignores_maximum",
        "HotAddRequest checks the 64 GiB limit instead of the VM's maximum: a VM grows "
        "above its maximum",
        "INV-CEILING",
        _one("HotAddRequest", lambda a: swap_guard(a, "visible + mib <= maximum", Guard(
            "visible + mib <= 64 GiB", "R-HOT-ADD-REQUEST", _within_limit)))),
    ModelMutant(
        "request_before_quiet_period_end",
        "The DM requests accept a QUIET channel: a transaction starts before the quiet "
        "period ends",
        "INV-ONE-TXN",
        _each(REQUEST_ACTIONS, lambda a: swap_guard(a, "channel READY", Guard(
            "channel QUIET/READY", "R-REQUEST-1", _quiet_or_ready)))),
    # the protocol guards that are claims (INV-ADVERTISED, INV-NO-HOT-ADD-AFTER-PARTIAL,
    # INV-UNBALLOON-FIRST)
    ModelMutant(
        "hot_add_without_capability",
        "HotAddRequest lacks its 'cap_hot_add' guard: a guest that did not advertise hot-add "
        "gets a hot-add",
        "INV-ADVERTISED",
        _one("HotAddRequest", lambda a: drop_guard(a, "cap_hot_add"))),
    ModelMutant(
        "balloon_without_capability",
        "BalloonRequest lacks its 'cap_balloon' guard: a guest that did not advertise balloon "
        "is ballooned",
        "INV-ADVERTISED",
        _one("BalloonRequest", lambda a: drop_guard(a, "cap_balloon"))),
    ModelMutant(
        "hot_add_after_partial",
        "HotAddRequest lacks its 'hot_add_enabled' guard: the host hot-adds again after a "
        "partial hot-add",
        "INV-NO-HOT-ADD-AFTER-PARTIAL",
        _one("HotAddRequest", lambda a: drop_guard(a, "hot_add_enabled"))),
    ModelMutant(
        "hot_add_kept_after_partial",
        "HotAddResponse leaves hot-add enabled after a partial answer",
        "INV-NO-HOT-ADD-AFTER-PARTIAL",
        _one("HotAddResponse", _partial_keeps_hot_add)),
    ModelMutant(
        "hot_add_before_unballoon",
        "HotAddRequest lacks its 'nothing ballooned' guard: the host hot-adds while it holds "
        "the VM's ballooned pages",
        "INV-UNBALLOON-FIRST",
        _one("HotAddRequest", lambda a: drop_guard(a, "nothing ballooned"))),
    # the lifecycle (specs/lifecycle.md)
    ModelMutant(
        "reset_keeps_ballooned_pages",
        "ChannelReset keeps the ballooned pages ballooned (and free) instead of giving them "
        "back to the guest",
        "INV-SESSION",
        _one("ChannelReset", _reset_keeps_ballooned)),
    ModelMutant(
        "restore_at_startup",
        "Restore runs at once when startup <= free instead of saved <= free: the host "
        "overcommits",
        "INV-PHYSICAL",
        _one("Restore", lambda a: swap_update(
            a, restore_update_when(_restore_when_startup_free)))),
    ModelMutant(
        "stuck_frees_unreceived",
        "StuckTimeout counts a stuck balloon's outstanding pages as received",
        "INV-NO-HOST-PAGING",
        _one("StuckTimeout", _stuck_takes_outstanding)),
    ModelMutant(
        "migrate_out_leaks_in_flight",
        "MigrateOut returns only the assigned memory; an in-flight hot-add or unballoon is "
        "lost",
        "INV-CONSERVATION",
        _one("MigrateOut", _stop_returns_assigned_only)),
    ModelMutant(
        "restart_keeps_report",
        "GuestRestart keeps the status report from before the reboot",
        "INV-SESSION",
        _one("GuestRestart", _restart_keeps_report)),
    ModelMutant(
        "reclaim_squeezes_higher_weight",
        "BalancerTick lacks 'squeeze only below a heavier VM': while a start waits it squeezes "
        "a VM of any weight, one of the highest weight included, for a lighter start",
        "INV-RECLAIM-ORDER",
        _one("BalancerTick", lambda a: drop_guard(a, "squeeze only below a heavier VM")),
        reads="PROG-RECLAIM-ORDER"),
    ModelMutant(
        "hot_add_unaligned",
        "HotAddRequest lacks its 'mib aligned' guard: a hot-add need not be a multiple of the "
        "alignment the guest advertised",
        "INV-HOT-ADD-ALIGNED",
        _one("HotAddRequest", lambda a: drop_guard(a, "mib aligned"))),
    ModelMutant(
        "host_accepts_any_version",
        "VersionRequest accepts 0.3, 1.0 and 2.0 whatever the host's profile: a 2008 R2 SP1 "
        "host connects on 2.0",
        "INV-VERSION",
        _one("VersionRequest", _accepts_every_known_version)),
    ModelMutant(
        "admit_without_free_memory",
        "StartAdmit lacks 'needed <= free': a waiting start is admitted without memory",
        "INV-PHYSICAL",
        _one("StartAdmit", lambda a: drop_guard(a, "needed <= free"))),
    ModelMutant(
        "restore_admitted_at_startup",
        "StartAdmit runs a waiting restore at startup: the image it was saved with is "
        "forgotten",
        "INV-RESTORED",
        _one("StartAdmit", _admits_at_startup)),
)

MODEL_MUTANTS: dict[str, ModelMutant] = {m.name: m for m in _MUTANTS}

# Catalogue names with no model-level variant, and why (the model's balancer is any policy
# that respects the guards, so a policy that oscillates is still a correct model step).
NO_MODEL_VARIANT: dict[str, str] = {
    "oscillating_policy": "a progress bug of the reference policy (PROG-FIXED-POINT): the "
                          "model's balancer is nondeterministic and has no policy to break",
    "linux_report_read_as_windows": "a progress bug of the reference policy "
                                    "(PROG-FIXED-POINT): it misreads Linux reports, but every "
                                    "request it sends passes the guards, and the model has "
                                    "neither a policy nor guest profiles",
}


def get_model_mutant(name: str) -> ModelMutant:
    """The model mutant called ``name`` (``KeyError`` naming the known ones otherwise)."""
    try:
        return MODEL_MUTANTS[name]
    except KeyError:
        raise KeyError(f"no model mutant {name!r}; known: {', '.join(MODEL_MUTANTS)}") from None


assert not set(MODEL_MUTANTS) & set(NO_MODEL_VARIANT)
assert all(m.invariant.startswith("INV-") for m in _MUTANTS)
