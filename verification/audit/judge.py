"""The observable invariants, judged sample by sample in constant memory (specs/audit.md §2).

What a host shows is a projection of the model's state: assigned memory (and sometimes the
visible memory and the Added/Removed counters), but never the transactions in flight nor
the exact order of messages between two samples. A series is accepted when *some* run of the
model explains it. For every clause below, that existential question has a closed form over
consecutive samples (the hidden in-flight amounts are at least 0, and an interval may hold
any number of transactions in any order), and this module decides it directly; ``explain``
decides the same question with Z3 over a window of samples and names the clauses of its
unsatisfiable core, and the tests check that both agree.

Clause ids are the model's (``model/invariants.py``) where the clause is the model's own,
and ``OBS-*`` where it is a consequence of the model's accounting rules for what a host
shows (specs/audit.md §2.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

import attrs

from dynmem.model.invariants import CEILING, FLOOR, NO_HOST_PAGING, PHYSICAL, STATIC
from dynmem.model.vocabulary import MEMORY_UNIT_MIB
from dynmem.verification.audit.observations import Sample, VmConfig, VmObs

CLAUSE_FLOOR = (FLOOR.id, FLOOR.clauses[0].name)
CLAUSE_ASSIGNED_LE_VISIBLE = (CEILING.id, CEILING.clauses[0].name)
CLAUSE_VISIBLE_LE_MAXIMUM = (CEILING.id, CEILING.clauses[1].name)
CLAUSE_PHYSICAL = (PHYSICAL.id, PHYSICAL.clauses[0].name)
CLAUSE_STATIC = (STATIC.id, STATIC.clauses[0].name)
CLAUSE_ONLY_BALLOON = (NO_HOST_PAGING.id, NO_HOST_PAGING.clauses[0].name)
CLAUSE_VISIBLE_GROWS = (NO_HOST_PAGING.id, NO_HOST_PAGING.clauses[1].name)
CLAUSE_COUNTERS = ("OBS-COUNTERS", "physical moves = added - removed")
CLAUSE_COUNTERS_MONOTONE = ("OBS-COUNTERS", "counters never decrease while running")
CLAUSE_UNIT = ("OBS-UNIT", "moves are multiples of 2 MiB")
CLAUSE_PRESSURE = ("OBS-PRESSURE", "pressure = demand * 100 / assigned")
CLAUSE_AVAILABLE = ("OBS-BALANCER", "reserve + assigned + available <= physical")


@attrs.frozen
class HostSpec:
    """The host the evidence comes from: physical memory (if known) and the reserve."""

    physical_mib: int | None
    reserve_mib: int


@attrs.frozen
class Finding:
    """One clause no run of the model satisfies at a sample, with the values that break it."""

    invariant: str
    clause: str
    vm: str | None
    time_us: int
    where: str
    message: str


@attrs.define
class _Last:
    """The previous running observation of one VM (the other side of a step)."""

    assigned: int
    visible: int | None
    added: int | None
    removed: int | None


def get_floor(config: VmConfig, floor: str) -> int:
    """The floor the audit judges: startup (2008R2SP1), or minimum with ``floor='minimum'``."""
    if floor == "minimum" and config.minimum_mib is not None:
        return config.minimum_mib
    return config.startup_mib


def is_running(obs: VmObs) -> bool | None:
    """Whether the VM runs at this sample: said by the evidence, or assigned > 0."""
    if obs.running is not None:
        return obs.running
    if obs.assigned_mib is None:
        return None
    return obs.assigned_mib > 0


def check_pressure(obs: VmObs) -> str | None:
    """A message when the observed pressure cannot be demand × 100 / assigned, else None.

    Hyper-V's rounding is not documented, so any pressure within one point of the exact
    ratio is accepted: ``|pressure × assigned − 100 × demand| < assigned``.

    Examples
    --------
    >>> check_pressure(VmObs(assigned_mib=2048, demand_mib=1085, pressure=52)) is None
    True
    >>> check_pressure(VmObs(assigned_mib=2048, demand_mib=1085, pressure=80))
    'pressure 80 but demand 1085 MiB * 100 / assigned 2048 MiB = 52.98'
    """
    if obs.pressure is None or obs.demand_mib is None or not obs.assigned_mib:
        return None
    a = obs.assigned_mib
    if abs(Fraction(obs.pressure) * a - 100 * obs.demand_mib) < a:
        return None
    exact = Fraction(100 * obs.demand_mib, a)
    return (f"pressure {obs.pressure} but demand {obs.demand_mib} MiB * 100 / assigned {a} "
            f"MiB = {float(exact):.2f}")


def _step(vm: str, last: _Last, obs: VmObs) -> Iterable[tuple[tuple[str, str], str]]:
    """The two-sample clauses between ``last`` and ``obs`` of one running VM."""
    assert obs.assigned_mib is not None
    d_assigned = obs.assigned_mib - last.assigned
    if d_assigned % MEMORY_UNIT_MIB:
        yield CLAUSE_UNIT, (f"{vm}: physical memory moved {last.assigned} -> "
                            f"{obs.assigned_mib} MiB ({d_assigned:+d}, not a multiple of 2)")
    d_visible = None
    if obs.visible_mib is not None and last.visible is not None:
        d_visible = obs.visible_mib - last.visible
        if d_visible < 0:
            yield CLAUSE_VISIBLE_GROWS, (f"{vm}: guest visible memory shrank "
                                         f"{last.visible} -> {obs.visible_mib} MiB")
        elif d_visible % MEMORY_UNIT_MIB:
            yield CLAUSE_UNIT, (f"{vm}: guest visible memory grew by {d_visible} MiB "
                                "(not a multiple of 2)")
    if obs.added_mib is None or obs.removed_mib is None or last.added is None \
            or last.removed is None:
        return
    d_added, d_removed = obs.added_mib - last.added, obs.removed_mib - last.removed
    if d_added < 0 or d_removed < 0:
        yield CLAUSE_COUNTERS_MONOTONE, (f"{vm}: added {last.added} -> {obs.added_mib}, "
                                         f"removed {last.removed} -> {obs.removed_mib} MiB")
        return
    if d_added % MEMORY_UNIT_MIB or d_removed % MEMORY_UNIT_MIB:
        yield CLAUSE_UNIT, f"{vm}: added {d_added:+d}, removed {d_removed:+d} MiB (odd)"
    if d_assigned != d_added - d_removed:
        clause = CLAUSE_ONLY_BALLOON if d_assigned < d_added - d_removed else CLAUSE_COUNTERS
        yield clause, (f"{vm}: physical memory {last.assigned} -> {obs.assigned_mib} MiB "
                       f"({d_assigned:+d}) but added {d_added:+d} - removed {d_removed:+d} = "
                       f"{d_added - d_removed:+d} MiB")
    elif d_visible is not None and d_visible > d_added:
        yield CLAUSE_COUNTERS, (f"{vm}: guest visible memory grew by {d_visible} MiB but "
                                f"only {d_added} MiB was added")


@attrs.define
class Judge:
    """Judge one stream of samples (one file): feed samples in order, read ``findings``.

    Keeps only the previous observation per VM, the first ``keep`` findings in full and a
    count per clause: constant memory whatever the length of the series.
    """

    configs: Mapping[str, VmConfig]
    host: HostSpec
    floor: str = "startup"
    keep: int = 50
    findings: list[Finding] = attrs.Factory(list)
    counts: dict[tuple[str, str], int] = attrs.Factory(dict)
    samples: int = 0
    steps_found: int = 0
    _last: dict[str, _Last] = attrs.Factory(dict)

    def _report(self, sample: Sample, vm: str | None, clause: tuple[str, str],
                message: str) -> None:
        self.counts[clause] = self.counts.get(clause, 0) + 1
        if len(self.findings) < self.keep:
            self.findings.append(Finding(clause[0], clause[1], vm, sample.time_us,
                                         sample.where, message))

    def feed(self, sample: Sample) -> tuple[int, int]:
        """Judge ``sample``; return how many findings it produced: (one-sample, step)."""
        before = sum(self.counts.values())
        self.steps_found = 0
        self.samples += 1
        total = 0
        for vm, obs in sample.vms:
            total += self._feed_vm(sample, vm, obs)
        self._host(sample, total)
        found = sum(self.counts.values()) - before
        return found - self.steps_found, self.steps_found

    def _feed_vm(self, sample: Sample, vm: str, obs: VmObs) -> int:
        running = is_running(obs)
        if running is False:
            self._last.pop(vm, None)
            return 0
        if obs.assigned_mib is None:
            return 0
        a = obs.assigned_mib
        config = self.configs.get(vm)
        if obs.visible_mib is not None and a > obs.visible_mib:
            self._report(sample, vm, CLAUSE_ASSIGNED_LE_VISIBLE,
                         f"{vm}: physical memory {a} MiB > guest visible {obs.visible_mib} MiB")
        if config is not None:
            self._settings(sample, vm, obs, config)
        message = check_pressure(obs)
        if message is not None:
            self._report(sample, vm, CLAUSE_PRESSURE, f"{vm}: {message}")
        last = self._last.get(vm)
        if last is not None:
            for clause, text in _step(vm, last, obs):
                self.steps_found += 1
                self._report(sample, vm, clause, text)
        self._last[vm] = _Last(a, obs.visible_mib, obs.added_mib, obs.removed_mib)
        return a

    def _settings(self, sample: Sample, vm: str, obs: VmObs, config: VmConfig) -> None:
        a = obs.assigned_mib
        assert a is not None
        top = obs.visible_mib if obs.visible_mib is not None else a
        if top > config.maximum_mib:
            what = "guest visible" if obs.visible_mib is not None else "physical memory"
            self._report(sample, vm, CLAUSE_VISIBLE_LE_MAXIMUM,
                         f"{vm}: {what} {top} MiB > maximum {config.maximum_mib} MiB")
        if config.dynamic:
            floor = get_floor(config, self.floor)
            if a < floor:
                self._report(sample, vm, CLAUSE_FLOOR,
                             f"{vm}: physical memory {a} MiB < startup {floor} MiB"
                             if floor == config.startup_mib else
                             f"{vm}: physical memory {a} MiB < minimum {floor} MiB")
        elif a != config.startup_mib or (obs.visible_mib not in (None, config.startup_mib)):
            self._report(sample, vm, CLAUSE_STATIC,
                         f"{vm}: static VM of {config.startup_mib} MiB has physical memory "
                         f"{a} MiB" + ("" if obs.visible_mib is None
                                       else f", guest visible {obs.visible_mib} MiB"))

    def _host(self, sample: Sample, total: int) -> None:
        physical, reserve = self.host.physical_mib, self.host.reserve_mib
        if physical is None:
            return
        if reserve + total > physical:
            terms = " + ".join(f"{vm} {o.assigned_mib}" for vm, o in sample.vms
                               if o.assigned_mib and is_running(o) is not False)
            self._report(sample, None, CLAUSE_PHYSICAL,
                         f"reserve {reserve} + assigned ({terms}) = {reserve + total} MiB > "
                         f"physical {physical} MiB")
        available = sample.host.available_mib
        if available is not None and reserve + total + available > physical:
            self._report(sample, None, CLAUSE_AVAILABLE,
                         f"reserve {reserve} + assigned {total} + balancer available "
                         f"{available} = {reserve + total + available} MiB > physical "
                         f"{physical} MiB")
