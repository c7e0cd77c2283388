"""The walk engine: checked steps per CPU second, and the planted bugs it catches beside
Hypothesis and exploration.

A script, not a test. Throughput: ``run_walk`` on the 2-VM preset and on ``8vm-gib``
(refinement and every invariant on every step), CPU seconds (user + system of this process)
beside wall. Mutant table (``--mutants``): for every planted bug, the walk (2-VM preset with
what the bug's events need, as ``dynmem fuzz --engine walk --mutant``; invariants only, seed
0), the Hypothesis ``ci`` campaign (invariants only, as ``mutant_table.py``) and exploration
of the bug's preset: caught or not, the work to the catch (walk: checked steps; Hypothesis:
checked steps of the whole campaign with shrinking; exploration: states) and CPU seconds
(walk: to the catch, before shrinking; the others: the whole run).

``--baseline REF`` also measures that commit's code beside this tree on 8vm-gib with
refinement (the issue's goal), each run in its own process, alternated ``--rounds`` times:
the same steps, so the CPU seconds compare.

    python3 benchmarks/bench_walk.py [--episodes 1000] [--depth 500] [--mutants]
        [--baseline REF [--rounds 2]]
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

from dynmem.verification.explore.config import EXPLORE_ALIGNMENTS, get_config, with_host_profile
from dynmem.verification.explore.run import run_exploration
from dynmem.verification.mutants.catalogue import MUTANTS, Mutant
from dynmem.verification.stateful.fuzz import run_fuzz
from dynmem.verification.walk import REAL_8VM, WalkSpace, for_planted_bug, run_walk

GOAL = 50_000
# One campaign with refinement in a child process (argv: episodes, depth, and the preset,
# 8vm-gib or 2vm): run_walk's own CPU and wall seconds (imports excluded).
_CHILD = """import json, sys
from dynmem.verification.explore.config import get_config
from dynmem.verification.walk import REAL_8VM, run_walk
space = REAL_8VM if sys.argv[3] == "8vm-gib" else get_config(2)
r = run_walk(space, episodes=int(sys.argv[1]), depth=int(sys.argv[2]), seed=1,
             refinement=True)
print(json.dumps({"steps": r.steps, "accepted": r.accepted, "cpu": r.cpu_seconds,
                  "wall": r.wall_seconds, "ok": r.ok}))
"""


def compare(baseline: str, episodes: int, depth: int, rounds: int) -> None:
    """8vm-gib with refinement, commit ``baseline`` and this tree alternated, each run in
    its own process (``bench_explore.make_tree`` puts the commit's packages first)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_explore import make_tree

    print(f"\n8vm-gib, refinement on, {episodes} x {depth}, seed 1, {rounds} rounds "
          f"alternated:\n")
    print("| code | round | steps checked (accepted) | CPU s | wall s | steps per CPU s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        trees = [(f"before ({baseline})", make_tree(baseline, Path(tmp))), ("after", None)]
        for n in range(1, rounds + 1):
            for label, path in trees:
                env = dict(os.environ)
                if path is not None:
                    env["PYTHONPATH"] = str(path)
                out = subprocess.run([sys.executable, "-c", _CHILD, str(episodes), str(depth),
                                      "8vm-gib"],
                                     env=env, check=True, capture_output=True, text=True).stdout
                d = json.loads(out)
                print(f"| {label} | {n} | {d['steps']:,} ({d['accepted']:,}) | {d['cpu']:.2f} | "
                      f"{d['wall']:.2f} | **{d['steps'] / d['cpu']:,.0f}** |", flush=True)


def throughput(space: WalkSpace, episodes: int, depth: int, refinement: bool) -> str:
    r = run_walk(space, episodes=episodes, depth=depth, seed=1, refinement=refinement)
    rate = r.steps_per_cpu_second
    return (f"| {space.name} | {'on' if refinement else 'off'} | {r.episodes} x {r.depth} | "
            f"{r.steps:,} ({r.accepted:,} accepted) | {r.settle_steps:,} | "
            f"{r.cpu_seconds:.2f} | {r.wall_seconds:.2f} | **{rate:,.0f}** | "
            f"{'met' if rate >= GOAL else 'NOT met'} | {'ok' if r.ok else 'FAILED'} |")


def walk_cells(bug: Mutant) -> str:
    space = for_planted_bug(get_config(2), bug, EXPLORE_ALIGNMENTS)  # as `fuzz --mutant`
    space = with_host_profile(space, bug.explore_profile)  # a version bug's host
    r = run_walk(space, episodes=1000, depth=500, seed=0, step_fn=bug.reference_step,
                 plan=bug.policy, mutant=bug.name, refinement=False)
    f = r.failure
    if f is None:
        return f"no | {r.steps:,} | {r.cpu_seconds:.2f} | - |"
    broke = f.message.split(" ")[0].rstrip(":")
    shrunk = len(f.shown.steps)
    return f"yes: {broke} | {f.steps:,} | {f.cpu_seconds:.2f} | {shrunk} |"


def fuzz_cells(bug: Mutant) -> str:
    cpu = time.process_time()
    r = run_fuzz("ci", mutant=bug.name, refinement=False)
    cpu = time.process_time() - cpu
    caught = "no" if r.ok else "yes"
    return f"{caught} | {r.steps:,} | {cpu:.2f} |"


def explore_cells(bug: Mutant) -> str:
    cpu = time.process_time()
    r = run_exploration(bug.explore_vms, mutant=bug.name)
    cpu = time.process_time() - cpu
    caught = "no" if r.ok else "yes"
    return f"{caught} ({bug.explore_vms} VMs) | {r.states:,} | {cpu:.2f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=500)
    parser.add_argument("--mutants", action="store_true", help="also the planted-bug table")
    parser.add_argument("--baseline", metavar="REF",
                        help="also compare that commit's code with this tree on 8vm-gib")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of --baseline")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{load:.1f} at the start (shared machine: compare CPU seconds)\n")
    print("| preset | refinement | episodes x depth | steps checked | settling steps | "
          "CPU s | wall s | steps per CPU s | goal 50,000 | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for space in (get_config(2), REAL_8VM):
        for refinement in (True, False):
            print(throughput(space, args.episodes, args.depth, refinement), flush=True)
    if args.baseline:
        compare(args.baseline, args.episodes, args.depth, args.rounds)
    if not args.mutants:
        return 0
    print("\n| mutant | walk: caught | walk steps | walk CPU s | shrunk steps | "
          "hypothesis ci: caught | steps | CPU s | explore: caught | states | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for bug in MUTANTS:
        print(f"| {bug.name} | {walk_cells(bug)} {fuzz_cells(bug)} {explore_cells(bug)}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
