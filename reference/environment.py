"""The environment around the host: what guests, timers and admins can do next.

``compute_honest_message`` is what a well-behaved guest (and the quiet-period timer) sends
next; ``enabled_events`` lists every event the reference accepts in a state, for the given
choices of environment values, so generators and explorers share one definition;
``settle`` runs honest guests and the balancer with fair, in-order delivery until nothing
more happens (specs/events.md §5).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from enum import Enum

import attrs

from dynmem.model.vocabulary import (
    BALLOON_RESPONSE_CAP_MIB,
    SUPPORTED_VERSIONS,
    Channel,
    Power,
    TxnKind,
)
from dynmem.reference.conventions import (
    GUEST_OS_LINUX,
    GUEST_OS_WINDOWS,
    compute_linux_balloon_allowance,
    compute_linux_committed,
)
from dynmem.reference.events import (
    BalancerTick,
    BalloonResponse,
    CapabilitiesReport,
    ChannelReset,
    Demand,
    Event,
    GuestRestart,
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
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan, get_reclaimable, is_waiting_start
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Plan, Step, StepResult, step


def compute_balloon_answer(vm: Vm, profile: GuestProfile | None = None) -> BalloonResponse:
    """An honest guest's next balloon response, in message-sized parts.

    A Windows guest gives pages down to startup and pages its own memory out if it lacks free
    ones (specs/protocol.md §3.1). A Linux guest never pages itself: it cuts the request to
    what it has available above its balloon floor, as it was when the request came
    (``compute_linux_balloon_allowance``), and ends with an empty final part when it has no
    more (specs/protocol.md §3.2). An empty final response means "at floor".
    """
    outstanding = vm.txn_mib - vm.txn_done_mib
    if is_linux(get_profile({}, vm) if profile is None else profile):
        # balloon_up computes its cut once, from the RAM it had before the first part
        before = vm.assigned_mib + vm.txn_done_mib
        allowed = min(vm.txn_mib, compute_linux_balloon_allowance(vm.demand_mib, before))
        spare = max(0, allowed - vm.txn_done_mib)
    else:
        spare = max(0, vm.assigned_mib - vm.settings.startup_mib)
    give = min(outstanding, spare, BALLOON_RESPONSE_CAP_MIB)
    more = give < outstanding and give < spare
    return BalloonResponse(vm.name, give, more_pages=more)


def compute_version_proposal(vm: Vm) -> VersionRequest:
    """An honest guest's next ``VersionRequest``: 2.0, then 1.0, then 0.3 as its last attempt.

    While the channel negotiates, ``protocol_version`` is the version the host last refused
    (0 before the first refusal); the guest proposes the next one below it, as Linux's
    VSC does (specs/protocol.md §1).

    Examples
    --------
    >>> from dynmem.reference.settings import VmSettings
    >>> compute_version_proposal(Vm("a", VmSettings(), protocol_version=0x00010000))
    VersionRequest(vm='a', version=3, last_attempt=True)
    """
    refused = vm.protocol_version
    below = [v for v in SUPPORTED_VERSIONS if refused == 0 or v < refused]
    version = below[0] if below else SUPPORTED_VERSIONS[-1]
    return VersionRequest(vm.name, version, last_attempt=version == SUPPORTED_VERSIONS[-1])


class GuestProfile(Enum):
    """What kind of guest runs in a VM (specs/lifecycle.md §1): what it says and answers.

    - ``windows``: honest; reports its committed memory; balloons down to startup, paging
      itself if it must (specs/protocol.md §3.1); keeps hot-added memory until reboot.
    - ``linux``: honest as Linux is (specs/protocol.md §3.2): reports committed memory plus
      its ballooned pages and its balloon floor; answers a balloon with at most what it has
      available above its floor, never paging itself; may also reset its channel while
      running (a suspend/resume or a driver reload).
    - ``linux_hibernate``: a Linux guest with hibernation enabled: it reports balloon but not
      hot-add, still sends (Linux) status reports, and never answers a balloon or unballoon.
    """

    WINDOWS = "windows"
    LINUX = "linux"
    LINUX_HIBERNATE = "linux_hibernate"


# The OS family (VmSettings.guest_os) each profile's integration components are.
PROFILE_GUEST_OS = {GuestProfile.WINDOWS: GUEST_OS_WINDOWS, GuestProfile.LINUX: GUEST_OS_LINUX,
                    GuestProfile.LINUX_HIBERNATE: GUEST_OS_LINUX}

Profiles = Mapping[str, GuestProfile]  # VM name -> profile; a VM not named runs its guest_os's

# Balancer ticks without progress on a transaction before the host's watchdog fires (R-STUCK).
STUCK_AFTER_TICKS = 3


def get_profile(profiles: Profiles, vm: Vm) -> GuestProfile:
    """The profile of the guest in ``vm``: as named in ``profiles``, else the honest guest of
    its ``guest_os`` setting (``windows`` or ``linux``)."""
    named = profiles.get(vm.name)
    if named is not None:
        return named
    return GuestProfile.LINUX if vm.settings.guest_os == GUEST_OS_LINUX else GuestProfile.WINDOWS


def is_linux(profile: GuestProfile) -> bool:
    """Whether ``profile``'s guest speaks as Linux does (its reports and balloon answers)."""
    return PROFILE_GUEST_OS[profile] == GUEST_OS_LINUX


