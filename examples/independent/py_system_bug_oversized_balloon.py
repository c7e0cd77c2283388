#!/usr/bin/env python3
"""A Hyper-V Dynamic Memory host (profile 2008R2SP1) with the reference balancer policy.

Written from specs/ only (events.md, protocol.md, policy.md, lifecycle.md, formats/oracle.md).
Kept up with the specs: starts and restores that wait for reclaim (R-START, R-RESTORE,
P-RECLAIM), the stuck
watchdog (R-STUCK, P-STUCK) and the lifecycle events of lifecycle.md (restart, channel
reset, save/restore, migration).
Speaks the dynmem IUT protocol v1 on stdin/stdout; implements both kinds:
  system: processes events, answers observations;
  policy: answers the plan of a balancer tick for a host view.
"""
import json
import sys

SUPPORTED_VERSIONS = (0x3, 0x10000, 0x20000)
BALLOON_CAP = 2288
GRANT_CAP = 2048  # hot-add and unballoon
SETTINGS_DEFAULTS = {"dynamic": False, "startup_mib": 512, "maximum_mib": 65536,
                     "buffer_pct": 20, "weight": 5000, "dm_capable": True}
VM_DEFAULTS = {"power": "off", "visible_mib": 0, "ballooned_mib": 0, "demand_mib": 0,
               "has_report": False, "report_mib": 0, "channel": "none",
               "protocol_version": 0, "cap_balloon": False, "cap_hot_add": False,
               "hot_add_enabled": True, "txn": "none", "txn_mib": 0, "txn_done_mib": 0,
               "stuck": False, "saved_mib": 0}


class Rejected(Exception):
    pass


def floor2(x):
    return x - x % 2


def settings_of(raw):
    s = dict(SETTINGS_DEFAULTS)
    s.update(raw or {})
    return s


def settings_problems(s):
    problems = []
    if s["startup_mib"] < 32 or s["startup_mib"] % 2:
        problems.append("startup_mib must be >= 32 and a multiple of 2")
    if not (s["startup_mib"] <= s["maximum_mib"] <= 65536) or s["maximum_mib"] % 2:
        problems.append("maximum_mib must be in startup..65536 and a multiple of 2")
    if not 5 <= s["buffer_pct"] <= 2000:
        problems.append("buffer_pct must be in 5..2000")
    if not 0 <= s["weight"] <= 10000:
        problems.append("weight must be in 0..10000")
    return problems


def load_vm(raw):
    vm = dict(VM_DEFAULTS)
    vm.update({k: v for k, v in raw.items() if k not in ("settings", "assigned_mib")})
    vm["settings"] = settings_of(raw.get("settings"))
    return vm


def assigned(vm):
    return vm["visible_mib"] - vm["ballooned_mib"]


def in_flight(vm):
    return vm["txn_mib"] if vm["txn"] in ("hot_add", "unballoon") else 0


def owned(vm):
    return assigned(vm) + in_flight(vm)


def outstanding(vm):
    return vm["txn_mib"] - vm["txn_done_mib"] if vm["txn"] == "balloon" else 0


def end_txn(vm):
    vm["txn"], vm["txn_mib"], vm["txn_done_mib"] = "none", 0, 0


