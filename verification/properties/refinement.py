"""Refinement of single-VM steps with the model's guards and update evaluated once per what
they read.

``model.concrete_steps.is_allowed`` evaluates an action's guards and declared update on the
state before, then compares the state after with them. For a slot action the guards and the
update read only some fields of the acting VM (and the host settings, free memory when
``reads_free``, the event's parameters): ``model.dependence.get_action_reads`` derives which
from the definition. ``RefinementCache`` keys that evaluation (``get_slot_effect``) by those
values and compares every step's VM and free memory after with it, field for field: the
comparison runs on every step; only the evaluation is shared. The same verdict as
``is_allowed``; a step it does not allow, or any step it does not cover (a tick, a create or
delete, a state of several VMs, another host object), is judged by ``is_allowed`` itself, so
every message is its message (tests/verification/walk/test_read_sets.py).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from dynmem.model.actions import BY_KIND
from dynmem.model.concrete_steps import SlotEffect, get_slot_effect, is_allowed
from dynmem.model.dependence import get_action_reads, reads_free
from dynmem.reference.events import Event
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import DmState
from dynmem.verification.properties.fieldmask import VM_FIELDS

__all__ = ["RefinementCache"]

# Per event kind: a getter of the VM fields its action reads, and whether it reads free
# memory; None for a kind the cache does not cover.
_Reads = tuple[Callable[[Any], Any], bool] | None


def _get_reads(kind: str) -> _Reads:
    action = BY_KIND.get(kind)
    if action is None:
        return None
    reads = get_action_reads(action)
    if reads is None or not reads <= VM_FIELDS:
        return None
    names = sorted(reads)
    getter: Callable[[Any], Any] = operator.attrgetter(*names) if names else _nothing
    return getter, reads_free(action)


def _nothing(vm: Any) -> tuple[()]:
    return ()


class RefinementCache:
    """``is_allowed`` with the model's effect of a single-VM step shared between steps from
    VM values that agree on what the action reads (see the module docstring), on ``host``
    (a guard may read its settings: a state of another host object is not covered)."""

    def __init__(self, host: HostSettings) -> None:
        self.host = host
        self._reads: dict[str, _Reads] = {}
        self._effects: dict[tuple[Event, Any, int | None], SlotEffect | None] = {}

    def __call__(self, pre: DmState, event: Event, post: DmState,
                 sent: Sequence[Any] | None = None) -> str | None:
        if self._is_met(pre, event, post):
            return None
        return is_allowed(pre, event, post, sent)

    def _is_met(self, pre: DmState, event: Event, post: DmState) -> bool:
        """Whether a one-VM step of a covered kind does what the model's effect says."""
        if (len(pre.vms) != 1 or len(post.vms) != 1 or pre.host is not self.host
                or post.host is not self.host):
            return False
        kind = event.KIND
        if kind not in self._reads:
            self._reads[kind] = _get_reads(kind)
        reads = self._reads[kind]
        if reads is None:
            return False
        before, after = pre.vms[0], post.vms[0]
        if before.name != after.name or getattr(event, "vm", None) != before.name:
            return False
        get, free = reads
        key = (event, get(before), pre.free_mib if free else None)
        effect = self._effects.get(key)
        if effect is None:
            if key in self._effects:
                return False  # a guard fails: ``is_allowed`` says which
            effect = self._effects[key] = get_slot_effect(pre, event)
            if effect is None:
                return False
        return effect.is_met(before, after, pre.free_mib, post.free_mib)

    def clear(self) -> None:
        """Forget every effect (a walk bounds its memos' memory by counts)."""
        self._effects.clear()

    def __len__(self) -> int:
        return len(self._effects)
