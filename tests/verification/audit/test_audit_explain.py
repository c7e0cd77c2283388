"""The existential check: what the model explains passes; an impossible jump, an assigned
below startup and a sum above physical each fail naming the right clause, in the sample
check and in Z3's unsat core alike; and the two checks agree on random windows."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from audit_cases import ROOT

from dynmem.verification.audit import judge as judge_module
from dynmem.verification.audit.explain import check_window
from dynmem.verification.audit.judge import HostSpec, Judge
from dynmem.verification.audit.observations import Sample, VmConfig, VmObs
from dynmem.verification.audit.run import Options, run_audit

CONFIGS = {"web": VmConfig("web", True, 1024, 4096), "db": VmConfig("db", False, 2048, 2048)}
HOST = HostSpec(8192, 1024)


def _series(*rows: dict[str, VmObs]) -> list[Sample]:
    return [Sample(i * 1_000_000, f"s:{i + 2}", tuple(row.items())) for i, row in enumerate(rows)]


def _obs(a: int, v: int | None = None, add: int | None = None, rem: int | None = None) -> VmObs:
    return VmObs(assigned_mib=a, visible_mib=v, added_mib=add, removed_mib=rem)


def _judge(samples: list[Sample]) -> set[tuple[str, str]]:
    j = Judge(CONFIGS, HOST)
    for s in samples:
        j.feed(s)
    return set(j.counts)


def _core(samples: list[Sample]) -> set[str]:
    answer = check_window(samples, CONFIGS, HOST)
    assert answer.verdict == "unexplained", answer
    return {label.split(" vm=")[0] for label in answer.core}


GOOD = _series(
    {"web": _obs(1024, 1024, 0, 0), "db": _obs(2048, 2048)},
    {"web": _obs(2048, 2048, 1024, 0), "db": _obs(2048, 2048)},
    {"web": _obs(1536, 2048, 1024, 512), "db": _obs(2048, 2048)},
    {"web": _obs(2560, 2560, 2048, 512), "db": _obs(2048, 2048)},
)


def test_a_series_the_model_explains_passes() -> None:
    """Grow by hot-add, balloon, unballoon then hot-add: no finding, and Z3 finds a run."""
    assert _judge(GOOD) == set()
    assert check_window(GOOD, CONFIGS, HOST).verdict == "explained"


@pytest.mark.parametrize(("last", "clause"), [
    # Physical Memory jumps +1000 MiB with no Added Memory: memory from nowhere.
    ({"web": _obs(3560, 3560, 2560, 512)},
     "OBS-COUNTERS (physical moves = added - removed)"),
    # Physical Memory jumps past the maximum.
    ({"web": _obs(4608, 4608, 4096, 512)}, "INV-CEILING (visible <= maximum)"),
    # Physical Memory drops with no balloon (Removed Memory unchanged): host paging.
    ({"web": _obs(1024, 2560, 2048, 512)},
     "INV-NO-HOST-PAGING (assigned drops only by balloon response)"),
    # Guest visible memory shrinks while running.
    ({"web": _obs(2048, 2048, 2048, 1024)},
     "INV-NO-HOST-PAGING (visible never shrinks while running)"),
    # Ballooned below startup (counters consistent): only the floor breaks.
    ({"web": _obs(512, 2560, 2048, 2560)}, "INV-FLOOR (running dynamic => assigned >= startup)"),
    # The static VM is not at its size.
    ({"db": _obs(1024, 2048)}, "INV-STATIC (running static => visible = assigned = startup)"),
    # Both VMs together hold more than physical - reserve (web may grow: maximum 8192 here).
    ({"web": _obs(6144, 6144, 5632, 512)}, "INV-PHYSICAL (reserve + owned <= physical)"),
    # An odd move: amounts move in 2 MiB units.
    ({"web": _obs(2561, 2561, 2049, 512)}, "OBS-UNIT (moves are multiples of 2 MiB)"),
])
def test_an_impossible_sample_fails_naming_its_clause(last: dict[str, VmObs],
                                                      clause: str) -> None:
    """The sample check and Z3's core both name the broken clause."""
    configs = dict(CONFIGS)
    if "INV-PHYSICAL" in clause:
        configs["web"] = VmConfig("web", True, 1024, 8192)
    rows = [dict(s.vms) for s in GOOD]
    rows.append({**rows[-1], **last})
    samples = _series(*rows)
    j = Judge(configs, HOST)
    for s in samples:
        j.feed(s)
    assert clause in {f"{k[0]} ({k[1]})" for k in j.counts}, j.findings
    answer = check_window(samples, configs, HOST)
    assert answer.verdict == "unexplained"
    assert clause in {label.split(" vm=")[0] for label in answer.core}, answer.core


