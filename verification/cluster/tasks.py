"""``ordered_map``: run independent tasks on a cluster, merge them in the items' order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from dynmem.verification.collector import without_cyclic_gc
from dynmem.verification.tasks import Mapper

# One task at a time in a worker process, whatever its thread count: Z3's context is not
# thread-safe (a worker started with --nthreads 4 would run four proofs on one context).
_ALONE = threading.Lock()
CHUNKS_PER_WORKER = 4


def run_alone(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``[fn(i) for i in items]`` with no other task of this process beside it and without
    the cyclic collector: the worker's event-loop thread could otherwise free a Z3 object
    (through ``Z3_dec_ref``) while this thread is inside Z3 with the GIL released."""
    with _ALONE, without_cyclic_gc():
        return [fn(item) for item in items]


def get_chunks(count: int, workers: int) -> list[range]:
    """``count`` items cut into consecutive chunks, about ``CHUNKS_PER_WORKER`` per worker:
    one task per item costs a round trip and a pickled ``fn`` each (a prove at N=8 has 400
    groups of a few milliseconds), while a few chunks per worker still balance the load.

    Examples
    --------
    >>> get_chunks(10, 1)
    [range(0, 3), range(3, 6), range(6, 9), range(9, 10)]
    """
    size = max(1, -(-count // max(1, workers * CHUNKS_PER_WORKER)))
    return [range(i, min(count, i + size)) for i in range(0, count, size)]


def ordered_map(client: Any) -> Mapper:
    """A map that runs chunks of the items as tasks on ``client``'s workers; the results
    come back in the items' order, whatever order the workers finish in."""

    def run(fn: Callable[[Any], Any], items: Sequence[Any],
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        import distributed  # lazy: see the package's docstring

        as_completed: Any = distributed.as_completed  # untyped library
        workers = len(client.scheduler_info().get("workers", {})) or 1
        chunks = get_chunks(len(items), workers)
        futures = [client.submit(run_alone, fn, [items[i] for i in chunk], pure=False)
                   for chunk in chunks]
        where = {future.key: chunk for future, chunk in zip(futures, chunks, strict=True)}
        results: list[Any] = [None] * len(items)
        try:
            for future in as_completed(futures, loop=client.loop):
                chunk = where[future.key]
                for i, result in zip(chunk, future.result(), strict=True):  # raises a
                    results[i] = result                                    # task's error
                    if on_done is not None:
                        on_done(i, result)
        finally:
            client.cancel(futures)  # an interrupted run leaves no work behind
        return results

    return run
