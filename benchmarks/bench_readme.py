"""Re-measure the durations the README quotes for its main commands, each in one table.

A script, not a test: every row runs one README command line once, in a fresh process from
the repository root, and gives its exit code (the verdict: 0 pass, 1 a finding), its wall
clock and its CPU seconds (user + sys of the command and every child it waited for: proof
solvers, an IUT, Dask workers). The machine is shared, so CPU is the comparable number; the
load at the start is printed. ``--quick`` leaves out the rows marked slow (minutes).

    python3 benchmarks/bench_readme.py [--quick] [--only TEXT] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from bench_startup import dynmem_command, run_timed

ROOT = Path(__file__).resolve().parents[1]
PY = "python3"  # as the README writes the IUT commands; an IUT imports dynmem
# (label words as the README, arguments, slow: minutes on this 2-core machine)
ROWS: list[tuple[list[str], bool]] = [
    (["verify"], True),
    (["prove"], False),
    (["prove", "--vms", "8"], False),
    (["bmc"], False),
    (["explore", "--vms", "2"], False),
    (["explore", "--vms", "3"], True),
    (["explore", "--vms", "2", "--lifecycle"], True),
    (["fuzz"], False),
    (["fuzz", "--engine", "walk", "--swarm", "4", "--episodes", "200", "--depth", "500"],
     False),
    (["oracle", "--iut", f"{PY} examples/reference_system_iut.py"], True),
    (["oracle", "--iut", "node examples/iut_node/iut.js"], True),
    (["oracle", "--iut", f"{PY} examples/reference_system_iut.py", "--no-exhaustive",
      "--seeds", "1-4"], True),
    (["simulate", "verification/scenarios/weight-contention-hi-lo.json"], False),
    (["check-trace", "examples/sample_host.log.jsonl"], False),
    (["vectors", "{tmp}/vectors"], False),
    (["mutants"], True),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the slow rows")
    parser.add_argument("--only", metavar="TEXT",
                        help="only the rows whose command line contains TEXT")
    parser.add_argument("--json", metavar="OUT", help="also write the rows as JSON to OUT")
    args = parser.parse_args(argv)
    base = dynmem_command()
    if shutil.which("node") is None:
        print("bench_readme: node not found: its row is left out", file=sys.stderr)
    load = os.getloadavg()[0]
    print(f"dynmem README durations; {os.cpu_count()} cores, load {load:.1f} at the start; "
          f"Python {platform.python_version()}\n")
    print("| command | exit | wall (s) | CPU (s) |")
    print("|---|---|---|---|")
    rows = []
    os.chdir(ROOT)
    # "python3" in an IUT's command: this interpreter, which has dynmem installed
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    with tempfile.TemporaryDirectory() as tmp:
        for line, slow in ROWS:
            line = [word.replace("{tmp}", tmp) for word in line]
            text = " ".join(f'"{w}"' if " " in w else w for w in line)
            if (args.quick and slow) or (args.only and args.only not in text) or \
                    ("node" in text and shutil.which("node") is None):
                continue
            wall, cpu, code = run_timed([*base, *line])
            shown = text.replace(tmp, "TMP")
            print(f"| `dynmem {shown}` | {code} | {wall:.1f} | {cpu:.1f} |", flush=True)
            rows.append({"command": f"dynmem {shown}", "exit": code, "wall_s": round(wall, 2),
                         "cpu_s": round(cpu, 2)})
    if args.json:
        Path(args.json).write_text(json.dumps({"load": load, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
