#!/usr/bin/env python3
"""Run dynmem conformance vectors against any system IUT (specs/formats/oracle.md §6).

Standard library only, meant to be imitated in any language. Write the vectors with
``dynmem vectors VECTORS_DIR``, then:

    python3 examples/vectors_runner.py VECTORS_DIR "python3 my_host.py" [--any-policy]
                                       [--no-lifecycle] [--timeout SECONDS]

Runs every "exact" and "reject" case (with --any-policy only those whose meta says
"policy_free": an IUT with its own balancing policy must pass them; with --no-lifecycle not
those whose meta says "lifecycle": an IUT without specs/lifecycle.md skips them; those whose
meta says "alignment" run only if the IUT's hello says "hot_add_alignment" (Rule P1c); refinement
cases need a model checker: use ``dynmem oracle`` or ``dynmem check-trace``). Each case starts
the IUT afresh and must finish within --timeout seconds (default 10), or the IUT is killed and the
case fails. Prints PASS/FAIL per case and a summary line. Exit 0: every case passed; 1: a
case failed; 2: bad usage (no such folder, no vectors in it).
"""
import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path


class CaseFailed(Exception):
    """The IUT answered wrongly, crashed, or ran out of time."""


def ask(iut, message):
    """Send one request line and read the answer line (a killed IUT reads as closed)."""
    try:
        iut.stdin.write(json.dumps(message) + "\n")
        iut.stdin.flush()
    except (BrokenPipeError, OSError):
        raise CaseFailed(f"the IUT closed its input before {message['type']!r}") from None
    line = iut.stdout.readline()
    if not line:
        raise CaseFailed(f"the IUT closed its output before answering {message['type']!r}")
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        raise CaseFailed(f"the answer to {message['type']!r} is not JSON: {line[:200]!r}") \
            from None


def observe(state):
    """The observation of a full state (pre.json): what the IUT reports (§1.2)."""
    keys = ("name", "power", "visible_mib", "ballooned_mib", "txn", "txn_mib", "txn_done_mib")
    vms = [dict({k: vm[k] for k in keys}, assigned_mib=vm["visible_mib"] - vm["ballooned_mib"])
           for vm in state["vms"]]
    return {"free_mib": state["free_mib"], "vms": vms}


def read_case(case):
    """meta, events, expected steps (exact cases) and the pre state of a case directory."""
    meta = json.loads((case / "meta.json").read_text())
    events = [json.loads(line) for line in (case / "events.ndjson").read_text().splitlines()]
    steps = []
    if meta["kind"] == "exact":
        steps = [json.loads(line) for line in (case / "steps.ndjson").read_text().splitlines()]
    return meta, events[1:], steps, json.loads((case / "pre.json").read_text())


class NotRun(Exception):
    """The case needs what the IUT's hello does not promise."""


def drive(iut, meta, events, steps, pre):
    """Feed the case to a started IUT; raise CaseFailed at the first wrong answer."""
    hello = ask(iut, {"type": "hello", "protocol": 1, "kind": "system", "mode": "lockstep"})
    if meta.get("alignment", False) and hello.get("hot_add_alignment") is not True:
        raise NotRun  # Rule P1c: only an IUT that follows the guest's alignment sees one
    ask(iut, {"type": "reset", "state": pre})
    before = observe(pre)
    for index, event in enumerate(events):
        answer = ask(iut, {"type": "event", "step": index + 1, "event": event})
        got = {"observed": answer.get("observed"), "sent": answer.get("sent")}
        if meta["kind"] == "exact" and got != steps[index]:
            raise CaseFailed(f"event {index + 1}: expected {json.dumps(steps[index])}, "
                             f"got {json.dumps(got)}")
        last = index == len(events) - 1
        if meta["kind"] == "reject" and last and answer.get("observed") != before:
            raise CaseFailed("the last event must be refused, but the state changed to "
                             f"{json.dumps(got)}")
        before = answer.get("observed")


def run_case(case, command, any_policy, timeout, lifecycle=True):
    """'ok', a failure message, or None for a case this runner does not run."""
    meta, events, steps, pre = read_case(case)
    if meta["kind"] not in ("exact", "reject") or (any_policy and not meta["policy_free"]):
        return None
    if not lifecycle and meta.get("lifecycle", False):
        return None
    # A session of its own, so that the watchdog stops the shell and everything it started.
    iut = subprocess.Popen(command, shell=True, text=True, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, start_new_session=True)
    watchdog = threading.Timer(timeout, stop, (iut,))  # a hung IUT fails the case, not the run
    watchdog.start()
    try:
        drive(iut, meta, events, steps, pre)
        return "ok"
    except NotRun:
        return None
    except CaseFailed as failure:
        if not watchdog.is_alive():
            return f"timed out after {timeout:g} s"
        try:
            status = iut.wait(timeout=1)
        except subprocess.TimeoutExpired:
            status = None
        return str(failure) + (f" (the IUT exited with status {status})" if status else "")
    finally:
        watchdog.cancel()
        for stream in (iut.stdin, iut.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            iut.wait(timeout=5)
        except subprocess.TimeoutExpired:
            stop(iut)
            iut.wait()


def stop(iut):
    """Kill the IUT's whole process group (the shell and what it started)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(iut.pid, signal.SIGKILL)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="vectors_runner.py",
        description="Run dynmem conformance vectors (written by 'dynmem vectors DIR') against "
                    "a system IUT speaking JSON Lines. Exit 0: all passed; 1: a case failed; "
                    "2: bad usage.")
    parser.add_argument("vectors", metavar="VECTORS_DIR", help="folder written by dynmem vectors")
    parser.add_argument("command", metavar="COMMAND",
                        help='command that starts the IUT, e.g. "python3 my_host.py"')
    parser.add_argument("--any-policy", action="store_true",
                        help="the IUT has its own balancing policy: run only policy-free cases")
    parser.add_argument("--no-lifecycle", action="store_true",
                        help="the IUT does not implement specs/lifecycle.md: skip the cases "
                             "whose meta says \"lifecycle\"")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="time limit of one case, IUT start included (default 10)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    folder = Path(args.vectors)
    if not folder.is_dir():
        print(f"vectors_runner.py: {folder}: no such folder (write one with 'dynmem vectors "
              f"{folder}')", file=sys.stderr)
        return 2
    cases = sorted(p for p in folder.iterdir() if (p / "meta.json").exists())
    if not cases:
        print(f"vectors_runner.py: {folder}: no vectors in it (each case is a folder with "
              "meta.json)", file=sys.stderr)
        return 2
    counts = {"passed": 0, "failed": 0, "not run": 0}
    for case in cases:
        outcome = run_case(case, args.command, args.any_policy, args.timeout,
                           not args.no_lifecycle)
        if outcome is None:
            counts["not run"] += 1
            continue
        counts["passed" if outcome == "ok" else "failed"] += 1
        print(("PASS " if outcome == "ok" else "FAIL ") + case.name
              + ("" if outcome == "ok" else f": {outcome}"), flush=True)
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['not run']} not run "
          "(refinement cases, or not policy-free with --any-policy, or lifecycle cases with "
          "--no-lifecycle, or alignment cases for an IUT without hot_add_alignment)")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
