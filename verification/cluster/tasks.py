"""``ordered_map``: run independent tasks on a cluster, merge them in the items' order."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Sequence
from typing import Any

from dynmem.verification.tasks import Mapper

# One task at a time in a worker process, whatever its thread count: Z3's context is not
# thread-safe (a worker started with --nthreads 4 would run four proofs on one context).
_ALONE = threading.Lock()


def run_alone(fn: Callable[[Any], Any], item: Any) -> Any:
    """``fn(item)`` with no other task of this process beside it and without the cyclic
    collector: the worker's event-loop thread could otherwise free a Z3 object (through
    ``Z3_dec_ref``) while this thread is inside Z3 with the GIL released."""
    with _ALONE:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(item)
        finally:
            if enabled:
                gc.enable()


def ordered_map(client: Any) -> Mapper:
    """A map that runs each item as one task on ``client``'s workers; the results come back
    in the items' order, whatever order the workers finish in."""

    def run(fn: Callable[[Any], Any], items: Sequence[Any],
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        import distributed  # lazy: see the package's docstring

        as_completed: Any = distributed.as_completed  # untyped library
        futures = [client.submit(run_alone, fn, item, pure=False) for item in items]
        index = {future.key: i for i, future in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        try:
            for future in as_completed(futures, loop=client.loop):
                i = index[future.key]
                results[i] = future.result()  # a task's exception is raised here
                if on_done is not None:
                    on_done(i, results[i])
        finally:
            client.cancel(futures)  # an interrupted run leaves no work behind
        return results

    return run
