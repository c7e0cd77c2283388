"""Right-sizing advice from what a host showed (specs/audit.md §4): every piece states the
numbers it rests on.

Statistics are accumulated sample by sample in constant memory: counters, peaks and a
histogram of demand per MiB value (at most one entry per MiB up to the 64 GiB maximum).
A static VM's demand of 0 is Hyper-V saying "no DM here", not a demand: it is not counted. Demand is
``MemoryDemand`` / QEMU's ``committed`` when observed, otherwise it is derived from the
pressure counter: ``ceil(pressure × assigned / 100)`` (policy.md §6 read backwards).
The wanted size of a VM is the model's target without the clamp:
``ceil_to_2(ceil(demand × (100 + buffer) / 100))`` (policy.md P-TARGET).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

import attrs

from dynmem.model.vocabulary import DEFAULT_BUFFER_PERCENT, DEFAULT_WEIGHT, MIN_STARTUP_MIB
from dynmem.reference.state import compute_ceil_to_unit
from dynmem.verification.audit.judge import HostSpec, is_running
from dynmem.verification.audit.observations import Sample, VmConfig, VmObs

STEADY_PERCENTILE = 95
MIN_SAMPLES_FOR_TRENDS = 10
OFTEN_PERCENT = 5  # "often": in at least this share of the samples
AT_MAXIMUM_PERCENT = 10


@attrs.frozen
class Advice:
    """One piece of advice: a stable code, the VM (None: the host), the sentence, the
    numbers it rests on."""

    code: str
    vm: str | None
    text: str
    numbers: tuple[tuple[str, int | str], ...]


def compute_wanted(demand_mib: int, buffer_pct: int) -> int:
    """The size a VM wants: demand plus buffer, in whole 2 MiB units (P-TARGET, no clamp).

    Examples
    --------
    >>> compute_wanted(1085, 20)
    1302
    """
    return compute_ceil_to_unit(-(-demand_mib * (100 + buffer_pct) // 100))


def get_demand(obs: VmObs) -> int | None:
    """The demand a sample shows: observed, or derived from pressure × assigned / 100."""
    if obs.demand_mib is not None:
        return obs.demand_mib
    if obs.pressure is None or not obs.assigned_mib:
        return None
    if isinstance(obs.pressure, int):
        return -(-obs.pressure * obs.assigned_mib // 100)
    return math.ceil(obs.pressure * obs.assigned_mib / 100)


@attrs.define
class VmStats:
    """Per-VM statistics over the running samples."""

    samples: int = 0
    peak_assigned: int = 0
    sum_assigned: int = 0
    at_maximum: int = 0
    demand_samples: int = 0
    demand_buckets: dict[int, int] = attrs.Factory(dict)
    peak_demand: int = 0
    sum_idle: int = 0
    pressure_samples: int = 0
    over_100: int = 0
    peak_pressure: int | Fraction = 0
    statuses: dict[str, list[int]] = attrs.Factory(dict)

    def get_percentile_demand(self, percent: int) -> int:
        """The demand at or below which ``percent`` % of the samples lie (exact MiB)."""
        rank = max(1, math.ceil(self.demand_samples * percent / 100))
        seen = 0
        for bucket in sorted(self.demand_buckets):
            seen += self.demand_buckets[bucket]
            if seen >= rank:
                return bucket
        return self.peak_demand


@attrs.define
class Advisor:
    """Accumulate statistics over samples (any number of streams), then :meth:`advise`."""

    configs: Mapping[str, VmConfig]
    host: HostSpec
    vm_size_mib: int = 2048
    vms: dict[str, VmStats] = attrs.Factory(dict)
    host_samples: int = 0
    min_headroom: int | None = None
    min_headroom_where: str = ""
    peak_total: int = 0
    contention: int = 0

    def feed(self, sample: Sample) -> None:
        """Add ``sample`` to the statistics."""
        total = 0
        short = 0
        for vm, obs in sample.vms:
            if is_running(obs) is False or obs.assigned_mib is None:
                continue
            total += obs.assigned_mib
            short = max(short, self._feed_vm(vm, obs, sample.time_us))
        if self.host.physical_mib is None or not sample.vms:
            return
        self.host_samples += 1
        headroom = self.host.physical_mib - self.host.reserve_mib - total
        if self.min_headroom is None or headroom < self.min_headroom:
            self.min_headroom, self.min_headroom_where = headroom, sample.where
        self.peak_total = max(self.peak_total, total)
        if short > 0 and headroom < short:
            self.contention += 1

    def _feed_vm(self, vm: str, obs: VmObs, time_us: int) -> int:
        """Add one VM's sample; return by how much its demand exceeds its memory."""
        a = obs.assigned_mib
        assert a is not None
        st = self.vms.get(vm)
        if st is None:
            st = self.vms[vm] = VmStats()
        st.samples += 1
        st.sum_assigned += a
        st.peak_assigned = max(st.peak_assigned, a)
        config = self.configs.get(vm)
        if config is not None and max(a, obs.visible_mib or 0) >= config.maximum_mib:
            st.at_maximum += 1
        if obs.status in ("Low", "Warning"):
            st.statuses.setdefault(obs.status, []).append(time_us)
            del st.statuses[obs.status][1:-1]  # keep first and last only
        if obs.pressure is not None:
            st.pressure_samples += 1
            st.over_100 += obs.pressure > 100
            st.peak_pressure = max(st.peak_pressure, obs.pressure)
        demand = get_demand(obs)
        if demand is None or (demand == 0 and config is not None and not config.dynamic):
            return 0
        st.demand_samples += 1
        st.demand_buckets[demand] = st.demand_buckets.get(demand, 0) + 1
        st.peak_demand = max(st.peak_demand, demand)
        st.sum_idle += a - demand
        return demand - a

    def advise(self) -> list[Advice]:
        """Every piece of advice the statistics support, VMs in name order, then the host."""
        out: list[Advice] = []
        for vm in sorted(self.vms):
            config = self.configs.get(vm)
            if config is not None:
                out += _advise_vm(vm, config, self.vms[vm])
        out += self._advise_host()
        return out

    def _advise_host(self) -> list[Advice]:
        out: list[Advice] = []
        physical, reserve = self.host.physical_mib, self.host.reserve_mib
        weighted = {vm: c.weight for vm, c in self.configs.items()
                    if c.weight is not None and c.weight != DEFAULT_WEIGHT and vm in self.vms}
        if weighted and self.contention == 0 and self.host_samples:
            listed = ", ".join(f"{vm} {w}" for vm, w in sorted(weighted.items()))
            out.append(Advice("WEIGHT-NEVER-MATTERED", None,
                              f"memory weights ({listed}) never mattered: in "
                              f"{self.host_samples} samples no VM was short of memory while "
                              f"the host lacked it (least headroom {self.min_headroom} MiB)",
                              (("samples", self.host_samples),
                               ("min_headroom_mib", self.min_headroom or 0))))
        if physical is None or self.min_headroom is None:
            return out
        room = physical - reserve
        static = sum(st.peak_assigned for st in self.vms.values())
        fits = "would fit" if static <= room else "would NOT fit"
        out.append(Advice("STATIC-FIT", None,
                          f"as static VMs sized at their peak physical memory (sum {static} "
                          f"MiB) the VMs {fits} in physical {physical} - reserve {reserve} = "
                          f"{room} MiB", (("static_sum_mib", static), ("room_mib", room))))
        more = max(0, self.min_headroom) // self.vm_size_mib
        out.append(Advice("MORE-VMS", None,
                          f"{more} more VMs of {self.vm_size_mib} MiB would start: the least "
                          f"headroom was {self.min_headroom} MiB (physical {physical} - "
                          f"reserve {reserve} - assigned {room - self.min_headroom}) at "
                          f"{self.min_headroom_where}",
                          (("more_vms", more), ("vm_size_mib", self.vm_size_mib),
                           ("min_headroom_mib", self.min_headroom))))
        return out


