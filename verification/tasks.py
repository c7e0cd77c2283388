"""Maps of independent tasks: the serial one, and the type a cluster's map has.

An engine whose work is independent items (proof obligation groups, walk campaigns) takes a
``mapper`` and merges what it returns in the items' order; ``serial_map`` is the run here,
one item after another, and verification/cluster has the one that spreads the items over
Dask workers. The same items give the same merged result either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# ``mapper(fn, items, on_done)`` returns ``[fn(i) for i in items]``; ``on_done(index,
# result)`` is called as each item finishes (in completion order: for progress only).
Mapper = Callable[[Callable[[Any], Any], Sequence[Any], "Callable[[int, Any], None] | None"],
                  list[Any]]


def serial_map(fn: Callable[[T], R], items: Sequence[T],
               on_done: Callable[[int, R], None] | None = None) -> list[R]:
    """``fn`` on each item here, in order: the run a cluster's map must equal.

    Examples
    --------
    >>> serial_map(len, ["ab", "c"])
    [2, 1]
    """
    results = []
    for index, item in enumerate(items):
        results.append(fn(item))
        if on_done is not None:
            on_done(index, results[-1])
    return results
