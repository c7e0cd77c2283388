"""Throughput of ``dynmem check-trace`` on a generated 1M-event log, on one core.

A script, not a test: it writes a log of a well-behaved host (``verification.oracle.loggen``: 3
dynamic VMs, honest guests, periodic status reports, balancer ticks), then checks it with the
command's own code path (streaming from the file, the model's ``is_allowed`` and every
invariant) and prints events/s (wall clock, and per CPU-second of this one process, which
other jobs on the machine disturb less), the share of steps the fast path certified, how
many needed a one-VM judgement (memo misses), the share of lines seen before (decoded from
the line cache) and the peak memory. ``--full N`` also times the full check (no fast path)
on the first N entries. It exits 1 if the log does not conform, so a number is never
reported for a failed check.

    python3 benchmarks/bench_check_trace.py [--events 1000000] [--vms 3] [--full 50000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from dynmem.model.concrete_steps import is_allowed
from dynmem.verification.oracle import check_log, format_log
from dynmem.verification.oracle.loggen import log_initial, simulate_log


def _write_log(path: Path, events: int, vms: int, seed: int) -> float:
    started = time.perf_counter()
    initial = log_initial(vms)
    with path.open("w", encoding="utf-8") as handle:
        for line in format_log(initial, simulate_log(initial, events, seed)):
            handle.write(line + "\n")
    return time.perf_counter() - started


def _check(path: Path, fast: bool, limit: int | None) -> tuple[float, float, object]:
    started, cpu = time.perf_counter(), time.process_time()
    with path.open(encoding="utf-8") as handle:
        lines = handle if limit is None else itertools.islice(handle, limit + 1)
        result = check_log(lines, str(path), is_allowed, fast=fast)
    return time.perf_counter() - started, time.process_time() - cpu, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--vms", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", type=int, default=50_000,
                        help="also time the full check on this many entries (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.jsonl"
        gen = _write_log(log, args.events, args.vms, args.seed)
        size = log.stat().st_size
        print(f"log: {args.events} events, {size / 1e6:.0f} MB, written in {gen:.1f} s",
              file=sys.stderr)
        seconds, cpu, result = _check(log, True, None)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        summary = {
            "events": result.events, "seconds": round(seconds, 2),  # type: ignore[attr-defined]
            "events_per_s": round(result.events / seconds),  # type: ignore[attr-defined]
            "cpu_seconds": round(cpu, 2),
            "events_per_cpu_s": round(result.events / cpu),  # type: ignore[attr-defined]
            "fast_path_share": round(result.fast / max(1, result.events), 3),  # type: ignore[attr-defined]
            "memo_misses": result.misses,  # type: ignore[attr-defined]
            "reused_line_share": round(result.reused_lines / max(1, result.events), 3),  # type: ignore[attr-defined]
            "conforms": result.divergence is None,  # type: ignore[attr-defined]
            "peak_rss_mib": round(rss), "log_mb": round(size / 1e6),
            "model": "dynmem.model.concrete_steps.is_allowed",
            "python": platform.python_version(), "cpus": os.cpu_count(),
        }
        if args.full:
            full_seconds, _, full = _check(log, False, args.full)
            summary["full_check_events_per_s"] = round(full.events / full_seconds)  # type: ignore[attr-defined]
    print(json.dumps(summary, indent=2))
    return 0 if summary["conforms"] else 1


if __name__ == "__main__":
    sys.exit(main())