def _advise_vm(vm: str, config: VmConfig, st: VmStats) -> list[Advice]:
    out: list[Advice] = []
    buffer = config.buffer_pct if config.buffer_pct is not None else DEFAULT_BUFFER_PERCENT
    buffer_note = "" if config.buffer_pct is not None else " (default; buffer not observed)"
    if st.demand_samples:
        steady = st.get_percentile_demand(STEADY_PERCENTILE)
        wanted = max(MIN_STARTUP_MIB, compute_wanted(steady, buffer))
        size = config.startup_mib
        basis = (f"steady demand {steady} MiB (p{STEADY_PERCENTILE} of {st.demand_samples} "
                 f"sample{'s' if st.demand_samples > 1 else ''}) + buffer {buffer}%"
                 f"{buffer_note} = {wanted} MiB")
        if size - wanted >= max(64, size // 10):
            code = "LOWER-STARTUP" if config.dynamic else "STATIC-OVERSIZED"
            verb = "lower startup" if config.dynamic else "lower the static size"
            out.append(Advice(code, vm, f"{vm}: {verb} from {size} to {wanted} MiB: {basis}; "
                                        f"frees {size - wanted} MiB",
                              (("startup_mib", size), ("steady_demand_mib", steady),
                               ("buffer_pct", buffer), ("advised_mib", wanted),
                               ("frees_mib", size - wanted))))
    if not config.dynamic:
        return out
    if st.samples >= MIN_SAMPLES_FOR_TRENDS and 2 * st.peak_assigned <= config.maximum_mib:
        out.append(Advice("MAXIMUM-NEVER-APPROACHED", vm,
                          f"{vm}: maximum {config.maximum_mib} MiB never approached: peak "
                          f"physical memory {st.peak_assigned} MiB in {st.samples} samples",
                          (("maximum_mib", config.maximum_mib),
                           ("peak_assigned_mib", st.peak_assigned))))
    if st.samples and 100 * st.at_maximum >= AT_MAXIMUM_PERCENT * st.samples:
        out.append(Advice("MAXIMUM-HIT", vm,
                          f"{vm}: at maximum {config.maximum_mib} MiB in {st.at_maximum} of "
                          f"{st.samples} samples; peak demand {st.peak_demand} MiB: raise "
                          f"the maximum", (("maximum_mib", config.maximum_mib),
                                           ("samples_at_maximum", st.at_maximum),
                                           ("samples", st.samples))))
    out += _advise_buffer(vm, buffer, st)
    for status, times in sorted(st.statuses.items()):
        out.append(Advice(f"STATUS-{status.upper()}", vm,
                          f"{vm}: memory status {status} seen (first at {times[0]} us, last at "
                          f"{times[-1]} us)", (("first_us", times[0]), ("last_us", times[-1]))))
    return out


def _advise_buffer(vm: str, buffer: int, st: VmStats) -> list[Advice]:
    if st.pressure_samples < MIN_SAMPLES_FOR_TRENDS:
        return []
    peak = st.peak_pressure
    if 100 * st.over_100 >= OFTEN_PERCENT * st.pressure_samples:
        return [Advice("BUFFER-TOO-SMALL", vm,
                       f"{vm}: pressure above 100 in {st.over_100} of {st.pressure_samples} "
                       f"samples (peak {peak}): buffer {buffer}% is too small for its bursts",
                       (("buffer_pct", buffer), ("samples_over_100", st.over_100),
                        ("samples", st.pressure_samples)))]
    at_default = Fraction(100 * 100, 100 + DEFAULT_BUFFER_PERCENT)
    if buffer > DEFAULT_BUFFER_PERCENT and peak < at_default and st.demand_samples:
        idle = st.sum_idle // st.demand_samples
        return [Advice("BUFFER-TOO-LARGE", vm,
                       f"{vm}: buffer {buffer}% holds memory idle: peak pressure {peak} stayed "
                       f"below {int(at_default)} (the default {DEFAULT_BUFFER_PERCENT}% "
                       f"target), mean idle {idle} MiB", (("buffer_pct", buffer),
                                                          ("mean_idle_mib", idle)))]
    return []
