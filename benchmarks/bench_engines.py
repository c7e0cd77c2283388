"""Throughput of the two search engines on the reference (goal on 2 cores: >= 20,000 states/s
explored and >= 2,000 stateful steps/s).

A script, not a test: run it once (the machine may be shared; the numbers say so) and paste
its markdown into the README. Stateful: ``dynmem fuzz --profile ci`` on the reference in a
subprocess (what users run), checked reference steps per second (rules plus the steps of
``deliver_until_settled``), with and without the refinement check. Exploration: each
preset (``--vms``), best of ``--repeat`` runs, with the per-VM memo and/or stepping every
candidate (``--memo on,off``); states/s and edges/s counted over the search alone (the
progress analysis on the finished graph is timed separately), wall clock and CPU time.

    python3 benchmarks/bench_engines.py [--vms 1,2,3] [--repeat 2] [--memo on,off]
        [--examples N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time

from dynmem.verification.explore import explore
from dynmem.verification.explore.config import get_config
from dynmem.verification.explore.progress import find_progress_violations

GOAL_STATES = 20_000
GOAL_STEPS = 2_000


def bench_explore(vms: int, repeat: int, memo: bool = True) -> str:
    """One markdown row: the best of ``repeat`` explorations of the ``vms`` preset."""
    best = None
    for _ in range(repeat):
        cpu = time.process_time()
        x = explore(get_config(vms), progress=False, memo=memo)
        cpu = time.process_time() - cpu
        if best is None or x.seconds < best[0].seconds:
            best = (x, cpu)
    assert best is not None
    x, cpu = best
    started = time.perf_counter()
    gc.disable()  # as explore() runs it
    findings = find_progress_violations(x)
    gc.enable()
    progress_s = time.perf_counter() - started
    rate = x.n_states / x.seconds
    return (f"| {x.config.name} | {'on' if memo else 'off'} | {x.n_states:,} | "
            f"{x.n_edges:,} | {x.seconds:.2f} | "
            f"{cpu:.2f} | **{rate:,.0f}** | {x.n_edges / x.seconds:,.0f} | "
            f"{progress_s:.2f} | {'ok' if x.ok and not findings else 'FINDING'} |")


def bench_fuzz(examples: int | None, refinement: bool) -> str:
    """One markdown row: ``dynmem fuzz --profile ci`` on the reference, in a subprocess.

    Hypothesis seeds its generation with constants found in the modules loaded in the
    process, so a campaign run after importing the explorer is a different (derandomized)
    campaign; the subprocess runs exactly what the command runs."""
    command = [sys.executable, "-c",
               "import sys; from dynmem.verification.cli.main import main; sys.exit(main())",
               "fuzz", "--profile", "ci", "--json"]
    if examples:
        command += ["--examples", str(examples)]
    if not refinement:
        command.append("--no-refinement")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"dynmem fuzz failed ({done.returncode}): {done.stderr.strip()}")
    r = json.loads(done.stdout)
    size = f"{examples} examples" if examples else "its examples"
    return (f"| ci ({size}), refinement {'on' if refinement else 'off'} | "
            f"{r['examples']} | {r['steps']:,} | {r['seconds']:.2f} | {cpu:.2f} | "
            f"**{r['steps_per_second']:,.0f}** | {'ok' if r['ok'] else 'FAILED'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", default="1,2,3", help="presets to explore (default 1,2,3)")
    parser.add_argument("--repeat", type=int, default=2, help="explorations per preset")
    parser.add_argument("--memo", default="on",
                        help="per-VM memo settings to measure: on, off or on,off (default on)")
    parser.add_argument("--examples", type=int, help="stateful examples (default: ci's)")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{load:.1f} at the start (shared machine: expect noise)\n")
    print(f"Stateful (goal >= {GOAL_STEPS:,} steps/s):\n")
    print("| campaign | examples run | steps | wall s | CPU s | steps/s | result |")
    print("|---|---|---|---|---|---|---|")
    for refinement in (True, False):
        print(bench_fuzz(args.examples, refinement), flush=True)
    print(f"\nExploration (goal >= {GOAL_STATES:,} states/s):\n")
    print("| preset | memo | states | edges | search s | CPU s | states/s | edges/s | "
          "progress analysis s | result |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    memos = [{"on": True, "off": False}[m] for m in args.memo.split(",")]
    for vms in (int(v) for v in args.vms.split(",")):
        for memo in memos:
            print(bench_explore(vms, args.repeat, memo), flush=True)


if __name__ == "__main__":
    main()
