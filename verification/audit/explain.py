"""Existential explanation of a window of samples with Z3 (specs/audit.md §2.3).

A window of ``W`` consecutive samples of one stream is *explained* when some run of the model
produces it. The encoding is a bounded unrolling over the samples only: per VM and sample,
the model's state fields that matter (``visible_mib``, ``ballooned_mib``, ``power``, and the
hidden ``txn``/``txn_mib`` of the one transaction in flight), and per interval the totals of
hot-add, unballoon and balloon moves (any number of transactions, in any order, hidden).
Observations are constraints on these variables; the hidden parts are existential.

The clauses are the model's own (``model/invariants.py``: FLOOR, CEILING, STATIC, PHYSICAL,
evaluated with the symbolic operator layer on these variables) plus the accounting consequences
named ``OBS-*`` (``judge``). Each is asserted under a label; an unsatisfiable window reports
the labels of Z3's unsatisfiable core: which clause, which VM, which sample.
Every query runs under a deterministic resource limit (``rlimit``), never a wall-clock
timeout; ``unknown`` is reported as such, never as explained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import z3

from dynmem.model.invariants import CEILING, FLOOR, PHYSICAL, STATIC
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.model.vocabulary import MEMORY_UNIT_MIB, Power, TxnKind
from dynmem.verification.audit.judge import (
    CLAUSE_AVAILABLE,
    CLAUSE_COUNTERS,
    CLAUSE_COUNTERS_MONOTONE,
    CLAUSE_ONLY_BALLOON,
    CLAUSE_PRESSURE,
    CLAUSE_UNIT,
    CLAUSE_VISIBLE_GROWS,
    HostSpec,
    check_pressure,
    get_floor,
    is_running,
)
from dynmem.verification.audit.observations import Sample, VmConfig

DEFAULT_RLIMIT = 5_000_000
Verdict = Literal["explained", "unexplained", "unknown"]


@attrs.frozen
class Explanation:
    """Z3's answer for one window: the verdict, the core's labels, the window's bounds."""

    verdict: Verdict
    core: tuple[str, ...]
    first: str
    last: str
    samples: int
    reason: str = ""


@attrs.frozen
class _Settings:
    dynamic: bool
    startup_mib: int
    maximum_mib: int


@attrs.define
class _SymVm:
    """A VM slot with the attributes the model's clauses read, as Z3 terms."""

    name: str
    settings: _Settings
    power: Any
    visible_mib: Any
    ballooned_mib: Any
    txn: Any
    txn_mib: Any
    txn_done_mib: Any
    exists: Any = z3.BoolVal(True)


@attrs.frozen
class _Host:
    physical_mib: int
    reserve_mib: int


@attrs.frozen
class _State:
    host: _Host
    vms: tuple[_SymVm, ...]


class _Tracker:
    """Assertions under readable labels, so an unsat core names clauses.

    The model's own clauses (``INV-*``) are asserted first and the observation clauses
    (``OBS-*``) only if those are satisfiable, so a core names a model invariant whenever
    one alone rules the window out.
    """

    def __init__(self, solver: z3.Solver) -> None:
        self.solver = solver
        self.pending: list[tuple[bool, str, Any]] = []

    def add(self, clause: tuple[str, str], vm: str | None, where: str, term: Any) -> None:
        label = f"{clause[0]} ({clause[1]}) vm={vm or '-'} at {where} #{len(self.pending) + 1}"
        self.pending.append((clause[0].startswith("INV-"), label, term))

    def check(self) -> z3.CheckSatResult:
        """Check with the model's clauses, then with every clause if those are satisfiable."""
        for first in (True, False):
            for model, label, term in self.pending:
                if model == first:
                    self.solver.assert_and_track(term, z3.Bool(label))
            answer = self.solver.check()
            if answer != z3.sat:
                return answer
        return z3.sat


