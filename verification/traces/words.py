"""Events in domain words: the one place that puts an event, a request or VM settings into
words ("host asks web to balloon 512 MiB"). The text trace, the program's comments, ``dynmem
show`` and the HTML report all reuse ``describe_event``.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from dynmem.model.vocabulary import (
    DEFAULT_HOT_ADD_ALIGN_MIB,
    HOST_PROFILE_NAMES,
    HOST_PROFILE_WORDS,
    VERSION_NAMES,
    Channel,
    HostProfile,
    TxnKind,
)
from dynmem.reference.conventions import (
    GUEST_OS_LINUX,
    compute_balloon_floor,
    compute_reported_demand,
)
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    Configure,
    Create,
    Delete,
    Demand,
    DmRequest,
    Event,
    HotAddRequest,
    HotAddResponse,
    QuietPeriodEnd,
    Start,
    StatusReport,
    Stop,
    UnballoonRequest,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState


def describe_settings(settings: VmSettings) -> str:
    """One line of VM settings, e.g. ``dynamic, startup 2048, maximum 8192, buffer 20%, ...``.

    Examples
    --------
    >>> describe_settings(VmSettings(startup_mib=4096))
    'static 4096 MiB, weight 5000'
    """
    if not settings.dynamic:
        text = f"static {settings.startup_mib} MiB, weight {settings.weight}"
    else:
        text = (f"dynamic, startup {settings.startup_mib} MiB, maximum "
                f"{settings.maximum_mib} MiB, buffer {settings.buffer_pct}%, weight "
                f"{settings.weight}")
    text += "" if settings.dm_capable else ", guest without DM support"
    return text + (", Linux guest" if settings.guest_os == GUEST_OS_LINUX else "")


def describe_version(version: int) -> str:
    """A protocol version's name, e.g. ``Windows 10``; an unknown one in hex."""
    return VERSION_NAMES.get(version, f"{version:#x} (unknown)")


def describe_host_profile(host: HostSettings) -> str:
    """The host's profile and the versions it accepts; ``""`` for the default (``qemu``).

    Examples
    --------
    >>> from dynmem.model.vocabulary import HostProfile
    >>> describe_host_profile(HostSettings(8192, 1024, HostProfile.WS2008R2SP1))
    'profile 2008r2sp1 (Windows Server 2008 R2 SP1: accepts protocol 0.3 (WIN7))'
    """
    if host.profile == HostProfile.QEMU:
        return ""
    versions = ", ".join(describe_version(v) for v in reversed(host.accepted_versions))
    return (f"profile {HOST_PROFILE_WORDS[host.profile]} ({HOST_PROFILE_NAMES[host.profile]}: "
            f"accepts protocol {versions})")


def _describe_version_request(event: VersionRequest, before: DmState | None) -> str:
    tail = ", its last attempt" if event.last_attempt else ""
    text = f"{event.vm}'s guest proposes protocol {describe_version(event.version)}{tail}"
    vm = before.get_vm(event.vm) if before is not None else None
    if (before is not None and vm is not None and vm.channel == Channel.NEGOTIATING
            and event.version not in before.host.accepted_versions):
        text += f" (the {HOST_PROFILE_WORDS[before.host.profile]} host does not speak it)"
    return text


def describe_request(request: DmRequest) -> str:
    """A DM request as the balancer's plan line, e.g. ``balloon 704 MiB from lo``."""
    if isinstance(request, BalloonRequest):
        return f"balloon {request.mib} MiB from {request.vm}"
    if isinstance(request, UnballoonRequest):
        return f"unballoon {request.mib} MiB to {request.vm}"
    return f"hot-add {request.mib} MiB to {request.vm}"


def _describe_hot_add_response(event: HotAddResponse, before: DmState | None) -> str:
    who = f"{event.vm}'s guest"
    if not event.success:
        return f"{who} reports the hot-add failed (transient, may retry)"
    vm = before.get_vm(event.vm) if before is not None else None
    asked = vm.txn_mib if vm is not None and vm.txn == TxnKind.HOT_ADD else None
    if event.mib == 0:
        return f"{who} adds nothing (hot-add failed for good)"
    if asked is None:  # no context, or no hot-add in flight (a duplicate answer)
        return f"{who} reports {event.mib} MiB hot-added"
    if event.mib == asked:
        return f"{who} adds {event.mib} MiB (hot-add done)"
    if event.mib > asked:
        return f"{who} claims {event.mib} MiB added, more than the {asked} MiB asked"
    return f"{who} adds only {event.mib} of {asked} MiB (partial: no more hot-add)"


