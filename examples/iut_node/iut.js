#!/usr/bin/env node
// A system IUT for `dynmem oracle`, written from specs/formats/oracle.md alone.
// Its host follows the DM rules (specs/events.md) and balances with its OWN policy:
// proportional sharing. Every balanced VM gets its startup, and the rest of the pool is
// shared in proportion to how much each VM wants above its startup (no weights).
// It must pass `dynmem oracle --kind system --mode refinement`.
"use strict";
const readline = require("readline");

const VERSIONS = [0x20000, 0x10000, 0x3];
const CAPS = { balloon_request: 2288, unballoon_request: 2048, hot_add_request: 2048 };
const TXN_OF = { balloon_request: "balloon", unballoon_request: "unballoon", hot_add_request: "hot_add" };
const DEFAULTS = { dynamic: false, startup_mib: 512, maximum_mib: 65536, buffer_pct: 20,
                   weight: 5000, dm_capable: true };

let host = null; // {physical_mib, reserve_mib}
let free = 0;
let vms = [];    // in creation order

function offVm(name, settings) {
  return { name, settings, power: "off", visible_mib: 0, ballooned_mib: 0, demand_mib: 0,
           has_report: false, report_mib: 0, channel: "none", protocol_version: 0,
           cap_balloon: false, cap_hot_add: false, hot_add_enabled: true,
           txn: "none", txn_mib: 0, txn_done_mib: 0 };
}
const assigned = (vm) => vm.visible_mib - vm.ballooned_mib;
const inFlight = (vm) => (vm.txn === "hot_add" || vm.txn === "unballoon") ? vm.txn_mib : 0;
const even = (n) => n - (n % 2);
const find = (name) => vms.find((v) => v.name === name);

function settingsProblem(s) {
  if (s.startup_mib < 32 || s.startup_mib % 2) return "bad startup_mib";
  if (!(s.startup_mib <= s.maximum_mib && s.maximum_mib <= 65536) || s.maximum_mib % 2) return "bad maximum_mib";
  if (s.buffer_pct < 5 || s.buffer_pct > 2000) return "bad buffer_pct";
  if (s.weight < 0 || s.weight > 10000) return "bad weight";
  return null;
}

// Why the host may not send `req` now (the guards of specs/events.md §3), or null.
function checkRequest(req) {
  const vm = find(req.vm);
  if (!vm || vm.power !== "running" || vm.channel !== "ready") return "channel not ready";
  if (!vm.settings.dynamic) return "static VM";
  if (vm.txn !== "none") return "transaction in flight";
  if (req.mib <= 0 || req.mib % 2 || req.mib > CAPS[req.kind]) return "bad amount";
  if (req.kind === "balloon_request") {
    if (!vm.cap_balloon) return "no balloon capability";
    return req.mib > assigned(vm) - vm.settings.startup_mib ? "below startup" : null;
  }
  if (req.mib > free) return "not enough free memory";
  if (req.kind === "unballoon_request") return req.mib > vm.ballooned_mib ? "too much" : null;
  if (!(vm.cap_hot_add && vm.hot_add_enabled)) return "hot-add not possible";
  if (vm.ballooned_mib > 0) return "unballoon first";
  return vm.visible_mib + req.mib > vm.settings.maximum_mib ? "above maximum" : null;
}

function send(req) {
  const vm = find(req.vm);
  vm.txn = TXN_OF[req.kind]; vm.txn_mib = req.mib; vm.txn_done_mib = 0;
  if (req.kind !== "balloon_request") free -= req.mib; // a balloon frees memory only on response
}

const target = (vm) => {
  const s = vm.settings;
  let want = Math.ceil((vm.report_mib * (100 + s.buffer_pct)) / 100);
  want += want % 2;
  return Math.max(s.startup_mib, Math.min(s.maximum_mib, want));
};

