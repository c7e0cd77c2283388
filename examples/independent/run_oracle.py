#!/usr/bin/env python3
"""Run `dynmem oracle` on every implementation of manifest.json, seeds 1..5, both modes.

Usage: python3 run_oracle.py [NAME ...]   (from this directory; at most 2 runs at a time)
Writes results.json: {name: {mode: [verdict per seed]}} and oracle reports under out/.
"""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = [1, 2, 3, 4, 5]


def run(entry, mode, seed):
    out = os.path.join(HERE, "out", entry["name"], "%s-%d" % (mode, seed))
    cmd = ["timeout", "300", "dynmem", "oracle", "--iut", entry["command"], "--kind", entry["kind"],
           "--mode", mode, "--seed", str(seed), "--shrink-seconds", "20", "--out", out, "--json"]
    p = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
    try:
        rep = json.loads(p.stdout)
        verdict = rep.get("verdict")
        if verdict != "pass":
            verdict = "%s/%s@%s" % (rep.get("class"), rep.get("detail") or "", rep.get("step"))
    except ValueError:
        verdict = "exit%d" % p.returncode if p.returncode else "pass"
    return entry["name"], mode, seed, verdict


def main():
    manifest = json.load(open(os.path.join(HERE, "manifest.json")))
    only = set(sys.argv[1:])
    for e in manifest:
        if e.get("build") and (not only or e["name"] in only):
            subprocess.run(e["build"], shell=True, cwd=HERE, check=True)
    jobs = [(e, m, s) for e in manifest if not only or e["name"] in only
            for m in ("refinement", "lockstep") for s in SEEDS]
    path = os.path.join(HERE, "results.json")
    results = json.load(open(path)) if os.path.exists(path) else {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, mode, seed, verdict in pool.map(lambda j: run(*j), jobs):
            results.setdefault(name, {}).setdefault(mode, {})[str(seed)] = verdict
            print(name, mode, seed, verdict, flush=True)
    json.dump(results, open(path, "w"), indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