def _describe_balloon_response(event: BalloonResponse, before: DmState | None) -> str:
    who = f"{event.vm}'s guest"
    if event.mib == 0 and not event.more_pages:
        return f"{who} hands back nothing (at its floor)"
    part = "more to come" if event.more_pages else "final part"
    vm = before.get_vm(event.vm) if before is not None else None
    if vm is not None and vm.txn == TxnKind.BALLOON and event.mib > vm.txn_mib - vm.txn_done_mib:
        part += f"; only {vm.txn_mib - vm.txn_done_mib} MiB was outstanding"
    return f"{who} hands back {event.mib} MiB ({part})"


def _linux_reading(event: StatusReport, before: DmState | None) -> str:
    """How the host reads a Linux guest's report (policy.md P-DEMAND), or ``""``."""
    vm = before.get_vm(event.vm) if before is not None else None
    if vm is None or vm.settings.guest_os != GUEST_OS_LINUX:
        return ""
    floor = compute_balloon_floor(vm.assigned_mib)
    demand = compute_reported_demand(event.committed_mib, GUEST_OS_LINUX, vm.ballooned_mib,
                                     vm.assigned_mib)
    return (f" (Linux: demand {demand} + ballooned {vm.ballooned_mib} + floor {floor} of "
            f"{vm.assigned_mib} MiB RAM)")


def describe_event(event: Event, result_sent: Sequence[DmRequest] = (), *,
                   before: DmState | None = None) -> str:
    """``event`` in domain words; a BalancerTick lists the requests it sent.

    ``before`` (the state the event met) adds context where the event alone cannot say it,
    e.g. whether a hot-add answer is partial.

    Examples
    --------
    >>> describe_event(BalloonRequest("web", 512))
    'host asks web to balloon 512 MiB'
    >>> describe_event(BalloonResponse("web", 512, more_pages=False))
    "web's guest hands back 512 MiB (final part)"
    >>> describe_event(BalancerTick(), (HotAddRequest("hi", 2048), BalloonRequest("lo", 704)))
    'balancer tick: hot-add 2048 MiB to hi; balloon 704 MiB from lo'
    """
    match event:
        case Create(vm=vm, settings=settings):
            return f"create {vm} ({describe_settings(settings)})"
        case Configure(vm=vm, settings=settings):
            return f"configure {vm}: {describe_settings(settings)}"
        case Delete(vm=vm):
            return f"delete {vm}"
        case Start(vm=vm):
            return f"start {vm}"
        case Stop(vm=vm):
            return f"stop {vm}"
        case Demand(vm=vm, mib=mib):
            return f"{vm}'s workload now commits {mib} MiB"
        case VersionRequest():
            return _describe_version_request(event, before)
        case CapabilitiesReport(vm=vm, balloon=balloon, hot_add=hot_add, align_mib=align):
            caps = [n for n, on in (("balloon", balloon), ("hot-add", hot_add)) if on]
            aligned = ("" if align == DEFAULT_HOT_ADD_ALIGN_MIB
                       else f", hot-add alignment {align} MiB")
            return f"{vm}'s guest reports capabilities: {', '.join(caps) or 'none'}{aligned}"
        case QuietPeriodEnd(vm=vm):
            return f"{vm}'s quiet period ends"
        case StatusReport(vm=vm, committed_mib=mib):
            return f"{vm}'s guest reports {mib} MiB committed" + _linux_reading(event, before)
        case BalloonRequest(vm=vm, mib=mib):
            return f"host asks {vm} to balloon {mib} MiB"
        case BalloonResponse():
            return _describe_balloon_response(event, before)
        case UnballoonRequest(vm=vm, mib=mib):
            return f"host returns {mib} MiB of ballooned memory to {vm}"
        case UnballoonResponse(vm=vm):
            return f"{vm}'s guest takes the unballooned memory back"
        case HotAddRequest(vm=vm, mib=mib):
            return f"host hot-adds {mib} MiB to {vm}"
        case HotAddResponse():
            return _describe_hot_add_response(event, before)
        case BalancerTick():
            plan = "; ".join(describe_request(r) for r in result_sent)
            return f"balancer tick: {plan or 'nothing to send'}"
    # a kind without a case here may state its words on its class: WORDS, a format string
    # over its fields (reference/events.py); otherwise it still prints, exactly
    words: str | None = getattr(type(event), "WORDS", None)
    return words.format_map(attrs.asdict(event, recurse=False)) if words else repr(event)
