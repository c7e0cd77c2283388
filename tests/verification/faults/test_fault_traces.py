"""Attacks on trace files read by ``show`` and ``shrink``: the verdict is the re-check's.

A trace file is a claim. Forged states, forged or hidden findings, impossible steps, a host
or VMs that change where nothing can change them: ``show`` judges the trace again (every step
replayed, every invariant checked) and its exit code follows that judgement. Files that are
not dynmem traces, or go beyond the reader's bounds, are exit 2 with one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from fault_cases import OK_SCENARIO, expect_exit_2, expect_verdict, run_cli

from dynmem.verification.traces.itf import VARS

Doc = dict[str, Any]


def _trace_doc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Doc:
    """The ITF document of a real, clean run (``simulate --out``)."""
    out = tmp_path / "clean.itf.json"
    assert run_cli(capsys, ["simulate", str(OK_SCENARIO), "--out", str(out)]).code == 0
    doc: Doc = json.loads(out.read_text())
    return doc


def _big(value: int) -> dict[str, str]:
    return {"#bigint": str(value)}


def _vm_records(state: Doc) -> list[list[Any]]:
    records: list[list[Any]] = state["vms"]["#map"]
    return records


def _forge_free(doc: Doc) -> None:
    """``free 128→-64`` at the last step, no finding listed."""
    doc["states"][-1]["free_mib"] = _big(-64)


def _forge_finding(doc: Doc) -> None:
    doc["#meta"]["status"] = "violation"
    doc["#meta"]["findings"] = [{"step": _big(2), "invariant": "INV-PHYSICAL",
                                 "clause": "forged", "vm": {"tag": "None",
                                                             "value": {"#tup": []}},
                                 "message": "made up"}]


def _channel_7(doc: Doc) -> None:
    _vm_records(doc["states"][-1])[0][1]["channel"] = _big(7)


def _free_huge_negative(doc: Doc) -> None:
    doc["states"][-1]["free_mib"] = _big(-10**23)


def _host_changes(doc: Doc) -> None:
    doc["states"][-1]["host"]["physical_mib"] = _big(32768)


def _vm_renamed(doc: Doc) -> None:
    _vm_records(doc["states"][-1])[0][0] = "renamed"


def _event_names_ghost(doc: Doc) -> None:
    state = doc["states"][1]
    state["mbt::nondetPicks"]["vm"] = {"tag": "Some", "value": "ghost"}


def _step_not_the_reference(doc: Doc) -> None:
    """A step whose recorded state is not what the event does (assigned moves by itself)."""
    record = _vm_records(doc["states"][-1])[0][1]
    record["visible_mib"] = _big(int(record["visible_mib"]["#bigint"]) + 2)


# (name, forgery, expected exit, words the output must hold)
FORGERIES: list[tuple[str, Callable[[Doc], None], int, tuple[str, ...]]] = [
    ("free-negative", _forge_free, 1, ("AUX-FREE",)),
    ("forged-finding", _forge_finding, 0,
     ("re-check: the file claims INV-PHYSICAL (forged) at step 2; re-checking finds no "
      "such violation",)),
    ("channel-7", _channel_7, 1, ("INV-TYPE",)),
    ("free-minus-1e23", _free_huge_negative, 1, ("AUX-FREE",)),
    ("host-changes", _host_changes, 1, ("TRACE-SHAPE", "the host changes")),
    ("vm-renamed", _vm_renamed, 1, ("TRACE-SHAPE",)),
    ("event-names-ghost", _event_names_ghost, 1, ("TRACE-STEP", "'ghost'")),
    ("not-the-reference", _step_not_the_reference, 1, ("TRACE-STEP",)),
]


class TestShowRechecks:
    @pytest.mark.parametrize("name,forge,code,words", FORGERIES,
                             ids=[f[0] for f in FORGERIES])
    def test_verdict_from_the_recheck(self, name: str, forge: Callable[[Doc], None],
                                      code: int, words: tuple[str, ...], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
        doc = _trace_doc(tmp_path, capsys)
        forge(doc)
        path = tmp_path / f"{name}.itf.json"
        path.write_text(json.dumps(doc))
        outcome = run_cli(capsys, ["show", str(path)])
        expect_verdict(outcome, code)
        for word in words:
            assert word in outcome.out, (word, outcome.out[-2000:])

    @pytest.mark.parametrize("name,forge,code,words", FORGERIES[:3],
                             ids=[f[0] for f in FORGERIES[:3]])
    def test_shrink_takes_the_rechecked_verdict(
            self, name: str, forge: Callable[[Doc], None], code: int, words: tuple[str, ...],
            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """``shrink`` of a forged trace: exit 2 (nothing to shrink) or a verdict; never
        a traceback."""
        doc = _trace_doc(tmp_path, capsys)
        forge(doc)
        path = tmp_path / f"{name}.itf.json"
        path.write_text(json.dumps(doc))
        outcome = run_cli(capsys, ["shrink", str(path)])
        if outcome.code == 2:  # after its one progress line, the refusal
            expect_exit_2(attrs.evolve(outcome, err=outcome.err.splitlines()[-1] + "\n"),
                          str(path), "re-checking the trace finds no violation"
                          if name == "forged-finding" else "is not violated when")
        else:
            expect_verdict(outcome)


class TestBadTraceFiles:
    def test_variables_not_dynmems(self, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "other.itf.json"
        path.write_text(json.dumps({"vars": ["x", "y"], "states": [{"x": 1, "y": 2}]}))
        expect_exit_2(run_cli(capsys, ["show", str(path)]), "vars",
                      "must list exactly host, free_mib, vms")

    @pytest.mark.parametrize("text,words", [
        ("[" * 100_000 + "]" * 100_000, ("nested more than 64 levels",)),
        ('{"vars": ' + json.dumps(list(VARS)) + ', "#meta": {"dynmem-format": {"#bigint": "'
         + "9" * 5000 + '"}}}', ("an integer of 5000 digits",)),
        ('{"vars": [], "vars": []}', ("given twice",)),
        ('{"#meta": {"source": "\\ud800"}}', ("lone surrogate",)),
        ('{"#meta": NaN}', ("NaN is not a JSON value",)),
    ], ids=["deep", "bigint", "duplicate", "surrogate", "nan"])
    def test_reader_bounds(self, text: str, words: tuple[str, ...], tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "t.itf.json"
        path.write_text(text)
        for command in ("show", "shrink"):
            expect_exit_2(run_cli(capsys, [command, str(path)]), *words)

    def test_bigint_in_a_state(self, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
        doc = _trace_doc(tmp_path, capsys)
        doc["states"][1]["free_mib"] = {"#bigint": "9" * 5000}
        path = tmp_path / "t.itf.json"
        path.write_text(json.dumps(doc))
        expect_exit_2(run_cli(capsys, ["show", str(path)]), "states[1].free_mib",
                      "an integer of 5000 digits")

    def test_surrogate_vm_name(self, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
        doc = _trace_doc(tmp_path, capsys)
        text = json.dumps(doc).replace('"legacy"', '"\\ud800"')
        path = tmp_path / "t.itf.json"
        path.write_text(text)
        expect_exit_2(run_cli(capsys, ["show", str(path)]), "lone surrogate")

    def test_huge_trace_refused_with_its_size(self, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
        """``show --steps 0:3`` of a file beyond the bound: refused, never a MemoryError."""
        path = tmp_path / "huge.itf.json"
        with open(path, "wb") as handle:
            handle.truncate(1_400_000_000)  # sparse: no disk used
        expect_exit_2(run_cli(capsys, ["show", "--steps", "0:3", str(path)]),
                      "the file is 1,400,000,000 bytes", "up to 67,108,864 bytes")

    def test_ansi_escapes_in_a_vm_name_are_shown_escaped(
            self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        doc = _trace_doc(tmp_path, capsys)
        text = json.dumps(doc).replace('"legacy"', '"\\u001b[2J\\u001b[31mevil"')
        path = tmp_path / "t.itf.json"
        path.write_text(text)
        outcome = run_cli(capsys, ["show", str(path)])
        expect_verdict(outcome, 0)
        assert "\x1b" not in outcome.out and "\\x1b[2J\\x1b[31mevil" in outcome.out


def test_a_line_break_in_a_trace_vm_name(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    doc = _trace_doc(tmp_path, capsys)
    path = tmp_path / "t.itf.json"
    path.write_text(json.dumps(doc).replace('"legacy"', '"legacy\\nverdict: ok"'))
    expect_exit_2(run_cli(capsys, ["show", str(path)]), "must not contain a line break")