def _vm_slot(name: str, j: int, config: VmConfig | None, floor: str) -> _SymVm:
    settings = _Settings(config.dynamic, get_floor(config, floor), config.maximum_mib) \
        if config else _Settings(True, 0, 10**9)
    return _SymVm(name, settings, z3.Int(f"power_{name}_{j}"), z3.Int(f"vis_{name}_{j}"),
                  z3.Int(f"bal_{name}_{j}"), z3.Int(f"txn_{name}_{j}"),
                  z3.Int(f"txnmib_{name}_{j}"), z3.IntVal(0))


def _observe(s: z3.Solver, vm: _SymVm, sample: Sample) -> None:
    """Background constraints: TypeOK of the hidden fields and what the sample shows."""
    s.add(vm.visible_mib >= 0, vm.txn >= 0, vm.txn <= 3, vm.txn_mib >= 0,
          z3.Or(vm.power == 0, vm.power == 1))
    off = vm.power == int(Power.OFF)
    s.add(z3.Implies(off, z3.And(vm.visible_mib == 0, vm.ballooned_mib == 0,
                                 vm.txn == int(TxnKind.NONE), vm.txn_mib == 0)))
    obs = dict(sample.vms).get(vm.name)
    if obs is None:
        return
    running = is_running(obs)
    if running is not None:
        s.add(vm.power == int(Power.RUNNING if running else Power.OFF))
    if obs.assigned_mib is not None and running is not False:
        s.add(vm.visible_mib - vm.ballooned_mib == obs.assigned_mib)
    if obs.visible_mib is not None and running is not False:
        s.add(vm.visible_mib == obs.visible_mib)


def _clauses(t: _Tracker, state: _State, sample: Sample, host: HostSpec,
             configs: Mapping[str, VmConfig]) -> None:
    """The model's one-state clauses at one sample, tracked."""
    for vm in state.vms:
        if vm.name in configs:
            for inv, clauses in ((FLOOR, FLOOR.clauses), (CEILING, CEILING.clauses),
                                 (STATIC, STATIC.clauses[:1])):
                for clause in clauses:
                    t.add((inv.id, clause.name), vm.name, sample.where,
                          clause.holds(SYMBOLIC, state, vm))
        else:
            t.add((CEILING.id, CEILING.clauses[0].name), vm.name, sample.where,
                  CEILING.clauses[0].holds(SYMBOLIC, state, vm))
        obs = dict(sample.vms).get(vm.name)
        if obs is not None and check_pressure(obs) is not None:
            t.add(CLAUSE_PRESSURE, vm.name, sample.where, z3.BoolVal(False))
    if host.physical_mib is not None:
        t.add((PHYSICAL.id, PHYSICAL.clauses[0].name), None, sample.where,
              PHYSICAL.clauses[0].holds(SYMBOLIC, state))
        available = sample.host.available_mib
        if available is not None:
            total = z3.Sum([vm.visible_mib - vm.ballooned_mib for vm in state.vms]) \
                if state.vms else z3.IntVal(0)
            t.add(CLAUSE_AVAILABLE, None, sample.where,
                  host.reserve_mib + total + available <= host.physical_mib)


