"""The walk's nodes: one per VM value met, with everything computed from the value once.

A walk keeps its state as free memory and a list of nodes (``walk/engine.py``). A node holds
the value's offer, how its events are grouped by kind and keyed (``Layout``), its verdict
under the vm clauses, what it owns, its memoised steps per free memory and its picks per
episode; nodes are identity-hashed, so memos keyed by them run no ``Vm.__hash__``.
"""

from __future__ import annotations

from dynmem.reference.events import Event
from dynmem.reference.state import Vm
from dynmem.verification.walk.offers import KIND_BIT

__all__ = ["Layout", "Local", "Node", "Picks", "get_layout"]


class Node:
    """One VM value the walker met (interned: one node per value) and what is computed from
    it once: its offer, each offered event's kind bit and whether it is keyed without free
    memory, whether it satisfies the vm clauses (None: not judged yet), what it owns, its
    steps per free memory and its picks per episode kind (``Walker._picks``).

    Identity-hashed: a dict keyed by nodes (the whole-state memo) or a list of them (the
    walk's state) never runs ``Vm.__hash__``/``__eq__`` once the value is interned.
    """

    __slots__ = ("blind", "kinds", "offer", "ok", "owned", "picks", "plan", "steps", "vm")

    def __init__(self, vm: Vm, offer: tuple[Event, ...], layout: Layout, owned: int,
                 plan: int = -1) -> None:
        self.vm, self.offer, self.owned = vm, offer, owned
        # what the reference's plan reads of the value, numbered (``Walker._intern``); -1
        # when the plan does not read it
        self.plan = plan
        self.blind, self.kinds = layout
        self.ok: bool | None = None
        # per free memory (None for a FREE_BLIND kind of the reference): per offer index
        self.steps: dict[int | None, list[Local | None]] = {}
        self.picks: dict[int, Picks] = {}


# Of an offer: whether each event is keyed without free memory, and the offer indices of
# each kind with its bit, kinds in the order the offer first has them. A function of the
# offer's kinds in order, so offers of the same shape share it (``Walker._intern``).
Layout = tuple[tuple[bool, ...], tuple[tuple[int, tuple[int, ...]], ...]]


def get_layout(kinds: tuple[str, ...], blind: frozenset[str]) -> Layout:
    """The ``Layout`` of an offer whose events have ``kinds``."""
    groups: dict[str, list[int]] = {}
    for j, kind in enumerate(kinds):
        groups.setdefault(kind, []).append(j)
    return (tuple(kind in blind for kind in kinds),
            tuple((KIND_BIT[kind], tuple(group)) for kind, group in groups.items()))


# The offer indices an episode may pick for one node, grouped by kind.
Picks = tuple[tuple[int, ...], ...]
# A single-VM event's outcome at one (VM value, free memory): (VM after, or None when the
# event must be stepped on its whole state; free after; accepted; what is wrong, or None).
Local = tuple[Node | None, int, bool, str | None]
