"""Running a piece of work without Python's cyclic garbage collector.

The engines keep large graphs and memos alive to the end of a run, so a full collection
would only rescan them and free nothing; reference counting still frees everything else.
Each caller says why it may pause the collector."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["without_cyclic_gc"]


@contextlib.contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """The block without the cyclic collector; it is enabled again after it only if it was
    enabled before (a caller inside another such block leaves it off).

    >>> import gc
    >>> with without_cyclic_gc():
    ...     with without_cyclic_gc():
    ...         pass
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
