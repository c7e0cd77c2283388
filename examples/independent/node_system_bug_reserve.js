#!/usr/bin/env node
// A Hyper-V Dynamic Memory host (profile 2008R2SP1) with the reference balancer.
// Written from specs/ only. Speaks the dynmem IUT protocol v1 (kinds: system, policy).
// Kept up with the specs: starts and restores that wait for reclaim (R-START, R-RESTORE, P-RECLAIM), the stuck
// watchdog (R-STUCK, P-STUCK) and the lifecycle events of specs/lifecycle.md.
'use strict';
const readline = require('readline');

const VERSIONS = [0x3, 0x10000, 0x20000];
const BALLOON_CAP = 2288;
const GRANT_CAP = 2048;
const SETTINGS_DEFAULTS = { dynamic: false, startup_mib: 512, maximum_mib: 65536,
  buffer_pct: 20, weight: 5000, dm_capable: true };
const VM_DEFAULTS = { power: 'off', visible_mib: 0, ballooned_mib: 0, demand_mib: 0,
  has_report: false, report_mib: 0, channel: 'none', protocol_version: 0,
  cap_balloon: false, cap_hot_add: false, hot_add_enabled: true,
  txn: 'none', txn_mib: 0, txn_done_mib: 0, stuck: false, saved_mib: 0 };

class Rejected extends Error {}
const floor2 = (x) => x - (x % 2);
const settingsOf = (raw) => Object.assign({}, SETTINGS_DEFAULTS, raw || {});

function settingsProblems(s) {
  const p = [];
  if (s.startup_mib < 32 || s.startup_mib % 2) p.push('startup_mib');
  if (!(s.startup_mib <= s.maximum_mib && s.maximum_mib <= 65536) || s.maximum_mib % 2) p.push('maximum_mib');
  if (s.buffer_pct < 5 || s.buffer_pct > 2000) p.push('buffer_pct');
  if (s.weight < 0 || s.weight > 10000) p.push('weight');
  return p;
}

function loadVm(raw) {
  const vm = Object.assign({}, VM_DEFAULTS, raw);
  delete vm.assigned_mib;
  vm.settings = settingsOf(raw.settings);
  return vm;
}

const assigned = (vm) => vm.visible_mib - vm.ballooned_mib;
const inFlight = (vm) => (vm.txn === 'hot_add' || vm.txn === 'unballoon' ? vm.txn_mib : 0);
const owned = (vm) => assigned(vm) + inFlight(vm);
const outstanding = (vm) => (vm.txn === 'balloon' ? vm.txn_mib - vm.txn_done_mib : 0);
const endTxn = (vm) => { vm.txn = 'none'; vm.txn_mib = 0; vm.txn_done_mib = 0; };

class Host {
  constructor(state) {
    this.host = state.host;
    this.free = state.free_mib;
    this.vms = (state.vms || []).map(loadVm);
  }

  find(name) {
    const vm = this.vms.find((v) => v.name === name);
    if (!vm) throw new Rejected(`no VM named '${name}'`);
    return vm;
  }
  running(name) {
    const vm = this.find(name);
    if (vm.power !== 'running') throw new Rejected(`${name} is not running`);
    return vm;
  }
  onChannel(name, channels) {
    const vm = this.running(name);
    if (!channels.includes(vm.channel)) throw new Rejected(`${name}: channel ${vm.channel}`);
    return vm;
  }
  inTxn(name, txn) {
    const vm = this.running(name);
    if (vm.txn !== txn) throw new Rejected(`${name}: no ${txn} in flight`);
    return vm;
  }

  observation() {
    return { free_mib: this.free, vms: this.vms.map((vm) => ({
      name: vm.name, power: vm.power, assigned_mib: assigned(vm), visible_mib: vm.visible_mib,
      ballooned_mib: vm.ballooned_mib, txn: vm.txn, txn_mib: vm.txn_mib, txn_done_mib: vm.txn_done_mib })) };
  }