def compute_honest_report(vm: Vm, profile: GuestProfile | None = None) -> int:
    """The committed memory an honest guest of ``profile`` reports (specs/protocol.md §3.2).

    Windows reports its demand; Linux its demand plus its ballooned pages plus its balloon
    floor (``compute_linux_committed``). ``profile`` defaults to the VM's ``guest_os``'s.

    Examples
    --------
    >>> from dynmem.reference.settings import VmSettings
    >>> vm = Vm("g", VmSettings(dynamic=True, guest_os="linux"), visible_mib=4800,
    ...         demand_mib=1000)
    >>> compute_honest_report(vm), compute_honest_report(vm, GuestProfile.WINDOWS)
    (1532, 1000)
    """
    if is_linux(get_profile({}, vm) if profile is None else profile):
        return compute_linux_committed(vm.demand_mib, vm.ballooned_mib, vm.assigned_mib)
    return vm.demand_mib


def compute_honest_message(vm: Vm, profile: GuestProfile | None = None,
                           free_mib: int | None = None) -> Event | None:
    """The message a well-behaved guest (or the quiet-period timer) sends next, if any.

    ``profile`` defaults to the honest guest of the VM's ``guest_os`` setting. A
    ``linux_hibernate`` guest reports balloon without hot-add and never answers a balloon
    or an unballoon (specs/lifecycle.md §1). Given ``free_mib``, a start waiting for reclaim
    has the host's next word too: ``StartAdmit`` once its startup is free, else
    ``StartAbort`` (a fair host may give up at any time); ``settle`` decides that itself.
    """
    if vm.power == Power.STARTING and free_mib is not None:
        if free_mib >= vm.boot_mib:
            return StartAdmit(vm.name)
        return StartAbort(vm.name)
    if not vm.running:
        return None
    profile = get_profile({}, vm) if profile is None else profile
    hibernating = profile == GuestProfile.LINUX_HIBERNATE
    if vm.channel == Channel.NEGOTIATING:
        return compute_version_proposal(vm)
    if vm.channel == Channel.CAPS:
        return CapabilitiesReport(vm.name, balloon=True, hot_add=not hibernating)
    if vm.channel == Channel.QUIET:
        return QuietPeriodEnd(vm.name)
    if vm.txn in (TxnKind.BALLOON, TxnKind.UNBALLOON) and hibernating:
        pass  # it ignores the request: no answer, ever
    elif vm.txn == TxnKind.BALLOON:
        return compute_balloon_answer(vm, profile)
    elif vm.txn == TxnKind.UNBALLOON:
        return UnballoonResponse(vm.name)
    elif vm.txn == TxnKind.HOT_ADD:
        return HotAddResponse(vm.name, vm.txn_mib, success=True)
    if vm.channel != Channel.READY:
        return None
    report = compute_honest_report(vm, profile)
    if not vm.has_report or vm.report_mib != report:
        return StatusReport(vm.name, report)
    return None


