"""Right-sizing advice, on the seed's figure 2 and on series, with the numbers it rests on."""

from __future__ import annotations

from audit_cases import HOSTS

from dynmem.verification.audit.advice import Advisor, compute_wanted
from dynmem.verification.audit.judge import HostSpec
from dynmem.verification.audit.observations import Sample, VmConfig, VmObs
from dynmem.verification.audit.run import Options, run_audit


def _advisor(configs: dict[str, VmConfig], host: HostSpec,
             rows: list[dict[str, VmObs]]) -> Advisor:
    advisor = Advisor(configs, host)
    for i, row in enumerate(rows):
        advisor.feed(Sample(i, f"s:{i}", tuple(row.items())))
    return advisor


def test_figure_2_gets_lower_startup_with_its_numbers() -> None:
    """2048 MiB assigned, 1085 MiB used: lower startup to 1085 + 20 % = 1302 MiB."""
    files = [str(HOSTS / f) for f in ("fig2-get-vm.json", "fig2-get-vmmemory.json",
                                      "host-get-vmhost.json")]
    result = run_audit(files, Options(reserve_mib=2048))
    assert result.ok
    advice = {a.code: a for a in result.advice if a.vm == "Hyper-V.nu"}
    lower = advice["LOWER-STARTUP"]
    assert dict(lower.numbers) == {"startup_mib": 2048, "steady_demand_mib": 1085,
                                   "buffer_pct": 20, "advised_mib": 1302, "frees_mib": 746}
    assert lower.text.startswith("Hyper-V.nu: lower startup from 2048 to 1302 MiB")
    assert not any(a.vm == "Exchange" for a in result.advice)  # static, demand 0: no DM


def test_wanted_size_is_the_unclamped_target() -> None:
    """The advised size is P-TARGET without the clamp: ceil_to_2(ceil(d × 1.2))."""
    assert compute_wanted(1085, 20) == 1302
    assert compute_wanted(1001, 20) == 1202


def test_buffer_too_small_when_pressure_is_often_above_100() -> None:
    """Pressure above 100 in 5 % or more of the samples: the buffer is too small."""
    config = {"web": VmConfig("web", True, 1024, 8192, buffer_pct=10)}
    rows = [{"web": VmObs(assigned_mib=2048, pressure=120 if i % 4 == 0 else 90)}
            for i in range(40)]
    advice = _advisor(config, HostSpec(None, 0), rows).advise()
    small = [a for a in advice if a.code == "BUFFER-TOO-SMALL"]
    assert small and dict(small[0].numbers) == {"buffer_pct": 10, "samples_over_100": 10,
                                                "samples": 40}


def test_maximum_hit_and_never_approached() -> None:
    """At maximum in 10 % of samples: raise it; peak at most half of it: never approached."""
    configs = {"hot": VmConfig("hot", True, 1024, 2048), "cold": VmConfig("cold", True, 512,
                                                                          8192)}
    rows = [{"hot": VmObs(assigned_mib=2048, demand_mib=2100),
             "cold": VmObs(assigned_mib=512, demand_mib=400)} for _ in range(12)]
    codes = {(a.code, a.vm) for a in _advisor(configs, HostSpec(None, 0), rows).advise()}
    assert ("MAXIMUM-HIT", "hot") in codes and ("MAXIMUM-NEVER-APPROACHED", "cold") in codes


def test_seed_static_host_counts_how_many_more_vms_start() -> None:
    """32 GiB host, 2 GiB reserve, 2 GiB static VMs: 15 fit; with 14 running one more starts."""
    configs = {f"s{i}": VmConfig(f"s{i}", False, 2048, 2048) for i in range(15)}
    host = HostSpec(32768, 2048)
    for running, more in ((15, 0), (14, 1)):
        row = {f"s{i}": VmObs(assigned_mib=2048, running=True) for i in range(running)}
        advice = {a.code: a for a in _advisor(configs, host, [row]).advise()}
        assert dict(advice["MORE-VMS"].numbers)["more_vms"] == more
        assert "would fit" in advice["STATIC-FIT"].text


def test_weights_that_never_mattered() -> None:
    """Non-default weights with no contention are named, with the least headroom."""
    configs = {"a": VmConfig("a", True, 512, 4096, weight=8000),
               "b": VmConfig("b", True, 512, 4096, weight=5000)}
    rows = [{"a": VmObs(assigned_mib=1024, demand_mib=800),
             "b": VmObs(assigned_mib=1024, demand_mib=800)}]
    advice = _advisor(configs, HostSpec(8192, 1024), rows).advise()
    weight = [a for a in advice if a.code == "WEIGHT-NEVER-MATTERED"]
    assert weight and "a 8000" in weight[0].text and dict(weight[0].numbers)[
        "min_headroom_mib"] == 5120


def test_low_and_warning_status_periods() -> None:
    """Memory Status Low/Warning from snapshots is reported with its first and last time."""
    config = {"web": VmConfig("web", True, 1024, 4096)}
    rows = [{"web": VmObs(assigned_mib=1024, status=s)} for s in ("OK", "Warning", "Warning")]
    advice = _advisor(config, HostSpec(None, 0), rows).advise()
    status = [a for a in advice if a.code == "STATUS-WARNING"]
    assert status and dict(status[0].numbers) == {"first_us": 1, "last_us": 2}
