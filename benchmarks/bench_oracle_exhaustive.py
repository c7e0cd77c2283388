"""Exhaustive conformance of the 2-VM preset against subprocess IUTs, pipelined and not.

A script, not a test: it runs the oracle's bounded-exhaustive phase
(``verification.conformance.check_system``) on preset 2 (20,773 states) against the Python
reference IUT (examples/reference_system_iut.py) and the Node example (examples/iut_node/,
refinement mode: its own policy), and prints per run the wall clock, the CPU seconds of the
harness and of the IUT process (user+sys; the machine is shared, so CPU is the steadier
number), and requests/s over the pipe. ``--unpipelined`` also runs the preset-1 phase one
request at a time to show what pipelining saves (the whole preset 2 unpipelined takes
minutes). It exits 1 if an IUT does not conform, so a number is never reported for a
failed check. ``--reclaim`` also runs preset 2vm-reclaim (13,147 states: a start waits for
reclaim), which the default run adds after preset 2.

    python3 benchmarks/bench_oracle_exhaustive.py [--vms 2] [--skip-node] [--unpipelined]
        [--reclaim]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import time
from pathlib import Path

from dynmem.model.concrete_steps import is_allowed
from dynmem.verification.conformance import RECLAIM, ConformanceResult, check_system
from dynmem.verification.explore import ExploreConfig, get_config
from dynmem.verification.oracle.iut import Mode
from dynmem.verification.oracle.wire import SubprocessIut

ROOT = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(name: str, command: str, mode: Mode, config: ExploreConfig,
         pipelined: bool) -> ConformanceResult:
    driver = SubprocessIut(command, pipelined=pipelined)
    wall, cpu, child = time.perf_counter(), time.process_time(), _children_cpu()
    try:
        driver.hello("system", mode)
        result = check_system(driver, config, mode, is_allowed)
    finally:
        driver.close()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    child = _children_cpu() - child  # the IUT process, reaped by close()
    how = "pipelined" if pipelined else "one request at a time"
    print(f"{name} ({mode}, preset {result.preset}, {how}): {result.verdict()}")
    print(f"    wall {wall:.1f} s; CPU harness {cpu:.1f} s + IUT {child:.1f} s = "
          f"{cpu + child:.1f} s; {result.requests / wall:,.0f} requests/s wall, "
          f"{result.requests / (cpu + child):,.0f} per CPU-second")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=2, choices=(1, 2, 3))
    parser.add_argument("--skip-node", action="store_true")
    parser.add_argument("--unpipelined", action="store_true",
                        help="also run preset 1 one request at a time, and pipelined")
    parser.add_argument("--reclaim", action="store_true",
                        help="also run preset 2vm-reclaim (a start that waits for reclaim)")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}")
    runs: list[tuple[str, str, Mode]] = [
        ("python reference", f"{sys.executable} {ROOT}/examples/reference_system_iut.py",
         "lockstep")]
    node = shutil.which("node")
    if node and not args.skip_node:
        runs.append(("node example", f"{node} {ROOT}/examples/iut_node/iut.js", "refinement"))
    ok = True
    if args.unpipelined:
        for name, command, mode in runs:
            for pipelined in (False, True):
                ok &= _run(name, command, mode, get_config(1), pipelined).ok
    presets = [get_config(args.vms), *([RECLAIM] if args.reclaim else [])]
    for name, command, mode in runs:
        for config in presets:
            ok &= _run(name, command, mode, config, True).ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
