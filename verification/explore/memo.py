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
    compute_honest_message,
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
    StartAdmit,
    UnballoonRequest,
    VersionRequest,
)
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Step
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.properties.locality import is_slot_change

KIND_INDEX = {cls: i for i, cls in enumerate(EVENT_TYPES.values())}
_REQUESTS = (BalloonRequest, UnballoonRequest, HotAddRequest)

# One accepted single-VM step: (kind index, event, VM after or None when the step must be
# taken on each state (direct), free memory after, progress edge, two-state clauses hold).
SlotStep = tuple[int, Event, Vm | None, int, bool, bool]
CheckStep = Callable[[DmState, Event, DmState], list[Violation]]


class SlotEntry:
    """The accepted steps one VM offers at one free-memory value, in candidate order:
    ``enabled`` (``enabled_vm_events``) and ``extra`` (admin events and explicit DM
    requests); ``honest`` tells whether its guest has a message to send."""

    __slots__ = ("enabled", "extra", "honest")

    def __init__(self, enabled: list[SlotStep], extra: list[SlotStep], honest: bool) -> None:
        self.enabled = enabled
        self.extra = extra
        self.honest = honest


def get_vm_events(vm: Vm, free_mib: int, config: ExploreConfig) -> list[Event]:
    """The events of ``enabled_vm_events`` the explorer offers for ``vm``."""
    events = enabled_vm_events(vm, free_mib, config.demands, config.adversarial,
                               config.vm_lifecycle)
    if config.all_versions:
        return events
    # the honest guest's proposal (its next version after a refusal) and the adversarial
    # last attempt; the other versions only copy the honest run where the host accepts them
    return [e for e in events if not (isinstance(e, VersionRequest) and not e.last_attempt
                                      and e.version in SUPPORTED_VERSIONS
                                      and e != compute_version_proposal(vm))]


def get_vm_extras(vm: Vm, free_mib: int, config: ExploreConfig) -> list[Event]:
    """The admin events and DM requests offered for ``vm`` beyond ``enabled_vm_events``: they
    are tried and may be refused, so a planted bug that relaxes a guard is exercised."""
    events: list[Event] = []
    if config.vm_lifecycle and vm.power == Power.SAVED:
        events.append(Restore(vm.name))  # tried without its memory free, too
    if config.vm_lifecycle and vm.power == Power.STARTING:
        events.append(StartAdmit(vm.name))
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
    """Accepted single-VM steps per (VM, free memory), computed on first use."""

    def __init__(self, config: ExploreConfig, step_fn: Step, check_step: CheckStep,
                 pool: dict[Vm, Vm]) -> None:
        self.config = config
        self.step_fn = step_fn
        self.check_step = check_step
        self.entries: dict[tuple[Vm, int], SlotEntry] = {}
        self.pool = pool  # one object per VM value: states compare VMs by identity

    def get(self, state: DmState, index: int) -> SlotEntry:
        """The entry of VM ``index`` of ``state`` at the state's free memory."""
        vm = state.vms[index]
        key = (vm, state.free_mib)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = self._compute(state, index)
        return entry

    def _compute(self, state: DmState, index: int) -> SlotEntry:
        vm, free, config = state.vms[index], state.free_mib, self.config
        honest = compute_honest_message(vm, free_mib=free)
        return SlotEntry(self._steps(state, index, get_vm_events(vm, free, config), honest),
                         self._steps(state, index, get_vm_extras(vm, free, config), honest),
                         honest is not None)

    def _steps(self, state: DmState, index: int, events: list[Event],
               honest: Event | None) -> list[SlotStep]:
        steps: list[SlotStep] = []
        for event in events:
            result = self.step_fn(state, event)
            if result.reason is not None:
                continue
            post = result.state
            after: Vm | None = None
            if is_slot_change(state, index, post):
                after = self.pool.setdefault(post.vms[index], post.vms[index])
            steps.append((KIND_INDEX[type(event)], event, after, post.free_mib,
                          event == honest, not self.check_step(state, event, post)))
        return steps

