"""Coverage of the reference's behaviour: (event kind × VM channel/transaction state) pairs and
guard outcomes, shared by the stateful tests and the explorer.

A *pair* is an accepted event seen in a VM state: ``("balloon_response", "READY/BALLOON")``.
A BalancerTick counts once per request it sends (``"balancer_tick>hot_add_request"`` with
the receiving VM's state), or as ``("balancer_tick", "idle")`` when it sends nothing. A
*guard outcome* is an event kind with ``"accepted"`` or the normalised reason of its
rejection (names and numbers replaced), e.g. ``("start", "not enough memory to start <vm>:
startup # MiB > free # MiB")``. Exploration of a small configuration gives the set of
reachable pairs; a stateful run is measured against it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import attrs

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.events import BalancerTick, DmRequest, Event
from dynmem.reference.state import DmState

Pair = tuple[str, str]

TICK_IDLE: Pair = (BalancerTick.KIND, "idle")


def get_vm_label(state: DmState, name: str) -> str:
    """The channel/transaction state of VM ``name`` in ``state``: ``ABSENT``, ``OFF`` or
    ``CHANNEL/TXN`` (e.g. ``READY/BALLOON``)."""
    vm = state.get_vm(name)
    if vm is None:
        return "ABSENT"
    if vm.power != Power.RUNNING:
        return "OFF"
    return f"{Channel(vm.channel).name}/{TxnKind(vm.txn).name}"


def get_pairs(pre: DmState, event: Event, sent: Iterable[DmRequest] = ()) -> list[Pair]:
    """The coverage pairs of the accepted step ``pre --event-->`` that sent ``sent``."""
    if isinstance(event, BalancerTick):
        pairs = [(f"{event.KIND}>{r.KIND}", get_vm_label(pre, r.vm)) for r in sent]
        return pairs or [TICK_IDLE]
    return [(event.KIND, get_vm_label(pre, event.vm))]


_NUMBER = re.compile(r"-?\d+")
_QUOTED = re.compile(r"'[^']*'")


def compute_reason_key(reason: str, names: Iterable[str]) -> str:
    """``reason`` with VM names, quoted values and numbers replaced, so that rejections for
    the same guard compare equal (VM names must not be English words such as ``a``).

    Examples
    --------
    >>> compute_reason_key("not enough memory to start db: startup 64 MiB > free 32 MiB", ["db"])
    'not enough memory to start <vm>: startup # MiB > free # MiB'
    """
    text = _QUOTED.sub("<vm>", reason)
    for name in sorted(set(names), key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "<vm>", text)
    text = re.sub(r"\(VMs: [^)]*\)", "(VMs: ...)", text)
    return _NUMBER.sub("#", text)


@attrs.define
class Coverage:
    """Counts of pairs and guard outcomes seen so far (mutable, one per run)."""

    pairs: Counter[Pair] = attrs.field(factory=Counter)
    outcomes: Counter[Pair] = attrs.field(factory=Counter)

    def record(self, pre: DmState, event: Event, reason: str | None,
               sent: Iterable[DmRequest] = ()) -> None:
        """Count the step ``pre --event-->`` (rejected with ``reason``, or accepted)."""
        if reason is None:
            self.pairs.update(get_pairs(pre, event, sent))
            self.outcomes[(event.KIND, "accepted")] += 1
        else:
            names = [vm.name for vm in pre.vms] + [getattr(event, "vm", "")]
            self.outcomes[(event.KIND, compute_reason_key(reason, names))] += 1

    def merge(self, other: Coverage) -> None:
        """Add ``other``'s counts to these."""
        self.pairs.update(other.pairs)
        self.outcomes.update(other.outcomes)

    def share_of(self, reachable: Iterable[Pair]) -> float:
        """The share (0..1) of ``reachable`` pairs seen here."""
        wanted = set(reachable)
        return len(wanted & set(self.pairs)) / len(wanted) if wanted else 1.0

    def missing(self, reachable: Iterable[Pair]) -> list[Pair]:
        """The ``reachable`` pairs not seen here, sorted."""
        return sorted(set(reachable) - set(self.pairs))
