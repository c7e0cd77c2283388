"""``dynmem verify`` as a CI citizen: JUnit XML, the HTML report with linked counterexamples,
the per-section totals (verification/suite/junit.py, verification/suite/html.py)."""

from __future__ import annotations

import doctest
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import report_cases as rc
import trace_cases as tc

from dynmem.verification.cli.main import main
from dynmem.verification.suite import checks, junit, scenario_checks
from dynmem.verification.suite import runner as suite
from dynmem.verification.suite.checks import CheckResult
from dynmem.verification.suite.html import render_verify_report, write_verify_report
from dynmem.verification.suite.junit import build_junit, render_junit
from dynmem.verification.traces.itf import decode_itf

RESULTS = [
    CheckResult("a", "scenarios", True, "12 steps, invariants hold", 0.25),
    CheckResult("b", "bmc", False, "INV-PHYSICAL broken at depth 1", 1.5, ("why", "values"),
                (tc.planted_overcommit(),)),
    CheckResult("c", "bmc", False, "crashed: RuntimeError: boom", 0.1, ("Traceback ...",)),
]


class TestJunit:
    def test_one_testcase_per_check(self) -> None:
        """Parsed back: one testsuite per section, one testcase per check, the counts."""
        root = ET.fromstring(render_junit(RESULTS).split("?>", 1)[1])
        assert root.tag == "testsuites"
        assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
        cases = root.findall("./testsuite/testcase")
        assert [(c.get("classname"), c.get("name")) for c in cases] == [
            ("dynmem.scenarios", "a"), ("dynmem.bmc", "b"), ("dynmem.bmc", "c")]
        assert [s.get("name") for s in root.findall("testsuite")] == ["scenarios", "bmc"]

    def test_failures_carry_the_message(self) -> None:
        root = build_junit(RESULTS)
        failure = root.find("./testsuite[@name='bmc']/testcase[@name='b']/failure")
        assert failure is not None and failure.get("message") == "INV-PHYSICAL broken at depth 1"
        assert failure.text == "why\nvalues"
        error = root.find("./testsuite[@name='bmc']/testcase[@name='c']/error")
        assert error is not None and error.get("type") == "crash"
        assert root.find("./testsuite[@name='scenarios']/testcase/failure") is None

    def test_each_obligation_is_its_own_case(self) -> None:
        """A check's obligations become test cases too: proved passes, a CTI is a failure,
        an unknown is an error (never a pass), and the totals count them."""
        cases = (checks.Case("Start preserves INV-FLOOR (N=2)", "passed", 0.01),
                 checks.Case("Stop preserves INV-CONSERVATION (N=2)", "failed", 0.02, "CTI ..."),
                 checks.Case("tick preserves INV-PHYSICAL (N=2)", "error", 20.0, "unknown"))
        result = CheckResult("induction N=2", "proofs", False, "1 CTI, 1 unknown", 20.1, (),
                             (), cases)
        root = build_junit([result])
        assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "2", "1")
        subs = root.findall("./testsuite/testcase[@classname='dynmem.proofs.induction N=2']")
        assert [c.get("name") for c in subs] == [c.name for c in cases]
        assert subs[0].find("failure") is None and subs[0].find("error") is None
        assert subs[1].find("failure") is not None
        error = subs[2].find("error")
        assert error is not None and error.get("type") == "undecided"

    def test_real_proofs_give_one_case_per_obligation(self) -> None:
        """The proofs section's induction check carries one case per proof obligation."""
        from dynmem.verification.suite.proof_checks import check_induction

        verdict = check_induction(None)
        assert verdict.ok and len(verdict.cases) == int(verdict.summary.split()[0])
        assert {c.status for c in verdict.cases} == {"passed"}

    def test_control_characters_stay_valid_xml(self) -> None:
        text = render_junit([CheckResult("x\x00", "s", False, "bad \x01", 0.0, ("\x0b",))])
        ET.fromstring(text.split("?>", 1)[1])

    def test_doctests(self) -> None:
        assert doctest.testmod(junit).failed == 0


class TestHtml:
    def test_links_each_counterexample(self, tmp_path: Path) -> None:
        """The page links the failing check's own report; the report and ITF trace exist."""
        page = tmp_path / "verify.html"
        written = write_verify_report(RESULTS, page)
        html = page.read_text("utf-8")
        assert 'href="verify-traces/bmc-b-1.html"' in html
        assert "counterexample 1: INV-PHYSICAL at step 4" in html
        assert "verify: FAILED, 2 of 3 checks failed" in html
        report = tmp_path / "verify-traces" / "bmc-b-1.html"
        assert report in written and "INV-PHYSICAL" in report.read_text("utf-8")
        written = decode_itf(json.loads((tmp_path / "verify-traces" / "bmc-b-1.itf.json")
                                        .read_text()), "t")
        assert written == RESULTS[1].traces[0]

    def test_all_ok(self) -> None:
        html = render_verify_report(RESULTS[:1])
        assert "verify: ok, 1 checks passed" in html and "verify-traces" not in html


class TestCommand:
    def test_verify_writes_junit_and_html(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
        """A failing check with a counterexample: exit 1, JUnit has one case per check, the
        HTML links the counterexample, the table has per-section totals."""
        planted = checks.Check("off-with-txn", "planted", lambda: checks.Verdict(
            False, "INV-OFF broken", ("details",), (rc.off_with_transaction(),)))

        def real() -> list[checks.Check]:
            return suite.collect_checks([scenario_checks])  # fast: the other sections are slower

        def collect(**_budgets: object) -> list[checks.Check]:
            return [*real(), planted]

        from dynmem.verification.cli.commands import verify as verify_command
        monkeypatch.setattr(verify_command, "collect_checks", collect)
        xml, html = tmp_path / "junit.xml", tmp_path / "report.html"
        code = main(["verify", "--junit", str(xml), "--html", str(html)])
        out, err = capsys.readouterr()
        assert "planted/off-with-txn failed:" in out
        assert code == 1, out + err
        total = len(real()) + 1
        root = ET.parse(xml).getroot()
        assert len(root.findall("./testsuite/testcase")) == total
        assert root.get("failures") == "1"
        assert 'href="report-traces/planted-off-with-txn-1.html"' in html.read_text("utf-8")
        assert any(line.split()[:4] == ["planted", "1", "0", "1"] for line in out.splitlines())
        assert f"[{total}/{total}] planted/off-with-txn ..." in err
        assert f"verify: wrote {html} and 1 counterexample reports" in err

    def test_junit_for_a_passing_run(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
        from dynmem.verification.cli.commands import verify as verify_command

        checks = suite.collect_checks([scenario_checks])
        monkeypatch.setattr(verify_command, "collect_checks", lambda **_budgets: checks)
        xml = tmp_path / "j.xml"
        code = main(["verify", "--junit", str(xml), "--json"])
        out, err = capsys.readouterr()
        assert json.loads(out)["ok"] is True, out
        assert code == 0
        root = ET.parse(xml).getroot()
        assert root.get("failures") == "0" and root.get("errors") == "0"
        assert "Traceback" not in err and err.splitlines()[-1].startswith("verify: ok, ")
        assert len(root.findall("./testsuite/testcase")) == len(checks)