  checkRequest(req) {
    const vm = this.running(req.vm);
    const mib = req.mib;
    if (vm.channel !== 'ready') throw new Rejected('channel not ready');
    if (!vm.settings.dynamic) throw new Rejected('static VM');
    if (vm.txn !== 'none') throw new Rejected('transaction in flight');
    if (!(mib > 0) || mib % 2) throw new Rejected('bad amount');
    if (mib > (req.kind === 'balloon_request' ? BALLOON_CAP : GRANT_CAP)) throw new Rejected('above cap');
    if (req.kind === 'balloon_request') {
      if (!vm.cap_balloon) throw new Rejected('no balloon capability');
      if (mib > assigned(vm) - vm.settings.startup_mib) throw new Rejected('below floor');
    } else if (req.kind === 'unballoon_request') {
      if (mib > this.free) throw new Rejected('not enough free');
      if (mib > vm.ballooned_mib) throw new Rejected('more than ballooned');
    } else if (req.kind === 'hot_add_request') {
      if (mib > this.free) throw new Rejected('not enough free');
      if (!(vm.cap_hot_add && vm.hot_add_enabled)) throw new Rejected('hot-add not possible');
      if (vm.ballooned_mib !== 0) throw new Rejected('unballoon first');
      if (vm.visible_mib + mib > vm.settings.maximum_mib) throw new Rejected('above maximum');
    } else throw new Rejected('unknown request');
    return vm;
  }

  sendRequest(req) {
    const vm = this.checkRequest(req);
    vm.txn_mib = req.mib;
    vm.txn_done_mib = 0;
    if (req.kind === 'balloon_request') vm.txn = 'balloon';
    else {
      vm.txn = req.kind === 'unballoon_request' ? 'unballoon' : 'hot_add';
      this.free -= req.mib;
    }
  }

  // a restore with its image free: running at visible = saved, demand kept
  bootImage(vm) {
    this.free -= vm.saved_mib;
    Object.assign(vm, { power: 'running', visible_mib: vm.saved_mib, ballooned_mib: 0, saved_mib: 0,
      hot_add_enabled: true });
    Host.newSession(vm);
  }

  admit(vm) {
    const s = vm.settings;
    Object.assign(vm, { power: 'running', visible_mib: s.startup_mib, ballooned_mib: 0,
      demand_mib: 0, hot_add_enabled: true,
      channel: s.dynamic && s.dm_capable ? 'negotiating' : 'none' });
    this.free -= s.startup_mib;
  }

  // A fresh DM session (lifecycle.md): no version, capabilities, report or transaction.
  static newSession(vm) {
    const s = vm.settings;
    Object.assign(vm, { channel: s.dynamic && s.dm_capable ? 'negotiating' : 'none',
      protocol_version: 0, cap_balloon: false, cap_hot_add: false, has_report: false,
      report_mib: 0, stuck: false });
    endTxn(vm);
  }

  // R-CLOSE at a channel reset or a save: only what was received counts.
  static close(vm) {
    if (vm.txn === 'unballoon') vm.ballooned_mib -= vm.txn_mib;
    else if (vm.txn === 'hot_add') vm.visible_mib += vm.txn_mib;
    endTxn(vm);
  }

