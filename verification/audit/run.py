"""One audit: read every file, judge every stream, explain findings with Z3, advise.

Files are told apart by their content (specs/audit.md §1): a PDH CSV log starts with
``"(PDH-CSV 4.0)``, a QMP transcript's first line is a QMP message, anything else JSON is a
snapshot. Snapshots are read first (they carry the settings); then each series streams
through a :class:`Judge`, an :class:`Advisor`, a window of the last samples for Z3 and a
decimated copy for plots, all of bounded size.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence

import attrs

from dynmem.verification.audit.advice import Advice, Advisor, get_demand
from dynmem.verification.audit.explain import DEFAULT_RLIMIT, Explanation, check_window
from dynmem.verification.audit.judge import Finding, HostSpec, Judge
from dynmem.verification.audit.observations import Sample, VmConfig
from dynmem.verification.audit.pdh import PdhLayout, iter_pdh
from dynmem.verification.audit.qmp import QmpStats, iter_qmp
from dynmem.verification.audit.snapshot import compute_merged, read_snapshot
from dynmem.verification.audit.units import raise_bad

PLOT_POINTS = 1024


# ``on_progress(path, samples read, Z3 windows decided)``: called every PROGRESS_SAMPLES
# samples of a file and after each Z3 window (counts, never a clock).
AuditProgress = Callable[[str, int, int], None]
PROGRESS_SAMPLES = 1_000


@attrs.frozen
class Options:
    """What the command line chose (specs/audit.md §5)."""

    physical_mib: int | None = None
    reserve_mib: int = 0
    floor: str = "startup"
    window: int = 8
    z3_windows: int = 20
    exact: bool = False
    rlimit: int = DEFAULT_RLIMIT
    vm_size_mib: int = 2048
    qmp_vm: str | None = None
    keep_series: bool = False


@attrs.define
class Decimator:
    """At most ``capacity`` points of a long series: every ``stride``-th, stride doubling."""

    capacity: int = PLOT_POINTS
    stride: int = 1
    seen: int = 0
    points: list[tuple[int, int, int | None]] = attrs.Factory(list)

    def add(self, point: tuple[int, int, int | None]) -> None:
        if self.seen % self.stride == 0:
            self.points.append(point)
            if len(self.points) >= self.capacity:
                self.points = self.points[::2]
                self.stride *= 2
        self.seen += 1


@attrs.define
class StreamResult:
    """One file's verdict: samples, findings (first ones in full), Z3 explanations."""

    source: str
    kind: str
    samples: int = 0
    findings: list[Finding] = attrs.Factory(list)
    counts: dict[tuple[str, str], int] = attrs.Factory(dict)
    explanations: list[Explanation] = attrs.Factory(list)
    disagreements: list[str] = attrs.Factory(list)
    series: dict[str, Decimator] = attrs.Factory(dict)
    first_us: int | None = None
    last_us: int | None = None


@attrs.define
class AuditResult:
    """Everything one audit found: per-stream verdicts, advice, notes, unknown fields."""

    streams: list[StreamResult]
    advice: list[Advice]
    configs: dict[str, VmConfig]
    host: HostSpec
    unknown_fields: list[str]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return all(not s.counts and not s.disagreements
                   and all(e.verdict == "explained" for e in s.explanations)
                   for s in self.streams)


