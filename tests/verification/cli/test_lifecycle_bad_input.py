"""Bad input in a field of a lifecycle event (specs/lifecycle.md) gets the usual one-line
error naming file, field and value, exit 2, never a traceback: in a scenario, in a trace
(ITF), in a recorded log, and on the wire (an IUT's answer, and an IUT served by
``serve_jsonl``)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from dynmem.reference.events import LIFECYCLE_EVENTS
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import initial_state
from dynmem.verification.cli.main import main
from dynmem.verification.codec import state_to_json
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.observation import requests_from_json
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl

# (event, the field path's tail, the value shown): one per field of every lifecycle kind
BAD_EVENTS: list[tuple[dict[str, Any], str, Any]] = [
    *[({"kind": cls.KIND, "vm": 7, **({"mib": 512} if cls.KIND == "migrate_in" else {})},
       "vm", 7) for cls in LIFECYCLE_EVENTS],
    *[({"kind": cls.KIND, "vm": "web", "mb": 1}, "mb", 1) for cls in LIFECYCLE_EVENTS],
    ({"kind": "migrate_in", "vm": "web"}, "mib", None),
    ({"kind": "migrate_in", "vm": "web", "mib": "512"}, "mib", "512"),
    ({"kind": "migrate_in", "vm": "web", "mib": -2}, "mib", -2),
    ({"kind": "migrate_in", "vm": "web", "mib": True}, "mib", True),
]
IDS = [f"{e['kind']}-{field}-{value!r}" for e, field, value in BAD_EVENTS]


def _one_line_error(capsys: pytest.CaptureFixture[str], code: int, source: str,
                    field: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert source in lines[0] and field in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(("event", "field", "value"), BAD_EVENTS, ids=IDS)
def test_scenario(event: dict[str, Any], field: str, value: Any, tmp_path: Path,
                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "host": {"physical_mib": 8192, "reserve_mib": 1024},
        "vms": [{"name": "web", "dynamic": True, "startup_mib": 512}],
        "events": [event]}))
    line = _one_line_error(capsys, main(["simulate", str(path)]), str(path),
                           f"events[0].{field}")
    assert (value is None and "is required" in line) or json.dumps(value) in line \
        or repr(value) in line


def test_scenario_guest_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A VM entry's guest profile (specs/lifecycle.md §1) is one of the three."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "host": {"physical_mib": 8192, "reserve_mib": 1024},
        "vms": [{"name": "web", "guest": "macos"}], "events": []}))
    line = _one_line_error(capsys, main(["simulate", str(path)]), str(path), "vms[0].guest")
    assert "macos" in line


@pytest.mark.parametrize(("event", "field", "value"), BAD_EVENTS[:3], ids=IDS[:3])
def test_trace(event: dict[str, Any], field: str, value: Any, tmp_path: Path,
               capsys: pytest.CaptureFixture[str]) -> None:
    """An ITF trace whose step names a lifecycle action with a bad pick."""
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({
        "host": {"physical_mib": 8192, "reserve_mib": 1024},
        "vms": [{"name": "web", "dynamic": True, "startup_mib": 512}],
        "events": [{"kind": "migrate_in", "vm": "web", "mib": 512}]}))
    trace = tmp_path / "t.itf.json"
    assert main(["simulate", str(scenario), "--out", str(trace)]) == 0
    capsys.readouterr()
    data = json.loads(trace.read_text())
    data["states"][1]["mbt::nondetPicks"]["mib"] = {"tag": "Some", "value": "lots"}
    trace.write_text(json.dumps(data))
    _one_line_error(capsys, main(["show", str(trace)]), str(trace), "mib")


@pytest.mark.parametrize(("event", "field", "value"), BAD_EVENTS, ids=IDS)
def test_log(event: dict[str, Any], field: str, value: Any, tmp_path: Path,
             capsys: pytest.CaptureFixture[str]) -> None:
    """A recorded log entry holding a bad lifecycle event (check-trace)."""
    initial = initial_state(HostSettings(8192, 1024), (("web", VmSettings()),))
    header = {"type": "header", "format": "dynmem-log", "version": 1,
              "initial": state_to_json(initial)}
    entry = {"event": event, "observed": {"free_mib": 7168, "vms": []}}
    log = tmp_path / "host.jsonl"
    log.write_text(json.dumps(header) + "\n" + json.dumps(entry) + "\n")
    _one_line_error(capsys, main(["check-trace", str(log)]), str(log), field)


@pytest.mark.parametrize(("event", "field", "value"), BAD_EVENTS, ids=IDS)
def test_wire_iut_side(event: dict[str, Any], field: str, value: Any) -> None:
    """An IUT served by ``serve_jsonl`` answers a bad lifecycle event with one error line."""
    stdin = io.StringIO(json.dumps({"type": "event", "step": 1, "event": event}) + "\n")
    stdout = io.StringIO()
    assert serve_jsonl(ReferenceSystem(), stdin, stdout) == 0
    (answer,) = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert answer["type"] == "error" and field in answer["message"]
    assert "\n" not in answer["message"]


@pytest.mark.parametrize("kind", [cls.KIND for cls in LIFECYCLE_EVENTS])
def test_wire_harness_side(kind: str) -> None:
    """An IUT that lists a lifecycle event among the DM requests it sent is refused."""
    event: dict[str, Any] = {"kind": kind, "vm": "web"}
    if kind == "migrate_in":
        event["mib"] = 512
    with pytest.raises(InputError, match=r"sent\[0\]\.kind"):
        requests_from_json([event], "IUT answer", "sent")