def compute_aligned_reports(events: Iterable[Event],
                            alignments: Iterable[int]) -> list[Event]:
    """Each capabilities report with hot-add among ``events`` again for every alignment in
    ``alignments`` (R-HOT-ADD-ALIGN); without hot-add the alignment is never read.

    Examples
    --------
    >>> compute_aligned_reports([CapabilitiesReport("a"), CapabilitiesReport("b", True, False)],
    ...                         (128,))
    [CapabilitiesReport(vm='a', balloon=True, hot_add=True, align_mib=128)]
    """
    wanted = tuple(alignments)
    return [attrs.evolve(e, align_mib=a) for e in events
            if isinstance(e, CapabilitiesReport) and e.hot_add for a in wanted]


def is_silent(vm: Vm, profile: GuestProfile | None = None) -> bool:
    """Whether the host waits on ``vm`` for an answer its guest never gives: a
    ``linux_hibernate`` guest with a balloon or an unballoon in flight that the watchdog has
    not given up on yet (specs/lifecycle.md §1, §4.3)."""
    return (profile == GuestProfile.LINUX_HIBERNATE and vm.running and not vm.stuck
            and vm.txn in (TxnKind.BALLOON, TxnKind.UNBALLOON))


def compute_next_word(vm: Vm, profile: GuestProfile | None = None,
                      free_mib: int | None = None) -> Event | None:
    """What happens next to ``vm`` when everyone behaves: its guest's honest message
    (``compute_honest_message``), or, when the guest never answers its transaction
    (``is_silent``), the host's watchdog (``StuckTimeout``): after ``STUCK_AFTER_TICKS``
    ticks without progress the host gives up on it (R-STUCK). For every other guest it is
    the honest message: the watchdog never fires on a guest that answers.

    Examples
    --------
    >>> from dynmem.reference.settings import VmSettings
    >>> vm = Vm("z", VmSettings(dynamic=True, guest_os="linux"), power=Power.RUNNING,
    ...         channel=Channel.READY, txn=TxnKind.BALLOON, txn_mib=4, visible_mib=4800,
    ...         has_report=True, report_mib=compute_linux_committed(0, 0, 4800))
    >>> compute_next_word(vm, GuestProfile.LINUX_HIBERNATE)
    StuckTimeout(vm='z')
    """
    message = compute_honest_message(vm, profile, free_mib)
    if message is None and is_silent(vm, profile):
        return StuckTimeout(vm.name)
    return message


def _guest_choices(vm: Vm, demands: Iterable[int], adversarial: bool,
                   profile: GuestProfile | None = None) -> list[Event]:
    """Every guest message the model's environment may send for ``vm``; a
    ``linux_hibernate`` guest reports balloon without hot-add and never answers a balloon
    or an unballoon (specs/lifecycle.md §1)."""
    name = vm.name
    hibernating = profile == GuestProfile.LINUX_HIBERNATE
    if vm.channel == Channel.NEGOTIATING:
        proposal = compute_version_proposal(vm)
        versions: list[Event] = [proposal, *(VersionRequest(name, v) for v in SUPPORTED_VERSIONS
                                             if v != proposal.version)]
        return versions + ([VersionRequest(name, 0x7, last_attempt=True)] if adversarial else [])
    if vm.channel == Channel.CAPS:
        if hibernating:
            return [CapabilitiesReport(name, balloon=True, hot_add=False)]
        return [CapabilitiesReport(name, b, h) for b in (True, False) for h in (True, False)]
    honest = compute_honest_report(vm)
    if vm.channel == Channel.QUIET:
        return [QuietPeriodEnd(name), StatusReport(name, honest)]
    if vm.channel != Channel.READY:
        return []
    events: list[Event] = [StatusReport(name, honest)]
    if adversarial:
        events += [StatusReport(name, d) for d in demands if d != honest]
    if hibernating and vm.txn in (TxnKind.BALLOON, TxnKind.UNBALLOON):
        return events  # it never answers them
    events += _response_choices(vm, adversarial)
    return events


