"""Attacks on the other inputs: scenario files and check-trace logs. Each is refused with
one line naming the file, the path and the limit (exit 2), or judged (a verdict); values
echoed in messages are cut; control characters never reach the terminal raw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fault_cases import OK_SCENARIO, expect_exit_2, expect_verdict, run_cli

from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import initial_state
from dynmem.verification.codec import state_to_json


def _scenario() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(OK_SCENARIO.read_text())
    data.pop("expect", None)
    return data


def _header(names: tuple[str, ...] = ("a",)) -> dict[str, Any]:
    state = initial_state(HostSettings(4096, 1024), tuple((n, VmSettings()) for n in names))
    return {"type": "header", "format": "dynmem-log", "version": 1,
            "initial": state_to_json(state)}


class TestScenarios:
    @pytest.mark.parametrize("text,words", [
        ("[" * 100_000 + "]" * 100_000, ("nested more than 64 levels",)),
        ('{"host": {"physical_mib": ' + "9" * 5000 + "}}",
         ("host.physical_mib", "an integer of 5000 digits", "at most 40")),
        ('{"host": {"physical_mib": 1, "physical_mib": 2}}', ("given twice",)),
        ('{"description": "\\udc80"}', ("description", "lone surrogate")),
    ], ids=["deep", "bigint", "duplicate", "surrogate"])
    def test_reader_bounds(self, text: str, words: tuple[str, ...], tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "s.json"
        path.write_text(text)
        expect_exit_2(run_cli(capsys, ["simulate", str(path)]), str(path), *words)

    def test_surrogate_vm_name(self, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "s.json"
        path.write_text(json.dumps(_scenario()).replace('"legacy"', '"\\ud800"'))
        expect_exit_2(run_cli(capsys, ["simulate", str(path)]), "lone surrogate")

    def test_long_value_is_cut_in_the_message(self, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
        data = _scenario()
        data["host"]["physical_mib"] = "x" * 1_000_000
        path = tmp_path / "s.json"
        path.write_text(json.dumps(data))
        outcome = run_cli(capsys, ["simulate", str(path)])
        expect_exit_2(outcome, "host.physical_mib", "(1,000,002 characters)")
        assert len(outcome.err) < 400

    def test_control_characters_in_names_are_escaped(
            self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "s.json"
        path.write_text(json.dumps(_scenario()).replace('"legacy"', '"\\u001b]0;pwned\\u0007"'))
        outcome = run_cli(capsys, ["simulate", str(path)])
        expect_verdict(outcome, 0)
        assert "\x1b" not in outcome.out + outcome.err and "\\x1b]0;pwned\\x07" in outcome.out

    def test_file_too_large(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "s.json"
        with open(path, "wb") as handle:
            handle.truncate(100_000_000)
        expect_exit_2(run_cli(capsys, ["simulate", str(path)]), "the file is 100,000,000 bytes")


class TestCheckTraceLogs:
    def _run(self, tmp_path: Path, capsys: pytest.CaptureFixture[str],
             lines: list[str]) -> Any:
        path = tmp_path / "log.jsonl"
        path.write_text("\n".join(lines) + "\n")
        return run_cli(capsys, ["check-trace", str(path)])

    def test_duplicate_key_in_an_entry(self, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
        entry = ('{"event": {"kind": "start", "vm": "a"}, "event": {"kind": "stop", "vm": '
                 '"a"}, "observed": {"free_mib": 0, "vms": []}}')
        outcome = self._run(tmp_path, capsys, [json.dumps(_header()), entry])
        expect_exit_2(outcome, "line 2.event", "given twice")

    def test_duplicate_key_in_the_header(self, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
        text = json.dumps(_header())[:-1] + ', "version": 1}'
        expect_exit_2(self._run(tmp_path, capsys, [text]), "line 1.version", "given twice")

    def test_header_with_two_vms_of_one_name(self, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
        """Bad input (exit 2), not a model violation (exit 1)."""
        outcome = self._run(tmp_path, capsys, [json.dumps(_header(("a", "a")))])
        expect_exit_2(outcome, "line 1.initial.vms[1].name", "names a VM twice")

    @pytest.mark.parametrize("entry,words", [
        ("[" * 100_000 + "]" * 100_000, ("line 2", "nested more than 64 levels")),
        ('{"event": {"kind": "demand", "vm": "a", "mib": ' + "9" * 5000 + "}}",
         ("line 2.event.mib", "an integer of 5000 digits")),
        ('{"event": {"kind": "start", "vm": "\\ud800"}, "observed": {}}',
         ("line 2.event.vm", "lone surrogate")),
        ('{"event": "' + "x" * 2_000_000 + '"}', ("line 2", "longer than 1,048,576")),
    ], ids=["deep", "bigint", "surrogate", "long-line"])
    def test_line_bounds(self, entry: str, words: tuple[str, ...], tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
        outcome = self._run(tmp_path, capsys, [json.dumps(_header()), entry])
        expect_exit_2(outcome, *words)
        assert len(outcome.err) < 600


@pytest.mark.parametrize("name", ["a\nverdict: ok", "a\rb", "a\u2028b"],
                         ids=["newline", "cr", "line-separator"])
def test_a_vm_name_is_one_line(name: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """A line break in a VM name could forge a line of a report: refused (exit 2), in a
    scenario and in a log header alike."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps(_scenario()).replace('"legacy"', json.dumps(name)))
    expect_exit_2(run_cli(capsys, ["simulate", str(path)]), "vms[0].name",
                  "must not contain a line break")
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps(_header((name,))) + "\n")
    expect_exit_2(run_cli(capsys, ["check-trace", str(log)]), "line 1.initial.vms[0].name",
                  "must not contain a line break")


class TestPromotedCases:
    @pytest.mark.parametrize("name", ["../escaped", "/tmp/abs", "..", "a/b", "x" * 300])
    def test_a_case_name_cannot_leave_out(self, name: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
        """A promoted case's name becomes a folder of OUT: a path in it is refused."""
        case = tmp_path / "case"
        case.mkdir()
        (case / "meta.json").write_text(json.dumps(
            {"name": name, "kind": "exact", "expected": "x", "fingerprint": "f"}))
        outcome = run_cli(capsys, ["vectors", str(tmp_path / "out"), "--promote", str(case)])
        expect_exit_2(outcome, "meta.json", "must be a case name")
        assert not (tmp_path / "escaped").exists()

    def test_meta_with_a_duplicate_key(self, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
        case = tmp_path / "case"
        case.mkdir()
        (case / "meta.json").write_text('{"name": "a", "name": "b"}')
        outcome = run_cli(capsys, ["vectors", str(tmp_path / "out"), "--promote", str(case)])
        expect_exit_2(outcome, "meta.json", "given twice")
