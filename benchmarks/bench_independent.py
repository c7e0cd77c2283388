"""The table of issue 12 item 5: every implementation of examples/independent/ through
``dynmem oracle``, exhaustive phase against random phase.

A script, not a test. For each implementation of ``manifest.json`` and each of its
``modes`` (refinement always; lockstep for the correct ones and the safe policy bugs, where a
difference from the reference is what the mode is for; a bug refinement catches shows the
same in lockstep) it runs:

- the exhaustive phase alone (``--exhaustive --vms N``: presets 1..N, stopping at the first
  failure; N is the entry's ``exhaustive_vms``: 2, the default of ``dynmem oracle``, or 3
  for the two policy bugs that need three weights);
- the random phase alone (``--no-exhaustive``) on seeds 1..10 at ``--examples`` (default 100)
  and the default shrink budget (a count of replays), so every verdict is bounded by counts.

Both phases get the entry's oracle flags from the manifest: ``"lifecycle": true`` adds
``--lifecycle`` (the events of specs/lifecycle.md: channel resets, save/restore, the stuck
watchdog...; the bugs marked so live in those events, which only that flag sends, and their
``exhaustive_vms`` is 1: preset 1vm+lifecycle, 635 states, where 2vm+lifecycle is 124,087),
``"linux": true`` adds ``--linux`` (Linux guests, whose reports carry their ballooned pages).
The table's mode column names the flags.

Each run is a fresh ``dynmem oracle`` process; its CPU seconds are the user+sys of that
process and its IUT (``RUSAGE_CHILDREN``, the machine is shared so CPU is the steadier
number) beside the wall clock. It prints and writes (``--table``, ``--json``) per
implementation and mode: the exhaustive verdict, the preset that decided it, the trace length
(a shortest one), CPU and wall; the random phase caught on how many seeds, the median shrunk
trace length, CPU and wall summed over the seeds. The exhaustive runs go first, then the
random ones seed by seed across every implementation, and ``--json`` is rewritten after each
run, so an interrupted benchmark still has seeds 1..k of every row, and ``--resume FILE``
goes on from such a file (its runs are kept, the others run). Run it under ``nice -n
19``; ``--only NAME`` (repeatable) runs a subset while developing, ``--jobs 2`` two at a
time.

    nice -n 19 python3 benchmarks/bench_independent.py [--only NAME] [--jobs 2]
        [--seeds 10] [--examples 100] [--table FILE.md] [--json FILE.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dynmem.verification.atomic import write_atomic

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "examples" / "independent"
DYNMEM = [sys.executable, "-m", "dynmem"]


def get_modes(entry: dict[str, Any]) -> list[str]:
    """The entry's modes (manifest ``modes``; refinement if absent)."""
    return list(entry.get("modes", ["refinement"]))


def get_vms(entry: dict[str, Any]) -> int:
    """The largest preset of the exhaustive run (manifest ``exhaustive_vms``; 2 if absent)."""
    return int(entry.get("exhaustive_vms", 2))


FLAGS = {"lifecycle": "--lifecycle", "linux": "--linux"}


