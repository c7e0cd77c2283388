"""The explorer's per-VM memo: each single-VM event is stepped once per (VM, free memory).

An event that names one VM reads only that VM, free memory and the host settings, and
changes at most that VM and free memory (R-LOCAL, specs/events.md); the host settings are
fixed in one exploration. So the accepted steps a VM offers, their results and their
two-state checks depend only on (VM value, free memory), and many states share them: in the
2-VM preset 964 such pairs stand for 41,546 (state, VM) pairs. The memo computes a pair's
steps on the first state that has it and reuses them for every other.

Each computed step is checked to change nothing else (the other VMs the same values, the
host the same); one that does (Delete, or a planted bug that edits other VMs) is kept as
*direct* and stepped again on every state. What a step reads cannot be checked here:
tests/verification/test_locality.py checks R-LOCAL for the reference and every planted bug, and
tests/verification/test_explore_memo.py compares memoized and direct explorations.
"""

from __future__ import annotations

from collections.abc import Callable

from dynmem.model.invariants import Violation
from dynmem.model.vocabulary import SUPPORTED_VERSIONS, Power
from dynmem.reference.environment import (
    compute_aligned_reports,
    compute_next_word,
    compute_version_proposal,
    enabled_vm_events,
)
from dynmem.reference.events import (
    EVENT_TYPES,
    BalloonRequest,
    Configure,
    Delete,
    Event,
    HotAddRequest,
    Restore,
    Start,
    StartAbort,
    StartAdmit,
    UnballoonRequest,
    VersionRequest,
)
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Step
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.explore.interning import VmTable
from dynmem.verification.properties.locality import is_slot_change

KIND_INDEX = {cls: i for i, cls in enumerate(EVENT_TYPES.values())}
_REQUESTS = (BalloonRequest, UnballoonRequest, HotAddRequest)

# One accepted single-VM step: (kind index, event, id of the VM after (``VmTable``), or -1 when
# the step must be taken on each state (direct), what the VM after and free memory after add
# to a state key (``VmTable.get_slot_part``), free memory after, progress edge, two-state
# clauses hold).
SlotStep = tuple[int, Event, int, int, int, bool, bool]
CheckStep = Callable[[DmState, Event, DmState], list[Violation]]
DIRECT = -1


# The accepted steps of one list as whole-state successors, when every step is local and
# keeps the two-state clauses: (key deltas, kind indexes, progress flags); see SlotEntry.
FastSteps = tuple[list[int], list[int], list[bool]]


class SlotEntry:
    """The accepted steps one VM offers at one free-memory value, in candidate order:
    ``enabled`` (``enabled_vm_events``) and ``extra`` (admin events and explicit DM
    requests); ``honest`` tells whether its guest has a message to send.

    ``fast_enabled`` and ``fast_extra`` give the same steps as what they add to the state's
    key (``VmTable.get_slot_part``), their kinds and progress flags, when each of them is
    local and keeps every two-state clause; None when one is not (it is taken the long way);
    an empty tuple when there is no step.
    """

    __slots__ = ("enabled", "extra", "honest", "fast_enabled", "fast_extra")

    def __init__(self, enabled: list[SlotStep], extra: list[SlotStep], honest: bool,
                 before: int) -> None:
        self.enabled = enabled
        self.extra = extra
        self.honest = honest
        self.fast_enabled = _get_fast(enabled, before)
        self.fast_extra = _get_fast(extra, before)


def _get_fast(steps: list[SlotStep], before: int) -> FastSteps | tuple[()] | None:
    if any(step[2] == DIRECT or not step[6] for step in steps):
        return None
    if not steps:
        return ()
    return ([step[3] - before for step in steps], [step[0] for step in steps],
            [step[5] for step in steps])


def get_vm_events(vm: Vm, free_mib: int, config: ExploreConfig) -> list[Event]:
    """The events of ``enabled_vm_events`` the explorer offers for ``vm``."""
    events = enabled_vm_events(vm, free_mib, config.demands, config.adversarial,
                               config.vm_lifecycle, config.get_profile(vm.name))
    if config.waiting_starts and not config.vm_lifecycle:
        events += get_waiting_start_events(vm, free_mib)
    if config.alignments:
        events += compute_aligned_reports(events, config.alignments)
    if config.all_versions:
        return events
    # the honest guest's proposal (its next version after a refusal) and the adversarial
    # last attempt; the other versions only copy the honest run where the host accepts them
    return [e for e in events if not (isinstance(e, VersionRequest) and not e.last_attempt
                                      and e.version in SUPPORTED_VERSIONS
                                      and e != compute_version_proposal(vm))]


