"""The 4-VM preset's memory savings measured on a capped search, each setting in its own process.

A script, not a test. ``ExploreConfig.all_edges`` (every edge, or only the progress edges)
and ``ExploreConfig.renamed_keys`` (every renamed key met, or only canonical keys) change
what the search keeps, not what it finds; each combination explores the first N states of
the preset in a child process, whose CPU seconds (user + system) and peak resident memory
(``ru_maxrss``) are its own. The machine may be shared: compare CPU seconds, not wall.

    python3 benchmarks/bench_explore_memory.py [--vms 4] [--max-states 600000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import attrs

from dynmem.verification.explore import explore
from dynmem.verification.explore.config import get_config

SETTINGS = ((True, True), (False, True), (False, False))  # (all_edges, renamed_keys)


def child(vms: int, max_states: int, all_edges: bool, renamed_keys: bool) -> None:
    """Explore without the progress analysis (a capped search is incomplete anyway)."""
    config = attrs.evolve(get_config(vms), max_states=max_states, all_edges=all_edges,
                          renamed_keys=renamed_keys)
    x = explore(config, progress=False)
    print(json.dumps({"states": x.n_states, "edges": x.n_edges,
                      "kept": len(x.edge_src), "queued": x.queued}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=4)
    parser.add_argument("--max-states", type=int, default=600_000)
    parser.add_argument("--child", nargs=2, metavar=("ALL_EDGES", "RENAMED_KEYS"))
    args = parser.parse_args()
    if args.child:
        child(args.vms, args.max_states, args.child[0] == "1", args.child[1] == "1")
        return 0
    print(f"{args.vms}-VM preset, first {args.max_states:,} states, load average "
          f"{os.getloadavg()[0]:.1f} at the start\n")
    print("| all_edges | renamed_keys | states | edges (kept) | CPU s | wall s | "
          "states per CPU s | peak MiB | bytes per state |")
    print("|---|---|---|---|---|---|---|---|---|")
    for all_edges, renamed in SETTINGS:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--vms", str(args.vms), "--max-states",
             str(args.max_states), "--child", str(int(all_edges)), str(int(renamed))],
            stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        data = json.loads(proc.stdout.read())
        _, _, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        cpu = usage.ru_utime + usage.ru_stime
        peak = usage.ru_maxrss * 1024
        print(f"| {'yes' if all_edges else 'progress only'} | {'yes' if renamed else 'no'} | "
              f"{data['states']:,} | {data['edges']:,} ({data['kept']:,}) | {cpu:.1f} | "
              f"{wall:.1f} | {data['states'] / cpu:,.0f} | {peak / 2**20:,.0f} | "
              f"{peak / data['states']:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
