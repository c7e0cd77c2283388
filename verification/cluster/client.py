"""``open_client``: a Dask client on a local cluster or on a running scheduler.

Why Dask distributed: it is pure Python (a ``pip`` extra, no daemon or native build), a
``LocalCluster`` of worker processes runs on one machine with nothing to set up, and the
same code reaches a real cluster through one scheduler address (``dask scheduler`` and
``dask worker ADDRESS`` on the machines, each with dynmem installed). The work spread here
is a map of independent tasks (proof obligation groups, walk campaigns), which needs no more
than ``Client.submit`` and ``as_completed``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from dynmem.verification.errors import InputError

# Seconds to wait for a scheduler to answer: a reachability check of a user's address,
# which decides no verdict (a bad address is an exit-2 error, not a finding).
CONNECT_S = 10


def _quiet() -> None:
    """Only critical records from Dask's loggers: its start, stop and reconnect chatter is
    not ours (the environment variable reaches the local workers, which set up their logging
    before any of our configuration could reach them). Not even its errors: on a loaded
    machine a worker whose scheduler closed first on Ctrl-C logs a failed heartbeat with a
    traceback under our one "interrupted" line (seen in CI at load 4); a task's own error
    reaches us through its future, not the log."""
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    tornado = logging.getLogger("tornado.application")
    if not any(isinstance(f, _CancelRace) for f in tornado.filters):
        tornado.addFilter(_CancelRace())


class _CancelRace(logging.Filter):
    """Drops one record: distributed's ``sync()`` (2026.8) answers a Ctrl-C that lands
    before its future exists by scheduling a ``cancel`` that raises NameError on the IO loop,
    which logs a traceback under our one "interrupted" line. Every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[0] if record.exc_info else None
        return not (error is NameError and "sync.<locals>.cancel" in record.getMessage())


def _connect(dask: Any, scheduler: str) -> Any:
    """A client of the scheduler at ``scheduler``, or an InputError that says why not."""
    try:  # a malformed address or an unknown host, before a client exists to be cleaned up
        dask.comm.addressing.resolve_address(scheduler)
        return dask.Client(scheduler, timeout=CONNECT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError("command line", "--scheduler", scheduler,
                         f"no Dask scheduler answers there ({reason})") from None


def _start_local(dask: Any, workers: int, processes: bool) -> Any:
    """A local cluster whose worker processes ignore Ctrl-C: a terminal sends SIGINT to the
    whole process group, and each worker would die printing a traceback, while this process
    closes them in order anyway. An ignored signal stays ignored across the workers' spawn
    (a Ctrl-C in these start-up seconds is ignored here too). The dashboard takes any free
    port: two clusters on one machine do not compete for Dask's default one."""
    main = threading.current_thread() is threading.main_thread()  # signals: main thread only
    before = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        return dask.LocalCluster(n_workers=workers, threads_per_worker=1,
                                 processes=processes, dashboard_address=":0")
    finally:
        if main:
            signal.signal(signal.SIGINT, before)


@contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None,
                processes: bool = True) -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` (an address such as ``tcp://host:8786``)
    if given, else on a new local cluster of ``workers`` workers, one thread each
    (``processes`` False: threads of this process, for tests of pure-Python work; Z3 is not
    thread-safe, so proofs need processes). Both are closed on leaving, Ctrl-C included.

    Raises
    ------
    InputError
        ``--scheduler`` names no reachable scheduler, or ``--workers`` is below 1.
    """
    _quiet()
    try:
        import distributed  # lazy: heavy; only a cluster run needs it
        import distributed.comm.addressing
    except ImportError:
        flag, value = ("--scheduler", scheduler) if scheduler else ("--workers", workers)
        raise InputError("command line", flag, value, "needs Dask distributed: pip install "
                         "'dynmem[distributed]'") from None

    dask: Any = distributed  # untyped library: its calls are checked by the tests
    with ExitStack() as stack:
        if scheduler is not None:
            client = _connect(dask, scheduler)
        elif workers is None or workers < 1:
            raise InputError("command line", "--workers", workers, "must be >= 1")
        else:
            cluster = _start_local(dask, workers, processes)
            stack.callback(cluster.close)
            client = dask.Client(cluster, set_as_default=False)
        stack.callback(client.close)
        yield client