def get_flags(entry: dict[str, Any]) -> list[str]:
    """The oracle flags both phases of the entry get (manifest ``lifecycle``, ``linux``)."""
    return [flag for key, flag in FLAGS.items() if entry.get(key)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_oracle(entry: dict[str, Any], mode: str, flags: list[str]) -> dict[str, Any]:
    """One ``dynmem oracle --json`` run: its report's verdict, class, steps and preset, with
    the CPU (process and IUT) and wall seconds. Runs in a thread: ``wait4`` gives this
    child's own rusage, so parallel runs do not mix their CPU seconds."""
    argv = [*DYNMEM, "oracle", "--iut", entry["command"], "--kind", entry["kind"],
            "--mode", mode, "--json", *flags]
    wall = time.perf_counter()
    child = subprocess.Popen(argv, cwd=HERE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    out = child.stdout.read() if child.stdout else ""
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - wall
    row: dict[str, Any] = {"exit": child.returncode, "wall": wall,
                           "cpu": usage.ru_utime + usage.ru_stime}
    try:
        report = json.loads(out)
    except ValueError:
        return {**row, "verdict": f"exit {child.returncode}"}
    phases = report.get("phases") or []
    row.update(verdict=report["verdict"], cls=report.get("class"), steps=report.get("steps"),
               examples=report.get("examples"), shrink_runs=report.get("shrink_runs"),
               preset=phases[-1]["preset"] if phases else None)
    return row


Job = tuple[dict[str, Any], str, str, list[str]]


def get_jobs(entries: list[dict[str, Any]], seeds: int, examples: int) -> list[Job]:
    """(entry, mode, phase, flags) of every run: the exhaustive ones, then seed by seed."""
    rows = [(e, mode) for e in entries for mode in get_modes(e)]
    jobs: list[Job] = [(e, mode, "exhaustive", ["--exhaustive", "--vms", str(get_vms(e)),
                                                *get_flags(e)])
                       for e, mode in rows]
    jobs += [(e, mode, f"seed {seed}", ["--no-exhaustive", "--seed", str(seed),
                                         "--examples", str(examples), *get_flags(e)])
             for seed in range(1, seeds + 1) for e, mode in rows]
    return jobs


def summarise(entry: dict[str, Any], mode: str, runs: dict[str, dict[str, Any]],
              seeds: int) -> dict[str, Any]:
    """One row of the table from the runs of one implementation and mode."""
    ex = runs.get("exhaustive", {"verdict": "not run", "cpu": 0.0, "wall": 0.0})
    randoms = [runs[f"seed {s}"] for s in range(1, seeds + 1) if f"seed {s}" in runs]
    caught = [r for r in randoms if r["verdict"] == "fail"]
    return {
        "name": entry["name"], "kind": entry["kind"], "mode": mode, "flags": get_flags(entry),
        "expected": (entry["expect_lockstep"].replace("differ", "fail") if mode == "lockstep"
                     else entry.get("expect_refinement",
                                    "pass" if entry["correct"] else "fail")),
        "exhaustive": ex["verdict"], "exhaustive_class": ex.get("cls"),
        "exhaustive_preset": ex.get("preset"), "exhaustive_steps": ex.get("steps"),
        "exhaustive_cpu": ex["cpu"], "exhaustive_wall": ex["wall"],
        "random_caught": len(caught), "random_seeds": len(randoms),
        "random_classes": sorted({str(r.get("cls")) for r in caught}),
        "random_steps": statistics.median(r["steps"] for r in caught) if caught else None,
        "random_cpu": sum(r["cpu"] for r in randoms),
        "random_wall": sum(r["wall"] for r in randoms),
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of ``rows``."""
    lines = ["| implementation | mode | expected (manifest) | exhaustive: verdict (preset, "
             "class) | shortest trace | CPU s | wall s | random: caught on seeds | median shrunk "
             "length | CPU s (all seeds) | wall s (all seeds) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ex = r["exhaustive"].upper()
        if r["exhaustive"] == "fail":
            ex += f" ({r['exhaustive_preset']}, {r['exhaustive_class']})"
        elif r["exhaustive_preset"]:
            ex += f" (presets to {r['exhaustive_preset']})"
        steps = r["exhaustive_steps"] if r["exhaustive"] == "fail" else "-"
        shrunk = "-" if r["random_steps"] is None else f"{r['random_steps']:g}"
        lines.append(
            f"| {r['name']} | {' '.join([r['mode'], *r.get('flags', [])])} | {r['expected']} | "
            f"{ex} | {steps} | "
            f"{r['exhaustive_cpu']:.1f} | {r['exhaustive_wall']:.1f} | "
            f"{r['random_caught']}/{r['random_seeds']} | {shrunk} | {r['random_cpu']:.1f} | "
            f"{r['random_wall']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this implementation (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    parser.add_argument("--seeds", type=int, default=10, help="random seeds 1..N (10)")
    parser.add_argument("--examples", type=int, default=100,
                        help="examples per random run (100)")
    parser.add_argument("--table", type=Path, help="write the Markdown table here too")
    parser.add_argument("--json", type=Path, help="write every run's numbers here")
    parser.add_argument("--resume", type=Path, metavar="FILE",
                        help="keep the runs FILE (--json of an earlier, maybe interrupted, "
                             "run of the same code) holds and run only the others")
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="run nothing: print the table of the runs FILE (--json of an "
                             "earlier, maybe interrupted, run) holds")
    args = parser.parse_args()
    manifest = json.loads((HERE / "manifest.json").read_text())
    unknown = set(args.only) - {e["name"] for e in manifest}
    if unknown:
        print(f"bench_independent: --only: no implementation {sorted(unknown)[0]!r} in "
              f"{HERE / 'manifest.json'}", file=sys.stderr)
        return 2
    entries = [e for e in manifest if not args.only or e["name"] in args.only]
    if args.from_json:
        saved = json.loads(args.from_json.read_text())["runs"]
        print(format_table([summarise(e, mode, saved.get(f"{e['name']} {mode}", {}),
                                      args.seeds) for e in entries for mode in get_modes(e)]))
        return 0
    for build in sorted({e["build"] for e in entries if e.get("build")}):
        subprocess.run(build, shell=True, cwd=HERE, check=True)
    started = datetime.datetime.now(datetime.UTC)
    head = (f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load "
            f"{os.getloadavg()[0]:.1f} at the start")
    print(head, flush=True)
    jobs = get_jobs(entries, args.seeds, args.examples)
    runs: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    if args.resume:
        kept = json.loads(args.resume.read_text())["runs"]
        for e, mode, phase, _flags in jobs:
            if phase in kept.get(f"{e['name']} {mode}", {}):
                runs.setdefault((e["name"], mode), {})[phase] = kept[f"{e['name']} {mode}"][phase]
        jobs = [j for j in jobs if j[2] not in runs.get((j[0]["name"], j[1]), {})]
        print(f"resumed from {args.resume}: "
              f"{sum(len(by) for by in runs.values())} runs kept, {len(jobs)} to run", flush=True)
    wall = time.perf_counter()
    lock = threading.Lock()

    def work(job: Job) -> None:
        entry, mode, phase, flags = job
        row = run_oracle(entry, mode, flags)
        with lock:
            runs.setdefault((entry["name"], mode), {})[phase] = row
            print(f"{entry['name']} {mode} {phase}: {row['verdict']} {row.get('cls') or ''} "
                  f"steps {row.get('steps')} CPU {row['cpu']:.1f} s wall {row['wall']:.1f} s",
                  flush=True)
            if args.json:
                write_atomic(args.json, json.dumps(
                    {"head": head, "runs": {f"{n} {m}": by for (n, m), by in runs.items()}},
                    indent=1))

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(work, jobs))
    rows = [summarise(e, mode, runs.get((e["name"], mode), {}), args.seeds)
            for e in entries for mode in get_modes(e)]
    total_cpu = sum(r["cpu"] for by in runs.values() for r in by.values())
    kept = sum(len(by) for by in runs.values()) - len(jobs)
    tail = (f"{len(jobs) + kept} runs{f' ({kept} kept from {args.resume})' if kept else ''}: "
            f"{total_cpu:.0f} CPU s, {time.perf_counter() - wall:.0f} s "
            f"wall ({args.jobs} at a time), load {os.getloadavg()[0]:.1f} at the end")
    table = format_table(rows)
    print(table + tail)
    if args.table:
        write_atomic(args.table, f"{head}; {tail}\n\n{table}")
    if args.json:
        write_atomic(args.json, json.dumps({"head": head, "tail": tail, "rows": rows,
                                            "runs": {f"{n} {m}": by for (n, m), by in
                                                     runs.items()}}, indent=1))
    wrong = [r for r in rows if (r["exhaustive"] == "pass") != (r["expected"] == "pass")]
    for r in wrong:
        print(f"unexpected: {r['name']} {r['mode']}: exhaustive {r['exhaustive']}, "
              f"expected {r['expected']}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