// The policy: proportional sharing of the pool among idle, balanced VMs.
function plan() {
  const idle = vms.filter((v) => v.power === "running" && v.settings.dynamic &&
    v.channel === "ready" && v.has_report && v.txn === "none");
  const pool = free + idle.reduce((n, v) => n + assigned(v), 0);
  const floor = idle.reduce((n, v) => n + v.settings.startup_mib, 0);
  const wants = idle.map((v) => target(v) - v.settings.startup_mib);
  const wanted = wants.reduce((a, b) => a + b, 0);
  const share = idle.map((v, i) => {
    if (floor + wanted <= pool || wanted === 0) return target(v);
    return v.settings.startup_mib + even(Math.floor(((pool - floor) * wants[i]) / wanted));
  });
  const requests = [];
  let left = free;
  // While a start waits for reclaim, a tick may squeeze a VM below its demand only for a
  // heavier one (INV-RECLAIM-ORDER); this policy has no weights, so it squeezes no one then.
  const waiting = vms.some((v) => v.power === "starting");
  idle.forEach((v, i) => { // give back first
    const excess = even(assigned(v) - share[i]);
    if (excess > 0 && v.cap_balloon && !waiting) requests.push({ kind: "balloon_request", vm: v.name, mib: Math.min(excess, CAPS.balloon_request) });
  });
  idle.forEach((v, i) => { // then grant from free memory only
    const need = even(Math.min(share[i] - assigned(v), left));
    if (need <= 0) return;
    let req = null;
    if (v.ballooned_mib > 0) req = { kind: "unballoon_request", vm: v.name, mib: Math.min(need, v.ballooned_mib, CAPS.unballoon_request) };
    else if (v.cap_hot_add && v.hot_add_enabled) {
      const mib = Math.min(need, even(v.settings.maximum_mib - v.visible_mib), CAPS.hot_add_request);
      if (mib > 0) req = { kind: "hot_add_request", vm: v.name, mib };
    }
    if (req) { requests.push(req); left -= req.mib; }
  });
  return requests;
}

