#!/usr/bin/env python3
"""Run dynmem conformance vectors against any system IUT (specs/formats/oracle.md §6).

Standard library only, meant to be imitated in any language:
    python3 examples/vectors_runner.py VECTORS_DIR "python3 my_host.py" [--any-policy]
Runs every "exact" and "reject" case (with --any-policy only those whose meta says
"policy_free": an IUT with its own balancing policy must pass them); prints PASS/FAIL per
case; exit 1 if any failed.
"""
import json
import subprocess
import sys
from pathlib import Path


def ask(iut, message):
    iut.stdin.write(json.dumps(message) + "\n")
    iut.stdin.flush()
    return json.loads(iut.stdout.readline())


def observe(state):
    """The observation of a full state (pre.json): what the IUT reports (§1.2)."""
    keys = ("name", "power", "visible_mib", "ballooned_mib", "txn", "txn_mib", "txn_done_mib")
    vms = [dict({k: vm[k] for k in keys}, assigned_mib=vm["visible_mib"] - vm["ballooned_mib"])
           for vm in state["vms"]]
    return {"free_mib": state["free_mib"], "vms": vms}


def run_case(case, command, any_policy):
    meta = json.loads((case / "meta.json").read_text())
    if meta["kind"] not in ("exact", "reject") or (any_policy and not meta["policy_free"]):
        return None  # refinement cases need a model checker: use `dynmem check-trace`
    events = [json.loads(line) for line in (case / "events.ndjson").read_text().splitlines()][1:]
    steps = []
    if meta["kind"] == "exact":
        steps = [json.loads(line) for line in (case / "steps.ndjson").read_text().splitlines()]
    iut = subprocess.Popen(command, shell=True, text=True, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
    try:
        ask(iut, {"type": "hello", "protocol": 1, "kind": "system", "mode": "lockstep"})
        pre = json.loads((case / "pre.json").read_text())
        ask(iut, {"type": "reset", "state": pre})
        before = observe(pre)
        for index, event in enumerate(events):
            answer = ask(iut, {"type": "event", "step": index + 1, "event": event})
            got = {"observed": answer["observed"], "sent": answer["sent"]}
            if meta["kind"] == "exact" and got != steps[index]:
                return f"event {index + 1}: expected {steps[index]}, got {got}"
            last = index == len(events) - 1
            if meta["kind"] == "reject" and last and answer["observed"] != before:
                return f"the last event must be refused, but the state changed to {got}"
            before = answer["observed"]
        return "ok"
    finally:
        iut.stdin.close()
        iut.wait(timeout=10)


def main(vectors, command, any_policy=False):
    failed = 0
    for case in sorted(p for p in Path(vectors).iterdir() if (p / "meta.json").exists()):
        outcome = run_case(case, command, any_policy)
        if outcome is None:
            continue
        failed += outcome != "ok"
        print(("PASS " if outcome == "ok" else "FAIL ") + case.name
              + ("" if outcome == "ok" else f": {outcome}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], "--any-policy" in sys.argv[3:]))