def _step(t: _Tracker, a: _SymVm, b: _SymVm, j: int, before: Sample, after: Sample) -> None:
    """One interval of one VM: hidden move totals, tracked accounting clauses."""
    ha, ub, bl = (z3.Int(f"{k}_{a.name}_{j}") for k in ("ha", "ub", "bl"))
    both = z3.And(a.power == int(Power.RUNNING), b.power == int(Power.RUNNING))
    t.solver.add(ub >= 0, bl >= 0)
    t.solver.add(z3.Implies(both, z3.And(b.visible_mib == a.visible_mib + ha,
                                         b.ballooned_mib == a.ballooned_mib + bl - ub)))
    where = after.where
    t.add(CLAUSE_VISIBLE_GROWS, a.name, where, z3.Implies(both, ha >= 0))
    t.add(CLAUSE_UNIT, a.name, where,
          z3.Implies(both, z3.And(ha % MEMORY_UNIT_MIB == 0, ub % MEMORY_UNIT_MIB == 0,
                                  bl % MEMORY_UNIT_MIB == 0)))
    x, y = dict(before.vms).get(a.name), dict(after.vms).get(a.name)
    if x is None or y is None or None in (x.added_mib, x.removed_mib, y.added_mib,
                                          y.removed_mib):
        return
    assert x.added_mib is not None and y.added_mib is not None
    assert x.removed_mib is not None and y.removed_mib is not None
    d_added, d_removed = y.added_mib - x.added_mib, y.removed_mib - x.removed_mib
    t.add(CLAUSE_COUNTERS_MONOTONE, a.name, where,
          z3.Implies(both, z3.BoolVal(d_added >= 0 and d_removed >= 0)))
    t.add(CLAUSE_COUNTERS, a.name, where, z3.Implies(both, ha + ub == d_added))
    t.add(CLAUSE_ONLY_BALLOON, a.name, where, z3.Implies(both, bl == d_removed))


def check_window(window: Sequence[Sample], configs: Mapping[str, VmConfig], host: HostSpec,
                 floor: str = "startup", rlimit: int = DEFAULT_RLIMIT) -> Explanation:
    """Decide whether some run of the model explains ``window`` (samples of one stream).

    Parameters
    ----------
    window
        Consecutive samples, oldest first.
    configs
        The VMs' settings; a VM without settings is judged only on host-wide clauses and
        ``assigned <= visible``.
    host
        Physical memory (``None``: host clauses not judged) and the reserve.
    rlimit
        Z3's deterministic resource limit for the query.

    Returns
    -------
    Explanation
        ``explained``, ``unexplained`` (with the labels of the unsat core) or ``unknown``.

    Examples
    --------
    >>> from dynmem.verification.audit.observations import VmObs
    >>> cfg = {"web": VmConfig("web", True, 1024, 4096)}
    >>> ok = [Sample(0, "a:2", (("web", VmObs(assigned_mib=1024)),)),
    ...       Sample(1, "a:3", (("web", VmObs(assigned_mib=2048)),))]
    >>> check_window(ok, cfg, HostSpec(8192, 1024)).verdict
    'explained'
    >>> bad = ok + [Sample(2, "a:4", (("web", VmObs(assigned_mib=512)),))]
    >>> result = check_window(bad, cfg, HostSpec(8192, 1024))
    >>> result.verdict, result.core[0].split(" vm=")[0]
    ('unexplained', 'INV-FLOOR (running dynamic => assigned >= startup)')
    """
    solver = z3.Solver()
    solver.set("rlimit", rlimit)
    solver.set("unsat_core", True)
    tracker = _Tracker(solver)
    names = sorted({vm for sample in window for vm, _ in sample.vms})
    physical = host.physical_mib if host.physical_mib is not None else 0
    previous: _State | None = None
    for j, sample in enumerate(window):
        slots = tuple(_vm_slot(name, j, configs.get(name), floor) for name in names)
        state = _State(_Host(physical, host.reserve_mib), slots)
        for vm in slots:
            _observe(solver, vm, sample)
        _clauses(tracker, state, sample, host, configs)
        if previous is not None:
            for a, b in zip(previous.vms, slots, strict=True):
                _step(tracker, a, b, j, window[j - 1], sample)
        previous = state
    answer = tracker.check()
    first, last = window[0].where, window[-1].where
    if answer == z3.sat:
        return Explanation("explained", (), first, last, len(window))
    if answer == z3.unsat:
        core = tuple(sorted(str(c) for c in solver.unsat_core()))
        return Explanation("unexplained", core, first, last, len(window))
    return Explanation("unknown", (), first, last, len(window),
                       reason=str(solver.reason_unknown()))
