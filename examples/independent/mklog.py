#!/usr/bin/env python3
"""Write the hand-made check-trace logs of logs/*.jsonl (specs/formats/oracle.md §5).

Each case is a crafted initial state plus a few events. The observations are what the named
implementation answers: a system IUT is driven over the wire; a policy IUT is asked for its
plan at each tick, and the plan is carried out by a host that trusts its policy (no guard
check), as a real system with that policy would. Then run:  dynmem check-trace logs/X.jsonl
"""
import json
import subprocess
import sys

import py_system_correct as host_impl

SUPPORTED = 131072
SETTINGS = {"dynamic": True, "startup_mib": 1024, "maximum_mib": 4096, "buffer_pct": 20,
            "weight": 5000, "dm_capable": True}


def vm(name, visible, report=None, ballooned=0, txn="none", txn_mib=0, txn_done=0,
       channel="ready", **settings):
    return {"name": name, "settings": dict(SETTINGS, **settings), "power": "running",
            "visible_mib": visible, "ballooned_mib": ballooned, "demand_mib": report or 0,
            "has_report": report is not None, "report_mib": report or 0, "channel": channel,
            "protocol_version": SUPPORTED if channel in ("caps", "quiet", "ready") else 0,
            "cap_balloon": channel in ("quiet", "ready"), "cap_hot_add": channel in ("quiet", "ready"),
            "hot_add_enabled": True, "txn": txn, "txn_mib": txn_mib, "txn_done_mib": txn_done}


def state(vms, physical=8192, reserve=1024):
    owned = 0
    for v in vms:
        if v["power"] == "running":
            owned += v["visible_mib"] - v["ballooned_mib"] + (v["txn_mib"] if v["txn"] in ("hot_add", "unballoon") else 0)
    return {"host": {"physical_mib": physical, "reserve_mib": reserve}, "free_mib": physical - reserve - owned, "vms": vms}


def off(name, **settings):
    v = vm(name, 0, channel="none", **settings)
    v.update(power="off", cap_balloon=False, cap_hot_add=False)
    return v


TICK = {"kind": "balancer_tick"}
CASES = {
    "stop_inflight": ("python3 py_system_bug_stop_inflight.py", "system",
                      state([vm("a", 1024, 2000, txn="hot_add", txn_mib=1024)]),
                      [{"kind": "stop", "vm": "a"}]),
    "quiet_requests": ("python3 py_policy_bug_quiet_requests.py", "policy",
                       state([vm("a", 1024, 2000, channel="quiet")]), [TICK]),
    "more_pages": ("node node_system_bug_more_pages.js", "system",
                   state([vm("a", 2048, 500, txn="balloon", txn_mib=512)]),
                   [{"kind": "balloon_response", "vm": "a", "mib": 512, "more_pages": True},
                    {"kind": "balloon_response", "vm": "a", "mib": 0, "more_pages": False}]),
    "strict_transient": ("python3 py_system_bug_strict_transient.py", "system",
                         state([vm("a", 1024, 2000, txn="hot_add", txn_mib=1024)]),
                         [{"kind": "hot_add_response", "vm": "a", "mib": 0, "success": False},
                          {"kind": "hot_add_request", "vm": "a", "mib": 1024}]),
    "donor_reuse": ("python3 py_policy_bug_donor_reuse.py", "policy",
                    state([vm("hi", 1024, 4000, weight=8000), vm("mid", 1024, 4000, weight=6000),
                           vm("lo", 6144, 5200, weight=1000, startup_mib=512, maximum_mib=8192)],
                          physical=8192, reserve=0), [TICK]),
    "oscillate": ("python3 py_policy_bug_oscillate.py", "policy",
                  state([vm("a", 1024, 1000)]),
                  [TICK, {"kind": "hot_add_response", "vm": "a", "mib": 240, "success": True},
                   TICK, {"kind": "balloon_response", "vm": "a", "mib": 64, "more_pages": False},
                   TICK, {"kind": "unballoon_response", "vm": "a"},
                   TICK, {"kind": "balloon_response", "vm": "a", "mib": 64, "more_pages": False},
                   TICK, {"kind": "unballoon_response", "vm": "a"}, TICK]),
    "partial_full": ("python3 py_system_bug_partial_full.py", "system",
                     state([vm("a", 1024, 2000, txn="hot_add", txn_mib=1024)]),
                     [{"kind": "hot_add_response", "vm": "a", "mib": 512, "success": True}]),
    "max_offbyone": ("python3 py_system_bug_max_offbyone.py", "system",
                     state([vm("a", 1024, 2000, maximum_mib=2048)]),
                     [{"kind": "hot_add_request", "vm": "a", "mib": 1024}]),
    "oversized_balloon": ("python3 py_system_bug_oversized_balloon.py", "system",
                          state([vm("a", 2048, 500, txn="balloon", txn_mib=512)]),
                          [{"kind": "balloon_response", "vm": "a", "mib": 1026, "more_pages": False}]),
    "quiet_report": ("python3 py_system_bug_quiet_report.py", "system",
                     state([vm("a", 1024, channel="quiet")]),
                     [{"kind": "status_report", "vm": "a", "committed_mib": 1000}]),
    "version_win7": ("python3 py_system_bug_version_win7.py", "system",
                     state([vm("a", 1024, channel="negotiating")]),
                     [{"kind": "version_request", "vm": "a", "version": 3, "last_attempt": False},
                      {"kind": "capabilities_report", "vm": "a", "balloon": True, "hot_add": True}]),
    "unballoon_twice": ("node node_system_bug_unballoon_twice.js", "system",
                        state([vm("a", 2048, 1500, ballooned=512, txn="unballoon", txn_mib=512)]),
                        [{"kind": "unballoon_response", "vm": "a"}]),
    "reserve": ("node node_system_bug_reserve.js", "system",
                state([off("a", startup_mib=3584)], physical=4096, reserve=1024),
                [{"kind": "start", "vm": "a"}]),
    "donor_order": ("python3 py_policy_bug_donor_order.py", "policy",
                    state([vm("hi", 1024, 2000, weight=8000), vm("mid", 3072, 2560, weight=4000),
                           vm("lo", 2048, 1706, weight=1000)], physical=6144, reserve=0), [TICK]),
    "visible_excess": ("c_policy/policy_bug_visible_excess", "policy",
                       state([vm("a", 4096, 0, ballooned=2048, startup_mib=512)]), [TICK]),
}


