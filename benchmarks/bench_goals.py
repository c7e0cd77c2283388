"""Issue 13's goals in one run: each figure it asks for, measured here, beside the peers it
names where they are installed.

A script, not a test. Each measurement runs in its own process (its own CPU seconds, user +
system, and peak resident memory), one after the other:

- item 1: ``dynmem explore --vms 3`` (symmetry), states per CPU s, asked 75,000; with
  ``--spin-peer DIR`` (a folder holding ``compare-spin`` and ``spin_port.py``, such as the
  team's ``../shared/peers``), SPIN on the exact Promela port of the same preset in the same
  run, and the ratio (asked: within 3x);
- item 2: that run's peak memory, the progress analysis included, asked under 500 MiB;
- item 3 (``--four``, 3 to 5 minutes): ``dynmem explore --vms 4``, complete in under 10
  minutes wall and 8 GiB;
- item 4: the walk with refinement and every invariant on every step, 1000 episodes x 500
  steps, seed 1, on ``8vm-gib`` and the 2-VM preset, asked 50,000 checked steps per CPU s;
  with ``--quint DIR`` (a folder where ``npx quint`` runs, holding ``quint_2vm.qnt``; how to
  install it: the peers' README), Quint's
  TypeScript simulator on the same 2-VM model (2000 x 50 steps by default, so that its
  start-up of about 3 CPU s is spread), asked 50x slower.

The machine may be shared: CPU seconds are the measure, and a verdict here is a measurement
of this machine at this hour, not a test (speed is never asserted in tests).

    python3 benchmarks/bench_goals.py [--four] [--spin-peer DIR] [--quint DIR]
        [--quint-samples N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_explore import run_one  # noqa: E402  (a sibling script)
from bench_walk import _CHILD as _WALK  # noqa: E402

Row = tuple[str, str, str, bool]  # item, asked, measured, met


def _usage_of(argv: list[str], cwd: Path | None = None) -> tuple[str, float]:
    """Run ``argv``; its output and CPU seconds (user + system of it and its children)."""
    before = os.times()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    after = os.times()
    if done.returncode != 0:
        sys.exit(f"bench_goals: {' '.join(argv)} exited {done.returncode}:\n"
                 f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    return done.stdout + done.stderr, cpu


def explore_rows(spin_peer: Path | None) -> list[Row]:
    d = run_one(None, 3, True, None)
    states, cpu, peak = int(d["states"]), float(d["cpu_seconds"]), float(d["peak_mib"])  # type: ignore[call-overload, arg-type]
    rate = states / cpu
    whole = bool(d.get("complete")) and bool(d.get("ok"))
    print(f"explore --vms 3: {states:,} states, complete {d.get('complete')}, ok "
          f"{d.get('ok')}, {cpu:.2f} CPU s, {float(d['wall_seconds']):.2f} s wall, "  # type: ignore[arg-type]
          f"{peak:,.0f} MiB peak", flush=True)
    rows: list[Row] = [
        ("1. explorer, 3 VMs with symmetry", "75,000 states per CPU s",
         f"{rate:,.0f} ({states:,} states in {cpu:.2f} CPU s)", rate >= 75_000 and whole),
        ("2. its peak memory, progress analysis included", "under 500 MiB",
         f"{peak:,.0f} MiB", peak < 500 and whole)]
    if spin_peer is not None:
        out, _ = _usage_of(["bash", str(spin_peer / "compare-spin"), "3"])
        found = re.search(r"^SPIN\s+(\d+) states\s+([\d.]+) CPU s", out, re.M)
        if found is None:
            sys.exit(f"bench_goals: no SPIN line in compare-spin's output:\n{out}")
        spin_states, spin_cpu = int(found[1]), float(found[2])
        print(f"SPIN (compare-spin 3): {spin_states:,} states, {spin_cpu:.2f} CPU s",
              flush=True)
        rows.append(("1. beside SPIN, same state space, same run", "within 3x",
                     f"{cpu / spin_cpu:.1f}x ({cpu:.2f} against {spin_cpu:.2f} CPU s)",
                     cpu <= 3 * spin_cpu and spin_states == states))
    return rows


def four_row() -> Row:
    d = run_one(None, 4, True, None)
    wall, peak = float(d["wall_seconds"]), float(d["peak_mib"])  # type: ignore[arg-type]
    whole = bool(d.get("complete")) and bool(d.get("ok"))
    return ("3. explorer, 4 VMs (one heavy, three light), complete", "10 min wall, 8 GiB",
            f"{int(d.get('states', 0)):,} states, complete {d.get('complete')}, "  # type: ignore[call-overload]
            f"{wall / 60:.1f} min wall, {float(d['cpu_seconds']):.0f} CPU s, "  # type: ignore[arg-type]
            f"{peak / 1024:.1f} GiB", whole and wall < 600 and peak < 8 * 1024)


def walk_rates() -> dict[str, float]:
    """Checked steps per CPU s of the walk, refinement on, each preset in its own process
    (run_walk's own CPU seconds, imports excluded)."""
    rates: dict[str, float] = {}
    for name in ("8vm-gib", "2vm"):
        out = subprocess.run([sys.executable, "-c", _WALK, "1000", "500", name], check=True,
                             capture_output=True, text=True).stdout
        d = json.loads(out)
        if not d["ok"]:
            sys.exit(f"bench_goals: the {name} walk failed: {d}")
        rates[name] = d["steps"] / d["cpu"]
        print(f"walk {name}: {d['steps']:,} steps checked ({d['accepted']:,} accepted), "
              f"{d['cpu']:.2f} CPU s, {rates[name]:,.0f} per CPU s", flush=True)
    return rates


def quint_rate(folder: Path, samples: int) -> float:
    """Quint's simulator on quint_2vm.qnt: checked steps (samples x 50) per CPU s, start-up
    included, as a user pays it."""
    npx = shutil.which("npx")
    if npx is None:
        sys.exit("bench_goals: --quint needs npx (Node.js) on PATH")
    out, cpu = _usage_of([npx, "quint", "run", "--backend", "typescript", "--invariant",
                             "inv", "--max-steps", "50", "--max-samples", str(samples),
                             "--seed=0x1", "quint_2vm.qnt"], cwd=folder)
    if "[ok]" not in out:
        sys.exit(f"bench_goals: Quint did not finish ok:\n{out[-2000:]}")
    rate = samples * 50 / cpu
    print(f"Quint: {samples} x 50 steps, {cpu:.2f} CPU s, {rate:,.0f} per CPU s", flush=True)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--four", action="store_true", help="also the 4-VM preset (~5 min)")
    parser.add_argument("--spin-peer", type=Path, metavar="DIR",
                        help="folder with compare-spin and spin_port.py (../shared/peers)")
    parser.add_argument("--quint", type=Path, metavar="DIR",
                        help="folder where `npx quint` runs, holding quint_2vm.qnt")
    parser.add_argument("--quint-samples", type=int, default=2000, metavar="N")
    args = parser.parse_args()
    for flag, folder, needed in (("--spin-peer", args.spin_peer, "compare-spin"),
                                 ("--quint", args.quint, "quint_2vm.qnt")):
        if folder is not None and not (folder / needed).is_file():
            parser.error(f"{flag} {folder}: no {needed} there")
    if args.quint_samples <= 0:
        parser.error(f"--quint-samples {args.quint_samples}: must be > 0")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start\n",
          flush=True)
    rows = explore_rows(args.spin_peer)
    if args.four:
        rows.append(four_row())
    rates = walk_rates()
    for name in ("8vm-gib", "2vm"):
        rows.append((f"4. walk, refinement on, {name}", "50,000 checked steps per CPU s",
                     f"{rates[name]:,.0f}", rates[name] >= 50_000))
    if args.quint is not None:
        quint = quint_rate(args.quint, args.quint_samples)
        rows.append(("4. walk beside Quint's simulator, same 2-VM model", "50x",
                     f"{rates['2vm'] / quint:,.0f}x ({quint:,.0f} per CPU s)",
                     rates["2vm"] >= 50 * quint))
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end\n")
    print("| item | asked | measured here | met |\n|---|---|---|---|")
    for item, asked, measured, met in rows:
        print(f"| {item} | {asked} | {measured} | {'yes' if met else '**no**'} |")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
