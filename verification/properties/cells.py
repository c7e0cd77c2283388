"""Coverage cells of the oracle: (event kind × channel × transaction × answer kind).

A *cell* says what kind of event met what kind of VM and how it was answered:
``("balloon_response", "READY", "BALLOON", "complete-more")``. The answer kind refines
"accepted" for guest answers (which amount, which flags) and is ``refused`` for an event the
guards refuse; a ``balancer_tick`` is ``sends`` or ``idle``. The exhaustive phase's
reachable cells (``conformance.cells``) are the yardstick the random phase is measured
against; ``SITUATIONS`` are the named cases issue 12 found missed by random runs, each
checked to be reachable by both phases.
"""

from __future__ import annotations

from collections.abc import Callable

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonResponse,
    DmRequest,
    Event,
    HotAddRequest,
    HotAddResponse,
    StatusReport,
    Stop,
)
from dynmem.reference.state import DmState, Vm
from dynmem.verification.properties.progress import get_need, is_managed

Cell = tuple[str, str, str, str]


def get_answer_kind(vm: Vm | None, event: Event, accepted: bool,
                    sent: tuple[DmRequest, ...] = ()) -> str:
    """How ``event`` was answered, in words (see the module docstring)."""
    if not accepted:
        return "refused"
    if isinstance(event, BalancerTick):
        return "sends" if sent else "idle"
    if vm is not None and isinstance(event, HotAddResponse):
        asked = vm.txn_mib
        if not event.success:
            return "transient"
        return ("zero" if event.mib == 0 else "partial" if event.mib < asked
                else "full" if event.mib == asked else "oversized")
    if vm is not None and isinstance(event, BalloonResponse):
        outstanding = vm.txn_mib - vm.txn_done_mib
        if event.mib > outstanding:
            return "oversized"
        if event.mib == outstanding:
            return "complete-more" if event.more_pages else "final"
        if event.mib == 0 and not event.more_pages:
            return "empty"
        return "part" if event.more_pages else "short-final"
    return "accepted"


def get_cell(pre: DmState, event: Event, accepted: bool,
             sent: tuple[DmRequest, ...] = ()) -> Cell:
    """The cell of the step ``pre --event-->`` (accepted or refused)."""
    name = getattr(event, "vm", None)
    vm = pre.get_vm(name) if isinstance(name, str) else None
    if vm is None:
        channel, txn = ("HOST" if name is None else "ABSENT"), "-"
    elif vm.power != Power.RUNNING:
        channel, txn = "OFF", "-"
    else:
        channel, txn = Channel(vm.channel).name, TxnKind(vm.txn).name
    return (event.KIND, channel, txn, get_answer_kind(vm, event, accepted, sent))


Situation = Callable[[DmState, Event, bool], bool]


def _vm(pre: DmState, event: Event) -> Vm | None:
    name = getattr(event, "vm", None)
    return pre.get_vm(name) if isinstance(name, str) else None


def is_stop_mid_transaction(pre: DmState, event: Event, accepted: bool) -> bool:
    vm = _vm(pre, event)
    return (accepted and isinstance(event, Stop) and vm is not None
            and vm.txn != TxnKind.NONE)


def is_early_report(pre: DmState, event: Event, accepted: bool) -> bool:
    vm = _vm(pre, event)
    return (accepted and isinstance(event, StatusReport) and vm is not None
            and vm.channel in (Channel.CAPS, Channel.QUIET))


def is_complete_with_more_pages(pre: DmState, event: Event, accepted: bool) -> bool:
    vm = _vm(pre, event)
    return (accepted and vm is not None
            and get_answer_kind(vm, event, accepted) == "complete-more")


def is_three_short(pre: DmState, event: Event, accepted: bool) -> bool:
    """A tick while three managed VMs, idle, are each short of their target."""
    if not isinstance(event, BalancerTick):
        return False
    short = [vm for vm in pre.vms if is_managed(vm) and vm.txn == TxnKind.NONE
             and get_need(vm) > 0]
    return len(short) >= 3


SITUATIONS: dict[str, Situation] = {
    "stop of a running VM mid-transaction": is_stop_mid_transaction,
    "early status report before the channel is ready": is_early_report,
    "balloon part that completes the request with more_pages: true":
        is_complete_with_more_pages,
    "three managed VMs short at once": is_three_short,
}
# Needs history (the state does not record a failed hot-add): ``SituationTracker``.
AFTER_TRANSIENT = "valid hot-add request event after a transient hot-add failure"
SITUATION_NAMES = (*SITUATIONS, AFTER_TRANSIENT)


class SituationTracker:
    """Follows one run step by step and collects the situations it meets."""

    def __init__(self) -> None:
        self.failed: set[str] = set()  # VMs whose last hot-add answer was a transient failure
        self.hit: set[str] = set()

    def see(self, pre: DmState, event: Event, accepted: bool) -> None:
        """Record the step ``pre --event-->``."""
        self.hit.update(name for name, test in SITUATIONS.items() if test(pre, event, accepted))
        name = getattr(event, "vm", None)
        if not accepted or not isinstance(name, str):
            return
        if isinstance(event, HotAddResponse) and not event.success:
            self.failed.add(name)
        elif isinstance(event, HotAddRequest) and name in self.failed:
            self.hit.add(AFTER_TRANSIENT)
            self.failed.discard(name)
        elif isinstance(event, (Stop, HotAddResponse)):
            self.failed.discard(name)
