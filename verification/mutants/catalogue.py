"""The shared catalogue of planted bugs (mutants): every engine must catch each one.

A :class:`Mutant` is a realistic bug in a balancer, built as a patched reference step
(``reference.step.make_step(overrides=..., plan=...)``): a request guard that forgets the
reserve, a stop that forgets memory in flight, a policy without hysteresis, ... Each names
the invariants (or progress properties) it should break; together they break every
invariant of DOMAIN.md §3 (a test checks this). ``model_variant`` is the model-level twin of
the same bug (``mutants/model_edits.py``, matched by name at the end of this module), for BMC.

Engines that run mutants: exploration (``verification/explore/search.py``), the stateful tests
(``verification/stateful/machine.py``); ``benchmarks/mutant_table.py`` compares them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from dynmem.model.vocabulary import (
    MAX_MAXIMUM_MIB,
    MAX_WEIGHT,
    MEMORY_UNIT_MIB,
    Channel,
    HostProfile,
    Power,
    TxnKind,
)
from dynmem.reference.conventions import GUEST_OS_WINDOWS
from dynmem.reference.events import (
    BalloonRequest,
    BalloonResponse,
    ChannelReset,
    Configure,
    DmRequest,
    GuestRestart,
    HotAddRequest,
    HotAddResponse,
    MigrateOut,
    Restore,
    Start,
    StartAdmit,
    Stop,
    StuckTimeout,
    UnballoonRequest,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan, get_target, is_balanced
from dynmem.reference.settings import check_vm_settings
from dynmem.reference.state import DmState, Vm, compute_floor_to_unit
from dynmem.reference.step import (
    Plan,
    Processor,
    Step,
    StepResult,
    check_request,
    compute_booted,
    compute_closed,
    compute_stopped,
    make_step,
    process_balloon_response,
    process_channel_reset,
    process_configure,
    process_guest_restart,
    process_hot_add_response,
    process_migrate_out,
    process_request,
    process_restore,
    process_start,
    process_start_admit,
    process_stop,
    process_stuck_timeout,
    process_version_request,
)
from dynmem.verification.errors import InputError
from dynmem.verification.mutants.model_edits import MODEL_MUTANTS


@attrs.frozen
class Mutant:
    """A planted bug: its name, what it does, what it should break, and how to run it.

    ``reference_step`` is the patched step; ``plan`` is the policy it uses for ticks (None:
    the reference's), which generators must also use to decide when a tick is worth
    offering. ``explore_vms`` is the smallest exploration preset that exhibits the bug.
    """

    name: str
    description: str
    breaks: tuple[str, ...]
    reference_step: Step
    plan: Plan | None = None
    explore_vms: int = 1
    # the exploration needs the lifecycle events (specs/lifecycle.md, ExploreConfig.vm_lifecycle)
    explore_lifecycle: bool = False
    # the exploration needs a Linux guest (specs/protocol.md §3.2, explore with_linux_guest)
    explore_linux: bool = False
    # the host profile the engines run it on (a version bug shows only on a host that
    # refuses some versions); the default is the default host's
    explore_profile: HostProfile = HostProfile.QEMU
    # the exploration needs guests that advertise a hot-add alignment above 2 MiB
    # (explore with_alignments)
    explore_align: bool = False
    # only a guest that never answers shows it (specs/lifecycle.md §1, a linux_hibernate
    # guest: explore with_hibernating_guest, the stateful HibernatingMachine)
    explore_hibernate: bool = False
    model_variant: Any = None  # the model-level variant (filled by the Z3/BMC engine)

    @property
    def evidence(self) -> tuple[str, ...]:
        """Every id an engine may report for this bug: what it breaks, and its model twin's
        invariant where that is a target-free reading of a progress property it breaks
        (INV-RECLAIM-ORDER of PROG-RECLAIM-ORDER), which a larger run may break first."""
        twin = self.model_variant
        extra = (twin.invariant,) if twin is not None and twin.reads in self.breaks else ()
        return (*self.breaks, *extra)

    @property
    def policy(self) -> Plan:
        """The policy ticks run: the mutant's plan or the reference's."""
        return self.plan or compute_plan


# --- building blocks --------------------------------------------------------------------------

_TXN_OF = {BalloonRequest: TxnKind.BALLOON, UnballoonRequest: TxnKind.UNBALLOON,
           HotAddRequest: TxnKind.HOT_ADD}

View = Callable[[DmState, str], DmState]


def _send_unguarded(state: DmState, request: DmRequest) -> StepResult:
    """The effect of sending ``request`` (as ``process_request``) without its guards."""
    vm = state.get_vm(request.vm)
    assert vm is not None
    kind = _TXN_OF[type(request)]
    nxt = attrs.evolve(vm, txn=kind, txn_mib=request.mib, txn_done_mib=0)
    taken = 0 if kind == TxnKind.BALLOON else request.mib
    return StepResult(attrs.evolve(state.with_vm(nxt), free_mib=state.free_mib - taken))


def _guarded_by(view: View) -> Processor:
    """A request processor whose guards see ``view(state, vm)`` instead of the state."""
    def send(state: DmState, request: DmRequest) -> StepResult:
        if state.get_vm(request.vm) is None:
            return process_request(state, request)
        reason = check_request(view(state, request.vm), request)
        if reason is not None:
            return StepResult(state, reason)
        return _send_unguarded(state, request)

    return send


def _edit_vm(state: DmState, name: str, **changes: Any) -> DmState:
    vm = state.get_vm(name)
    return state if vm is None else state.with_vm(attrs.evolve(vm, **changes))


def _edit_settings(state: DmState, name: str, **changes: Any) -> DmState:
    vm = state.get_vm(name)
    if vm is None:
        return state
    return state.with_vm(attrs.evolve(vm, settings=attrs.evolve(vm.settings, **changes)))


def _all_requests(processor: Processor) -> dict[type, Processor]:
    return {BalloonRequest: processor, UnballoonRequest: processor, HotAddRequest: processor}


# --- the bugs ----------------------------------------------------------------------------------


def _reserve_counted_free(state: DmState, name: str = "") -> DmState:
    return attrs.evolve(state, free_mib=state.free_mib + state.host.reserve_mib)


def _quiet_as_ready(state: DmState, name: str | None = None) -> DmState:
    vms = tuple(attrs.evolve(vm, channel=Channel.READY) if vm.channel == Channel.QUIET
                and (name is None or vm.name == name) else vm for vm in state.vms)
    return attrs.evolve(state, vms=vms)


def _maxima_ignored(state: DmState, name: str | None = None) -> DmState:
    vms = tuple(attrs.evolve(vm, settings=attrs.evolve(vm.settings, maximum_mib=MAX_MAXIMUM_MIB))
                if name is None or vm.name == name else vm for vm in state.vms)
    return attrs.evolve(state, vms=vms)


def _balloon_counted_at_request(state: DmState, request: BalloonRequest) -> StepResult:
    result = process_request(state, request)
    if not result.accepted:
        return result
    # BUG: the pages are counted free when asked for, not when they arrive.
    return StepResult(attrs.evolve(result.state, free_mib=result.state.free_mib + request.mib))


def _stop_leaking(state: DmState, event: Stop) -> StepResult:
    vm = state.get_vm(event.vm)
    result = process_stop(state, event)
    if not result.accepted or vm is None:
        return result
    # BUG: only assigned memory returns; a hot-add or unballoon in flight is forgotten.
    return StepResult(attrs.evolve(result.state,
                                   free_mib=result.state.free_mib - vm.in_flight_mib))


def _stop_keeping_txn(state: DmState, event: Stop) -> StepResult:
    vm = state.get_vm(event.vm)
    result = process_stop(state, event)
    if not result.accepted or vm is None:
        return result
    # BUG: the transaction record survives power-off (and its in-flight memory with it).
    off = attrs.evolve(compute_stopped(vm), txn=vm.txn, txn_mib=vm.txn_mib,
                       txn_done_mib=vm.txn_done_mib)
    return StepResult(attrs.evolve(result.state.with_vm(off),
                                   free_mib=result.state.free_mib - vm.in_flight_mib))


def _start_opening_static(state: DmState, event: Start) -> StepResult:
    result = process_start(state, event)
    vm = result.state.get_vm(event.vm)
    if not result.accepted or vm is None or vm.settings.dynamic or not vm.settings.dm_capable:
        return result
    # BUG: the DM channel opens for static VMs too.
    return StepResult(result.state.with_vm(attrs.evolve(vm, channel=Channel.NEGOTIATING)))


def _configure_while_running(state: DmState, event: Configure) -> StepResult:
    vm = state.get_vm(event.vm)
    if vm is None or not vm.running:
        return process_configure(state, event)
    # BUG: the running check is missing; only the ranges are checked.
    problems = check_vm_settings(event.settings)
    if problems:
        return StepResult(state, "invalid settings: " + "; ".join(map(str, problems)))
    return StepResult(state.with_vm(attrs.evolve(vm, settings=event.settings)))


def _balloon_response_unclamped(state: DmState, event: BalloonResponse) -> StepResult:
    result = process_balloon_response(state, event)
    vm = state.get_vm(event.vm)
    if not result.accepted or vm is None:
        return result
    # BUG: the guest's amount is trusted: not clamped to what is outstanding.
    taken = compute_floor_to_unit(event.mib)
    done = vm.txn_done_mib + taken
    finished = not event.more_pages or done >= vm.txn_mib
    nxt = attrs.evolve(vm, ballooned_mib=vm.ballooned_mib + taken, stuck=False,
                       txn=TxnKind.NONE if finished else TxnKind.BALLOON,
                       txn_mib=0 if finished else vm.txn_mib,
                       txn_done_mib=0 if finished else done)
    return StepResult(attrs.evolve(state.with_vm(nxt), free_mib=state.free_mib + taken))


def _balloon_taken_at_request(state: DmState, request: BalloonRequest) -> StepResult:
    reason = check_request(state, request)
    if reason is not None:
        return StepResult(state, reason)
    vm = state.get_vm(request.vm)
    assert vm is not None
    # BUG: the host reclaims the pages itself instead of waiting for the guest's answer.
    nxt = attrs.evolve(vm, ballooned_mib=vm.ballooned_mib + request.mib)
    return StepResult(attrs.evolve(state.with_vm(nxt), free_mib=state.free_mib + request.mib))


def _start_overcommitting(state: DmState, event: Start) -> StepResult:
    vm = state.get_vm(event.vm)
    if vm is None or state.free_mib >= vm.settings.startup_mib:
        return process_start(state, event)
    # BUG: the free-memory check is missing.
    padded = attrs.evolve(state, free_mib=vm.settings.startup_mib)
    result = process_start(padded, event)
    if not result.accepted:
        return StepResult(state, result.reason)
    return StepResult(attrs.evolve(result.state,
                                   free_mib=state.free_mib - vm.settings.startup_mib))


# --- planted bugs of the protocol guards (INV-ADVERTISED, INV-NO-HOT-ADD-AFTER-PARTIAL,
# INV-UNBALLOON-FIRST) -----------------------------------------------------------------------


def _with_flags(state: DmState, name: str | None, flags: dict[str, Any]) -> DmState:
    """``state`` with ``flags`` set on every VM (or the one named): what a guard or a policy
    reads when it forgets a capability bit or ``hot_add_enabled``."""
    vms = tuple(attrs.evolve(vm, **flags) if name is None or vm.name == name else vm
                for vm in state.vms)
    return attrs.evolve(state, vms=vms)


def _hot_add_advertised(state: DmState, name: str | None = None) -> DmState:
    return _with_flags(state, name, {"cap_hot_add": True})


def _balloon_advertised(state: DmState, name: str | None = None) -> DmState:
    return _with_flags(state, name, {"cap_balloon": True})


def _hot_add_never_disabled(state: DmState, name: str | None = None) -> DmState:
    return _with_flags(state, name, {"hot_add_enabled": True})


def plan_hot_add_first(state: DmState) -> tuple[DmRequest, ...]:
    """A policy that grows a VM by hot-add while the host holds its ballooned pages: where the
    reference unballoons, it hot-adds the same amount if the VM has room below its maximum
    ("unballoon before hot-add" forgotten, INV-UNBALLOON-FIRST). Both take the amount from
    free, so the ledger stays exact."""
    def hot_add_instead(request: DmRequest) -> DmRequest:
        vm = state.get_vm(request.vm)
        if (isinstance(request, UnballoonRequest) and vm is not None and _can_hot_add(vm)
                and vm.visible_mib + request.mib <= vm.settings.maximum_mib):
            return HotAddRequest(request.vm, request.mib)
        return request

    return tuple(hot_add_instead(r) for r in compute_plan(state))


def _alignment_forgotten(state: DmState, name: str | None = None) -> DmState:
    """``state`` as a host that ignores the guest's hot-add alignment reads it: every guest
    aligned to the 2 MiB unit (R-HOT-ADD-ALIGN forgotten)."""
    return _with_flags(state, name, {"hot_add_align_mib": MEMORY_UNIT_MIB})


def _partial_hot_add_kept(state: DmState, event: HotAddResponse) -> StepResult:
    vm = state.get_vm(event.vm)
    result = process_hot_add_response(state, event)
    after = result.state.get_vm(event.vm)
    if not result.accepted or vm is None or after is None:
        return result
    # BUG: a partial or empty answer does not disable hot-add: the host goes on hot-adding to
    # a guest that told it later hot-adds fail.
    return StepResult(result.state.with_vm(attrs.evolve(after,
                                                        hot_add_enabled=vm.hot_add_enabled)))


# --- planted bugs of the lifecycle (specs/lifecycle.md) ----------------------------------------


def _reset_keeping_ballooned(state: DmState, event: ChannelReset) -> StepResult:
    vm = state.get_vm(event.vm)
    result = process_channel_reset(state, event)
    after = result.state.get_vm(event.vm)
    if not result.accepted or vm is None or after is None:
        return result
    # BUG: the host forgets that a device reset gives the ballooned pages back to the guest:
    # it keeps them ballooned (and counted free) in the new session.
    kept = compute_closed(vm).ballooned_mib
    return StepResult(attrs.evolve(result.state.with_vm(attrs.evolve(after, ballooned_mib=kept)),
                                   free_mib=result.state.free_mib + kept))


def _restore_at_startup(state: DmState, event: Restore) -> StepResult:
    vm = state.get_vm(event.vm)
    if vm is None or vm.saved_mib <= state.free_mib or state.free_mib < vm.settings.startup_mib:
        return process_restore(state, event)
    # BUG: the restore is admitted when startup is free, not the saved (current) memory.
    rich = process_restore(attrs.evolve(state, free_mib=vm.saved_mib), event)
    return StepResult(attrs.evolve(rich.state, free_mib=state.free_mib - vm.saved_mib))


def _stuck_frees_unreceived(state: DmState, event: StuckTimeout) -> StepResult:
    vm = state.get_vm(event.vm)
    result = process_stuck_timeout(state, event)
    if not result.accepted or vm is None or vm.txn != TxnKind.BALLOON:
        return result
    # BUG: giving up on a balloon counts its outstanding pages as received.
    outstanding = vm.txn_mib - vm.txn_done_mib
    nxt = attrs.evolve(vm, ballooned_mib=vm.ballooned_mib + outstanding, txn=TxnKind.NONE,
                       txn_mib=0, txn_done_mib=0)
    return StepResult(attrs.evolve(state.with_vm(nxt), free_mib=state.free_mib + outstanding))


def _migrate_out_leaking(state: DmState, event: MigrateOut) -> StepResult:
    vm = state.get_vm(event.vm)
    result = process_migrate_out(state, event)
    if not result.accepted or vm is None:
        return result
    # BUG: only assigned memory returns; a hot-add or unballoon in flight is forgotten.
    return StepResult(attrs.evolve(result.state,
                                   free_mib=result.state.free_mib - vm.in_flight_mib))


def _restart_keeping_report(state: DmState, event: GuestRestart) -> StepResult:
    vm = state.get_vm(event.vm)
    result = process_guest_restart(state, event)
    after = result.state.get_vm(event.vm)
    if not result.accepted or vm is None or after is None:
        return result
    # BUG: the status report from before the reboot survives into the new session.
    return StepResult(result.state.with_vm(attrs.evolve(after, has_report=vm.has_report,
                                                        report_mib=vm.report_mib)))


def _admit_without_free(state: DmState, event: StartAdmit) -> StepResult:
    vm = state.get_vm(event.vm)
    if vm is None or state.free_mib >= vm.boot_mib:
        return process_start_admit(state, event)
    # BUG: a waiting start is admitted before its startup (a restore its image) is free.
    rich = process_start_admit(attrs.evolve(state, free_mib=vm.boot_mib), event)
    if not rich.accepted:
        return StepResult(state, rich.reason)
    return StepResult(attrs.evolve(rich.state, free_mib=state.free_mib - vm.boot_mib))


def _watchdog_waiting_on_balloons(state: DmState, event: StuckTimeout) -> StepResult:
    vm = state.get_vm(event.vm)
    # BUG: the watchdog gives up only on a hot-add (whose memory the host reserved) and waits
    # on a balloon or an unballoon for ever.
    if vm is not None and vm.txn in (TxnKind.BALLOON, TxnKind.UNBALLOON):
        return StepResult(state, f"{vm.name}'s watchdog watches only hot-adds")
    return process_stuck_timeout(state, event)


def _admit_restore_at_startup(state: DmState, event: StartAdmit) -> StepResult:
    vm = state.get_vm(event.vm)
    startup = vm.settings.startup_mib if vm is not None else 0
    if (vm is None or vm.power != Power.STARTING or vm.saved_mib == 0
            or state.free_mib < startup):
        return process_start_admit(state, event)
    # BUG: a waiting restore is admitted as a start, at startup: its image is forgotten.
    return StepResult(state.with_vm(compute_booted(vm, startup),
                                    free_mib=state.free_mib - startup))


def _version_ignoring_profile(state: DmState, event: VersionRequest) -> StepResult:
    """R-VERSION as if every host spoke 0.3, 1.0 and 2.0 (the profile is never read)."""
    every = attrs.evolve(state, host=attrs.evolve(state.host, profile=HostProfile.QEMU))
    result = process_version_request(every, event)
    if not result.accepted:
        return StepResult(state, result.reason)
    return StepResult(attrs.evolve(result.state, host=state.host))


def _starts_outweigh_all(state: DmState) -> DmState:
    """``state`` as the buggy reclaim reads it: every waiting start weighs more than any VM,
    so every running VM is a donor for it."""
    vms = tuple(attrs.evolve(vm, settings=attrs.evolve(vm.settings, weight=MAX_WEIGHT + 1))
                if vm.power == Power.STARTING else vm for vm in state.vms)
    return attrs.evolve(state, vms=vms)


def plan_reclaim_any_weight(state: DmState) -> tuple[DmRequest, ...]:
    """A policy whose start-time reclaim (P-RECLAIM) forgets the weight rule: to admit a
    waiting start it squeezes running VMs of any weight, lowest first, never below startup,
    so a higher-weight VM gives memory to a lower-weight start (PROG-RECLAIM-ORDER; and
    INV-RECLAIM-ORDER when the squeezed VM is of the highest weight and left below the demand
    its report shows). Every request respects the request guards."""
    return compute_plan(_starts_outweigh_all(state))


def plan_without_hysteresis(state: DmState) -> tuple[DmRequest, ...]:
    """A policy with an off-by-one target comparison: it gives back at ``assigned >= target``
    and grants at ``assigned <= target``, 2 MiB at a time, so a VM at its target is ballooned
    and unballooned forever (PROG-FIXED-POINT). Every request respects the guards."""
    requests: list[DmRequest] = []
    free = state.free_mib
    for vm in state.vms:
        if not is_balanced(vm) or vm.txn != TxnKind.NONE:
            continue
        target, assigned = get_target(vm), vm.assigned_mib
        if vm.cap_balloon and assigned >= target and assigned > vm.settings.startup_mib:
            requests.append(BalloonRequest(vm.name, max(MEMORY_UNIT_MIB,
                                                        compute_floor_to_unit(assigned - target))))
        elif vm.ballooned_mib > 0 and assigned <= target and free >= MEMORY_UNIT_MIB:
            give = min(vm.ballooned_mib, compute_floor_to_unit(free),
                       max(MEMORY_UNIT_MIB, target - assigned))
            requests.append(UnballoonRequest(vm.name, give))
            free -= give
        elif vm.ballooned_mib == 0 and assigned < target and _can_hot_add(vm):
            give = compute_floor_to_unit(min(free, target - assigned,
                                             vm.settings.maximum_mib - vm.visible_mib))
            if give > 0:
                requests.append(HotAddRequest(vm.name, give))
                free -= give
    return tuple(requests)


def _reports_read_as_windows(state: DmState) -> DmState:
    """``state`` as a host that ignores the guest's integration components reads it: every
    guest a Windows guest (``guest_os`` forgotten)."""
    return attrs.evolve(state, vms=tuple(
        attrs.evolve(vm, settings=attrs.evolve(vm.settings, guest_os=GUEST_OS_WINDOWS))
        if vm.settings.guest_os != GUEST_OS_WINDOWS else vm for vm in state.vms))


def plan_linux_report_read_as_windows(state: DmState) -> tuple[DmRequest, ...]:
    """The reference policy reading every status report as a Windows guest's (P-DEMAND
    forgotten): a Linux guest's ballooned pages and balloon floor count as demand, so each
    balloon raises its target and the host unballoons what it just ballooned; and it asks a
    Linux guest for memory below its floor, which the guest answers with nothing, tick
    after tick. Every request respects the guards: no invariant of the registry breaks."""
    return compute_plan(_reports_read_as_windows(state))


def _can_hot_add(vm: Vm) -> bool:
    return vm.cap_hot_add and vm.hot_add_enabled


# --- the catalogue -----------------------------------------------------------------------------


def _mutant(name: str, description: str, breaks: tuple[str, ...],
            overrides: dict[type, Processor], plan: Plan | None = None,
            explore_vms: int = 1, explore_lifecycle: bool = False,
            explore_linux: bool = False,
            explore_profile: HostProfile = HostProfile.QEMU,
            explore_align: bool = False) -> Mutant:
    return Mutant(name, description, breaks, make_step(overrides, plan), plan, explore_vms,
                  explore_lifecycle, explore_linux, explore_profile, explore_align)


MUTANTS: tuple[Mutant, ...] = (
    _mutant("hot_add_ignores_reserve",
            "grants (hot-add, unballoon) check free memory as if the host reserve were free, "
            "in the guard and in the policy",
            ("INV-PHYSICAL", "AUX-FREE"),
            {HotAddRequest: _guarded_by(_reserve_counted_free),
             UnballoonRequest: _guarded_by(_reserve_counted_free)},
            plan=lambda s: compute_plan(_reserve_counted_free(s)), explore_vms=2),
    _mutant("balloon_counted_free_at_request",
            "a balloon's pages are counted free when requested (and again on the response)",
            ("INV-CONSERVATION",),
            {BalloonRequest: _balloon_counted_at_request}),
    _mutant("stop_leaks_in_flight",
            "stop returns assigned memory but forgets a hot-add or unballoon in flight",
            ("INV-CONSERVATION",),
            {Stop: _stop_leaking}),
    _mutant("stop_keeps_transaction",
            "stop powers the VM off but keeps its transaction (and its memory in flight)",
            ("INV-OFF", "INV-ONE-TXN"),
            {Stop: _stop_keeping_txn}),
    _mutant("balloon_below_startup",
            "the balloon guard checks the request against assigned, not assigned - startup",
            ("INV-FLOOR", "AUX-TXN"),
            {BalloonRequest: _guarded_by(lambda s, n: _edit_settings(s, n, startup_mib=0))}),
    _mutant("static_vm_gets_dm_request",
            "a static VM's DM channel opens at start and R-REQUEST-1 (dynamic only) is missing",
            ("INV-STATIC",),
            {Start: _start_opening_static,
             **_all_requests(_guarded_by(lambda s, n: _edit_settings(s, n, dynamic=True)))}),
    _mutant("settings_change_while_running",
            "configure forgets that profile 2008R2SP1 freezes settings while the VM runs",
            ("INV-CONFIG",),
            {Configure: _configure_while_running}),
    _mutant("oversized_answer_not_clamped",
            "a balloon response is counted as the guest says, not clamped to what is "
            "outstanding",
            ("INV-NO-HOST-PAGING", "INV-FLOOR"),
            {BalloonResponse: _balloon_response_unclamped}),
    _mutant("second_txn_while_in_flight",
            "R-REQUEST-2 is missing: a new request replaces the transaction in flight",
            ("INV-ONE-TXN", "INV-CONSERVATION"),
            _all_requests(_guarded_by(lambda s, n: _edit_vm(s, n, txn=TxnKind.NONE, txn_mib=0,
                                                            txn_done_mib=0)))),
    _mutant("take_without_balloon_response",
            "the host takes ballooned pages when it asks, without the guest's response",
            ("INV-NO-HOST-PAGING",),
            {BalloonRequest: _balloon_taken_at_request}),
    _mutant("start_without_free_memory",
            "start forgets to check that startup memory is free (overcommit)",
            ("INV-PHYSICAL", "AUX-FREE"),
            {Start: _start_overcommitting}, explore_vms=2, explore_lifecycle=True),
    _mutant("hot_add_ignores_maximum",
            "the hot-add guard and the policy read the 64 GiB limit instead of the VM's "
            "maximum",
            ("INV-CEILING", "AUX-TXN"),
            {HotAddRequest: _guarded_by(_maxima_ignored)},
            plan=lambda s: compute_plan(_maxima_ignored(s))),
    _mutant("request_before_quiet_period_end",
            "the request guards and the policy treat a channel in its quiet period as READY",
            ("INV-ONE-TXN",),
            _all_requests(_guarded_by(_quiet_as_ready)),
            plan=lambda s: compute_plan(_quiet_as_ready(s))),
    _mutant("reset_keeps_ballooned_pages",
            "a channel reset forgets that the guest regains its ballooned pages: they stay "
            "ballooned (and free) in the new session",
            ("INV-SESSION",),
            {ChannelReset: _reset_keeping_ballooned}, explore_lifecycle=True),
    _mutant("restore_at_startup",
            "a restore is admitted when startup is free instead of the saved (current) memory",
            ("INV-PHYSICAL", "AUX-FREE"),
            {Restore: _restore_at_startup}, explore_vms=2, explore_lifecycle=True),
    _mutant("stuck_frees_unreceived",
            "the watchdog counts a stuck balloon's outstanding pages as received",
            ("INV-NO-HOST-PAGING",),
            {StuckTimeout: _stuck_frees_unreceived}, explore_lifecycle=True),
    _mutant("migrate_out_leaks_in_flight",
            "a migration out returns assigned memory but forgets a hot-add or unballoon in "
            "flight",
            ("INV-CONSERVATION",),
            {MigrateOut: _migrate_out_leaking}, explore_lifecycle=True),
    _mutant("restart_keeps_report",
            "a guest restart keeps the status report from before the reboot",
            ("INV-SESSION",),
            {GuestRestart: _restart_keeping_report}, explore_lifecycle=True),
    _mutant("admit_without_free_memory",
            "a waiting start is admitted before its startup memory is free (overcommit)",
            ("INV-PHYSICAL", "AUX-FREE"),
            {StartAdmit: _admit_without_free}, explore_vms=2, explore_lifecycle=True),
    _mutant("restore_admitted_at_startup",
            "a restore that waited for reclaim is admitted as a start: at startup once that "
            "is free, the image it was saved with forgotten",
            ("INV-RESTORED",),
            {StartAdmit: _admit_restore_at_startup}, explore_vms=2, explore_lifecycle=True),
    # the protocol guards that are claims (specs/invariants.md)
    _mutant("hot_add_without_capability",
            "the hot-add guard and the policy forget the capability bit: a guest that did "
            "not advertise hot-add gets hot-add requests",
            ("INV-ADVERTISED",),
            {HotAddRequest: _guarded_by(_hot_add_advertised)},
            plan=lambda s: compute_plan(_hot_add_advertised(s))),
    _mutant("balloon_without_capability",
            "the balloon guard and the policy forget the capability bit: a guest that did "
            "not advertise balloon gets balloon requests",
            ("INV-ADVERTISED",),
            {BalloonRequest: _guarded_by(_balloon_advertised)},
            plan=lambda s: compute_plan(_balloon_advertised(s))),
    _mutant("hot_add_after_partial",
            "the hot-add guard and the policy ignore hot_add_enabled: after a partial hot-add "
            "the host hot-adds again before the guest restarts",
            ("INV-NO-HOT-ADD-AFTER-PARTIAL",),
            {HotAddRequest: _guarded_by(_hot_add_never_disabled)},
            plan=lambda s: compute_plan(_hot_add_never_disabled(s))),
    _mutant("hot_add_kept_after_partial",
            "a partial hot-add answer does not disable hot-add (the guard is right, the "
            "response's update forgets it)",
            ("INV-NO-HOT-ADD-AFTER-PARTIAL",),
            {HotAddResponse: _partial_hot_add_kept}),
    _mutant("hot_add_before_unballoon",
            "the hot-add guard forgets 'unballoon before hot-add' and the policy hot-adds "
            "where it should unballoon (plan_hot_add_first)",
            ("INV-UNBALLOON-FIRST",),
            {HotAddRequest: _guarded_by(lambda s, n: _edit_vm(s, n, ballooned_mib=0))},
            plan=plan_hot_add_first),
    _mutant("hot_add_unaligned",
            "the hot-add guard and the policy forget the alignment the guest advertised: a "
            "guest whose memory blocks are 4 MiB (or 128 MiB) gets a 2 MiB hot-add",
            ("INV-HOT-ADD-ALIGNED",),
            {HotAddRequest: _guarded_by(_alignment_forgotten)},
            plan=lambda s: compute_plan(_alignment_forgotten(s)), explore_align=True),
    _mutant("host_accepts_any_version",
            "the host accepts every version it knows whatever its profile: a 2008 R2 SP1 host "
            "connects on 2.0 (WIN10), which it does not speak",
            ("INV-VERSION",),
            {VersionRequest: _version_ignoring_profile},
            explore_profile=HostProfile.WS2008R2SP1),
    _mutant("reclaim_squeezes_higher_weight",
            "start-time reclaim balloons running VMs of any weight, a higher-weight VM "
            "included, to admit a waiting start (plan_reclaim_any_weight)",
            ("PROG-RECLAIM-ORDER",),
            {}, plan=plan_reclaim_any_weight, explore_vms=2, explore_lifecycle=True),
    _mutant("oscillating_policy",
            "a policy without hysteresis (plan_without_hysteresis): a VM at its target is "
            "ballooned and unballooned 2 MiB forever",
            ("PROG-FIXED-POINT",),
            {}, plan=plan_without_hysteresis),
    _mutant("linux_report_read_as_windows",
            "the policy reads a Linux guest's status report as a Windows guest's "
            "(plan_linux_report_read_as_windows): its ballooned pages and floor count as "
            "demand, so it unballoons what it just ballooned, and it asks the guest for "
            "memory below its floor again and again",
            ("PROG-FIXED-POINT",),
            {}, plan=plan_linux_report_read_as_windows, explore_vms=2, explore_linux=True),
)

# The model-level twins (mutants/model_edits.py, same names), for BMC (dynmem bmc --mutant NAME).
MUTANTS = tuple(attrs.evolve(m, model_variant=MODEL_MUTANTS.get(m.name)) for m in MUTANTS)

# Bugs that only a guest that never answers shows (a linux_hibernate guest, specs/lifecycle.md
# §1): they break progress only on the path where the host must give up on a silent guest.
# BMC checks safety, and a hibernating guest only takes behaviours away from the model's any
# guest, so no safety bug needs one: BMC has no twin of them (its hibernating scope,
# ``symbolic.scope.with_hibernating_guest``, catches the lifecycle's stuck_frees_unreceived
# there instead). So they are kept out of MUTANTS, whose every row each engine must catch.
# Exploration (``with_hibernating_guest``), the stateful machine (``HibernatingMachine``),
# the walk (``walk.config.with_hibernating_guest``, drawn per episode) and the oracle (a
# buggy IUT, examples/buggy_iuts/watchdog_ignores_balloons.py) catch them; ``get_mutant``
# finds them.
HIBERNATE_MUTANTS: tuple[Mutant, ...] = (
    attrs.evolve(
        _mutant("watchdog_waits_on_balloons",
                "the host's watchdog gives up only on a hot-add and refuses to fire on a "
                "balloon or an unballoon: beside a hibernating guest, which never answers, "
                "the host waits for ever",
                ("PROG-FIXED-POINT",),
                {StuckTimeout: _watchdog_waiting_on_balloons}, explore_vms=2,
                explore_lifecycle=True),
        explore_hibernate=True),
)
BY_NAME: dict[str, Mutant] = {m.name: m for m in (*MUTANTS, *HIBERNATE_MUTANTS)}


def get_mutant(name: str) -> Mutant:
    """The mutant called ``name``.

    Raises
    ------
    InputError
        If there is none; the message lists the known names.
    """
    if name not in BY_NAME:
        raise InputError("command line", "--mutant", name,
                         "unknown mutant; known: " + ", ".join(BY_NAME))
    return BY_NAME[name]
