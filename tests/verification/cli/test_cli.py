"""``dynmem simulate`` and ``dynmem verify`` as a user runs them: exit codes, bad input
(exit 2, one clear message, no traceback), the ``--json`` document, ``--out`` ITF files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from scenario_cases import BAD, Bad, base, write

from dynmem.reference.events import Stop
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, make_step, process_stop
from dynmem.verification.cli.commands import simulate as simulate_command
from dynmem.verification.cli.main import main
from dynmem.verification.scenarios.scenario import load_scenario
from dynmem.verification.scenarios.simulate import simulate
from dynmem.verification.scenarios.summary import FINAL_VM_FIELDS
from dynmem.verification.suite import checks
from dynmem.verification.suite import runner as suite
from dynmem.verification.traces.itf import read_itf


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestBadInput:
    @pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
    @pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
    def test_exit_2_with_one_clear_message(self, case: Bad, as_json: bool, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
        """Bad input: exit 2, nothing on stdout, one line naming file, path and value."""
        monkeypatch.chdir(tmp_path)
        write(tmp_path, case.content)
        code, out, err = _run(capsys, "simulate", "scenario.json", *(["--json"] * as_json))
        assert code == 2
        assert out == ""
        assert "Traceback" not in err
        assert err.count("\n") == 1
        shown = repr(case.value)[:80]  # a long value is echoed cut
        where = f"{case.path} = {shown}" if case.path is not None else ""
        assert err.startswith(f"dynmem: scenario.json: {where}")
        assert case.rule in err

    def test_missing_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = _run(capsys, "simulate", str(tmp_path / "none.json"))
        assert code == 2 and out == ""
        assert err == f"dynmem: {tmp_path / 'none.json'}: cannot read the file: No such file " \
                      "or directory\n"

    def test_unwritable_out(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An output under a path that is a file cannot be made: exit 2 before the run."""
        path = write(tmp_path, base())
        (tmp_path / "a-file").write_text("x")
        code, out, err = _run(capsys, "simulate", str(path), "--out",
                              str(tmp_path / "a-file" / "t.itf.json"))
        assert "cannot write: Not a directory" in err and "Traceback" not in err
        assert code == 2 and out == ""

    def test_missing_out_folder_is_created(self, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
        """Every command creates the missing folders of an output path (specs/formats.md §5)."""
        path = write(tmp_path, base())
        target = tmp_path / "missing-dir" / "t.itf.json"
        code, _, err = _run(capsys, "simulate", str(path), "--out", str(target))
        assert err == "" and code == 0 and target.is_file()

    def test_subprocess_bad_input(self, tmp_path: Path) -> None:
        """Through a real process (``python -m dynmem.verification.cli``): exit 2, the
        issue's example message, no traceback."""
        data = base()
        data["vms"] += [{"name": "a"}, {"name": "b", "buffer_pct": 4}]
        write(tmp_path, data)
        proc = subprocess.run(
            [sys.executable, "-m", "dynmem.verification.cli", "simulate", "scenario.json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert proc.stderr == "dynmem: scenario.json: vms[3].buffer_pct = 4: must be 5..2000\n"


class TestSimulate:
    def test_text_trace_and_exit_0(self, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
        """The readable trace, then settle and verdict lines; a refused event is exit 0."""
        code, out, _ = _run(capsys, "simulate", str(write(tmp_path, base())))
        assert code == 0
        assert "step 1: start web" in out
        assert "(fails: web is running: settings change only while it is off)" in out
        assert "verdict: ok" in out
        assert "settle events[2] converged after 6 steps (trace steps 3..8)" in out

    def test_json_document(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """``--json``: exactly one JSON document of the documented shape (specs/formats.md)."""
        code, out, err = _run(capsys, "simulate", str(write(tmp_path, base())), "--json")
        assert code == 0 and err == ""
        doc = json.loads(out)  # the whole stdout is one document
        assert set(doc) == {"ok", "scenario", "steps", "converged", "violations", "rejected",
                            "settles", "expectations", "final"}
        assert doc["ok"] is True and doc["converged"] is True and doc["violations"] == []
        assert doc["steps"] == 10
        assert doc["rejected"] == [{
            "step": 9, "scenario_event": 3,
            "event": {"kind": "configure", "vm": "web", "settings": {
                "dynamic": True, "startup_mib": 2048, "maximum_mib": 8192, "buffer_pct": 50,
                "weight": 5000, "dm_capable": True}},
            "reason": "web is running: settings change only while it is off"}]
        assert doc["settles"] == [{"scenario_event": 2, "first_step": 3, "steps": 6,
                                   "max_steps": 10000, "converged": True}]
        final = doc["final"]
        assert set(final) == {"free_mib", "physical_mib", "reserve_mib", "profile", "vms"}
        assert final["free_mib"] == 15360 and final["profile"] == "qemu"
        assert list(final["vms"]) == ["web", "db"]
        for vm in final["vms"].values():
            assert list(vm) == list(FINAL_VM_FIELDS)
            for key, types in FINAL_VM_FIELDS.items():
                assert isinstance(vm[key], types), key
        assert final["vms"]["web"]["power"] == "off"

    def test_json_values_after_settle(self, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
        """The final block after a settle: target 3000 x 1.2 = 3600, pressure 83."""
        data = base()
        data["events"] = data["events"][:3]
        _, out, _ = _run(capsys, "simulate", str(write(tmp_path, data)), "--json")
        web = json.loads(out)["final"]["vms"]["web"]
        assert web == {"power": "running", "assigned_mib": 3600, "visible_mib": 3600,
                       "ballooned_mib": 0, "demand_mib": 3000, "guest_paged_mib": 0,
                       "pressure": 83, "target_mib": 3600, "channel": "ready",
                       "protocol_version": 0x00020000, "hot_add_enabled": True}

    def test_out_writes_itf_that_reads_back(self, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
        """``--out``: an ITF file that reads back to exactly the simulated trace."""
        path = write(tmp_path, base())
        out_path = tmp_path / "trace.itf.json"
        code, _, _ = _run(capsys, "simulate", str(path), "--out", str(out_path), "--json")
        assert code == 0
        doc = json.loads(out_path.read_text(encoding="utf-8"))
        assert {"#meta", "vars", "states"} <= set(doc)
        assert read_itf(out_path) == simulate(load_scenario(path)).trace

    def test_non_convergence_is_exit_1(self, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
        data = base()
        data["events"][2] = {"kind": "settle", "max_steps": 2}
        path = write(tmp_path, data)
        code, out, _ = _run(capsys, "simulate", str(path))
        assert code == 1
        assert ("FINDING: settle events[2] did not converge: no fixed point within "
                "max_steps=2") in out
        code, out, _ = _run(capsys, "simulate", str(path), "--json")
        doc = json.loads(out)
        assert code == 1 and doc["ok"] is False and doc["converged"] is False
        assert doc["settles"][0]["converged"] is False

    def test_unmet_expectation_is_exit_1(self, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
        data = base()
        data["expect"] = {"final": {"free_mib": 1}}
        code, out, _ = _run(capsys, "simulate", str(write(tmp_path, data)))
        assert code == 1
        assert "expectation not met: final free_mib: expected 1, got 15360" in out
        data["expect"] = {"final": {"free_mib": 15360}}
        code, out, _ = _run(capsys, "simulate", str(write(tmp_path, data)))
        assert code == 0 and "expectations: all met" in out

    def test_violation_is_exit_1(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
        """With a planted bug (stop keeps the memory), simulate reports the violation."""
        def leaky_stop(state: DmState, event: Stop) -> StepResult:
            result = process_stop(state, event)
            return attrs.evolve(result, state=attrs.evolve(result.state,
                                                           free_mib=state.free_mib))

        def buggy(scenario: Any, on_progress: Any = None) -> Any:
            return simulate(scenario, make_step({Stop: leaky_stop}), on_progress=on_progress)

        monkeypatch.setattr(simulate_command, "simulate", buggy)
        path = write(tmp_path, base())
        code, out, _ = _run(capsys, "simulate", str(path), "--json")
        doc = json.loads(out)
        assert code == 1 and doc["ok"] is False
        assert doc["violations"][0]["step"] == 10
        assert doc["violations"][0]["invariant"] == "INV-CONSERVATION"
        assert set(doc["violations"][0]) == {"step", "invariant", "clause", "vm", "message"}
        code, out, _ = _run(capsys, "simulate", str(path))
        assert code == 1 and "VIOLATED INV-CONSERVATION" in out

    def test_subprocess_json(self, tmp_path: Path) -> None:
        """The console entry point through a real process prints one JSON document."""
        write(tmp_path, base())
        proc = subprocess.run(
            [sys.executable, "-m", "dynmem.verification.cli", "simulate", "scenario.json",
             "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["final"]["free_mib"] == 15360


def _verify_passes(capsys: pytest.CaptureFixture[str], *sections: str) -> list[str]:
    """``dynmem verify`` (these sections, or every one): a row per check, progress on
    stderr, exit 0; the rows."""
    code, out, err = _run(capsys, "verify", *(f"--section={s}" for s in sections))
    lines = out.splitlines()
    # the output first: a failure then shows the failing check's own message
    assert lines[-1].startswith("verify: ok, "), out + err
    assert lines[0].split() == ["SECTION", "CHECK", "VERDICT", "TIME", "SUMMARY"]
    assert any(line.startswith("scenarios  weight-contention-hi-lo") for line in lines)
    assert "[1/" in err and "Traceback" not in err
    assert code == 0
    return lines


class TestVerify:
    @pytest.mark.thorough  # the whole of dynmem verify: some 4 CPU minutes
    def test_all_builtins_pass(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Every section passes. CI runs the cheap sections end to end (below), and each
        check of the others in its own tests (bmc: tests/verification/symbolic, engines:
        tests/verification/explore and stateful)."""
        lines = _verify_passes(capsys)
        assert {line.split()[0] for line in lines[1:-1] if line.strip()} >= {
            "scenarios", "proofs", "bmc", "engines"}

    @pytest.mark.slow  # the proofs: about 20 CPU s
    def test_cheap_sections_pass(self, capsys: pytest.CaptureFixture[str]) -> None:
        lines = _verify_passes(capsys, "scenarios", "proofs")
        assert any(line.startswith("proofs     induction any N") for line in lines), lines

    def test_starved_solver_budget_fails_naming_the_flag(
            self, capsys: pytest.CaptureFixture[str]) -> None:
        """``--rlimit 50`` leaves every Z3 check undecided: the proofs fail (never pass) and
        each unknown names its obligation, the budget used and the flag that raises it."""
        code, out, err = _run(capsys, "verify", "--section", "proofs", "--rlimit", "50")
        assert "proofs/induction N=2 failed:" in out, out + err
        assert ("UNKNOWN initial states satisfy INV-TYPE (N=2): Z3 gave up on obligation "
                "'initial states satisfy INV-TYPE (N=2)' after 50 of its 50 rlimit units "
                "(budget exhausted; Z3 says: ") in out
        assert "undecided, not proved; raise it with --rlimit 500" in out
        assert "refinement sampling of" in out  # the Z3-chosen refinement check too
        assert "page-count bugs caught in pages" in out  # undecided: not caught, not passed
        assert out.splitlines()[-1].startswith("verify: FAILED, 1/7 checks passed")
        assert code == 1

    def test_bad_rlimit_is_bad_usage(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = _run(capsys, "verify", "--rlimit", "0")
        assert "--rlimit = 0: must be 1..4294967295" in err and out == ""
        assert code == 2

    def test_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``--json`` prints one document on stdout (progress stays on stderr, ending with
        the summary line); ``--section`` keeps only the sections named."""
        code, out, err = _run(capsys, "verify", "--json", "--section", "scenarios")
        doc = json.loads(out)
        assert doc["ok"] is True and "Traceback" not in err, out + err
        assert "[1/" in err and err.splitlines()[-1].startswith("verify: ok, ")
        assert " s wall, " in err.splitlines()[-1] and err.endswith(" s CPU)\n")
        assert code == 0
        assert all(set(c) == {"section", "name", "ok", "summary", "seconds", "details"}
                   for c in doc["checks"])
        assert len(doc["checks"]) >= 8
        assert {c["section"] for c in doc["checks"]} == {"scenarios"}

    def test_unknown_section_is_bad_usage(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A misspelt ``--section`` exits 2 and lists the known sections."""
        code, out, err = _run(capsys, "verify", "--section", "bcm")
        assert code == 2 and out == ""
        assert "--section = 'bcm': unknown section; known: scenarios, proofs, bmc, engines" in err

    def test_a_failing_check_fails_verify(self, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
        """One failing or crashing check makes the run exit 1 and shows its details."""
        def boom() -> checks.Verdict:
            raise RuntimeError("planted")

        extra = [checks.Check("wrong", "planted", lambda: checks.Verdict(False, "bad", ("why",))),
                 checks.Check("crash", "planted", boom)]
        real = suite.collect_checks

        def collect(**_budgets: object) -> list[checks.Check]:
            return [c for c in real() if c.section == "scenarios"] + extra

        from dynmem.verification.cli.commands import verify as verify_command
        monkeypatch.setattr(verify_command, "collect_checks", collect)
        code, out, _ = _run(capsys, "verify")
        assert "planted/wrong failed:\n    why" in out
        assert "crashed: RuntimeError: planted" in out
        assert out.splitlines()[-1].startswith("verify: FAILED, ")
        assert code == 1
        code, out, _ = _run(capsys, "verify", "--json")
        assert json.loads(out)["ok"] is False and code == 1