  process(e) {
    switch (e.kind) {
      case 'create': {
        if (this.vms.some((v) => v.name === e.vm)) throw new Rejected('exists');
        const s = settingsOf(e.settings);
        if (settingsProblems(s).length) throw new Rejected('invalid settings');
        this.vms.push(Object.assign({}, VM_DEFAULTS, { name: e.vm, settings: s }));
        return [];
      }
      case 'configure': {
        const vm = this.find(e.vm);
        if (vm.power !== 'off') throw new Rejected('running');
        const s = settingsOf(e.settings);
        if (settingsProblems(s).length) throw new Rejected('invalid settings');
        vm.settings = s;
        return [];
      }
      case 'delete': {
        const vm = this.find(e.vm);
        if (vm.power !== 'off') throw new Rejected('running');
        this.vms = this.vms.filter((v) => v !== vm);
        return [];
      }
      case 'start': {
        const vm = this.find(e.vm);
        if (vm.power !== 'off') throw new Rejected('running');
        const used = this.vms.reduce((acc, v) => acc + owned(v), 0);
        if (this.host.physical_mib - used < vm.settings.startup_mib) { vm.power = 'starting'; return []; } // R-START: waits
        this.admit(vm);
        return [];
      }
      case 'start_admit': {
        const vm = this.find(e.vm);
        if (vm.power !== 'starting') throw new Rejected('not waiting to start');
        if (this.free < needed(vm)) throw new Rejected('still waits');
        if (vm.saved_mib > 0) this.bootImage(vm); // a waiting restore runs at its image (R-START-ADMIT)
        else this.admit(vm);
        return [];
      }
      case 'start_abort': {
        const vm = this.find(e.vm);
        if (vm.power !== 'starting') throw new Rejected('not waiting to start');
        // a waiting restore goes back to saved, image and demand kept (R-START-ABORT)
        vm.power = vm.saved_mib > 0 ? 'saved' : 'off';
        return [];
      }
      case 'guest_restart': {
        const vm = this.running(e.vm);
        const startup = vm.settings.startup_mib;
        this.free += owned(vm) - startup;
        Object.assign(vm, { visible_mib: startup, ballooned_mib: 0, demand_mib: 0, hot_add_enabled: true });
        Host.newSession(vm);
        return [];
      }
      case 'channel_reset': {
        const vm = this.running(e.vm);
        if (vm.channel === 'none') throw new Rejected('no DM channel');
        Host.close(vm); // rolled back by apply() if the reset is refused
        if (vm.ballooned_mib > this.free) throw new Rejected('not enough free to regain the ballooned pages');
        this.free -= vm.ballooned_mib;
        vm.ballooned_mib = 0;
        const keep = vm.hot_add_enabled;
        Host.newSession(vm);
        vm.hot_add_enabled = keep;
        return [];
      }
      case 'stuck_timeout': {
        const vm = this.running(e.vm);
        if (vm.txn === 'none') throw new Rejected('no transaction in flight');
        if (vm.stuck) throw new Rejected('stuck already');
        vm.stuck = true;
        return [];
      }
      case 'save': {
        const vm = this.running(e.vm);
        Host.close(vm);
        const image = assigned(vm);
        this.free += owned(vm);
        Host.newSession(vm);
        Object.assign(vm, { power: 'saved', saved_mib: image, visible_mib: 0, ballooned_mib: 0, channel: 'none' });
        return [];
      }
      case 'restore': {
        const vm = this.find(e.vm);
        if (vm.power !== 'saved') throw new Rejected('not saved');
        // waits for reclaim as a start does (R-RESTORE, lifecycle.md §4.7): image and demand kept
        if (vm.saved_mib > this.free) { vm.power = 'starting'; return []; }
        this.bootImage(vm);
        return [];
      }
      case 'migrate_in': {
        const vm = this.find(e.vm);
        if (vm.power !== 'off') throw new Rejected('not off');
        const s = vm.settings;
        const mib = e.mib;
        if (mib % 2) throw new Rejected('not a multiple of 2');
        if (s.dynamic && s.dm_capable) {
          if (mib < s.startup_mib || mib > s.maximum_mib) throw new Rejected('outside startup..maximum');
        } else if (mib !== s.startup_mib) throw new Rejected('a VM without DM arrives at startup');
        if (mib > this.free) throw new Rejected('not enough memory to arrive');
        this.free -= mib;
        Object.assign(vm, { power: 'running', visible_mib: mib, ballooned_mib: 0, demand_mib: 0, hot_add_enabled: true });
        Host.newSession(vm);
        return [];
      }
      case 'migrate_out':
      case 'stop': {
        const vm = this.running(e.vm);
        this.free += owned(vm);
        const i = this.vms.indexOf(vm);
        this.vms[i] = Object.assign({}, VM_DEFAULTS, { name: vm.name, settings: vm.settings });
        return [];
      }
      case 'demand': {
        const vm = this.running(e.vm);
        if (e.mib < 0) throw new Rejected('negative');
        vm.demand_mib = e.mib;
        return [];
      }
      case 'version_request': {
        const vm = this.onChannel(e.vm, ['negotiating']);
        if (VERSIONS.includes(e.version)) { vm.channel = 'caps'; vm.protocol_version = e.version; }
        else if (e.last_attempt) vm.channel = 'failed';
        return [];
      }
      case 'capabilities_report': {
        const vm = this.onChannel(e.vm, ['caps']);
        vm.cap_balloon = e.balloon !== undefined ? e.balloon : true;
        vm.cap_hot_add = e.hot_add !== undefined ? e.hot_add : true;
        vm.channel = 'quiet';
        return [];
      }
      case 'quiet_period_end': {
        this.onChannel(e.vm, ['quiet']).channel = 'ready';
        return [];
      }
      case 'status_report': {
        const vm = this.onChannel(e.vm, ['caps', 'quiet', 'ready']);
        if (e.committed_mib < 0) throw new Rejected('negative');
        vm.has_report = true;
        vm.report_mib = e.committed_mib;
        return [];
      }
      case 'balloon_response': {
        const vm = this.inTxn(e.vm, 'balloon');
        if (e.mib < 0) throw new Rejected('negative');
        const taken = Math.min(floor2(e.mib), vm.txn_mib - vm.txn_done_mib);
        vm.ballooned_mib += taken;
        this.free += taken;
        vm.txn_done_mib += taken;
        vm.stuck = false; // any answer clears the watchdog (R-STUCK)
        if (!e.more_pages || vm.txn_done_mib === vm.txn_mib) endTxn(vm);
        return [];
      }
      case 'unballoon_response': {
        const vm = this.inTxn(e.vm, 'unballoon');
        vm.ballooned_mib -= vm.txn_mib;
        vm.stuck = false;
        endTxn(vm);
        return [];
      }
      case 'hot_add_response': {
        const vm = this.inTxn(e.vm, 'hot_add');
        if (e.mib < 0) throw new Rejected('negative');
        const ok = e.success !== undefined ? e.success : true;
        const n = vm.txn_mib;
        const added = ok ? Math.min(floor2(e.mib), n) : 0;
        vm.visible_mib += added;
        this.free += n - added;
        if (ok && added < n) vm.hot_add_enabled = false;
        vm.stuck = false;
        endTxn(vm);
        return [];
      }
      case 'balancer_tick': {
        const plan = computePlan(this.free, this.vms);
        for (const req of plan) this.sendRequest(req);
        return plan;
      }
      case 'balloon_request': case 'unballoon_request': case 'hot_add_request':
        this.sendRequest(e);
        return [];
      default:
        throw new Rejected(`unknown event ${e.kind}`);
    }
  }