def test_sum_above_physical_without_settings_is_still_judged() -> None:
    """The host clause needs no VM settings: VMs the snapshot does not name still count."""
    samples = _series({"a": _obs(4096), "b": _obs(4096)})
    answer = check_window(samples, {}, HOST)
    assert answer.verdict == "unexplained"
    assert any(label.startswith("INV-PHYSICAL") for label in answer.core)


def test_unknown_is_reported_never_as_explained(tmp_path: Path) -> None:
    """With a resource limit too small to decide, the answer is unknown and the audit fails."""
    answer = check_window(GOOD, CONFIGS, HOST, rlimit=1)
    assert answer.verdict == "unknown"
    csv_path = ROOT / "examples" / "hosts" / "day-ok.csv"
    settings = ROOT / "examples" / "hosts" / "day-settings.json"
    result = run_audit([str(settings), str(csv_path)], Options(reserve_mib=2048, rlimit=1))
    assert not result.ok


def _random_window(rng: random.Random) -> list[Sample]:
    """A short random series of one dynamic VM: mostly honest moves, sometimes not."""
    a, v, add, rem = 1024, 1024, 0, 0
    rows = []
    for _ in range(rng.randint(2, 5)):
        kind = rng.choice(["grow", "balloon", "unballoon", "stay", "cheat", "odd"])
        if kind == "grow":
            n = rng.choice([2, 256, 2048]); a += n; v += n; add += n  # noqa: E702
        elif kind == "balloon":
            n = rng.choice([2, 256, 1024]); a -= n; rem += n  # noqa: E702
        elif kind == "unballoon" and v > a:
            n = v - a; a += n; add += n  # noqa: E702
        elif kind == "cheat":
            a += rng.choice([-512, 512])
        elif kind == "odd":
            a += 1; v += 1; add += 1  # noqa: E702
        rows.append({"web": _obs(a, v if rng.random() < 0.7 else None, add, rem)})
    return _series(*rows)


def test_the_sample_check_and_z3_agree_on_random_windows() -> None:
    """Differential: a window has a finding exactly when Z3 finds no run explaining it."""
    rng = random.Random(17)
    seen = {True: 0, False: 0}
    for _ in range(150):
        samples = _random_window(rng)
        flagged = bool(_judge(samples))
        verdict = check_window(samples, CONFIGS, HOST).verdict
        assert verdict != "unknown"
        assert flagged == (verdict == "unexplained"), (samples, _judge(samples))
        seen[flagged] += 1
    assert min(seen.values()) > 20  # both outcomes were exercised


@pytest.mark.parametrize(("kind", "clause"), [
    ("floor", "INV-FLOOR"), ("jump", "OBS-COUNTERS"), ("physical", "INV-PHYSICAL")])
def test_planted_breaks_in_generated_series_are_caught(tmp_path: Path, kind: str,
                                                       clause: str) -> None:
    """The generator's planted bug is found, and it is the only clause found."""
    out, settings = tmp_path / "s.csv", tmp_path / "s.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_host_series.py"),
                    "--vms", "3", "--seconds", "40", "--physical-mib", "16384",
                    "--break", kind, "--out", str(out), "--settings", str(settings)],
                   check=True)
    result = run_audit([str(settings), str(out)], Options(reserve_mib=2048))
    stream = result.streams[-1]
    assert {inv for inv, _ in stream.counts} - {"OBS-BALANCER"} == {clause}
    assert any(label.startswith(clause) for e in stream.explanations for label in e.core)


def test_the_floor_check_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted bug in the checker: a judge whose floor is 0 misses the planted floor break,
    so the test above would catch a checker that stopped judging the floor."""
    samples = _series({"web": _obs(512)})
    assert ("INV-FLOOR", "running dynamic => assigned >= startup") in _judge(samples)
    monkeypatch.setattr(judge_module, "get_floor", lambda config, floor: 0)
    assert _judge(samples) == set()
