"""The host's profile (specs/protocol.md §1.1) in every format and command: a 2008 R2 SP1
scenario negotiates 0.3 after refusing 2.0 and 1.0 and its traces say so; ITF and logs carry
the profile and read back; files of before (no profile) read as ``qemu``; a bad profile name
is the usual one-line error naming file, field and value (exit 2), in a scenario, a trace, a
log and on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dynmem.model.vocabulary import VERSION_WIN7, HostProfile
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import initial_state
from dynmem.verification.cli.main import main
from dynmem.verification.codec import state_from_json, state_to_json
from dynmem.verification.explore.run import run_exploration
from dynmem.verification.scenarios.scenario import load_scenario
from dynmem.verification.traces.html import render_report
from dynmem.verification.traces.itf import read_itf, trace_from_itf, trace_to_itf
from dynmem.verification.traces.trace import Trace

ROOT = Path(__file__).resolve().parents[3]
WIN7_SCENARIO = ROOT / "verification" / "scenarios" / "win7-host-negotiates-0.3.json"


def _scenario(tmp_path: Path, host: dict[str, Any]) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "host": host, "vms": [{"name": "web", "dynamic": True, "startup_mib": 1024}],
        "events": [{"kind": "start", "vm": "web"}, {"kind": "settle"}]}))
    return path


def _one_line(capsys: pytest.CaptureFixture[str], code: int) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_2008r2sp1_scenario_reads_protocol_0_3_in_its_traces(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three proposals, 0.3 negotiated; the text, the ITF and the HTML name it."""
    out = tmp_path / "t.itf.json"
    assert main(["simulate", str(WIN7_SCENARIO), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "profile 2008r2sp1 (Windows Server 2008 R2 SP1: accepts protocol 0.3 (WIN7))" in text
    assert "proposes protocol 2.0 (WIN10) (the 2008r2sp1 host does not speak it)" in text
    assert "protocol 1.0 (WIN8) refused→0.3 (WIN7)*" in text
    trace = read_itf(out)
    assert trace.initial.host.profile == HostProfile.WS2008R2SP1
    assert trace.steps[-1].state.vms[0].protocol_version == VERSION_WIN7
    assert json.loads(out.read_text())["states"][0]["host"]["profile"] == "2008r2sp1"
    assert "MiB, profile 2008r2sp1 (" in render_report(trace)  # a word of the sentence


def test_host_json_keeps_the_default_out_and_round_trips() -> None:
    """``profile`` is written only when it is not qemu; either way it reads back exactly."""
    for profile in HostProfile:
        state = initial_state(HostSettings(4096, 1024, profile), (("a", VmSettings()),))
        data = state_to_json(state)
        assert ("profile" in data["host"]) == (profile != HostProfile.QEMU)
        assert state_from_json(json.loads(json.dumps(data)), "x.json") == state
        assert trace_from_itf(trace_to_itf(Trace(state)), "t.itf.json").initial == state
    old = {"host": {"physical_mib": 4096, "reserve_mib": 1024}, "free_mib": 3072, "vms": []}
    assert state_from_json(old, "old.json").host.profile == HostProfile.QEMU


def test_a_scenario_with_an_unknown_profile(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path, {"physical_mib": 8192, "reserve_mib": 1024, "profile": "2008r2"})
    line = _one_line(capsys, main(["simulate", str(path)]))
    assert line == (f"dynmem: {path}: host.profile = '2008r2': unknown host profile (did you "
                    f"mean '2008r2sp1'?); known: qemu, 2008r2sp1, 2012 (specs/protocol.md "
                    f"§1.1)")


def test_a_profile_that_is_not_a_string(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path, {"physical_mib": 8192, "reserve_mib": 1024, "profile": 1})
    line = _one_line(capsys, main(["simulate", str(path)]))
    assert f"{path}: host.profile = 1: must be a string" in line


def test_a_trace_with_an_unknown_profile(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.itf.json"
    assert main(["simulate", str(WIN7_SCENARIO), "--out", str(out)]) == 0
    capsys.readouterr()
    data = json.loads(out.read_text())
    data["states"][0]["host"]["profile"] = "2016"
    out.write_text(json.dumps(data))
    line = _one_line(capsys, main(["show", str(out)]))
    assert "states[0].host.profile = '2016'" in line and "unknown host profile" in line


def test_a_log_with_an_unknown_profile(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    initial = state_to_json(initial_state(HostSettings(8192, 1024)))
    initial["host"]["profile"] = "win7"
    header = {"type": "header", "format": "dynmem-log", "version": 1, "initial": initial}
    log = tmp_path / "host.jsonl"
    log.write_text(json.dumps(header) + "\n")
    line = _one_line(capsys, main(["check-trace", str(log)]))
    assert str(log) in line and "host.profile = 'win7'" in line


@pytest.mark.parametrize("command", [["explore"], ["fuzz"], ["bmc"], ["simulate", "x.json"]])
def test_an_unknown_profile_on_the_command_line(command: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line(capsys, main([*command, "--host-profile", "2008"]))
    assert "--host-profile = '2008': unknown host profile" in line and "2008r2sp1" in line


def test_the_explorer_on_a_2008r2sp1_host() -> None:
    """The 2-VM preset on a 2008 R2 SP1 host: clean, 22,149 states (the default host keeps
    its 20,773: the extra states are VMs whose host refused 2.0 and 1.0)."""
    result = run_exploration(2, host_profile=HostProfile.WS2008R2SP1)
    assert result.ok and result.complete
    assert (result.exploration.config.name, result.states) == ("2vm@2008r2sp1", 22_149)
    assert run_exploration(1, host_profile=HostProfile.WS2012).states == 225


def test_the_built_in_scenario_loads_its_profile() -> None:
    scenario = load_scenario(WIN7_SCENARIO)
    assert scenario.host.profile == HostProfile.WS2008R2SP1


def test_simulate_on_another_host(capsys: pytest.CaptureFixture[str]) -> None:
    """``simulate --host-profile`` replaces the scenario's host profile: on a 2012 host the
    2008 R2 SP1 scenario negotiates 1.0, so its pinned 0.3 is an unmet expectation."""
    code = main(["simulate", str(WIN7_SCENARIO), "--host-profile", "2012", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["final"]["profile"] == "2012"
    assert doc["final"]["vms"]["web"]["protocol_version"] == 0x00010000
