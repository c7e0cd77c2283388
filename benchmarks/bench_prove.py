"""Time every proof obligation of ``dynmem prove`` for N = 2 … 64 VM slots and for any N.

A script, not a test: run it once on a quiet machine and paste its markdown table into the
README. It exits 1 if any run is not fully proved (a CTI or an unknown), so a number is
never reported for a failed proof.

    python3 benchmarks/bench_prove.py [--sizes 2,4,8,16,32,64] [--jobs 2] [--rlimit N]
        [--units mib,page]

``--units mib,page`` times each size in MiB and in 4 KiB pages (``dynmem prove --unit``,
specs/proofs.md §7) one after the other. CPU seconds are user + sys of this process and the
solver processes it waited for.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time

from dynmem.model.params import STANDARD
from dynmem.model.units import MIB, UNITS, Units
from dynmem.verification.symbolic.inductive import check_inductive
from dynmem.verification.symbolic.obligations import Model, get_obligations


def _cpu() -> float:
    mine, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                        resource.RUSAGE_CHILDREN))
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def _row(label: str, n_vms: int | None, jobs: int, rlimit: int, sliced: bool,
         units: Units = MIB) -> str:
    started, cpu = time.perf_counter(), _cpu()
    run = check_inductive(n_vms, Model(units=units), rlimit=rlimit, jobs=jobs, sliced=sliced)
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    slowest = max(run.outcomes, key=lambda o: o.seconds)
    verdict = "proved" if run.ok else (f"NOT PROVED ({run.count('cti')} CTI, "
                                       f"{run.count('unknown')} unknown)")
    print(f"  {label}: {wall:.2f} s, {verdict}", file=sys.stderr)
    if not run.ok:
        raise SystemExit(f"{label}: {verdict}")
    where = slowest.obligation.action or slowest.obligation.kind
    return (f"| {label} | {units.name} | {len(get_obligations(n_vms))} | {wall:.2f} | "
            f"{cpu:.2f} | {slowest.seconds:.2f} ({where}) | {verdict} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,4,8,16,32,64")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rlimit", type=int, default=STANDARD.rlimit)
    parser.add_argument("--full-up-to", type=int, default=8,
                        help="also time the unsliced queries up to this N")
    parser.add_argument("--units", default="mib",
                        help="comma-separated units to time each size in: mib, page")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    try:
        units = [UNITS[name] for name in args.units.split(",")]
    except KeyError as err:
        parser.error(f"--units: unknown unit {err} (known: {', '.join(UNITS)})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"dynmem prove, {args.jobs} solver processes, {args.rlimit:,} rlimit units per "
          f"obligation; {os.cpu_count()} cores, load {load:.1f} at the start; "
          f"Python {platform.python_version()}\n")
    print("| N | unit | obligations | total (s, wall) | CPU s | slowest obligation (s) | "
          "result |")
    print("|---|---|---|---|---|---|---|")
    for n in [*sizes, None]:
        for unit in units:
            label = "any N" if n is None else f"N={n}"
            print(_row(label, n, args.jobs, args.rlimit, True, unit), flush=True)
    for n in (n for n in sizes if n <= args.full_up_to):
        for unit in units:
            print(_row(f"N={n} unsliced", n, args.jobs, args.rlimit, False, unit), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
