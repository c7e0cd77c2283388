"""Time the oracle's page-level session (specs/formats/oracle.md §9): the page reference
in-process, the QEMU-style host of examples/qemu_host/ as a subprocess (honest and with
its duplicate-crediting bug), each planted page bug of verification/mutants/pages.py, and
check-trace on a page-level log.

A script, not a test: run it once (under ``nice -n 19`` on a shared machine) and paste its
markdown table into the README. Times are wall clock and CPU (user+sys of this process and
of the IUT processes it waited for). Exit 1 if an honest host fails or a bug passes.

    python3 benchmarks/bench_page_oracle.py [--examples 100] [--log-events 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dynmem.verification.mutants.pages import PAGE_MUTANTS
from dynmem.verification.oracle import (
    PageRun,
    ReferencePageHost,
    check_page_iut,
    check_page_log,
    format_page_log,
)
from dynmem.verification.oracle.pagegen import draw_page_event, draw_page_initial
from dynmem.verification.oracle.pagesession import InProcessPageIut, run_case

ALIGNMENT_BUG = "hot-add-ignoring-alignment"
HOST = f"{sys.executable} {Path(__file__).resolve().parents[1] / 'examples' / 'qemu_host'}"\
       "/hv_balloon_host.py"


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    before, started = os.times(), time.perf_counter()
    result = fn()
    after = os.times()
    cpu = sum(after[i] - before[i] for i in range(4))  # user, sys, children's user and sys
    return result, time.perf_counter() - started, cpu


def _verdict(run: PageRun) -> str:
    if run.failure is None or run.failure.divergence is None:
        return f"pass: {run.states:,} states, {run.requests:,} requests, {run.examples} examples"
    div = run.failure.divergence
    count = len(run.failure.steps)
    return f"caught ({run.phase}): {div.cls} {div.detail}, {count} event{'s' * (count != 1)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="random examples per host")
    parser.add_argument("--log-events", type=int, default=10_000, help="events of the log")
    args = parser.parse_args()
    ok = True
    print("| page session (2 presets breadth-first, then random) | verdict | wall s | CPU s |")
    print("|---|---|---|---|")
    hosts: list[tuple[str, object, bool]] = [
        ("page reference (in-process)", ReferencePageHost(), True),
        ("QEMU-style host (subprocess)", HOST, True),
        ("QEMU-style host --credit-duplicates", f"{HOST} --credit-duplicates", False)]
    # the host that ignores the guest's alignment says it follows it (Rule P1c), so the
    # harness's guests advertise more than 2 MiB
    hosts += [(m.name, ReferencePageHost(m.step, hot_add_alignment=m.name == ALIGNMENT_BUG),
               False) for m in PAGE_MUTANTS]
    for name, iut, honest in hosts:
        run, wall, cpu = _timed(lambda i=iut: check_page_iut(i, examples=args.examples, seed=1))
        ok &= run.ok == honest
        print(f"| {name} | {_verdict(run)} | {wall:.1f} | {cpu:.1f} |")
    rng = random.Random(9)
    initial = draw_page_initial(rng)
    case = run_case(InProcessPageIut(ReferencePageHost()), initial,
                    lambda s, i: draw_page_event(rng, s) if i < args.log_events else None)
    lines = list(format_page_log(initial, case.steps))
    numbered = enumerate(lines[1:], start=2)
    result, wall, cpu = _timed(lambda: check_page_log(numbered, json.loads(lines[0]), "log"))
    ok &= result.divergence is None
    print(f"| check-trace, page log of {result.events:,} events | "
          f"{'conforms' if result.divergence is None else 'VIOLATION'} | {wall:.1f} | "
          f"{cpu:.1f} |")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
