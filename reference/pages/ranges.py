"""Pages and page ranges: the unit the DM protocol really moves (specs/pages.md §1).

A real balloon response carries ``dm_mem_page_range`` values (start page, page count) of
4 KiB pages, not a MiB count. :class:`PageRange` is one such range as the wire can carry it;
:class:`PageSet` is a set of pages kept as sorted, disjoint, non-adjacent intervals, so a
ledger of a 64 GiB VM is a handful of pairs, never a per-page set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import attrs

PAGE_KIB = 4  # HV_BALLOON_PFN_SHIFT 12
PAGES_PER_MIB = 1024 // PAGE_KIB  # 256
PAGES_PER_UNIT = 2 * PAGES_PER_MIB  # 512: the amount level's 2 MiB unit
# dm_mem_page_range: start_page:40, page_cnt:24 (domain-facts §3.2).
MAX_START_PAGE = 2**40 - 1
MAX_RANGE_PAGES = 2**24 - 1


def _wire_int(limit: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        # TypeOK: the field fits its bit width on the wire (a bool is no page number)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"'{attribute.name}' must be an int, got {value!r}")
        if not 0 <= value <= limit:
            raise ValueError(f"'{attribute.name}' must be 0..{limit}, got {value}")
    return check


@attrs.frozen
class PageRange:
    """``count`` pages from page ``start`` (``dm_mem_page_range``); ``count`` may be 0.

    Examples
    --------
    >>> PageRange(0x1200, 512).end
    5120
    >>> PageRange(-1, 1)
    Traceback (most recent call last):
    ...
    ValueError: 'start' must be 0..1099511627775, got -1
    """

    start: int = attrs.field(validator=_wire_int(MAX_START_PAGE))
    count: int = attrs.field(validator=_wire_int(MAX_RANGE_PAGES))

    @property
    def end(self) -> int:
        """The first page after the range."""
        return self.start + self.count


def _is_canonical(instance: object, attribute: attrs.Attribute[tuple[tuple[int, int], ...]],
                  value: tuple[tuple[int, int], ...]) -> None:
    # TypeOK: sorted, each interval non-empty, disjoint and not touching the next one
    last = -1
    for start, end in value:
        if not (isinstance(start, int) and isinstance(end, int) and last < start < end):
            raise ValueError(f"'{attribute.name}' must be sorted, disjoint, non-adjacent "
                             f"non-empty intervals, got {value!r}")
        last = end


@attrs.frozen(cache_hash=True)
class PageSet:
    """A set of pages as half-open intervals ``(start, end)``: sorted, disjoint, non-adjacent.

    Examples
    --------
    >>> s = PageSet.from_ranges([PageRange(0, 512), PageRange(256, 512), PageRange(768, 1)])
    >>> s.intervals, s.size
    (((0, 769),), 769)
    """

    intervals: tuple[tuple[int, int], ...] = attrs.field(default=(), validator=_is_canonical)

    @classmethod
    def from_intervals(cls, pairs: Iterable[tuple[int, int]]) -> PageSet:
        """The union of half-open ``pairs`` (any order, overlapping, empty ones ignored)."""
        merged: list[tuple[int, int]] = []
        for start, end in sorted(p for p in pairs if p[0] < p[1]):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return cls(tuple(merged))

    @classmethod
    def from_ranges(cls, ranges: Iterable[PageRange]) -> PageSet:
        """The union of ``ranges``: a page listed twice is in the set once."""
        return cls.from_intervals((r.start, r.end) for r in ranges)

    def to_ranges(self) -> tuple[PageRange, ...]:
        """The set as the ranges a message lists, one per interval, lowest first."""
        return tuple(PageRange(start, end - start) for start, end in self.intervals)

    @property
    def size(self) -> int:
        """The number of pages."""
        return sum(end - start for start, end in self.intervals)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self.intervals)

    def union(self, other: PageSet) -> PageSet:
        return PageSet.from_intervals((*self.intervals, *other.intervals))

    def intersection(self, other: PageSet) -> PageSet:
        """Pages in both: a merge of the two sorted lists."""
        out: list[tuple[int, int]] = []
        i = j = 0
        a, b = self.intervals, other.intervals
        while i < len(a) and j < len(b):
            start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
            if start < end:
                out.append((start, end))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return PageSet(tuple(out))

    def difference(self, other: PageSet) -> PageSet:
        """Pages in this set and not in ``other``."""
        out: list[tuple[int, int]] = []
        j = 0
        b = other.intervals
        for start, end in self.intervals:
            while j < len(b) and b[j][1] <= start:
                j += 1
            k = j
            while k < len(b) and b[k][0] < end:
                if b[k][0] > start:
                    out.append((start, b[k][0]))
                start = max(start, b[k][1])
                k += 1
            if start < end:
                out.append((start, end))
        return PageSet(tuple(out))

    def contains(self, other: PageSet) -> bool:
        """Whether every page of ``other`` is in this set."""
        return not other.difference(self).intervals

    def is_disjoint(self, other: PageSet) -> bool:
        return not self.intersection(other).intervals

    def take_lowest(self, pages: int) -> PageSet:
        """The ``pages`` lowest pages of the set (all of it if it has fewer)."""
        out: list[tuple[int, int]] = []
        left = pages
        for start, end in self.intervals:
            if left <= 0:
                break
            out.append((start, min(end, start + left)))
            left -= out[-1][1] - start
        return PageSet(tuple(out))


def compute_listed_pages(ranges: Iterable[PageRange]) -> int:
    """Pages a message lists, counting a page listed twice twice (what a count-based host
    credits)."""
    return sum(r.count for r in ranges)


def compute_mib_floor_unit(pages: int) -> int:
    """Whole 2 MiB units in ``pages``, in MiB: what the amount level can see of them.

    Examples
    --------
    >>> compute_mib_floor_unit(1023), compute_mib_floor_unit(1024)
    (2, 4)
    """
    return pages // PAGES_PER_UNIT * 2
