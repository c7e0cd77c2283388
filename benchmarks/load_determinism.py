"""Show that ``dynmem verify`` gives the same verdicts on a quiet and on a saturated machine.

Runs ``dynmem verify --json`` twice: once as the machine is, then with CPU burners beside it
(plain Python busy loops, one per core by default, started here and killed afterwards).
Every solver budget is a Z3 resource count and every other budget a count of examples,
states or replays, so the per-check verdicts must be identical; the run's CPU seconds
(user+sys) and wall clock are printed beside them. Exit 0 if the verdicts agree, 1 if not.

    python3 benchmarks/load_determinism.py [--burners 2] [--section NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from typing import Any

BURN = "while True:\n    pass\n"
# Rates in summaries ("9,295 states/s", "555/s") measure the machine, not the verdict.
RATE = re.compile(r"\(?[\d,.]+ ?(?:[a-z]+)?/s\)?")


def run_verify(sections: list[str]) -> tuple[dict[str, Any], float, float]:
    """``dynmem verify --json``: its document, its CPU seconds (user+sys) and wall seconds."""
    argv = [sys.executable, "-m", "dynmem.verification.cli", "verify", "--json"]
    for name in sections:
        argv += ["--section", name]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped by wait4; keep Popen from waiting again
    wall = time.perf_counter() - started
    return json.loads(out), usage.ru_utime + usage.ru_stime, wall


def with_burners(count: int, sections: list[str]) -> tuple[dict[str, Any], float, float]:
    """``run_verify`` while ``count`` busy loops hold the CPUs; the loops are always killed."""
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(count)]
    try:
        return run_verify(sections)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def verdicts(doc: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    """``section/name`` -> (ok, summary without rates) for every check of a ``verify --json``
    document."""
    return {f"{c['section']}/{c['name']}": (c["ok"], RATE.sub("(rate)", c["summary"]))
            for c in doc["checks"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--section", action="append", default=[])
    args = parser.parse_args(argv)
    runs = []
    for label, burners in (("as is", 0), (f"{args.burners} CPU burners", args.burners)):
        load = os.getloadavg()[0]
        doc, cpu, wall = with_burners(burners, args.section)
        runs.append(verdicts(doc))
        failed = sum(not ok for ok, _ in runs[-1].values())
        print(f"{label}: load {load:.1f} at the start, {len(runs[-1])} checks, {failed} failed, "
              f"CPU {cpu:.1f} s (user+sys), wall {wall:.1f} s", flush=True)
    quiet, busy = runs
    differ = [name for name in quiet if quiet[name][0] != busy.get(name, (None, ""))[0]]
    reworded = [name for name in quiet if name not in differ and quiet[name] != busy.get(name)]
    for name in differ:
        print(f"VERDICT DIFFERS {name}: {quiet[name]} vs {busy.get(name)}")
    for name in reworded:
        print(f"same verdict, other summary {name}: {quiet[name][1]!r} vs {busy[name][1]!r}")
    same = not differ and set(quiet) == set(busy)
    print(f"per-check verdicts {'identical' if same else 'DIFFER'} "
          f"({len(quiet)} checks; summaries, rates aside, identical: {not reworded})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
