"""``step(state, event)``: the pure, deterministic, total transition function (specs/events.md).

Each ``process_<event>`` starts with its guards, one per line with the rule they implement;
a failed guard returns a rejection with a reason and leaves the state unchanged (a rejection
is a normal outcome, never an exception). Updates name the fields they change: ``evolve_vm``
(``attrs.evolve`` at half the cost, validators included), ``DmState.with_vm`` or
``attrs.evolve``. A processor of an event that names a VM reads only that VM, free memory
and the host settings, and changes only that VM and free memory (R-LOCAL).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs

from dynmem.model.vocabulary import (
    ADVERTISED_ALIGNMENTS_MIB,
    BALLOON_REQUEST_CAP_MIB,
    DEFAULT_HOT_ADD_ALIGN_MIB,
    HOT_ADD_REQUEST_CAP_MIB,
    MEMORY_UNIT_MIB,
    UNBALLOON_REQUEST_CAP_MIB,
    Channel,
    Power,
    TxnKind,
)
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    ChannelReset,
    Configure,
    Create,
    Delete,
    Demand,
    DmRequest,
    Event,
    GuestRestart,
    HotAddRequest,
    HotAddResponse,
    MigrateIn,
    MigrateOut,
    QuietPeriodEnd,
    Restore,
    Save,
    Start,
    StartAbort,
    StartAdmit,
    StatusReport,
    Stop,
    StuckTimeout,
    UnballoonRequest,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.settings import check_vm_settings
from dynmem.reference.state import DmState, Vm, evolve_vm

# Protocol caps per request kind (specs/protocol.md §4), in MiB.
REQUEST_CAPS_MIB = {
    BalloonRequest.KIND: BALLOON_REQUEST_CAP_MIB,
    UnballoonRequest.KIND: UNBALLOON_REQUEST_CAP_MIB,
    HotAddRequest.KIND: HOT_ADD_REQUEST_CAP_MIB,
}


@attrs.frozen
class StepResult:
    """The outcome of one event: the next state, or the unchanged state and a reason.

    ``sent`` lists the DM requests a BalancerTick sent, in order.
    """

    state: DmState
    reason: str | None = None
    sent: tuple[DmRequest, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.reason is None


def _reject(state: DmState, reason: str) -> StepResult:
    # R-REJECT: a disallowed event returns the unchanged state and a reason, never raises.
    return StepResult(state=state, reason=reason)


def _ok(state: DmState) -> StepResult:
    return StepResult(state=state)


def _vm_or_reason(state: DmState, name: str) -> Vm | str:
    vm = state.get_vm(name)
    if vm is None:
        known = ", ".join(v.name for v in state.vms) or "none"
        return f"no VM named {name!r} (VMs: {known})"
    return vm


# --- admin -----------------------------------------------------------------------------------


def process_create(state: DmState, event: Create) -> StepResult:
    # R-CREATE: names are unique
    if state.get_vm(event.vm) is not None:
        return _reject(state, f"a VM named {event.vm!r} already exists")
    # R-CREATE: settings are in range (INV-CONFIG)
    problems = check_vm_settings(event.settings)
    if problems:
        return _reject(state, "invalid settings: " + "; ".join(map(str, problems)))
    vm = Vm(name=event.vm, settings=event.settings)
    return _ok(attrs.evolve(state, vms=(*state.vms, vm)))


def process_configure(state: DmState, event: Configure) -> StepResult:
    vm = _vm_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-CONFIGURE: profile 2008R2SP1 changes no memory setting while the VM runs
    if vm.running:
        return _reject(state, f"{vm.name} is running: settings change only while it is off")
    # R-CONFIGURE: nor while it is saved or waiting to start (its image and claim use them)
    if vm.power != Power.OFF:
        return _reject(state, f"{vm.name} is {vm.power.name.lower()}: settings change only "
                              f"while it is off")
    # R-CONFIGURE: the new settings are in range
    problems = check_vm_settings(event.settings)
    if problems:
        return _reject(state, "invalid settings: " + "; ".join(map(str, problems)))
    return _ok(state.with_vm(evolve_vm(vm, settings=event.settings)))


def process_delete(state: DmState, event: Delete) -> StepResult:
    vm = _vm_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-DELETE: only an off VM can be deleted
    if vm.running:
        return _reject(state, f"{vm.name} is running: stop it before deleting it")
    # R-DELETE: a saved VM or a waiting start is not off either
    if vm.power != Power.OFF:
        return _reject(state, f"{vm.name} is {vm.power.name.lower()}: only an off VM can be "
                              f"deleted")
    return _ok(attrs.evolve(state, vms=tuple(v for v in state.vms if v.name != vm.name)))


def process_start(state: DmState, event: Start) -> StepResult:
    vm = _vm_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-START: the VM is off
    if vm.power != Power.OFF:
        return _reject(state, f"{vm.name} is already {_POWER_WORDS[vm.power]}")
    # R-START: without startup free the start waits while the balancer reclaims memory from
    # lower weights (P-RECLAIM); it owns nothing until StartAdmit, and StartAbort ends it when
    # reclaim cannot free enough. No overcommit, ever (INV-PHYSICAL).
    startup = vm.settings.startup_mib
    if state.free_mib < startup:
        return _ok(state.with_vm(evolve_vm(vm, power=Power.STARTING)))
    # A dynamic VM with a DM-capable guest opens the channel; others never get DM requests.
    opens = vm.settings.dynamic and vm.settings.dm_capable
    started = evolve_vm(
        vm,
        power=Power.RUNNING,
        visible_mib=startup,
        ballooned_mib=0,
        demand_mib=0,
        channel=Channel.NEGOTIATING if opens else Channel.NONE,
        hot_add_enabled=True,
    )
    return _ok(state.with_vm(started, free_mib=state.free_mib - startup))


_POWER_WORDS = {Power.RUNNING: "running", Power.SAVED: "saved",
                Power.STARTING: "starting (waiting for reclaim)", Power.OFF: "off"}


def compute_booted(vm: Vm, visible_mib: int) -> Vm:
    """``vm`` running with ``visible_mib`` backed, a fresh DM session (or none) and no report.

    A dynamic VM with a DM-capable guest opens the channel; others never get DM requests.
    """
    opens = vm.settings.dynamic and vm.settings.dm_capable
    # a restored VM (saved, or a restore that waited) keeps the demand it was saved with
    return Vm(name=vm.name, settings=vm.settings, power=Power.RUNNING, visible_mib=visible_mib,
              demand_mib=vm.demand_mib if vm.saved_mib > 0 else 0,
              channel=Channel.NEGOTIATING if opens else Channel.NONE)


def compute_stopped(vm: Vm) -> Vm:
    """``vm`` powered off: owns nothing, no channel, no report, no transaction."""
    return Vm(name=vm.name, settings=vm.settings)


def process_stop(state: DmState, event: Stop) -> StepResult:
    vm = _vm_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-STOP: the VM is running
    if not vm.running:
        return _reject(state, f"{vm.name} is not running")
    # R-STOP: assigned memory and anything in flight return to the host; in-flight work drops.
    returned = vm.owned_mib
    return _ok(state.with_vm(compute_stopped(vm), free_mib=state.free_mib + returned))


# --- guest workload and channel --------------------------------------------------------------


def _running_or_reason(state: DmState, name: str) -> Vm | str:
    vm = _vm_or_reason(state, name)
    if isinstance(vm, Vm) and not vm.running:
        return f"{vm.name} is not running"
    return vm


def process_demand(state: DmState, event: Demand) -> StepResult:
    vm = _running_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-DEMAND: committed memory is a non-negative amount
    if event.mib < 0:
        return _reject(state, f"demand must be >= 0, got {event.mib}")
    return _ok(state.with_vm(evolve_vm(vm, demand_mib=event.mib)))


def _channel_or_reason(state: DmState, name: str, expected: tuple[Channel, ...]) -> Vm | str:
    vm = _running_or_reason(state, name)
    if isinstance(vm, Vm) and vm.channel not in expected:
        wanted = " or ".join(c.name for c in expected)
        return f"{vm.name}'s channel is {vm.channel.name}, the message needs {wanted}"
    return vm


def process_version_request(state: DmState, event: VersionRequest) -> StepResult:
    vm = _channel_or_reason(state, event.vm, (Channel.NEGOTIATING,))
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-VERSION: a version is a u32 on the wire; a negative one is malformed
    if event.version < 0:
        return _reject(state, f"version must be >= 0, got {event.version}")
    # R-VERSION: the host accepts a version its profile speaks; otherwise it records the refusal
    # (the guest tries the next version below it), and a refused last attempt ends negotiation
    # (DM_INIT_ERROR).
    if event.version in state.host.accepted_versions:
        nxt = evolve_vm(vm, channel=Channel.CAPS, protocol_version=event.version)
    elif event.last_attempt:
        nxt = evolve_vm(vm, channel=Channel.FAILED, protocol_version=0)
    elif event.version == vm.protocol_version:
        return _ok(state)
    else:
        nxt = evolve_vm(vm, protocol_version=event.version)
    return _ok(state.with_vm(nxt))


def process_capabilities_report(state: DmState, event: CapabilitiesReport) -> StepResult:
    vm = _channel_or_reason(state, event.vm, (Channel.CAPS,))
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-CAPS: the alignment is 2^k MiB, k < 16 (a 4-bit log2 on the wire)
    if event.align_mib not in ADVERTISED_ALIGNMENTS_MIB:
        return _reject(state, f"hot-add alignment must be 2^k MiB for k < 16, got "
                              f"{event.align_mib}")
    # R-CAPS: the host accepts the capabilities and starts the quiet period; it keeps the
    # alignment, at least the 2 MiB unit (R-HOT-ADD-ALIGN).
    nxt = evolve_vm(vm, channel=Channel.QUIET, cap_balloon=event.balloon,
                    cap_hot_add=event.hot_add,
                    hot_add_align_mib=max(event.align_mib, MEMORY_UNIT_MIB))
    return _ok(state.with_vm(nxt))


def process_quiet_period_end(state: DmState, event: QuietPeriodEnd) -> StepResult:
    vm = _channel_or_reason(state, event.vm, (Channel.QUIET,))
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-QUIET: from now on the host may send DM requests.
    return _ok(state.with_vm(evolve_vm(vm, channel=Channel.READY)))


_CONNECTED = (Channel.CAPS, Channel.QUIET, Channel.READY)


def process_status_report(state: DmState, event: StatusReport) -> StepResult:
    vm = _channel_or_reason(state, event.vm, _CONNECTED)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-STATUS: committed memory is a non-negative amount; only the latest report counts.
    if event.committed_mib < 0:
        return _reject(state, f"committed memory must be >= 0, got {event.committed_mib}")
    return _ok(state.with_vm(evolve_vm(vm, has_report=True, report_mib=event.committed_mib)))


# --- DM requests (host -> guest) ------------------------------------------------------------


def check_request(state: DmState, request: DmRequest) -> str | None:
    """Why the host may not send ``request`` now, or None if it may (specs/events.md §3)."""
    # R-REQUEST-1: requests go only to a running VM whose channel is READY (INV-ONE-TXN)
    vm = _channel_or_reason(state, request.vm, (Channel.READY,))
    if isinstance(vm, str):
        return vm
    # R-REQUEST-1: only dynamic VMs get DM requests (INV-STATIC)
    if not vm.settings.dynamic:
        return f"{vm.name} is static: it never gets DM requests"
    # R-REQUEST-2: at most one transaction in flight per VM (INV-ONE-TXN)
    if vm.txn != TxnKind.NONE:
        return f"{vm.name} already has a {vm.txn.name} transaction in flight"
    # R-REQUEST-3: amounts are positive multiples of 2 MiB
    if request.mib <= 0 or request.mib % 2:
        return f"request amount must be a positive multiple of 2 MiB, got {request.mib}"
    # R-REQUEST-4: one request carries at most the protocol's cap for its kind
    cap = REQUEST_CAPS_MIB[type(request).KIND]
    if request.mib > cap:
        return f"{request.KIND} of {request.mib} MiB exceeds the protocol cap of {cap} MiB"
    return _check_request_kind(state, vm, request)


def _check_request_kind(state: DmState, vm: Vm, request: DmRequest) -> str | None:
    if isinstance(request, BalloonRequest):
        # R-BALLOON-REQUEST: the guest can balloon, and the request never asks below startup
        if not vm.cap_balloon:
            return f"{vm.name}'s guest did not report the balloon capability"
        if request.mib > vm.assigned_mib - vm.settings.startup_mib:
            return (f"balloon {request.mib} MiB would take {vm.name} below startup "
                    f"{vm.settings.startup_mib} MiB (assigned {vm.assigned_mib} MiB)")
        return None
    # Unballoon and hot-add take memory from free when sent (INV-PHYSICAL).
    if request.mib > state.free_mib:
        return f"{request.mib} MiB requested but only {state.free_mib} MiB free"
    if isinstance(request, UnballoonRequest):
        # R-UNBALLOON-REQUEST: only ballooned pages can be returned
        if request.mib > vm.ballooned_mib:
            return f"unballoon {request.mib} MiB > ballooned {vm.ballooned_mib} MiB"
        return None
    # R-HOT-ADD-REQUEST: capability, not disabled, unballoon first, never above maximum
    if not (vm.cap_hot_add and vm.hot_add_enabled):
        return f"hot-add is not possible for {vm.name}"
    # R-HOT-ADD-ALIGN: a multiple of the alignment the guest advertised
    if request.mib % vm.hot_add_align_mib:
        return (f"hot-add {request.mib} MiB is not a multiple of the {vm.hot_add_align_mib} "
                f"MiB alignment {vm.name}'s guest advertised")
    if vm.ballooned_mib > 0:
        return f"{vm.name} has {vm.ballooned_mib} MiB ballooned: unballoon before hot-add"
    if vm.visible_mib + request.mib > vm.settings.maximum_mib:
        return (f"hot-add {request.mib} MiB would take {vm.name} to "
                f"{vm.visible_mib + request.mib} MiB > maximum {vm.settings.maximum_mib} MiB")
    return None


def process_request(state: DmState, request: DmRequest) -> StepResult:
    """Send one DM request: the host records the transaction and moves memory out of free."""
    reason = check_request(state, request)
    if reason is not None:
        return _reject(state, reason)
    vm = state.get_vm(request.vm)
    assert vm is not None  # checked by check_request
    kind = {BalloonRequest: TxnKind.BALLOON, UnballoonRequest: TxnKind.UNBALLOON,
            HotAddRequest: TxnKind.HOT_ADD}[type(request)]
    nxt = evolve_vm(vm, txn=kind, txn_mib=request.mib, txn_done_mib=0)
    # A balloon's memory is free only when the response arrives; the others leave free now.
    taken = 0 if kind == TxnKind.BALLOON else request.mib
    return _ok(state.with_vm(nxt, free_mib=state.free_mib - taken))


# --- guest responses -----------------------------------------------------------------------


def _txn_or_reason(state: DmState, name: str, kind: TxnKind) -> Vm | str:
    vm = _running_or_reason(state, name)
    if isinstance(vm, Vm) and vm.txn != kind:
        return f"{vm.name} has no {kind.name} transaction in flight (has {vm.txn.name})"
    return vm


def process_balloon_response(state: DmState, event: BalloonResponse) -> StepResult:
    vm = _txn_or_reason(state, event.vm, TxnKind.BALLOON)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-BALLOON-RESPONSE: a negative amount is malformed
    if event.mib < 0:
        return _reject(state, f"balloon response amount must be >= 0, got {event.mib}")
    # The guest is not trusted: count at most what is still outstanding, in 2 MiB units.
    outstanding = vm.txn_mib - vm.txn_done_mib
    taken = min(event.mib - event.mib % 2, outstanding)
    done = vm.txn_done_mib + taken
    finished = not event.more_pages or done == vm.txn_mib
    nxt = evolve_vm(
        vm,
        ballooned_mib=vm.ballooned_mib + taken,
        txn=TxnKind.NONE if finished else TxnKind.BALLOON,
        txn_mib=0 if finished else vm.txn_mib,
        txn_done_mib=0 if finished else done,
        stuck=False,  # it answered (R-STUCK)
    )
    # Memory becomes free only now, and only what the response carries.
    return _ok(state.with_vm(nxt, free_mib=state.free_mib + taken))


def process_unballoon_response(state: DmState, event: UnballoonResponse) -> StepResult:
    vm = _txn_or_reason(state, event.vm, TxnKind.UNBALLOON)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-UNBALLOON-RESPONSE: the returned pages, already taken from free, are the guest's again.
    nxt = evolve_vm(vm, ballooned_mib=vm.ballooned_mib - vm.txn_mib, txn=TxnKind.NONE,
                    txn_mib=0, txn_done_mib=0, stuck=False)
    return _ok(state.with_vm(nxt))


def process_hot_add_response(state: DmState, event: HotAddResponse) -> StepResult:
    vm = _txn_or_reason(state, event.vm, TxnKind.HOT_ADD)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-HOT-ADD-RESPONSE: a negative amount is malformed
    if event.mib < 0:
        return _reject(state, f"hot-add response amount must be >= 0, got {event.mib}")
    # A failed result adds nothing (pages claimed with it are ignored); an oversized answer
    # is clamped to the request; a partial or empty success disables hot-add until restart.
    added = min(event.mib - event.mib % 2, vm.txn_mib) if event.success else 0
    disable = event.success and added < vm.txn_mib
    nxt = evolve_vm(
        vm,
        visible_mib=vm.visible_mib + added,
        hot_add_enabled=vm.hot_add_enabled and not disable,
        txn=TxnKind.NONE,
        txn_mib=0,
        txn_done_mib=0,
        stuck=False,
    )
    released = vm.txn_mib - added
    return _ok(state.with_vm(nxt, free_mib=state.free_mib + released))


# --- the lifecycle of a running VM (specs/lifecycle.md) ----------------------------------------


def _power_or_reason(state: DmState, name: str, power: Power) -> Vm | str:
    vm = _vm_or_reason(state, name)
    if isinstance(vm, Vm) and vm.power != power:
        return f"{vm.name} is {_POWER_WORDS[vm.power]}, not {_POWER_WORDS[power]}"
    return vm


def process_start_admit(state: DmState, event: StartAdmit) -> StepResult:
    vm = _power_or_reason(state, event.vm, Power.STARTING)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-START-ADMIT: the waiting start completes only once its startup is free, a waiting
    # restore once its image is (INV-PHYSICAL)
    need = vm.boot_mib
    if state.free_mib < need:
        what = "image" if vm.saved_mib > 0 else "startup"
        return _reject(state, f"{vm.name} still waits: {what} {need} MiB > free "
                              f"{state.free_mib} MiB")
    return _ok(state.with_vm(compute_booted(vm, need), free_mib=state.free_mib - need))


def process_start_abort(state: DmState, event: StartAbort) -> StepResult:
    vm = _power_or_reason(state, event.vm, Power.STARTING)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-START-ABORT: the start fails; it owned nothing, and what reclaim freed stays free. A
    # restore that fails is saved again, its image kept (lifecycle.md §4.7).
    if vm.saved_mib > 0:
        return _ok(state.with_vm(Vm(name=vm.name, settings=vm.settings, power=Power.SAVED,
                                    demand_mib=vm.demand_mib, saved_mib=vm.saved_mib)))
    return _ok(state.with_vm(compute_stopped(vm)))


def process_guest_restart(state: DmState, event: GuestRestart) -> StepResult:
    vm = _running_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-RESTART: the guest reboots at startup; everything above it (hot-added memory, grants
    # in flight) returns to the host, the old session and its report are gone.
    startup = vm.settings.startup_mib
    returned = vm.owned_mib - startup
    return _ok(state.with_vm(compute_booted(evolve_vm(vm, power=Power.OFF), startup),
                             free_mib=state.free_mib + returned))


def compute_closed(vm: Vm) -> Vm:
    """``vm`` with its transaction resolved as a channel close resolves it (R-CLOSE).

    The guest keeps whatever it may have received: an unballoon in flight completes, a hot-add
    in flight counts as added (Windows keeps hot-added memory until reboot); a balloon's
    outstanding pages were never received, so they stay assigned. Owned memory is unchanged.
    """
    visible, ballooned = vm.visible_mib, vm.ballooned_mib
    if vm.txn == TxnKind.UNBALLOON:
        ballooned -= vm.txn_mib
    elif vm.txn == TxnKind.HOT_ADD:
        visible += vm.txn_mib
    return evolve_vm(vm, visible_mib=visible, ballooned_mib=ballooned, txn=TxnKind.NONE,
                     txn_mib=0, txn_done_mib=0, stuck=False)


def process_channel_reset(state: DmState, event: ChannelReset) -> StepResult:
    vm = _running_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-CHANNEL-RESET: only a VM with a DM channel can have it reset
    if vm.channel == Channel.NONE:
        return _reject(state, f"{vm.name} has no DM channel to reset")
    closed = compute_closed(vm)
    # R-CHANNEL-RESET: the device forgets the ballooned pages, so the guest regains them; the
    # host must back them from free memory or refuse the reset (INV-PHYSICAL)
    regained = closed.ballooned_mib
    if regained > state.free_mib:
        return _reject(state, f"a reset would give {vm.name} back {regained} MiB ballooned but "
                              f"only {state.free_mib} MiB is free")
    nxt = evolve_vm(closed, ballooned_mib=0, channel=Channel.NEGOTIATING, protocol_version=0,
                    cap_balloon=False, cap_hot_add=False, has_report=False, report_mib=0,
                    hot_add_align_mib=DEFAULT_HOT_ADD_ALIGN_MIB)
    return _ok(state.with_vm(nxt, free_mib=state.free_mib - regained))


def process_stuck_timeout(state: DmState, event: StuckTimeout) -> StepResult:
    vm = _running_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-STUCK: the watchdog fires only on a transaction in flight
    if vm.txn == TxnKind.NONE:
        return _reject(state, f"{vm.name} has no transaction in flight")
    # R-STUCK: once per transaction
    if vm.stuck:
        return _reject(state, f"{vm.name} is already stuck")
    # Nothing is freed: memory never received stays the guest's (principle 2, domain.md §2).
    return _ok(state.with_vm(evolve_vm(vm, stuck=True)))


def process_save(state: DmState, event: Save) -> StepResult:
    vm = _running_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-SAVE: in-flight work resolves as at a close (R-CLOSE); the image is the assigned
    # memory, and all of it returns to the host.
    closed = compute_closed(vm)
    image = closed.assigned_mib
    saved = Vm(name=vm.name, settings=vm.settings, power=Power.SAVED,
               demand_mib=vm.demand_mib, saved_mib=image)
    return _ok(state.with_vm(saved, free_mib=state.free_mib + vm.owned_mib))


def process_restore(state: DmState, event: Restore) -> StepResult:
    vm = _power_or_reason(state, event.vm, Power.SAVED)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-RESTORE: the saved (current) memory must be free, not just startup (INV-PHYSICAL);
    # without it the restore waits for reclaim as a start does (lifecycle.md §4.7): it owns
    # nothing and keeps its image until StartAdmit or StartAbort.
    if vm.saved_mib > state.free_mib:
        return _ok(state.with_vm(evolve_vm(vm, power=Power.STARTING)))
    return _ok(state.with_vm(compute_booted(vm, vm.saved_mib),
                             free_mib=state.free_mib - vm.saved_mib))


def process_migrate_out(state: DmState, event: MigrateOut) -> StepResult:
    vm = _running_or_reason(state, event.vm)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-MIGRATE-OUT: everything the VM owns returns, transactions in flight included; its
    # configuration stays here, off.
    return _ok(state.with_vm(compute_stopped(vm), free_mib=state.free_mib + vm.owned_mib))


def check_arrival(vm: Vm, mib: int) -> str | None:
    """Why ``vm`` cannot arrive with ``mib`` of current memory, or None (R-MIGRATE-IN)."""
    startup = vm.settings.startup_mib
    if mib % 2:
        return f"arriving memory must be a multiple of 2 MiB, got {mib}"
    if not (vm.settings.dynamic and vm.settings.dm_capable):
        # without DM a VM runs at exactly startup
        return None if mib == startup else (
            f"{vm.name} has no DM-capable guest: it arrives with startup {startup} MiB, "
            f"not {mib}")
    if not startup <= mib <= vm.settings.maximum_mib:
        return (f"arriving memory {mib} MiB outside {vm.name}'s startup..maximum "
                f"{startup}..{vm.settings.maximum_mib} MiB")
    return None


def process_migrate_in(state: DmState, event: MigrateIn) -> StepResult:
    vm = _power_or_reason(state, event.vm, Power.OFF)
    if isinstance(vm, str):
        return _reject(state, vm)
    # R-MIGRATE-IN: the amount fits the VM's settings
    problem = check_arrival(vm, event.mib)
    if problem is not None:
        return _reject(state, problem)
    # R-MIGRATE-IN: its current memory must be free (INV-PHYSICAL)
    if event.mib > state.free_mib:
        return _reject(state, f"not enough memory for {vm.name} to arrive: {event.mib} MiB > "
                              f"free {state.free_mib} MiB")
    return _ok(state.with_vm(compute_booted(vm, event.mib),
                             free_mib=state.free_mib - event.mib))


# --- balancer --------------------------------------------------------------------------------


Plan = Callable[[DmState], tuple[DmRequest, ...]]


def apply_plan(
    state: DmState,
    requests: tuple[DmRequest, ...],
    send: Callable[[DmState, DmRequest], StepResult] | None = None,
) -> StepResult:
    """Send ``requests`` in order, as one BalancerTick; refused if any request is refused.

    ``send`` processes one request (``process_request`` unless a planted bug replaces it).
    """
    send = send or process_request
    current = state
    sent: list[DmRequest] = []
    for request in requests:
        result = send(current, request)
        # A policy must only plan requests the guards allow; a refused one is a policy bug.
        if not result.accepted:
            return _reject(state, f"the plan has a refused request {_wire(request)}: "
                                  f"{result.reason}")
        current = result.state
        sent.append(request)
    return StepResult(state=current, sent=tuple(sent))


def _wire(request: DmRequest) -> str:
    """``request`` as the JSON line of specs/formats.md (what an IUT sends and reads)."""
    return json.dumps({"kind": request.KIND, "vm": request.vm, "mib": request.mib})


def process_balancer_tick(state: DmState, event: BalancerTick) -> StepResult:
    """Run the reference policy and send its requests in order (R-TICK)."""
    return apply_plan(state, compute_plan(state))


_PROCESSORS: dict[type, Callable[[DmState, Any], StepResult]] = {
    Create: process_create,
    Configure: process_configure,
    Delete: process_delete,
    Start: process_start,
    Stop: process_stop,
    Demand: process_demand,
    VersionRequest: process_version_request,
    CapabilitiesReport: process_capabilities_report,
    QuietPeriodEnd: process_quiet_period_end,
    StatusReport: process_status_report,
    BalloonRequest: process_request,
    UnballoonRequest: process_request,
    HotAddRequest: process_request,
    BalloonResponse: process_balloon_response,
    UnballoonResponse: process_unballoon_response,
    HotAddResponse: process_hot_add_response,
    BalancerTick: process_balancer_tick,
    StartAdmit: process_start_admit,
    StartAbort: process_start_abort,
    GuestRestart: process_guest_restart,
    ChannelReset: process_channel_reset,
    StuckTimeout: process_stuck_timeout,
    Save: process_save,
    Restore: process_restore,
    MigrateOut: process_migrate_out,
    MigrateIn: process_migrate_in,
}


Processor = Callable[[DmState, Any], StepResult]
Step = Callable[[DmState, Event], StepResult]


def make_step(overrides: dict[type, Processor] | None = None,
              plan: Plan | None = None) -> Step:
    """A ``step`` with some processors replaced (planted bugs) or another policy.

    ``plan`` replaces the balancer policy used by BalancerTick. The result is pure too.
    """
    table = dict(_PROCESSORS)
    table.update(overrides or {})
    planner = plan or compute_plan

    def send(state: DmState, request: DmRequest) -> StepResult:
        return table[type(request)](state, request)

    if BalancerTick not in (overrides or {}):
        table[BalancerTick] = lambda state, _event: apply_plan(state, planner(state), send)

    def patched_step(state: DmState, event: Event) -> StepResult:
        return table[type(event)](state, event)

    return patched_step


def step(state: DmState, event: Event) -> StepResult:
    """Apply ``event`` to ``state``: a flat dispatch over event kinds.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.state import initial_state
    >>> s = initial_state(HostSettings(4096, 1024), (("a", VmSettings(startup_mib=4096)),))
    >>> step(s, Start("a")).state.vms[0].power.name  # it waits for reclaim (P-RECLAIM)
    'STARTING'
    """
    return _PROCESSORS[type(event)](state, event)
