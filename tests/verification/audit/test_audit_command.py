"""``dynmem audit`` end to end: the documented samples, --json, --scenario replayed by
``dynmem simulate``, --html, --plot, and bounded memory on long series."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from audit_cases import HOSTS, run_cli, settings, write_pdh

from dynmem.verification.audit.run import Decimator


def _hosts(*names: str) -> list[str]:
    return [str(HOSTS / n) for n in names]


def test_figure_2_passes_with_lower_startup_advice() -> None:
    """The figure-2 snapshot is explained and gets the seed's advice with numbers."""
    code, out, err = run_cli(_hosts("fig2-get-vm.json", "fig2-get-vmmemory.json",
                                    "host-get-vmhost.json") + ["--reserve-mib", "2048"])
    assert code == 0  # stderr: only the summary with the times (issue 16, item 4)
    assert err.startswith("audit: ok, 1 sample, 0 Z3 windows (") and err.count("\n") == 1
    assert ("[LOWER-STARTUP] Hyper-V.nu: lower startup from 2048 to 1302 MiB: steady demand "
            "1085 MiB (p95 of 1 sample) + buffer 20% = 1302 MiB; frees 746 MiB") in out


def test_day_ok_passes_and_day_floor_fails_with_its_reason() -> None:
    """The passing series exits 0; the failing one exits 1 naming INV-FLOOR and the line."""
    code, out, _ = run_cli(_hosts("day-settings.json", "day-ok.csv") + ["--reserve-mib", "2048"])
    assert code == 0 and "verdict: OK" in out
    code, out, _ = run_cli(_hosts("day-settings.json", "day-floor.csv")
                           + ["--reserve-mib", "2048"])
    assert code == 1
    assert "✗ INV-FLOOR (running dynamic => assigned >= startup): 1 sample(s)" in out
    assert "day-floor.csv:152: vm02: physical memory 1024 MiB < startup 2048 MiB" in out
    assert "core: INV-FLOOR (running dynamic => assigned >= startup) vm=vm02" in out


def test_qmp_sample_passes_with_a_rounding_note() -> None:
    """The QMP transcript is explained; rounded byte amounts are noted."""
    code, out, _ = run_cli(_hosts("qemu-vm1-settings.json", "qemu-vm1.qmp.jsonl"))
    assert code == 0 and "3 byte amounts were not whole MiB" in out


def test_json_is_one_document() -> None:
    """--json prints exactly one JSON document whose ok matches the exit code."""
    code, out, _ = run_cli(_hosts("day-settings.json", "day-floor.csv")
                           + ["--reserve-mib", "2048", "--json"])
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert doc["streams"][0]["by_clause"] == [
        {"invariant": "INV-FLOOR", "clause": "running dynamic => assigned >= startup",
         "count": 1}]


def test_scenario_replays_through_simulate(tmp_path: Path) -> None:
    """--scenario writes a scenario that the existing ``dynmem simulate`` accepts."""
    out = tmp_path / "host.json"
    code, _, err = run_cli(_hosts("day-settings.json", "day-ok.csv")
                           + ["--reserve-mib", "2048", "--scenario", str(out)])
    assert code == 0, err
    scenario = json.loads(out.read_text())
    assert scenario["host"] == {"physical_mib": 16384, "reserve_mib": 2048}
    assert [vm["name"] for vm in scenario["vms"]] == ["vm00", "vm01", "vm02"]
    dynmem = Path(sys.executable).with_name("dynmem")
    run = subprocess.run([str(dynmem), "simulate", str(out)], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr


def test_scenario_needs_physical_memory(tmp_path: Path) -> None:
    """Without the host's memory there is no scenario: bad input, one line."""
    code, _, err = run_cli(_hosts("qemu-vm1-settings.json", "qemu-vm1.qmp.jsonl")
                           + ["--scenario", str(tmp_path / "x.json")])
    assert code == 2 and "needs the host's physical memory" in err


def test_html_and_plot_are_written(tmp_path: Path) -> None:
    """--html writes a page with the advice; --plot a PNG."""
    page, png = tmp_path / "a.html", tmp_path / "a.png"
    code, _, _ = run_cli(_hosts("day-settings.json", "day-ok.csv")
                         + ["--html", str(page), "--plot", str(png)])
    assert code == 0
    assert "<svg" in page.read_text() and "MORE-VMS" in page.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_option_is_exit_2() -> None:
    """A bad option value is a usage error (exit 2)."""
    code, _, _ = run_cli(_hosts("day-ok.csv") + ["--reserve-mib", "-1"])
    assert code == 2


def test_missing_samples_are_not_observed(tmp_path: Path) -> None:
    """A single space (PDH's missing sample) is skipped, not read as 0 or an error."""
    cfg = settings(tmp_path / "s.json", {"web": (True, 1024, 4096)}, physical_mib=8192)
    log = write_pdh(tmp_path / "a.csv", ["web"], [
        {"web": ["1024", "1024", "0", "0", "50"]},
        {"web": [" ", " ", " ", " ", " "]},
        {"web": ["1536", "1536", "512", "0", "50"]},
    ])
    code, out, _ = run_cli([str(cfg), str(log)])
    assert code == 0, out


def test_plot_series_stay_bounded() -> None:
    """The decimated copy for plots never holds more than its capacity (constant memory)."""
    d = Decimator(capacity=64)
    for t in range(100_000):
        d.add((t, t, None))
    assert len(d.points) <= 64 and d.points[0][0] == 0