class Host:
    def __init__(self, state):
        self.host = state["host"]
        self.free = state["free_mib"]
        self.vms = [load_vm(v) for v in state.get("vms", [])]

    # -- helpers -------------------------------------------------------------
    def find(self, name):
        for vm in self.vms:
            if vm["name"] == name:
                return vm
        raise Rejected("no VM named %r (VMs: %s)" % (name, ", ".join(v["name"] for v in self.vms)))

    def running(self, name):
        vm = self.find(name)
        if vm["power"] != "running":
            raise Rejected("%s is not running" % name)
        return vm

    def on_channel(self, name, channels):
        vm = self.running(name)
        if vm["channel"] not in channels:
            raise Rejected("%s: channel is %s" % (name, vm["channel"]))
        return vm

    def in_txn(self, name, txn):
        vm = self.running(name)
        if vm["txn"] != txn:
            raise Rejected("%s: no %s in flight" % (name, txn))
        return vm

    def observation(self):
        return {"free_mib": self.free, "vms": [
            {"name": vm["name"], "power": vm["power"], "assigned_mib": assigned(vm),
             "visible_mib": vm["visible_mib"], "ballooned_mib": vm["ballooned_mib"],
             "txn": vm["txn"], "txn_mib": vm["txn_mib"], "txn_done_mib": vm["txn_done_mib"]}
            for vm in self.vms]}

    # -- DM requests (events.md §3) -------------------------------------------
    def check_request(self, req):
        vm = self.running(req["vm"])
        kind, mib = req["kind"], req["mib"]
        if vm["channel"] != "ready":
            raise Rejected("channel not ready")
        if not vm["settings"]["dynamic"]:
            raise Rejected("static VM")
        if vm["txn"] != "none":
            raise Rejected("a transaction is in flight")
        if mib <= 0 or mib % 2:
            raise Rejected("amount must be a positive multiple of 2")
        if mib > (BALLOON_CAP if kind == "balloon_request" else GRANT_CAP):
            raise Rejected("above the protocol cap")
        if kind == "balloon_request":
            if not vm["cap_balloon"]:
                raise Rejected("no balloon capability")
            if mib > assigned(vm) - vm["settings"]["startup_mib"]:
                raise Rejected("below the floor")
        elif kind == "unballoon_request":
            if mib > self.free:
                raise Rejected("not enough free memory")
            if mib > vm["ballooned_mib"]:
                raise Rejected("more than ballooned")
        elif kind == "hot_add_request":
            if mib > self.free:
                raise Rejected("not enough free memory")
            if not (vm["cap_hot_add"] and vm["hot_add_enabled"]):
                raise Rejected("hot-add not possible")
            if vm["ballooned_mib"] != 0:
                raise Rejected("unballoon before hot-add")
            if vm["visible_mib"] + mib > vm["settings"]["maximum_mib"]:
                raise Rejected("above maximum")
        else:
            raise Rejected("unknown request %s" % kind)
        return vm

    def send_request(self, req):
        vm = self.check_request(req)
        vm["txn_mib"], vm["txn_done_mib"] = req["mib"], 0
        if req["kind"] == "balloon_request":
            vm["txn"] = "balloon"
        elif req["kind"] == "unballoon_request":
            vm["txn"] = "unballoon"
            self.free -= req["mib"]
        else:
            vm["txn"] = "hot_add"
            self.free -= req["mib"]

    # -- events ---------------------------------------------------------------
    def ev_create(self, e):
        if any(vm["name"] == e["vm"] for vm in self.vms):
            raise Rejected("a VM named %s exists" % e["vm"])
        s = settings_of(e.get("settings"))
        if settings_problems(s):
            raise Rejected("invalid settings: " + "; ".join(settings_problems(s)))
        vm = dict(VM_DEFAULTS, name=e["vm"], settings=s)
        self.vms.append(vm)

    def ev_configure(self, e):
        vm = self.find(e["vm"])
        if vm["power"] != "off":
            raise Rejected("settings change only while off")
        s = settings_of(e.get("settings"))
        if settings_problems(s):
            raise Rejected("invalid settings: " + "; ".join(settings_problems(s)))
        vm["settings"] = s

    def ev_delete(self, e):
        vm = self.find(e["vm"])
        if vm["power"] != "off":
            raise Rejected("delete only while off")
        self.vms.remove(vm)

    def ev_start(self, e):
        vm = self.find(e["vm"])
        if vm["power"] != "off":
            raise Rejected("%s is running" % e["vm"])
        if self.free < vm["settings"]["startup_mib"]:
            vm["power"] = "starting"  # waits for reclaim (R-START); owns nothing yet
            return
        self.admit(vm)

    def ev_start_admit(self, e):
        vm = self.find(e["vm"])
        if vm["power"] != "starting":
            raise Rejected("%s is not waiting to start" % e["vm"])
        if self.free < needed(vm):
            raise Rejected("%s still waits" % e["vm"])
        if vm["saved_mib"] > 0:
            self.boot_image(vm)  # a waiting restore runs at its image (R-START-ADMIT)
        else:
            self.admit(vm)

    def ev_start_abort(self, e):
        vm = self.find(e["vm"])
        if vm["power"] != "starting":
            raise Rejected("%s is not waiting to start" % e["vm"])
        # a waiting restore goes back to saved, image and demand kept (R-START-ABORT)
        vm["power"] = "saved" if vm["saved_mib"] > 0 else "off"

    def admit(self, vm):
        s = vm["settings"]
        vm.update(power="running", visible_mib=s["startup_mib"], ballooned_mib=0, demand_mib=0,
                  hot_add_enabled=True,
                  channel="negotiating" if s["dynamic"] and s["dm_capable"] else "none")
        self.free -= s["startup_mib"]

    # -- lifecycle (lifecycle.md, events.md §4 after BalancerTick) -------------------------
    @staticmethod
    def new_session(vm):
        """A fresh DM session: no version, capabilities, report or transaction, not stuck."""
        s = vm["settings"]
        vm.update(channel="negotiating" if s["dynamic"] and s["dm_capable"] else "none",
                  protocol_version=0, cap_balloon=False, cap_hot_add=False,
                  has_report=False, report_mib=0, stuck=False)
        end_txn(vm)

    @staticmethod
    def close(vm):
        """R-CLOSE at a channel reset or a save: only what was received counts."""
        if vm["txn"] == "unballoon":
            vm["ballooned_mib"] -= vm["txn_mib"]
        elif vm["txn"] == "hot_add":
            vm["visible_mib"] += vm["txn_mib"]
        end_txn(vm)  # a balloon's outstanding pages were never received: still assigned

    def ev_guest_restart(self, e):
        vm = self.running(e["vm"])
        startup = vm["settings"]["startup_mib"]
        self.free += owned(vm) - startup
        vm.update(visible_mib=startup, ballooned_mib=0, demand_mib=0, hot_add_enabled=True)
        self.new_session(vm)

    def ev_channel_reset(self, e):
        vm = self.running(e["vm"])
        if vm["channel"] == "none":
            raise Rejected("%s has no DM channel" % e["vm"])
        trial = dict(vm)
        self.close(trial)
        if trial["ballooned_mib"] > self.free:
            raise Rejected("a reset would give %s back %d MiB ballooned but only %d MiB is free"
                           % (e["vm"], trial["ballooned_mib"], self.free))
        self.close(vm)
        self.free -= vm["ballooned_mib"]
        vm["ballooned_mib"] = 0
        hot_add_enabled = vm["hot_add_enabled"]
        self.new_session(vm)
        vm["hot_add_enabled"] = hot_add_enabled

    def ev_stuck_timeout(self, e):
        vm = self.running(e["vm"])
        if vm["txn"] == "none":
            raise Rejected("%s has no transaction in flight" % e["vm"])
        if vm["stuck"]:
            raise Rejected("%s is stuck already" % e["vm"])
        vm["stuck"] = True

    def ev_save(self, e):
        vm = self.running(e["vm"])
        self.close(vm)
        image = assigned(vm)
        self.free += owned(vm)
        demand = vm["demand_mib"]
        self.new_session(vm)
        vm.update(power="saved", saved_mib=image, visible_mib=0, ballooned_mib=0,
                  channel="none", demand_mib=demand)

    def ev_restore(self, e):
        vm = self.find(e["vm"])
        if vm["power"] != "saved":
            raise Rejected("%s is not saved" % e["vm"])
        if vm["saved_mib"] > self.free:
            vm["power"] = "starting"  # waits for reclaim as a start does (R-RESTORE, §4.7)
            return
        self.boot_image(vm)

    def boot_image(self, vm):
        """A restore with its image free: running at visible = saved, demand kept."""
        self.free -= vm["saved_mib"]
        vm.update(power="running", visible_mib=vm["saved_mib"], ballooned_mib=0, saved_mib=0,
                  hot_add_enabled=True)
        self.new_session(vm)

    def ev_migrate_out(self, e):
        self.ev_stop(e)

    def ev_migrate_in(self, e):
        vm = self.find(e["vm"])
        if vm["power"] != "off":
            raise Rejected("%s is not off" % e["vm"])
        s, mib = vm["settings"], e["mib"]
        if mib % 2:
            raise Rejected("mib must be a multiple of 2")
        if s["dynamic"] and s["dm_capable"]:
            if not s["startup_mib"] <= mib <= s["maximum_mib"]:
                raise Rejected("mib must be in startup..maximum")
        elif mib != s["startup_mib"]:
            raise Rejected("a VM without DM arrives at startup")
        if mib > self.free:
            raise Rejected("not enough memory for %s to arrive: %d MiB > free %d MiB"
                           % (e["vm"], mib, self.free))
        self.free -= mib
        vm.update(power="running", visible_mib=mib, ballooned_mib=0, demand_mib=0,
                  hot_add_enabled=True)
        self.new_session(vm)

    def ev_stop(self, e):
        vm = self.running(e["vm"])
        self.free += owned(vm)
        settings, name = vm["settings"], vm["name"]
        vm.clear()
        vm.update(VM_DEFAULTS, name=name, settings=settings)

    def ev_demand(self, e):
        vm = self.running(e["vm"])
        if e["mib"] < 0:
            raise Rejected("negative demand")
        vm["demand_mib"] = e["mib"]

    def ev_version_request(self, e):
        vm = self.on_channel(e["vm"], ("negotiating",))
        if e["version"] in SUPPORTED_VERSIONS:
            vm["channel"], vm["protocol_version"] = "caps", e["version"]
        elif e.get("last_attempt", False):
            vm["channel"] = "failed"

    def ev_capabilities_report(self, e):
        vm = self.on_channel(e["vm"], ("caps",))
        vm["cap_balloon"] = e.get("balloon", True)
        vm["cap_hot_add"] = e.get("hot_add", True)
        vm["channel"] = "quiet"

    def ev_quiet_period_end(self, e):
        vm = self.on_channel(e["vm"], ("quiet",))
        vm["channel"] = "ready"

    def ev_status_report(self, e):
        vm = self.on_channel(e["vm"], ("caps", "quiet", "ready"))
        if e["committed_mib"] < 0:
            raise Rejected("negative report")
        vm["has_report"], vm["report_mib"] = True, e["committed_mib"]

    def ev_balloon_response(self, e):
        vm = self.in_txn(e["vm"], "balloon")
        if e["mib"] < 0:
            raise Rejected("negative amount")
        taken = floor2(e["mib"])
        vm["ballooned_mib"] += taken
        self.free += taken
        vm["txn_done_mib"] += taken
        vm["stuck"] = False  # any answer clears the watchdog (R-STUCK)
        if not e.get("more_pages", False) or vm["txn_done_mib"] >= vm["txn_mib"]:
            end_txn(vm)

    def ev_unballoon_response(self, e):
        vm = self.in_txn(e["vm"], "unballoon")
        vm["ballooned_mib"] -= vm["txn_mib"]
        vm["stuck"] = False
        end_txn(vm)

    def ev_hot_add_response(self, e):
        vm = self.in_txn(e["vm"], "hot_add")
        if e["mib"] < 0:
            raise Rejected("negative amount")
        n = vm["txn_mib"]
        added = min(floor2(e["mib"]), n) if e.get("success", True) else 0
        vm["visible_mib"] += added
        self.free += n - added
        if e.get("success", True) and added < n:
            vm["hot_add_enabled"] = False
        vm["stuck"] = False
        end_txn(vm)

    def ev_balancer_tick(self, e):
        plan = compute_plan(self.free, self.vms)
        for req in plan:
            self.send_request(req)  # a refusal rolls the whole tick back (see apply)
        return plan

    def ev_balloon_request(self, e):
        self.send_request(e)

    ev_unballoon_request = ev_hot_add_request = ev_balloon_request

    def apply(self, event):
        """Process one event; returns (sent, rejected reason or None)."""
        snapshot = (self.free, [dict(vm, settings=dict(vm["settings"])) for vm in self.vms])
        try:
            handler = getattr(self, "ev_" + event["kind"], None)
            if handler is None:
                raise Rejected("unknown event kind %s" % event["kind"])
            sent = handler(event)
            return (sent if event["kind"] == "balancer_tick" else []), None
        except Rejected as why:
            self.free, self.vms = snapshot
            return [], str(why)