class Wire:
    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, msg):
        self.p.stdin.write(json.dumps(msg) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.write('{"type":"bye"}\n')
        self.p.stdin.close()
        self.p.wait()


def view_of(h):
    vms = []
    for v in h.vms:
        w = {k: v[k] for k in v if k != "demand_mib"}
        w["assigned_mib"] = host_impl.assigned(v)
        vms.append(w)
    return {"host": h.host, "free_mib": h.free, "vms": vms}


def write(name):
    cmd, kind, initial, events = CASES[name]
    lines = [{"type": "header", "format": "dynmem-log", "version": 1, "initial": initial,
              "source": "hand-made: %s" % cmd}]
    iut = Wire(cmd)
    iut.ask({"type": "hello", "protocol": 1, "kind": kind, "mode": "refinement"})
    iut.ask({"type": "reset", "state": json.loads(json.dumps(initial))})
    h = host_impl.Host(json.loads(json.dumps(initial)))
    for i, ev in enumerate(events, 1):
        if kind == "system":
            a = iut.ask({"type": "event", "step": i, "event": ev})
            entry = {"event": ev, "observed": a["observed"], "sent": a["sent"]}
            if a["rejected"] is not None:
                entry["rejected"] = a["rejected"]
        elif ev["kind"] == "balancer_tick":
            plan = iut.ask({"type": "plan", "step": i, "view": view_of(h)})["requests"]
            for req in plan:  # a host that trusts its policy: no guard check
                v = h.find(req["vm"])
                v["txn_mib"], v["txn_done_mib"] = req["mib"], 0
                v["txn"] = {"balloon_request": "balloon", "unballoon_request": "unballoon",
                            "hot_add_request": "hot_add"}[req["kind"]]
                if v["txn"] != "balloon":
                    h.free -= req["mib"]
            entry = {"event": ev, "observed": h.observation(), "sent": plan}
        else:
            _, rejected = h.apply(ev)
            entry = {"event": ev, "observed": h.observation(), "sent": []}
            if rejected:
                entry["rejected"] = rejected
        lines.append(entry)
    iut.close()
    with open("logs/%s.jsonl" % name, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    for name in sys.argv[1:] or CASES:
        write(name)
        print("logs/%s.jsonl" % name)
