"""Exploration per preset in CPU seconds, wall seconds and peak memory, optionally beside an
older commit of the code in the same run (before/after on one machine, one load).

A script, not a test. Each exploration is ``dynmem explore --json`` in its own process, so
its peak resident memory (``ru_maxrss`` of the child) and its CPU seconds (user + system of
the child) are its own; the machine may be shared, so compare CPU seconds, not wall.
``--baseline REF`` extracts that commit (``git archive``) into a temporary folder and runs
the same presets with it first.

    python3 benchmarks/bench_explore.py [--vms 2,3] [--no-symmetry 3] [--baseline REF]
        [--max-states N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"model": "model", "reference": "reference", "verification": "verification"}


def make_tree(ref: str, into: Path) -> Path:
    """Extract commit ``ref`` into ``into`` and return a folder to put on PYTHONPATH, in
    which ``dynmem.*`` names that commit's packages."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    package = into / "pkg" / "dynmem"
    package.mkdir(parents=True)
    for name, folder in FOLDERS.items():
        (package / name).symlink_to(into / folder)
    return into / "pkg"


def run_in_trees(script: str, argv: list[str], baseline: str | None) -> None:
    """Run ``script`` with ``argv`` (its ``--here`` mode) in a child process on commit
    ``baseline``'s code, if given, then on this tree's, each under a printed label."""
    with tempfile.TemporaryDirectory() as tmp:
        trees: list[tuple[str, Path | None]] = []
        if baseline:
            trees.append((f"before ({baseline})", make_tree(baseline, Path(tmp))))
        trees.append(("this tree", None))
        for label, path in trees:
            env = dict(os.environ)
            if path is not None:
                env["PYTHONPATH"] = str(path)
            print(label, flush=True)
            # the child imports the script from its folder, the package from PYTHONPATH
            subprocess.run([sys.executable, script, *argv, "--here"], env=env, check=True,
                           cwd=tmp)


def run_one(pythonpath: Path | None, vms: int, symmetry: bool, max_states: int | None
            ) -> dict[str, object]:
    """One exploration in a child process: its JSON plus CPU, wall and peak memory."""
    argv = [sys.executable, "-m", "dynmem.verification.cli", "explore", "--vms", str(vms),
            "--json"]
    argv += [] if symmetry else ["--no-symmetry"]
    argv += ["--max-states", str(max_states)] if max_states else []
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    # wait4 gives the child's own CPU seconds and peak resident memory (KiB on Linux).
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    peak = usage.ru_maxrss / 1024
    data: dict[str, object] = json.loads(out) if out.strip() else {}
    data.update(cpu_seconds=cpu, wall_seconds=wall, peak_mib=peak)
    return data


def row(label: str, vms: int, symmetry: bool, d: dict[str, object]) -> str:
    states = int(d.get("states", 0))  # type: ignore[call-overload]
    cpu = float(d["cpu_seconds"])  # type: ignore[arg-type]
    return (f"| {label} | {vms} | {'on' if symmetry else 'off'} | {states:,} | "
            f"{int(d.get('edges', 0)):,} | {'yes' if d.get('complete') else 'NO'} | "  # type: ignore[call-overload]
            f"{cpu:.1f} | {float(d['wall_seconds']):.1f} | "  # type: ignore[arg-type]
            f"**{states / cpu if cpu else 0:,.0f}** | {float(d['peak_mib']):,.0f} | "  # type: ignore[arg-type]
            f"{'ok' if d.get('ok') else 'FINDING/INCOMPLETE'} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", default="2,3", help="presets with symmetry reduction")
    parser.add_argument("--no-symmetry", default="", help="presets also run without it")
    parser.add_argument("--baseline", metavar="REF", help="also run this commit's code first")
    parser.add_argument("--max-states", type=int, help="passed to every run")
    args = parser.parse_args()
    runs = [(int(v), True) for v in args.vms.split(",") if v]
    runs += [(int(v), False) for v in args.no_symmetry.split(",") if v]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{load:.1f} at the start (shared machine: compare CPU seconds)\n")
    print("| code | VMs | symmetry | states | edges | complete | CPU s | wall s | "
          "states per CPU s | peak MiB | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        trees: list[tuple[str, Path | None]] = []
        if args.baseline:
            trees.append((f"before ({args.baseline})", make_tree(args.baseline, Path(tmp))))
        trees.append(("this tree", None))
        for vms, symmetry in runs:
            for label, path in trees:
                data = run_one(path, vms, symmetry, args.max_states)
                print(row(label, vms, symmetry, data), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