  apply(e) {
    const snapshot = JSON.stringify({ free: this.free, vms: this.vms });
    try {
      return { sent: this.process(e), rejected: null };
    } catch (err) {
      if (!(err instanceof Rejected)) throw err;
      const s = JSON.parse(snapshot);
      this.free = s.free;
      this.vms = s.vms;
      return { sent: [], rejected: err.message };
    }
  }
}

// ---- the reference policy (specs/policy.md) ------------------------------------------
// what a waiting start needs free (P-RECLAIM): a waiting restore its image (never 0: at
// least startup), a start its startup
const needed = (vm) => (vm.saved_mib > 0 ? vm.saved_mib : vm.settings.startup_mib);
function target(vm) {
  const s = vm.settings;
  const num = vm.report_mib * (100 + s.buffer_pct);
  let t = Math.floor(num / 100) + (num % 100 ? 1 : 0); // exact integer ceil
  t += t % 2;
  return Math.max(s.startup_mib, Math.min(s.maximum_mib, t));
}
const hotAddPossible = (vm) => vm.cap_hot_add && vm.hot_add_enabled;
const byWeight = (a, b) => (b.settings.weight - a.settings.weight) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function computePlan(free, vms) {
  // P-STUCK: a stuck VM is not managed (and its outstanding balloon is not incoming)
  const managed = vms.filter((vm) => vm.power === 'running' && vm.settings.dynamic
    && vm.channel === 'ready' && vm.has_report && !vm.stuck);
  const plan = [];
  const requested = new Set();
  let giveBack = 0;
  for (const vm of managed) {
    if (vm.txn === 'none' && vm.cap_balloon) {
      const excess = floor2(assigned(vm) - target(vm));
      if (excess > 0) {
        const mib = Math.min(excess, BALLOON_CAP);
        plan.push({ kind: 'balloon_request', vm: vm.name, mib });
        requested.add(vm.name);
        giveBack += mib;
      }
    }
  }
  let f = free;
  const unmet = [];
  // P-RECLAIM: waiting starts claim what they need (startup, a restore its image) from free
  // before any grant
  for (const vm of vms.filter((v) => v.power === 'starting').sort(byWeight)) {
    const claim = Math.min(needed(vm), f);
    f -= claim;
    if (needed(vm) > claim) unmet.push([vm, needed(vm) - claim]);
  }
  for (const vm of [...managed].sort(byWeight)) {
    if (requested.has(vm.name)) continue;
    const s = vm.settings;
    let room = vm.ballooned_mib - (vm.txn === 'unballoon' ? vm.txn_mib : 0);
    if (hotAddPossible(vm)) {
      room += Math.max(0, s.maximum_mib - vm.visible_mib - (vm.txn === 'hot_add' ? vm.txn_mib : 0));
    }
    const shortfall = Math.max(0, Math.min(target(vm) - owned(vm), room));
    const claim = floor2(Math.min(shortfall, f));
    f -= claim;
    if (vm.txn === 'none' && claim > 0) {
      if (vm.ballooned_mib > 0) {
        plan.push({ kind: 'unballoon_request', vm: vm.name, mib: Math.min(claim, vm.ballooned_mib, GRANT_CAP) });
        requested.add(vm.name);
      } else if (hotAddPossible(vm)) {
        plan.push({ kind: 'hot_add_request', vm: vm.name,
          mib: Math.min(claim, floor2(s.maximum_mib - vm.visible_mib), GRANT_CAP) });
        requested.add(vm.name);
      }
    }
    if (shortfall > claim) unmet.push([vm, shortfall - claim]);
  }
  let incoming = managed.reduce((acc, vm) => acc + outstanding(vm), 0) + giveBack;
  for (const [vm, d0] of unmet) {
    let deficit = d0;
    const use = Math.min(deficit, incoming);
    deficit -= use;
    incoming -= use;
    const donors = managed.filter((d) => d.settings.weight < vm.settings.weight && d.txn === 'none'
      && d.cap_balloon && !requested.has(d.name));
    donors.sort((a, b) => (a.settings.weight - b.settings.weight) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of donors) {
      if (deficit <= 0) break;
      const give = floor2(Math.min(deficit, floor2(assigned(d) - d.settings.startup_mib), BALLOON_CAP));
      if (give > 0) {
        plan.push({ kind: 'balloon_request', vm: d.name, mib: give });
        requested.add(d.name);
        deficit -= give;
      }
    }
  }
  return plan;
}

// ---- the wire ----------------------------------------------------------------------------
let host = null;
const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  let answer;
  switch (msg.type) {
    case 'hello':
      answer = { type: 'hello', protocol: 1, name: 'node-system-bug-reserve 1.0', capabilities: { kinds: ['system', 'policy'] } };
      break;
    case 'reset':
      host = new Host(msg.state);
      answer = { type: 'ready' };
      break;
    case 'event': {
      const r = host.apply(msg.event);
      answer = { type: 'observed', observed: host.observation(), sent: r.sent, rejected: r.rejected };
      break;
    }
    case 'plan':
      answer = { type: 'plan', requests: computePlan(msg.view.free_mib, msg.view.vms.map(loadVm)) };
      break;
    case 'bye':
      rl.close();
      process.exit(0);
      return;
    default:
      answer = { type: 'error', message: `unknown request ${msg.type}` };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
rl.on('close', () => process.exit(0));