# -- the reference policy (policy.md) --------------------------------------------------
def needed(vm):
    """What a waiting start needs free (P-RECLAIM): a waiting restore its image (a saved
    image is never 0: it is at least startup), a start its startup."""
    return vm["saved_mib"] if vm["saved_mib"] > 0 else vm["settings"]["startup_mib"]


def target(vm):
    s = vm["settings"]
    num = vm["report_mib"] * (100 + s["buffer_pct"])
    t = -(-num // 100)
    t += t % 2
    return max(s["startup_mib"], min(s["maximum_mib"], t))


def hot_add_possible(vm):
    return vm["cap_hot_add"] and vm["hot_add_enabled"]


def weight_order(vms):
    return sorted(vms, key=lambda vm: (-vm["settings"]["weight"], vm["name"]))


def compute_plan(free, vms):
    # P-STUCK: a stuck VM is not managed (and its outstanding balloon is not incoming)
    managed = [vm for vm in vms if vm["power"] == "running" and vm["settings"]["dynamic"]
               and vm["channel"] == "ready" and vm["has_report"] and not vm.get("stuck")]
    plan, requested = [], set()

    # P-GIVE-BACK
    give_back_total = 0
    for vm in managed:
        if vm["txn"] == "none" and vm["cap_balloon"]:
            excess = floor2(assigned(vm) - target(vm))
            if excess > 0:
                mib = min(excess, BALLOON_CAP)
                plan.append({"kind": "balloon_request", "vm": vm["name"], "mib": mib})
                requested.add(vm["name"])
                give_back_total += mib

    # P-RECLAIM: waiting starts claim what they need (startup, a restore its image) from
    # free before any grant
    f = free
    unmet = []
    for vm in weight_order([v for v in vms if v["power"] == "starting"]):
        claim = min(needed(vm), f)
        f -= claim
        if needed(vm) > claim:
            unmet.append((vm, needed(vm) - claim))

    # P-GRANT
    for vm in weight_order(managed):
        if vm["name"] in requested:
            continue
        s = vm["settings"]
        room = vm["ballooned_mib"] - (vm["txn_mib"] if vm["txn"] == "unballoon" else 0)
        if hot_add_possible(vm):
            room += max(0, s["maximum_mib"] - vm["visible_mib"]
                        - (vm["txn_mib"] if vm["txn"] == "hot_add" else 0))
        shortfall = max(0, min(target(vm) - owned(vm), room))
        claim = floor2(min(shortfall, f))
        f -= claim
        if vm["txn"] == "none" and claim > 0:
            if vm["ballooned_mib"] > 0:
                plan.append({"kind": "unballoon_request", "vm": vm["name"],
                             "mib": min(claim, vm["ballooned_mib"], GRANT_CAP)})
                requested.add(vm["name"])
            elif hot_add_possible(vm):
                plan.append({"kind": "hot_add_request", "vm": vm["name"],
                             "mib": min(claim, floor2(s["maximum_mib"] - vm["visible_mib"]), GRANT_CAP)})
                requested.add(vm["name"])
        if shortfall > claim:
            unmet.append((vm, shortfall - claim))

    # P-CONTENTION
    incoming = sum(outstanding(vm) for vm in managed) + give_back_total
    for vm, deficit in unmet:
        use = min(deficit, incoming)
        deficit -= use
        incoming -= use
        donors = [d for d in managed
                  if d["settings"]["weight"] < vm["settings"]["weight"] and d["txn"] == "none"
                  and d["cap_balloon"] and d["name"] not in requested]
        donors.sort(key=lambda d: (d["settings"]["weight"], d["name"]))
        for d in donors:
            if deficit <= 0:
                break
            give = floor2(min(deficit, floor2(assigned(d) - d["settings"]["startup_mib"]), BALLOON_CAP))
            if give > 0:
                plan.append({"kind": "balloon_request", "vm": d["name"], "mib": give})
                requested.add(d["name"])
                deficit -= give
    return plan


# -- the wire ------------------------------------------------------------------------------
def main():
    host = None
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        t = msg.get("type")
        if t == "hello":
            answer = {"type": "hello", "protocol": 1, "name": "py-system-bug-oversized-balloon 1.0",
                      "capabilities": {"kinds": ["system", "policy"]}}
        elif t == "reset":
            host = Host(msg["state"])
            answer = {"type": "ready"}
        elif t == "event":
            sent, rejected = host.apply(msg["event"])
            answer = {"type": "observed", "observed": host.observation(), "sent": sent,
                      "rejected": rejected}
        elif t == "plan":
            view = msg["view"]
            answer = {"type": "plan",
                      "requests": compute_plan(view["free_mib"], [load_vm(v) for v in view["vms"]])}
        elif t == "bye":
            return
        else:
            answer = {"type": "error", "message": "unknown request type %r" % t}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
