"""Hypothesis runs that generate the same inputs wherever they are started.

Since 6.131 Hypothesis mixes the literals of every *local* module (any module in
``sys.modules`` loaded from outside site-packages and the standard library) into the
integers and strings it generates. Which modules count depends on the working directory,
on an editable install and on what the process happened to import: ``dynmem fuzz``, our
test suite and a user's pytest run with their own modules would draw different inputs from
the same seed, so a campaign's coverage or an oracle search's finding would change with the
entry point (the ``ci`` campaign reached a stop mid hot-add from the command line and not
under pytest). :func:`fixed_generation` empties that pool for a run; Hypothesis's own
built-in constants are still drawn, so the inputs depend only on the seed and our
strategies.

The pool lives in Hypothesis internals (``_get_local_constants`` and ``CONSTANTS_CACHE``
of ``hypothesis.internal.conjecture.providers``); a Hypothesis without them has no such
pool, and the run is left as it is. ``tests/verification/test_generation.py`` fails if a
newer Hypothesis moves the pool where this does not reach.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from hypothesis.internal.conjecture import providers

__all__ = ["fixed_generation", "pins_local_constants"]


def pins_local_constants() -> bool:
    """Whether this Hypothesis has the local-constant pool that :func:`fixed_generation`
    empties (``False``: an older release without one, nothing to pin)."""
    return (hasattr(providers, "_get_local_constants")
            and hasattr(providers, "CONSTANTS_CACHE")
            and hasattr(providers, "Constants"))


@contextlib.contextmanager
def fixed_generation() -> Iterator[None]:
    """Within the block, Hypothesis draws no constants from local modules."""
    if not pins_local_constants():
        yield
        return
    module: Any = providers
    original = module._get_local_constants
    empty = module.Constants()
    # The cache holds per-type tuples of the pool as last seen: drop it on the way in (a
    # pool collected before) and out (our empty one must not leak into other runs).
    module.CONSTANTS_CACHE.cache.clear()
    module._get_local_constants = lambda: empty
    try:
        yield
    finally:
        module._get_local_constants = original
        module.CONSTANTS_CACHE.cache.clear()
