#!/usr/bin/env python3
"""A safe Dynamic Memory balancer policy that deliberately differs from the reference.

Kind: policy (dynmem IUT protocol v1). Differences from specs/policy.md, all on purpose:
- the target is rounded UP to a whole 64 MiB (then clamped to [startup, maximum]);
- every request moves at most 512 MiB (small steps, gentler on guests);
- grants go in weight order but claim nothing for busy VMs (no reservation);
- under contention at most ONE donor is ballooned per tick: the lowest-weight VM that
  weighs strictly less than the heaviest short VM, never below its startup.
Every request respects the guards of specs/events.md §3, so the plan is always allowed.
Kept up with the specs (issue 14): a start waiting for reclaim reserves its startup from free
before any grant (P-RECLAIM; a restore waiting for reclaim its image, lifecycle.md §4.7), and when it is not covered it is the first short VM of the
one-donor contention rule (donors strictly lighter than it, never below startup); a stuck VM
is left alone (P-STUCK). A Linux guest ("guest_os": "linux") reports committed + ballooned
+ its balloon floor: its demand subtracts both, and it is never asked for more than it has
above its floor (P-DEMAND, protocol.md §3.2): the spec's rules, not a difference.
"""
import json
import sys

STEP = 512
ROUND = 64
SETTINGS_DEFAULTS = {"dynamic": False, "startup_mib": 512, "maximum_mib": 65536,
                     "buffer_pct": 20, "weight": 5000, "dm_capable": True}


def floor2(x):
    return x - x % 2


def settings(vm):
    return dict(SETTINGS_DEFAULTS, **vm.get("settings", {}))


def assigned(vm):
    return vm["visible_mib"] - vm["ballooned_mib"]


def owned(vm):
    return assigned(vm) + (vm["txn_mib"] if vm["txn"] in ("hot_add", "unballoon") else 0)


def linux_floor(t):
    """compute_balloon_floor of a Linux guest with t MiB of RAM (protocol.md §3.2)."""
    for below, base, div in ((128, 8, 2), (512, 40, 4), (2048, 104, 8), (8192, 232, 16)):
        if t < below:
            return base + t // div
    return 488 + t // 32


def is_linux(vm):
    return settings(vm).get("guest_os", "windows") == "linux"


def demand(vm):
    """P-DEMAND: the report, minus a Linux guest's ballooned pages and balloon floor."""
    if is_linux(vm):
        return max(0, vm["report_mib"] - vm["ballooned_mib"] - linux_floor(assigned(vm)))
    return vm["report_mib"]


def spare(vm):
    """What a VM may be asked to balloon: down to startup, a Linux guest only above its floor."""
    room = assigned(vm) - settings(vm)["startup_mib"]
    if is_linux(vm):
        room = min(room, max(0, assigned(vm) - demand(vm) - linux_floor(assigned(vm))))
    return floor2(room)


def target(vm):
    s = settings(vm)
    want = -(-demand(vm) * (100 + s["buffer_pct"]) // 100)
    want = -(-want // ROUND) * ROUND
    return max(s["startup_mib"], min(s["maximum_mib"], want))


def plan(view):
    vms = [vm for vm in view["vms"] if vm["power"] == "running" and settings(vm)["dynamic"]
           and vm["channel"] == "ready" and vm["has_report"] and not vm.get("stuck")]
    free = view["free_mib"]
    # waiting starts first: what they need is reserved (startup; a waiting restore's image,
    # lifecycle.md §4.7), nothing grows into it
    waiting_short = []
    for vm in sorted((v for v in view["vms"] if v["power"] == "starting"),
                     key=lambda v: (-settings(v)["weight"], v["name"])):
        need = vm.get("saved_mib", 0) or settings(vm)["startup_mib"]
        if free < need:
            waiting_short.append(vm)
        free -= min(free, need)
    out, busy = [], {vm["name"] for vm in vms if vm["txn"] != "none"}

    def send(kind, vm, mib):
        out.append({"kind": kind, "vm": vm["name"], "mib": mib})
        busy.add(vm["name"])

    # give back surplus, in VM order
    for vm in vms:
        surplus = min(floor2(assigned(vm) - target(vm)), spare(vm))
        if vm["name"] not in busy and vm["cap_balloon"] and surplus > 0:
            send("balloon_request", vm, min(surplus, STEP))

    # grant, heaviest first
    short = []
    for vm in sorted(vms, key=lambda v: (-settings(v)["weight"], v["name"])):
        s = settings(vm)
        need = target(vm) - owned(vm)
        if need <= 0:
            continue
        can_hot_add = vm["cap_hot_add"] and vm["hot_add_enabled"]
        if vm["ballooned_mib"] == 0 and not can_hot_add:
            continue  # cannot grow at all
        short.append(vm)
        if vm["name"] in busy:
            continue
        if vm["ballooned_mib"] > 0:
            mib = floor2(min(need, vm["ballooned_mib"], free, STEP))
            if mib > 0:
                send("unballoon_request", vm, mib)
                free -= mib
        else:
            mib = floor2(min(need, s["maximum_mib"] - vm["visible_mib"], free, STEP))
            if mib > 0:
                send("hot_add_request", vm, mib)
                free -= mib

    # contention: one donor per tick, only when free memory is gone
    if waiting_short and not any(vm["txn"] == "balloon" for vm in vms):
        top = waiting_short[0]
        donors = [d for d in vms if settings(d)["weight"] < settings(top)["weight"]
                  and d["name"] not in busy and d["cap_balloon"]]
        for d in sorted(donors, key=lambda v: (settings(v)["weight"], v["name"])):
            if spare(d) > 0:
                send("balloon_request", d, min(spare(d), STEP))
                break
    elif short and free < 2 and not any(vm["txn"] == "balloon" for vm in vms):
        top = short[0]
        donors = [d for d in vms if settings(d)["weight"] < settings(top)["weight"]
                  and d["name"] not in busy and d["cap_balloon"]]
        for d in sorted(donors, key=lambda v: (settings(v)["weight"], v["name"])):
            if spare(d) > 0:
                send("balloon_request", d, min(spare(d), STEP, max(2, floor2(target(top) - owned(top)))))
                break
    return out


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        if msg["type"] == "hello":
            answer = {"type": "hello", "protocol": 1, "name": "py-policy-frugal 1.0",
                      "capabilities": {"kinds": ["policy"]}}
        elif msg["type"] == "reset":
            answer = {"type": "ready"}
        elif msg["type"] == "plan":
            answer = {"type": "plan", "requests": plan(msg["view"])}
        elif msg["type"] == "bye":
            return
        else:
            answer = {"type": "error", "message": "unsupported request"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
