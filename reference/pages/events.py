"""Page-level messages: what the wire carries where the amount level has a MiB count
(specs/pages.md §3).

A balloon response and an unballoon request carry page ranges, a hot-add request a region, a
hot-add response a page count. The host's balloon request (a number of pages, sent in whole
2 MiB units) and the guest's unballoon response (a header only) are the amount level's
``BalloonRequest`` and ``UnballoonResponse``.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from dynmem.reference.events import BalloonRequest, UnballoonResponse
from dynmem.reference.pages.ranges import PageRange


def _ranges(instance: object, attribute: attrs.Attribute[tuple[PageRange, ...]],
            value: tuple[PageRange, ...]) -> None:
    # TypeOK: a tuple of PageRange values
    if not isinstance(value, tuple) or not all(isinstance(r, PageRange) for r in value):
        raise TypeError(f"'{attribute.name}' must be a tuple of PageRange, got {value!r}")


@attrs.frozen
class PageBalloonResponse:
    """Guest hands back the pages of ``ranges``; ``more_pages`` False ends the transaction.

    The guest is not trusted: ranges may repeat, overlap, lie outside its RAM or exceed what
    was asked (R-PG-DEDUP, R-PG-RANGE).
    """

    KIND: ClassVar[str] = "page_balloon_response"
    vm: str
    ranges: tuple[PageRange, ...] = attrs.field(validator=_ranges)
    more_pages: bool = False


@attrs.frozen
class PageUnballoonRequest:
    """Host returns the ballooned pages of ``ranges`` to the guest (R-PG-UNBALLOON-EXACT)."""

    KIND: ClassVar[str] = "page_unballoon_request"
    vm: str
    ranges: tuple[PageRange, ...] = attrs.field(validator=_ranges)


@attrs.frozen
class PageHotAddRequest:
    """Host hot-adds the guest-physical ``region`` (R-PG-HOT-ADD-DISJOINT)."""

    KIND: ClassVar[str] = "page_hot_add_request"
    vm: str
    region: PageRange


@attrs.frozen
class PageHotAddResponse:
    """Guest reports ``pages`` added from the region's start and the result flag
    (R-PG-HOT-ADD-CREDIT)."""

    KIND: ClassVar[str] = "page_hot_add_response"
    vm: str
    pages: int = attrs.field(validator=attrs.validators.and_(
        attrs.validators.instance_of(int), attrs.validators.in_(range(2**32))))
    success: bool = True


PageEvent = (
    BalloonRequest | PageBalloonResponse | PageUnballoonRequest | UnballoonResponse
    | PageHotAddRequest | PageHotAddResponse
)
