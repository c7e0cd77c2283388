"""Every Hypothesis strategy of the suite, in one module (STYLE rule 13).

Settings and hosts are drawn from a few coarse sizes so that memory actually runs out, and
half the examples fit their host to the starting fleet (``fitted_host``); a few choices are
drawn once per example rather than per event (swarm-style: the host's slack, the block
sizes its honest guests advertise); environment choices are drawn *from the current state*
of the running state machine (``st.runner()``, through a ``View`` that returns the state
and the VM names a rule may pick): which VM speaks, what it answers (honest, multi-part,
empty, oversized, odd; every hot-add outcome), lying status reports, demand changes and
explicit DM requests of arbitrary amounts. They return whole event values, so a failing
program prints them literally
(``state.balloon_response(ev=BalloonResponse(vm='web', mib=4, more_pages=True))``).
Choices are drawn as indexes into plain lists (cached integer strategies), which keeps
generation cheap; the first option is the most ordinary one, so shrinking tends to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from dynmem.model.vocabulary import (
    DEFAULT_HOT_ADD_ALIGN_MIB,
    MAX_BUFFER_PERCENT,
    MAX_MAXIMUM_MIB,
    MAX_WEIGHT,
    MEMORY_UNIT_MIB,
    MIN_BUFFER_PERCENT,
    MIN_STARTUP_MIB,
    SUPPORTED_VERSIONS,
    Channel,
    TxnKind,
)
from dynmem.reference.conventions import GUEST_OS_NAMES
from dynmem.reference.environment import compute_balloon_answer, compute_honest_report
from dynmem.reference.events import (
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    Demand,
    DmRequest,
    Event,
    HotAddRequest,
    HotAddResponse,
    QuietPeriodEnd,
    StatusReport,
    UnballoonRequest,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, Vm, compute_floor_to_unit
from dynmem.reference.step import check_request

VM_NAMES = ("web", "db", "batch", "cache")
_EARLY = (Channel.NEGOTIATING, Channel.CAPS, Channel.QUIET)
REQUEST_KINDS: tuple[type[DmRequest], ...] = (BalloonRequest, UnballoonRequest, HotAddRequest)

# --- drawing from a state ----------------------------------------------------------------------

T = TypeVar("T")

# What a state-dependent strategy needs from the running state machine (``st.runner()``):
# the current state and the VM names the rule may pick.
View = Callable[[Any], tuple[DmState, Sequence[str]]]


def _pick(draw: Callable[..., Any], options: Sequence[T]) -> T:
    """One of ``options`` (shrinks to the first); cached integer strategies keep it cheap."""
    if len(options) == 1:
        return options[0]
    index: int = draw(st.integers(0, len(options) - 1))
    return options[index]


def _amount(draw: Callable[..., Any], edges: Sequence[int], low: int, high: int) -> int:
    """An amount: one of ``edges`` (at or just past a guard), or anything in low..high."""
    if draw(st.integers(0, 3)) < 3:
        return _pick(draw, edges)
    return int(draw(st.integers(low, high)))


# --- settings and hosts -------------------------------------------------------------------------


@st.composite
def host_settings(draw: Callable[..., Any]) -> HostSettings:
    """Hosts from 384 MiB to 8 GiB in 128 MiB blocks, with a reserve of up to a quarter."""
    physical = 128 * draw(st.integers(3, 64))
    return HostSettings(physical, compute_floor_to_unit(physical * draw(st.integers(0, 4))
                                                        // 16))


# How much room a host has beyond its reserve and its starting fleet's startups, drawn once
# per example (swarm-style): None keeps the host as drawn (up to 8 GiB, for most fleets
# roomy), a number fits the host to the fleet with that much to spare (``fitted_host``),
# each in half of the examples. On a fitted host memory runs out as soon as a VM grows: the
# policy balloons the others, starts and restores wait, a restore's image no longer fits.
# On the hosts as drawn, the lifecycle's bugs that need that (a restore admitted at startup;
# a balloon that never comes back) took thousands of examples.
_SLACK = st.sampled_from((None, None, None, 0, 128, 512))


def host_slacks() -> st.SearchStrategy[int | None]:
    """The spare memory of a fitted host, or None for the host as drawn."""
    return _SLACK


def fitted_host(host: HostSettings, fleet: Sequence[VmSettings],
                slack: int | None) -> HostSettings:
    """``host`` with room for ``fleet``'s startups and ``slack`` MiB beyond its reserve
    (``host`` itself when ``slack`` is None).

    Examples
    --------
    >>> fitted_host(HostSettings(4096, 256), [VmSettings(startup_mib=512)], 128).physical_mib
    896
    """
    if slack is None:
        return host
    return attrs.evolve(host, physical_mib=host.reserve_mib + slack
                        + sum(s.startup_mib for s in fleet))


# Module-level strategies: built (and validated) once, drawn many times.
_STARTUP = st.one_of(st.sampled_from((32, 64, 128, 256, 512, 1024)),
                     st.integers(MIN_STARTUP_MIB // 2, 1024).map(lambda n: 2 * n))
_EXTRA = st.one_of(st.sampled_from((0, 2, 64, 256, 1024, 4096)),
                   st.integers(0, 2048).map(lambda n: 2 * n), st.just(MAX_MAXIMUM_MIB))
_MOSTLY_TRUE = st.sampled_from((True, True, True, False))
_BUFFER = st.sampled_from((20, 5, 50, 100, MAX_BUFFER_PERCENT))
_WEIGHT = st.sampled_from((5000, 0, 2000, 5000, 8000, MAX_WEIGHT))


@st.composite
def valid_vm_settings(draw: Callable[..., Any]) -> VmSettings:
    """Settings that pass ``check_vm_settings``, mostly dynamic, sizes in coarse steps."""
    startup = draw(_STARTUP)
    return VmSettings(
        dynamic=draw(_MOSTLY_TRUE),
        startup_mib=startup,
        maximum_mib=min(MAX_MAXIMUM_MIB, startup + draw(_EXTRA)),
        buffer_pct=draw(_BUFFER),
        weight=draw(_WEIGHT),
        dm_capable=draw(_MOSTLY_TRUE),
    )


_VALID_SETTINGS = valid_vm_settings()


@st.composite
def invalid_vm_settings(draw: Callable[..., Any]) -> VmSettings:
    """Settings that break one range rule (startup too small or odd, maximum below startup,
    buffer or weight out of range): Create and Configure must refuse them."""
    s: VmSettings = draw(_VALID_SETTINGS)
    return _pick(draw, (
        attrs.evolve(s, startup_mib=30),
        attrs.evolve(s, startup_mib=s.startup_mib + 1, maximum_mib=s.maximum_mib + 2),
        attrs.evolve(s, maximum_mib=s.startup_mib - 2),
        attrs.evolve(s, buffer_pct=MIN_BUFFER_PERCENT - 1),
        attrs.evolve(s, weight=MAX_WEIGHT + 1),
    ))


_SETTINGS = st.one_of(_VALID_SETTINGS, _VALID_SETTINGS, _VALID_SETTINGS, invalid_vm_settings())
_NAMES = st.sampled_from(VM_NAMES)


def vm_settings() -> st.SearchStrategy[VmSettings]:
    """Mostly valid settings, sometimes invalid ones."""
    return _SETTINGS


def vm_names() -> st.SearchStrategy[str]:
    return _NAMES


def vm_fleets() -> st.SearchStrategy[tuple[tuple[str, VmSettings], ...]]:
    """One to three VMs with distinct names and valid settings (a host's starting fleet)."""
    return st.lists(st.tuples(_NAMES, _VALID_SETTINGS), min_size=1, max_size=3,
                    unique_by=lambda pair: pair[0]).map(tuple)


_GUEST_OS = st.sampled_from(GUEST_OS_NAMES)


@st.composite
def _mixed_settings(draw: Callable[..., Any]) -> VmSettings:
    """Valid settings whose guest is Windows or Linux (specs/protocol.md §3.2)."""
    settings: VmSettings = draw(_VALID_SETTINGS)
    return attrs.evolve(settings, guest_os=draw(_GUEST_OS))


def mixed_fleets() -> st.SearchStrategy[tuple[tuple[str, VmSettings], ...]]:
    """Fleets as ``vm_fleets`` whose guests are Windows or Linux (``dynmem fuzz --linux``);
    a separate strategy, so the Windows fleets' derandomized runs stay as they were."""
    return st.lists(st.tuples(_NAMES, _mixed_settings()), min_size=1, max_size=3,
                    unique_by=lambda pair: pair[0]).map(tuple)


def _chosen_vm(draw: Callable[..., Any], view: View) -> Vm:
    state, names = view(draw(st.runner()))
    vm = state.get_vm(_pick(draw, names))
    assert vm is not None, "views name existing VMs"
    return vm


def demand_value(draw: Callable[..., Any], vm: Vm) -> int:
    """Committed memory for ``vm``: around its startup and maximum, or anything."""
    s = vm.settings
    edges = (s.startup_mib, 0, s.startup_mib // 2, (s.startup_mib + s.maximum_mib) // 2,
             s.maximum_mib, 2 * s.maximum_mib)
    return _amount(draw, edges, 0, 2 * s.maximum_mib + 64)


# --- workload and guest messages ---------------------------------------------------------------


@st.composite
def demand_events(draw: Callable[..., Any], view: View) -> Demand:
    """A demand change of one of the view's VMs."""
    vm = _chosen_vm(draw, view)
    return Demand(vm.name, demand_value(draw, vm))


_VERSIONS = (*SUPPORTED_VERSIONS, 0x7, 0x00030000)


@st.composite
def version_requests(draw: Callable[..., Any], view: View) -> VersionRequest:
    """A version proposal: supported ones, or an unknown one (maybe the last attempt)."""
    vm = _chosen_vm(draw, view)
    return VersionRequest(vm.name, _pick(draw, _VERSIONS), draw(st.booleans()))


# Hot-add alignments a guest advertises (R-HOT-ADD-ALIGN): the default first (what shrinking
# tends to), Linux's typical 128 MiB block, 4 MiB (a block small VMs can add), 1 MiB (below
# the unit) and 4 GiB (above the hot-add cap: no hot-add at all).
_ALIGNMENTS = (DEFAULT_HOT_ADD_ALIGN_MIB, 128, 4, 1, 4096)


# The memory block sizes an honest guest advertises: 2 MiB first (the honest guest of
# specs/protocol.md §3.1), Linux's 128 MiB, and 4 MiB.
_BLOCK_SIZES = (DEFAULT_HOT_ADD_ALIGN_MIB, 128, 4)
# Which of them an example's honest guests use, drawn once per example (swarm-style): all
# three in one example of four, only the default in the others. A 128 MiB block stops most
# of the coarse VMs drawn here from growing at all (their room is below a block), and the
# lifecycle's bugs need a VM grown above its startup; drawn on every report (as they once
# were) they moved restore_at_startup and stuck_frees_unreceived past the ci budget.
_BLOCK_SIZE_SETS = st.sampled_from(((DEFAULT_HOT_ADD_ALIGN_MIB,),) * 3 + (_BLOCK_SIZES,))


def block_size_sets() -> st.SearchStrategy[tuple[int, ...]]:
    """The block sizes the honest guests of one example may advertise."""
    return _BLOCK_SIZE_SETS


@st.composite
def block_sizes(draw: Callable[..., Any], sizes: Callable[[Any], Sequence[int]]) -> int:
    """The hot-add alignment an honest guest advertises (its memory block size): one of
    ``sizes(machine)``, the example's set (nothing drawn when it has one)."""
    return _pick(draw, sizes(draw(st.runner())))


def with_block_size(event: Event, align_mib: int) -> Event:
    """``event`` as a guest of block size ``align_mib`` sends it: a capabilities report with
    hot-add advertises that alignment; any other message is unchanged."""
    if isinstance(event, CapabilitiesReport) and event.hot_add:
        return attrs.evolve(event, align_mib=align_mib)
    return event


def without_balloon(event: Event) -> Event:
    """``event`` as a guest that cannot balloon sends it: a capabilities report without
    balloon; any other message is unchanged."""
    if isinstance(event, CapabilitiesReport):
        return attrs.evolve(event, balloon=False)
    return event


@st.composite
def capabilities_reports(draw: Callable[..., Any], view: View) -> CapabilitiesReport:
    """Any capability combination (a guest that cannot balloon or hot-add), and any hot-add
    alignment a report can carry."""
    vm = _chosen_vm(draw, view)
    return CapabilitiesReport(vm.name, not draw(st.booleans()), not draw(st.booleans()),
                              _pick(draw, _ALIGNMENTS))


@st.composite
def busy_first(draw: Callable[..., Any], view: View) -> str:
    """A VM name, half the time one with a transaction in flight (to stop it mid-way)."""
    state, names = view(draw(st.runner()))
    busy = [n for n in names if (vm := state.get_vm(n)) is not None and vm.txn != TxnKind.NONE]
    return _pick(draw, busy if busy and draw(st.booleans()) else list(names))


@st.composite
def listed_events(draw: Callable[..., Any], choices: Callable[[Any], list[Event]]) -> Event:
    """One of the events ``choices(machine)`` lists now: a lifecycle event, an honest
    guest's next message, a start that waits for reclaim."""
    return _pick(draw, choices(draw(st.runner())))


@st.composite
def quiet_period_ends(draw: Callable[..., Any], view: View) -> QuietPeriodEnd:
    return QuietPeriodEnd(_chosen_vm(draw, view).name)


@st.composite
def status_reports(draw: Callable[..., Any], view: View) -> StatusReport:
    """A status report: mostly the truth (what the guest honestly reports), sometimes a lie."""
    vm = _chosen_vm(draw, view)
    lie = draw(st.integers(0, 3)) == 3
    return StatusReport(vm.name, demand_value(draw, vm) if lie else compute_honest_report(vm))


def get_balloon_answers(vm: Vm) -> list[BalloonResponse]:
    """Answers to ``vm``'s balloon: honest, multi-part (2 MiB or half), empty ("at floor"),
    oversized (more than asked), odd."""
    honest = compute_balloon_answer(vm)
    outstanding = vm.txn_mib - vm.txn_done_mib
    return [
        honest,
        BalloonResponse(vm.name, MEMORY_UNIT_MIB, more_pages=True),
        BalloonResponse(vm.name, compute_floor_to_unit(honest.mib // 2), more_pages=True),
        BalloonResponse(vm.name, 0, more_pages=False),
        BalloonResponse(vm.name, 2 * vm.txn_mib + 2, more_pages=False),
        BalloonResponse(vm.name, outstanding + 1, more_pages=False),
    ]


def get_hot_add_answers(vm: Vm) -> list[HotAddResponse]:
    """Every hot-add outcome: full, partial, permanent failure, transient failure,
    oversized, odd."""
    asked = vm.txn_mib
    return [
        HotAddResponse(vm.name, asked, True),
        HotAddResponse(vm.name, compute_floor_to_unit(asked // 2), True),
        HotAddResponse(vm.name, 0, True),
        HotAddResponse(vm.name, asked, False),
        HotAddResponse(vm.name, 2 * asked + 2, True),
        HotAddResponse(vm.name, max(0, asked - 1), True),
    ]


@st.composite
def responses(draw: Callable[..., Any], view: View, kind: TxnKind) -> Event:
    """An answer of one of the view's VMs to its transaction of ``kind``."""
    vm = _chosen_vm(draw, view)
    if kind == TxnKind.BALLOON:
        return _pick(draw, get_balloon_answers(vm))
    if kind == TxnKind.HOT_ADD:
        return _pick(draw, get_hot_add_answers(vm))
    return UnballoonResponse(vm.name)


@st.composite
def unsolicited_messages(draw: Callable[..., Any], view: View) -> Event:
    """A guest message that may not fit the VM's state: a duplicate or unsolicited answer,
    a protocol message out of order, a malformed amount. The host must ignore it."""
    name = _chosen_vm(draw, view).name
    mib = _amount(draw, (2, -2, 0, 1, 64, 4096), -8, 70_000)
    flag = draw(st.booleans())
    choices: tuple[Event, ...] = (
        BalloonResponse(name, mib, flag), UnballoonResponse(name),
        HotAddResponse(name, mib, flag), VersionRequest(name, SUPPORTED_VERSIONS[0], flag),
        CapabilitiesReport(name, flag, flag), QuietPeriodEnd(name), StatusReport(name, mib),
    )
    return _pick(draw, choices)


# --- explicit DM requests (another balancer's decisions) ---------------------------------------


def get_request_edges(vm: Vm, free_mib: int) -> list[int]:
    """Amounts at and just beyond each guard's edge for ``vm``."""
    spare = vm.assigned_mib - vm.settings.startup_mib
    room = vm.settings.maximum_mib - vm.visible_mib
    edges = [MEMORY_UNIT_MIB, spare, spare + 2, free_mib, free_mib + 2, room, room + 2,
             vm.ballooned_mib, vm.ballooned_mib + 2, 2048, 4096]
    if vm.hot_add_align_mib != DEFAULT_HOT_ADD_ALIGN_MIB:  # around its alignment's unit
        edges += [vm.hot_add_align_mib, vm.hot_add_align_mib + 2]
    return [e for e in edges if e != 0]


@st.composite
def dm_requests(draw: Callable[..., Any], view: View, kind: type[DmRequest]) -> DmRequest:
    """A ``kind`` request, with amounts around the guards' edges (or any amount), to: a VM
    that the guards (``check_request``) allow some request of this kind (most often), a VM
    with a transaction in flight (a second one must be refused), a VM whose channel is not
    READY yet (too early), or any of the view's VMs."""
    state, names = view(draw(st.runner()))
    vms = [vm for vm in (state.get_vm(n) for n in names) if vm is not None]
    allowed = [vm for vm in vms if check_request(state, kind(vm.name, MEMORY_UNIT_MIB)) is None]
    busy = [vm for vm in vms if vm.txn != TxnKind.NONE]
    early = [vm for vm in vms if vm.channel in _EARLY]
    pools = [p for p in (allowed, allowed, busy, busy, early, vms) if p]
    vm = _pick(draw, _pick(draw, pools))
    return kind(vm.name, _amount(draw, get_request_edges(vm, state.free_mib), -2, 70_000))