// One event: returns a rejection reason or null; pushes requests it sent into `sent`.
function apply(e, sent) {
  const vm = e.vm !== undefined ? find(e.vm) : null;
  const running = vm && vm.power === "running";
  switch (e.kind) {
    case "create": {
      if (vm) return "exists";
      const s = Object.assign({}, DEFAULTS, e.settings || {});
      const bad = settingsProblem(s); if (bad) return bad;
      vms.push(offVm(e.vm, s)); return null;
    }
    case "configure": {
      if (!vm) return "no such VM"; if (vm.power !== "off") return "not off";
      const s = Object.assign({}, DEFAULTS, e.settings || {});
      const bad = settingsProblem(s); if (bad) return bad;
      vm.settings = s; return null;
    }
    case "delete":
      if (!vm) return "no such VM"; if (vm.power !== "off") return "not off";
      vms = vms.filter((v) => v !== vm); return null;
    case "start_abort":  // a start waiting for reclaim gives up (it owned nothing)
      if (!vm || vm.power !== "starting") return "not starting";
      Object.assign(vm, offVm(vm.name, vm.settings)); return null;
    case "start_admit":
      if (!vm || vm.power !== "starting") return "not starting";
      if (free < vm.settings.startup_mib) return "not enough memory";
      // falls through: the waiting start completes as a start with memory free
    case "start": {
      if (!vm) return "no such VM";
      if (e.kind === "start" && vm.power !== "off") return "not off";
      // without startup free a start waits for reclaim (this IUT reclaims nothing)
      if (free < vm.settings.startup_mib) { vm.power = "starting"; return null; }
      const opens = vm.settings.dynamic && vm.settings.dm_capable;
      Object.assign(vm, { power: "running", visible_mib: vm.settings.startup_mib, ballooned_mib: 0,
        demand_mib: 0, channel: opens ? "negotiating" : "none", hot_add_enabled: true });
      free -= vm.settings.startup_mib; return null;
    }
    case "stop": {
      if (!running) return "not running";
      free += assigned(vm) + inFlight(vm);
      Object.assign(vm, offVm(vm.name, vm.settings)); return null;
    }
    case "demand": if (!running) return "not running"; vm.demand_mib = e.mib; return null;
    case "version_request":
      if (!running || vm.channel !== "negotiating") return "not negotiating";
      if (VERSIONS.includes(e.version)) { vm.channel = "caps"; vm.protocol_version = e.version; }
      else if (e.last_attempt) vm.channel = "failed";
      return null;
    case "capabilities_report":
      if (!running || vm.channel !== "caps") return "not expecting capabilities";
      vm.channel = "quiet"; vm.cap_balloon = e.balloon !== false; vm.cap_hot_add = e.hot_add !== false;
      return null;
    case "quiet_period_end":
      if (!running || vm.channel !== "quiet") return "not quiet"; vm.channel = "ready"; return null;
    case "status_report":
      if (!running || !["caps", "quiet", "ready"].includes(vm.channel)) return "not connected";
      vm.has_report = true; vm.report_mib = e.committed_mib; return null;
    case "balloon_request": case "unballoon_request": case "hot_add_request": {
      const why = checkRequest(e); if (why) return why; send(e); return null;
    }
    case "balloon_response": {
      if (!running || vm.txn !== "balloon") return "no balloon in flight";
      const taken = Math.min(even(e.mib), vm.txn_mib - vm.txn_done_mib); // never trust the guest
      vm.txn_done_mib += taken; vm.ballooned_mib += taken; free += taken;
      if (e.more_pages !== true || vm.txn_done_mib === vm.txn_mib) { vm.txn = "none"; vm.txn_mib = 0; vm.txn_done_mib = 0; }
      return null;
    }
    case "unballoon_response":
      if (!running || vm.txn !== "unballoon") return "no unballoon in flight";
      vm.ballooned_mib -= vm.txn_mib; vm.txn = "none"; vm.txn_mib = 0; return null;
    case "hot_add_response": {
      if (!running || vm.txn !== "hot_add") return "no hot-add in flight";
      const ok = e.success !== false;
      const added = ok ? Math.min(even(e.mib), vm.txn_mib) : 0;
      if (ok && added < vm.txn_mib) vm.hot_add_enabled = false;
      vm.visible_mib += added; free += vm.txn_mib - added;
      vm.txn = "none"; vm.txn_mib = 0; return null;
    }
    case "balancer_tick":
      for (const req of plan()) { if (!checkRequest(req)) { send(req); sent.push(req); } }
      return null;
    default: return "unknown event " + e.kind;
  }
}

function observation() {
  return { free_mib: free, vms: vms.map((v) => ({ name: v.name, power: v.power,
    assigned_mib: assigned(v), visible_mib: v.visible_mib, ballooned_mib: v.ballooned_mib,
    txn: v.txn, txn_mib: v.txn_mib, txn_done_mib: v.txn_done_mib })) };
}

function answer(msg) {
  switch (msg.type) {
    case "hello": return { type: "hello", protocol: 1, name: "node proportional-share example",
                           capabilities: { kinds: ["system"] } };
    case "reset":
      host = msg.state.host; free = msg.state.free_mib;
      vms = (msg.state.vms || []).map((v) => Object.assign(offVm(v.name, Object.assign({}, DEFAULTS, v.settings)), v,
        { settings: Object.assign({}, DEFAULTS, v.settings) }));
      return { type: "ready" };
    case "event": {
      const sent = [];
      const rejected = apply(msg.event, sent);
      return { type: "observed", observed: observation(), sent, rejected };
    }
    default: return { type: "error", message: "unsupported request " + msg.type };
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  if (msg.type === "bye") { rl.close(); return; }
  process.stdout.write(JSON.stringify(answer(msg)) + "\n");
});
rl.on("close", () => process.exit(0));