def _response_choices(vm: Vm, adversarial: bool) -> list[Event]:
    name, asked = vm.name, vm.txn_mib
    if vm.txn == TxnKind.BALLOON:
        honest = compute_balloon_answer(vm)
        events: list[Event] = [honest]
        if honest != BalloonResponse(name, 0, more_pages=False):  # a Linux guest's at-floor
            events.append(BalloonResponse(name, 0, more_pages=False))
        if honest.mib > 2:
            events.append(BalloonResponse(name, 2, more_pages=True))  # a multi-part answer
        if adversarial:
            events.append(BalloonResponse(name, 2 * asked + 2, more_pages=False))
        return events
    if vm.txn == TxnKind.UNBALLOON:
        return [UnballoonResponse(name)]
    if vm.txn == TxnKind.HOT_ADD:
        events = [HotAddResponse(name, asked, True), HotAddResponse(name, 0, True),
                  HotAddResponse(name, 0, False)]
        if asked > 2:
            events.append(HotAddResponse(name, asked // 2 - (asked // 2) % 2, True))
        if adversarial:
            events.append(HotAddResponse(name, 2 * asked + 2, True))
        return events
    return []


def enabled_events(
    state: DmState,
    demands: Iterable[int] = (),
    adversarial: bool = False,
    plan: Plan = compute_plan,
    lifecycle: bool = False,
    profiles: Profiles | None = None,
) -> list[Event]:
    """Every event the reference accepts in ``state`` for the environment's value choices.

    ``demands`` are the workload values to offer (``Demand`` events); ``adversarial`` adds
    misbehaving guests (oversized answers, lying reports, failed negotiation); ``plan`` is
    the balancer policy that decides whether a BalancerTick would send anything;
    ``lifecycle`` adds the events of specs/lifecycle.md (restarts, resets, save/restore,
    migration, the watchdog, starts that wait for reclaim); ``profiles`` name guests that
    say only what their profile says (a ``linux_hibernate`` guest never answers). Admin
    ``Create``/``Configure``/``Delete`` need settings values and are left to generators.
    Every listed event is accepted by ``step`` (a test checks this).

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.state import initial_state
    >>> s = initial_state(HostSettings(4096, 1024), (("a", VmSettings(startup_mib=1024)),))
    >>> enabled_events(s)
    [Start(vm='a')]
    """
    demand_values = tuple(demands)
    events: list[Event] = []
    for vm in state.vms:
        profile = profiles.get(vm.name) if profiles else None
        events += enabled_vm_events(vm, state.free_mib, demand_values, adversarial, lifecycle,
                                    profile)
    if plan(state):
        events.append(BalancerTick())
    return events


def enabled_vm_events(vm: Vm, free_mib: int, demands: tuple[int, ...] = (),
                      adversarial: bool = False, lifecycle: bool = False,
                      profile: GuestProfile | None = None) -> list[Event]:
    """The part of ``enabled_events`` that names ``vm``: it reads only the VM and free memory
    (and its guest's ``profile``, None for any guest).

    Examples
    --------
    >>> from dynmem.reference.settings import VmSettings
    >>> enabled_vm_events(Vm("a", VmSettings(startup_mib=1024)), free_mib=512)
    []
    """
    if vm.power == Power.OFF:
        # Without startup free a start waits for reclaim: offered only with ``lifecycle``, so
        # the explorer presets of before keep their event sets.
        waits = lifecycle or free_mib >= vm.settings.startup_mib
        events: list[Event] = [Start(vm.name)] if waits else []
        return events + (_arrivals(vm, free_mib) if lifecycle else [])
    if not vm.running:
        return _waiting_choices(vm, free_mib) if lifecycle else []
    events = [Stop(vm.name)]
    events += [Demand(vm.name, d) for d in demands if d != vm.demand_mib]
    events += _guest_choices(vm, demands, adversarial, profile)
    return events + (_lifecycle_choices(vm, free_mib) if lifecycle else [])


def _arrivals(vm: Vm, free_mib: int) -> list[Event]:
    """An off VM may arrive by migration at startup, or (with DM) at its maximum."""
    sizes = {vm.settings.startup_mib}
    if vm.settings.dynamic and vm.settings.dm_capable:
        sizes.add(vm.settings.maximum_mib)
    return [MigrateIn(vm.name, mib) for mib in sorted(sizes) if mib <= free_mib]


def _waiting_choices(vm: Vm, free_mib: int) -> list[Event]:
    """A saved VM may be restored; a waiting start or restore may complete or give up.

    A restore whose image is not free waits for reclaim (R-RESTORE) and is accepted, but it
    is not listed: the generators' draws stay those of before, and the explorer, the
    stateful machine and the oracle's generator try it among their guard probes."""
    if vm.power == Power.SAVED:
        return [Restore(vm.name)] if vm.saved_mib <= free_mib else []
    admit: list[Event] = [StartAdmit(vm.name)] if free_mib >= vm.boot_mib else []
    return admit + [StartAbort(vm.name)]


def _lifecycle_choices(vm: Vm, free_mib: int) -> list[Event]:
    """What may happen to a running VM: restart, reset, watchdog, save, migration out."""
    name = vm.name
    events: list[Event] = [GuestRestart(name)]
    regained = vm.ballooned_mib - (vm.txn_mib if vm.txn == TxnKind.UNBALLOON else 0)
    if vm.channel != Channel.NONE and regained <= free_mib:
        events.append(ChannelReset(name))
    if vm.txn != TxnKind.NONE and not vm.stuck:
        events.append(StuckTimeout(name))
    return events + [Save(name), MigrateOut(name)]


@attrs.frozen
class Settled:
    """The steps ``settle`` took, and whether the system reached a fixed point.

    ``cycle_start`` is set when the run came back to a state it had at the start of an
    earlier round (the index of that step): delivery is deterministic, so it would loop
    forever; ``settle`` stops there instead of at ``max_steps``.
    """

    steps: tuple[tuple[Event, StepResult], ...]
    converged: bool
    cycle_start: int | None = None

    @property
    def state(self) -> DmState | None:
        return self.steps[-1][1].state if self.steps else None


def compute_round(state: DmState, plan: Plan = compute_plan,
                  silent: Collection[str] = (), profiles: Profiles | None = None) -> list[Event]:
    """One fair round: each VM's next honest message (in order), then a tick if useful.

    A start waiting for reclaim is admitted (``StartAdmit``) as soon as its startup is free,
    before the tick, so nothing grows into the memory it waits for; it fails at once
    (``StartAbort``) when reclaim from lower weights cannot cover it (P-RECLAIM).
    """
    profiles = profiles or {}
    pending = [m for vm in state.vms if vm.name not in silent
               for m in (compute_honest_message(vm, get_profile(profiles, vm)),)
               if m is not None]
    free = state.free_mib
    for vm in filter(is_waiting_start, state.vms):
        if free >= vm.boot_mib:
            pending.append(StartAdmit(vm.name))
            free -= vm.boot_mib
        elif get_reclaimable(state, vm) < vm.boot_mib:
            pending.append(StartAbort(vm.name))
    aborting = any(isinstance(e, StartAbort) for e in pending)
    if plan(state) and not aborting:  # the plan may reclaim for a start that is failing
        pending.append(BalancerTick())
    return pending


def _is_waiting(vm: Vm) -> bool:
    """Whether the host waits on ``vm``'s answer (a transaction in flight, not given up)."""
    return vm.txn != TxnKind.NONE and not vm.stuck


_Watch = dict[str, tuple[tuple[int, int, int], int]]  # VM -> (transaction, ticks unchanged)


def compute_watchdog(state: DmState, watch: _Watch, stuck_after: int) -> tuple[_Watch, list[Event]]:
    """Count one more balancer tick for every transaction without progress (R-STUCK).

    Returns the new counts and a ``StuckTimeout`` for each transaction that has gone
    ``stuck_after`` ticks without progress.
    """
    counts: _Watch = {}
    fired: list[Event] = []
    for vm in filter(_is_waiting, state.vms):
        shape = (int(vm.txn), vm.txn_mib, vm.txn_done_mib)
        seen, ticks = watch.get(vm.name, (shape, -1))
        ticks = ticks + 1 if seen == shape else 0
        counts[vm.name] = (shape, ticks)
        if ticks >= stuck_after:
            fired.append(StuckTimeout(vm.name))
    return counts, fired


def settle(
    state: DmState,
    max_steps: int = 10_000,
    step_fn: Step = step,
    plan: Plan = compute_plan,
    silent: Collection[str] = (),
    profiles: Profiles | None = None,
    stuck_after: int | None = None,
) -> Settled:
    """Deliver honest guest messages round-robin and tick the balancer until nothing happens.

    Each round gives every VM (in order) its next message, then one BalancerTick if the policy
    has anything to send (R-SETTLE). ``converged`` is False when the run returns to the state
    at the start of an earlier round (an oscillation: it would loop forever) or ``max_steps``
    runs out first (a finding: the system does not settle). Guests named in ``silent`` never
    answer (their transactions stay in flight); ``profiles`` name each guest's profile.
    With ``stuck_after`` = K, every round is a balancer period: a transaction without progress
    for K rounds gets the watchdog's ``StuckTimeout``, and a round with nothing else to do but
    wait delivers an empty tick. A start still waiting when nothing else can happen gives up
    (``StartAbort``: reclaim could not free enough). ``step_fn`` and ``plan`` default to the
    reference's; planted bugs and other policies pass their own.
    """
    steps: list[tuple[Event, StepResult]] = []
    current = state
    rounds: dict[tuple[DmState, tuple[object, ...]], int] = {}
    watch: _Watch = {}
    while len(steps) < max_steps:
        key = (current, tuple(sorted(watch.items())))
        if key in rounds:
            return Settled(tuple(steps), converged=False, cycle_start=rounds[key])
        rounds[key] = len(steps)
        pending = compute_round(current, plan, silent, profiles)
        if stuck_after is not None:
            watch, fired = compute_watchdog(current, watch, stuck_after)
            pending = fired + pending
            if not pending and any(map(_is_waiting, current.vms)):
                pending = [BalancerTick()]  # the balancer's timer runs; nothing to send
        if not pending:
            pending = [StartAbort(vm.name) for vm in current.vms if is_waiting_start(vm)]
        if not pending:
            return Settled(tuple(steps), converged=True)
        for event in pending[: max_steps - len(steps)]:
            result = step_fn(current, event)
            steps.append((event, result))
            current = result.state
            report = compute_posted_status(current, event, profiles or {})
            if report is not None and len(steps) < max_steps:
                result = step_fn(current, report)
                steps.append((report, result))
                current = result.state
    return Settled(tuple(steps), converged=False)


_ANSWERS = (BalloonResponse, UnballoonResponse, HotAddResponse)


def compute_posted_status(state: DmState, event: Event, profiles: Profiles) -> Event | None:
    """The status report a Linux guest posts with its answer ``event``, if it changed (R-SETTLE).

    Linux posts its status while it answers (``post_status`` in ``balloon_up`` and hot-add,
    domain-facts §3.3), and its report counts its ballooned pages and its floor, which the
    answer just changed; a tick between the answer and the report would read a stale report
    and move memory back and forth. A Windows guest's report does not depend on the answer.
    """
    if not isinstance(event, _ANSWERS):
        return None
    vm = state.get_vm(event.vm)
    if vm is None or not is_linux(get_profile(profiles, vm)):
        return None
    message = compute_honest_message(vm, get_profile(profiles, vm))
    return message if isinstance(message, StatusReport) else None


__all__ = [
    "STUCK_AFTER_TICKS",
    "GuestProfile",
    "PROFILE_GUEST_OS",
    "Profiles",
    "Settled",
    "compute_watchdog",
    "get_profile",
    "is_linux",
    "compute_balloon_answer",
    "compute_honest_message",
    "compute_honest_report",
    "compute_next_word",
    "is_silent",
    "compute_posted_status",
    "compute_version_proposal",
    "compute_round",
    "compute_aligned_reports",
    "enabled_events",
    "enabled_vm_events",
    "settle",
]
