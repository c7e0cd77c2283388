"""A hash of an exploration's whole graph, to show that a speed-up changed nothing it finds.

A script, not a test. Explores the preset for each ``--vms`` (with symmetry) and prints the
SHA-256 (first 16 digits) of its state ids' parents, depths and events, every edge (source,
target, kind, progress flag), its fixed points, counterexamples and progress findings, with
CPU seconds. ``--baseline REF`` runs the same with that commit's code (``git archive``,
as ``bench_explore.py``) in a child process first: equal digests are the same graph.

    python3 benchmarks/explore_digest.py [--vms 2,3] [--baseline REF]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time

from bench_explore import run_in_trees

from dynmem.verification.explore import explore
from dynmem.verification.explore.config import get_config


def digest(vms: int) -> str:
    """One line: VMs, states, edges, digest, CPU seconds of the search and analysis."""
    started = time.process_time()
    x = explore(get_config(vms))
    cpu = time.process_time() - started
    h = hashlib.sha256()
    for part in (x.parent, x.depth, x.edge_src, x.edge_dst, x.edge_kind):
        h.update(bytes(part))
    h.update(bytes(x.edge_progress))
    h.update(bytes(x.fixed))
    h.update(repr(x.via).encode())
    h.update(repr(x.progress).encode())
    h.update(repr(sorted(x.counterexamples.items())).encode())
    return (f"{vms} VMs: {x.n_states:,} states, {x.n_edges:,} edges, digest "
            f"{h.hexdigest()[:16]}, {cpu:.1f} CPU s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", default="2,3")
    parser.add_argument("--baseline", metavar="REF")
    parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    presets = [int(v) for v in args.vms.split(",") if v]
    if args.here:
        for vms in presets:
            print(digest(vms), flush=True)
        return 0
    run_in_trees(__file__, ["--vms", args.vms], args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