def get_kind(path: str) -> str:
    """``pdh``, ``qmp`` or ``snapshot``, from the first bytes of the file."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            head = handle.read(4096)
    except OSError as err:
        raise_bad(path, "", None, f"cannot read the file: {err.strerror}")
    except UnicodeDecodeError as err:
        raise_bad(path, "", None, f"is not UTF-8 text: {err.reason} at byte {err.start}")
    text = head.lstrip()
    if text.startswith('"(PDH-CSV') or text.startswith("(PDH-CSV"):
        return "pdh"
    first = text.split("\n", 1)[0].strip()
    try:
        obj = json.loads(first)
    except json.JSONDecodeError:
        obj = None
    if isinstance(obj, dict) and obj.keys() & {"QMP", "execute", "event", "return", "error"}:
        return "qmp"
    if text.startswith(("{", "[")):
        return "snapshot"
    raise_bad(path, "", text[:40], "is neither a PDH CSV log, a QMP transcript nor a JSON "
                                   "snapshot (Get-VM / Get-VMMemory / Get-VMHost)")


def _samples(path: str, kind: str, options: Options, unknown: list[str],
             notes: list[str]) -> Iterator[Sample]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        if kind == "pdh":
            for item in iter_pdh(handle, path):
                if isinstance(item, PdhLayout):
                    unknown.extend(item.unknown_fields)
                else:
                    yield item
            return
        stats = QmpStats()
        vm = options.qmp_vm or os.path.splitext(os.path.basename(path))[0]
        yield from iter_qmp(handle, path, vm, stats)
        unknown.extend(stats.unknown_fields)
        if stats.inexact_values:
            notes.append(f"{path}: {stats.inexact_values} byte amounts were not whole MiB: "
                         "actual rounded down, committed rounded up (specs/audit.md §1.3)")


def _stream(path: str, kind: str, samples: Iterator[Sample], configs: dict[str, VmConfig],
            host: HostSpec, advisor: Advisor, options: Options,
            on_progress: AuditProgress | None = None) -> StreamResult:
    result = StreamResult(path, kind)
    judge = Judge(configs, host, options.floor)
    size = max(2, options.window)
    window: deque[Sample] = deque(maxlen=size)
    found_in: deque[tuple[int, int]] = deque(maxlen=size)
    since_check = 0
    for seen, sample in enumerate(samples, start=1):
        if on_progress is not None and seen % PROGRESS_SAMPLES == 0:
            on_progress(path, seen, len(result.explanations))
        window.append(sample)
        found = judge.feed(sample)
        found_in.append(found)
        advisor.feed(sample)
        if options.keep_series:
            _keep(result, sample)
        result.first_us = sample.time_us if result.first_us is None else result.first_us
        result.last_us = sample.time_us
        since_check += 1
        full = len(window) == size
        if options.exact:
            due = full and since_check >= size - 1
        else:
            due = (sum(found) > 0 or (full and not result.explanations)) \
                and len(result.explanations) < options.z3_windows
        if due:
            flagged = sum(f[0] for f in found_in) + sum(f[1] for f in list(found_in)[1:])
            _explain(result, list(window), flagged > 0, configs, host, options)
            since_check = 1
            if on_progress is not None:  # a Z3 window takes a while: say so at once
                on_progress(path, seen, len(result.explanations))
    result.samples, result.findings, result.counts = judge.samples, judge.findings, judge.counts
    return result


def _keep(result: StreamResult, sample: Sample) -> None:
    for vm, obs in sample.vms:
        if obs.assigned_mib is not None:
            series = result.series.get(vm)
            if series is None:
                series = result.series[vm] = Decimator()
            series.add((sample.time_us, obs.assigned_mib, get_demand(obs)))


def _explain(result: StreamResult, window: list[Sample], flagged: bool,
             configs: dict[str, VmConfig], host: HostSpec, options: Options) -> None:
    answer = check_window(window, configs, host, options.floor, options.rlimit)
    result.explanations.append(answer)
    if answer.verdict == "explained" and flagged:
        result.disagreements.append(f"window {answer.first}..{answer.last}: the sample check "
                                    "found a violation but Z3 explains the window")
    if answer.verdict == "unexplained" and not flagged:
        result.disagreements.append(f"window {answer.first}..{answer.last}: Z3 explains no "
                                    "run but the sample check found nothing")


def _configs(paths: Sequence[tuple[str, str]], physical: int | None,
             unknown: list[str]) -> tuple[dict[str, VmConfig], int | None, list[Sample]]:
    configs: dict[str, VmConfig] = {}
    samples: list[Sample] = []
    for path, kind in paths:
        if kind != "snapshot":
            continue
        snap = read_snapshot(path)
        unknown.extend(snap.unknown_fields)
        for config in snap.configs:
            old = configs.get(config.name)
            configs[config.name] = config if old is None else compute_merged(old, config, path)
        if snap.physical_mib is not None and physical is None:
            physical = snap.physical_mib
        if snap.sample is not None:
            samples.append(snap.sample)
    return configs, physical, samples


def run_audit(paths: Sequence[str], options: Options,
              on_progress: AuditProgress | None = None) -> AuditResult:
    """Audit ``paths`` (snapshots, PDH logs, QMP transcripts) under ``options``;
    ``on_progress(path, samples, z3_windows)`` as a file's series is read."""
    kinds = [(path, get_kind(path)) for path in paths]
    unknown: list[str] = []
    notes: list[str] = []
    configs, physical, snaps = _configs(kinds, options.physical_mib, unknown)
    host = HostSpec(physical, options.reserve_mib)
    if physical is None:
        notes.append("physical memory unknown (no Get-VMHost object, no --physical-mib): "
                     "host-wide clauses and host advice are not judged")
    if options.reserve_mib == 0:
        notes.append("host reserve taken as 0 MiB (--reserve-mib sets it)")
    advisor = Advisor(configs, host, options.vm_size_mib)
    streams = []
    for sample in snaps:
        streams.append(_stream(sample.where, "snapshot", iter([sample]), configs, host,
                               advisor, options))
    for path, kind in kinds:
        if kind != "snapshot":
            samples = _samples(path, kind, options, unknown, notes)
            streams.append(_stream(path, kind, samples, configs, host, advisor, options,
                                   on_progress))
    return AuditResult(streams, advisor.advise(), configs, host, unknown, notes)
