"""The messages a page-level walk may send, by shape name, and swarm masks over the shapes.

Every shape is a name of the shared page menu (verification/pagemenu.py: the explorer and
the oracle's page generator pick from it too), in a group: the host's balloon, unballoon
and hot-add requests to an idle VM, and the guest's answer to the transaction in flight.
The walk sends them at real sizes: balloons, unballoons and hot-add regions of the space's
sizes, and a block of the guest's own alignment.

A swarm mask (as the amount-level walk's, walk/offers.py) is the set of shapes an episode
may send, a bit mask over ``PAGE_SHAPES``. The honest shapes (``PAGE_ALWAYS``) are always
kept, so every transaction can end and every VM can move (but the balloon request: without
it an episode hot-adds, which waits until nothing is ballooned); each other shape is kept with
probability 1/2, so an episode with few bad shapes lets state build up that one bad shape
can then meet (a ledger of fallback pages, a grown VM, hot-add disabled by a shortfall).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import BalloonRequest, UnballoonResponse
from dynmem.reference.pages import PAGES_PER_MIB, PAGES_PER_UNIT, PageEvent, PageVm
from dynmem.verification.pagemenu import (
    BALLOON_SHAPES,
    HOT_ADD_ANSWERS,
    REGION_SHAPES,
    UNBALLOON_SHAPES,
    balloon_answers,
    hot_add_answers,
    hot_add_requests,
    unballoon_requests,
)
from dynmem.verification.walk.pagespace import PageWalkSpace

__all__ = ["PAGE_ALL", "PAGE_ALWAYS", "PAGE_GROUPS", "PAGE_SHAPES", "PAGE_SHAPE_BIT",
           "build_page_event", "describe_page_mask", "get_page_groups", "pick_page_mask"]

# group -> shape names; a shape's key is "group:name"
PAGE_GROUPS: dict[str, tuple[str, ...]] = {
    "balloon-request": ("size",),
    "unballoon-request": tuple(UNBALLOON_SHAPES),
    "hot-add-request": (*REGION_SHAPES, "aligned-block"),
    "balloon-answer": tuple(BALLOON_SHAPES),
    "hot-add-answer": tuple(HOT_ADD_ANSWERS),
    "unballoon-answer": ("done",),
}
PAGE_SHAPES: tuple[str, ...] = tuple(f"{group}:{name}" for group, names in PAGE_GROUPS.items()
                                     for name in names)
PAGE_SHAPE_BIT: dict[str, int] = {shape: 1 << i for i, shape in enumerate(PAGE_SHAPES)}
PAGE_ALL = (1 << len(PAGE_SHAPES)) - 1
# The honest shapes but the balloon request: kept in every mask. An episode without balloon
# requests is one where hot-adds happen (a hot-add waits until nothing is ballooned).
PAGE_ALWAYS = sum(PAGE_SHAPE_BIT[s] for s in (
    "unballoon-request:lowest", "hot-add-request:top",
    "hot-add-request:aligned-block", "balloon-answer:honest", "hot-add-answer:full",
    "unballoon-answer:done"))

# what a VM may be sent, by its transaction in flight
_GROUPS_BY_TXN: dict[TxnKind, tuple[str, ...]] = {
    TxnKind.NONE: ("balloon-request", "unballoon-request", "hot-add-request"),
    TxnKind.BALLOON: ("balloon-answer",),
    TxnKind.HOT_ADD: ("hot-add-answer",),
    TxnKind.UNBALLOON: ("unballoon-answer",),
}


def get_page_groups(vm: PageVm, mask: int) -> list[tuple[str, list[str]]]:
    """The groups ``vm`` may be sent now, each with its shape keys that ``mask`` keeps."""
    out = []
    for group in _GROUPS_BY_TXN[vm.txn]:
        keys = [f"{group}:{name}" for name in PAGE_GROUPS[group]]
        kept = [key for key in keys if mask & PAGE_SHAPE_BIT[key]]
        if kept:
            out.append((group, kept))
    return out


def _first(events: list[PageEvent]) -> PageEvent | None:
    return events[0] if events else None


def _unballoon_pages(vm: PageVm, mib: int) -> int:
    """``mib`` in pages, cut to the whole units the amount level sees ballooned (when
    there are any): a larger unballoon is refused by the amount guard, and most drawn sizes
    would be."""
    seen = (vm.ballooned.size - vm.hidden_pages) // PAGES_PER_UNIT * PAGES_PER_UNIT
    return min(mib * PAGES_PER_MIB, seen) if seen else mib * PAGES_PER_MIB


def build_page_event(vm: PageVm, shape: str, rng: random.Random,
                     space: PageWalkSpace) -> PageEvent | None:
    """The message of ``shape`` for ``vm`` (sizes drawn from ``space`` with ``rng``), or None
    when the shape has nothing to send in this state (no ballooned pages to return, a
    hot-add answer below zero pages, no alignment block above 2 MiB)."""
    group, name = shape.split(":")
    build: dict[str, Callable[[], PageEvent | None]] = {
        "balloon-request": lambda: BalloonRequest(vm.name, rng.choice(space.balloon_mib)),
        "unballoon-request": lambda: _first(list(unballoon_requests(
            vm, (name,), _unballoon_pages(vm, rng.choice(space.unballoon_mib))))),
        "hot-add-request": lambda: _first(list(
            hot_add_requests(vm, (), aligned_block=True) if name == "aligned-block" else
            hot_add_requests(vm, (name,), pages=rng.choice(space.hot_add_mib) * PAGES_PER_MIB))),
        "balloon-answer": lambda: _first(list(balloon_answers(vm, (name,)))),
        "hot-add-answer": lambda: _first(list(hot_add_answers(vm, (name,)))),
        "unballoon-answer": lambda: UnballoonResponse(vm.name),
    }
    return build[group]()


def pick_page_mask(rng: random.Random) -> int:
    """A swarm mask: each shape kept with probability 1/2, plus ``PAGE_ALWAYS``."""
    return rng.getrandbits(len(PAGE_SHAPES)) | PAGE_ALWAYS


def describe_page_mask(mask: int) -> list[str]:
    """The shapes in ``mask``, in ``PAGE_SHAPES`` order."""
    return [shape for shape in PAGE_SHAPES if mask & PAGE_SHAPE_BIT[shape]]
