"""The cluster of ``--workers N`` / ``--scheduler ADDRESS`` for a command, with its lines on
the board: where the work goes (a local cluster starts in a few seconds, silent otherwise)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dynmem.verification.cli import options
from dynmem.verification.cli.progress import Board
from dynmem.verification.cluster import open_client, ordered_map
from dynmem.verification.tasks import Mapper, serial_map


@contextmanager
def open_mapper(args: argparse.Namespace, board: Board, command: str) -> Iterator[Mapper]:
    """``serial_map`` without a cluster option; else the map of a Dask client, opened (and
    closed on leaving, Ctrl-C included) for ``command``."""
    if not options.uses_cluster(args):
        yield serial_map
        return
    where = (f"the Dask scheduler at {args.scheduler}" if args.scheduler is not None
             else f"a local Dask cluster of {args.workers} worker processes")
    board.say(f"{command}: starting {where} ...")
    with open_client(args.scheduler, args.workers) as client:
        info: Any = client.scheduler_info()
        board.say(f"{command}: {len(info.get('workers', {}))} Dask workers ready "
                  f"(scheduler {info.get('address', '?')})")
        yield ordered_map(client)
