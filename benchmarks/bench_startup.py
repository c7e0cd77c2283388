"""Time the ``dynmem`` start-up: ``--help`` and usage errors (goal: each under 0.5 s).

A script, not a test: run it and paste its table into the README. Each command line runs
``--runs`` times in a fresh process; the table gives the median wall-clock and the median CPU
seconds (user + sys of the child; the machine is shared, so CPU is the steadier number). A
usage error loads only the chosen command's module (verification/cli/main.py), so the rows
``COMMAND --bogus`` show what each command module costs before it runs anything. Exit 1 if a
median wall time is over the goal.

    python3 benchmarks/bench_startup.py [--runs 7] [--all]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from dynmem.verification.cli.main import COMMANDS

GOAL_S = 0.5
# The lines the README quotes; ``--all`` adds a usage error of every command.
CORE = (["--help"], ["nosuch"], ["explore", "--bogus"])


def dynmem_command() -> list[str]:
    """The installed ``dynmem`` script beside this Python, else ``python -m``."""
    script = Path(sys.executable).with_name("dynmem")
    if script.exists():
        return [str(script)]
    found = shutil.which("dynmem")
    return [found] if found else [sys.executable, "-m", "dynmem.verification.cli"]


def run_timed(argv: list[str]) -> tuple[float, float, int]:
    """(wall, CPU, exit code) of one run of ``argv`` in a fresh process; CPU is user + sys
    of the process and of every child it waited for."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = 0  # reaped above; keep Popen from waiting again
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def time_once(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``argv`` in a fresh process."""
    wall, cpu, _code = run_timed(argv)
    return wall, cpu


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds over ``runs`` runs."""
    samples = [time_once(argv) for _ in range(runs)]
    return (statistics.median(w for w, _ in samples),
            statistics.median(c for _, c in samples))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, metavar="N",
                        help="runs per command line (default 7)")
    parser.add_argument("--all", action="store_true",
                        help="also a usage error of every command")
    args = parser.parse_args(argv)
    base = dynmem_command()
    lines = list(CORE)
    if args.all:
        lines += [[name, "--bogus"] for name, _, _ in COMMANDS if name != "explore"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"dynmem start-up, median of {args.runs} runs; {os.cpu_count()} cores, load "
          f"{load:.1f} at the start; Python {platform.python_version()}\n")
    print("| command | wall (s) | CPU (s) |")
    print("|---|---|---|")
    slow = []
    for line in lines:
        wall, cpu = measure([*base, *line], args.runs)
        print(f"| `dynmem {' '.join(line)}` | {wall:.2f} | {cpu:.2f} |", flush=True)
        if wall >= GOAL_S:
            slow.append(" ".join(line))
    if slow:
        print(f"\nover the {GOAL_S} s goal: {', '.join(slow)}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