def get_next_words(state: DmState, config: ExploreConfig,
                   free_mib: int | None = None) -> set[Event]:
    """Each VM's honest next step in ``state`` under the guest profiles of ``config``
    (``compute_next_word``): its guest's honest message, or the watchdog of a guest that
    never answers."""
    return {m for vm in state.vms
            for m in (compute_next_word(vm, config.get_profile(vm.name), free_mib),)
            if m is not None}


def get_waiting_start_events(vm: Vm, free_mib: int) -> list[Event]:
    """A start that waits for reclaim (its startup is not free, R-START), and the waiting
    start's admission once its startup is free or its abort: the lifecycle's waiting
    starts without the other events of specs/lifecycle.md."""
    if vm.power == Power.OFF and vm.settings.startup_mib > free_mib:
        return [Start(vm.name)]
    if vm.power == Power.STARTING:
        admit = [StartAdmit(vm.name)] if vm.boot_mib <= free_mib else []
        return [*admit, StartAbort(vm.name)]
    return []


def get_vm_extras(vm: Vm, free_mib: int, config: ExploreConfig) -> list[Event]:
    """The admin events and DM requests offered for ``vm`` beyond ``enabled_vm_events``: they
    are tried and may be refused, so a planted bug that relaxes a guard is exercised."""
    events: list[Event] = []
    if config.vm_lifecycle and vm.power == Power.SAVED:
        events.append(Restore(vm.name))  # tried without its memory free, too
    if (config.vm_lifecycle or config.waiting_starts) and vm.power == Power.STARTING:
        events.append(StartAdmit(vm.name))  # tried without its startup free, too
    if not vm.running:
        # Without startup free a start waits for reclaim (R-START): a lifecycle event, so
        # the presets of before offer it only with ``vm_lifecycle`` (enabled_vm_events).
        if config.lifecycle:
            events.append(Delete(vm.name))
    else:
        events += [cls(vm.name, mib) for cls in _REQUESTS for mib in config.request_amounts]
    events += [Configure(vm.name, s) for s in config.alternatives if s != vm.settings]
    return events


class SlotMemo:
    """Accepted single-VM steps per (VM id, free memory, position), computed on first use."""

    def __init__(self, config: ExploreConfig, step_fn: Step, check_step: CheckStep,
                 table: VmTable) -> None:
        self.config = config
        self.step_fn = step_fn
        self.check_step = check_step
        self.entries: dict[tuple[int, int, int], SlotEntry] = {}
        self.table = table  # VM values by id: the steps' results are interned there

    def get(self, state: DmState, index: int, vid: int) -> SlotEntry:
        """The entry of VM ``index`` (id ``vid``) of ``state`` at the state's free memory."""
        key = (vid, state.free_mib, index)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = self._compute(state, index, vid)
        return entry

    def _compute(self, state: DmState, index: int, vid: int) -> SlotEntry:
        vm, free, config = state.vms[index], state.free_mib, self.config
        honest = compute_next_word(vm, config.get_profile(vm.name), free)
        return SlotEntry(self._steps(state, index, get_vm_events(vm, free, config), honest),
                         self._steps(state, index, get_vm_extras(vm, free, config), honest),
                         honest is not None, self.table.get_slot_part(index, free, vid))

    def _steps(self, state: DmState, index: int, events: list[Event],
               honest: Event | None) -> list[SlotStep]:
        steps: list[SlotStep] = []
        for event in events:
            result = self.step_fn(state, event)
            if result.reason is not None:
                continue
            post = result.state
            after, part = DIRECT, 0
            if is_slot_change(state, index, post):
                after = self.table.id(post.vms[index])
                part = self.table.get_slot_part(index, post.free_mib, after)
            steps.append((KIND_INDEX[type(event)], event, after, part, post.free_mib,
                          event == honest, not self.check_step(state, event, post)))
        return steps
