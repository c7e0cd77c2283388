"""JUnit XML of a ``dynmem verify`` run (``--junit FILE``), so CI shows each check as a test.

One ``<testsuite>`` per section (scenarios, proofs, bmc, ...), one ``<testcase>`` per check
(scenario, exploration, ...), and one more per obligation inside a check (every proof
obligation: proved passes, a CTI is a failure, a Z3 unknown an error). A failed check
carries ``<failure>`` with its summary as the message and its details as the text; a check
that crashed carries ``<error>`` instead. The layout is the one Jenkins, GitLab and GitHub
test reporters read.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from dynmem.verification.atomic import write_atomic
from dynmem.verification.suite.checks import Case, CheckResult, Interruption

CRASHED = "crashed: "  # suite.run_check's summary of a check that raised
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (e.g. a NUL in a crash message)."""
    return _NOT_XML.sub("\ufffd", text)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _case(result: CheckResult) -> ET.Element:
    case = ET.Element("testcase", {
        "classname": f"dynmem.{_clean(result.section)}", "name": _clean(result.name),
        "time": _seconds(result.seconds),
    })
    if not result.ok:
        crashed = result.summary.startswith(CRASHED)
        failure = ET.SubElement(case, "error" if crashed else "failure", {
            "message": _clean(result.summary),
            "type": "crash" if crashed else "verification failure",
        })
        failure.text = _clean("\n".join(result.details) or result.summary)
    out = ET.SubElement(case, "system-out")
    out.text = _clean(result.summary)
    return case


def _sub_case(result: CheckResult, sub: Case) -> ET.Element:
    """One obligation of a check (e.g. one proof obligation) as its own test case."""
    case = ET.Element("testcase", {
        "classname": f"dynmem.{_clean(result.section)}.{_clean(result.name)}",
        "name": _clean(sub.name), "time": _seconds(sub.seconds),
    })
    if sub.status != "passed":
        failure = ET.SubElement(case, "error" if sub.status == "error" else "failure", {
            "message": _clean(sub.message or sub.status),
            "type": "undecided" if sub.status == "error" else "verification failure",
        })
        failure.text = _clean(sub.message or sub.status)
    return case


def _cases(result: CheckResult) -> list[ET.Element]:
    """The check's own case, then one case per obligation inside it."""
    return [_case(result)] + [_sub_case(result, sub) for sub in result.cases]


def _counts(results: Sequence[CheckResult]) -> dict[str, str]:
    errors = sum(1 for r in results if not r.ok and r.summary.startswith(CRASHED))
    failures = sum(1 for r in results if not r.ok) - errors
    subs = [c for r in results for c in r.cases]
    errors += sum(1 for c in subs if c.status == "error")
    failures += sum(1 for c in subs if c.status == "failed")
    return {"tests": str(len(results) + len(subs)), "failures": str(failures),
            "errors": str(errors), "skipped": "0",
            "time": _seconds(sum(r.seconds for r in results))}


def _not_run_case(section: str, name: str, why: str) -> ET.Element:
    """A check the interrupted run never reached: skipped, saying why."""
    case = ET.Element("testcase", {"classname": f"dynmem.{_clean(section)}",
                                   "name": _clean(name), "time": _seconds(0)})
    ET.SubElement(case, "skipped", {"message": _clean(f"not run: {why}")})
    return case


def _mark_interrupted(root: ET.Element, results: Sequence[CheckResult],
                      stop: Interruption) -> None:
    """Say on the root that the run was cut short; list each check not run as skipped."""
    why = stop.sentence(tuple(results))
    root.set("interrupted", why)
    properties = ET.Element("properties")
    ET.SubElement(properties, "property", {"name": "interrupted", "value": why})
    root.insert(0, properties)
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    for section, name in stop.not_run:
        suite = suites.get(_clean(section))
        if suite is None:
            suite = suites[_clean(section)] = ET.SubElement(
                root, "testsuite", {"name": _clean(section), **_counts([])})
        suite.append(_not_run_case(section, name, why))
        suite.set("skipped", str(int(suite.get("skipped", "0")) + 1))
        suite.set("tests", str(int(suite.get("tests", "0")) + 1))
    root.set("skipped", str(len(stop.not_run)))
    root.set("tests", str(int(root.get("tests", "0")) + len(stop.not_run)))


def build_junit(results: Sequence[CheckResult], name: str = "dynmem verify",
                interruption: Interruption | None = None) -> ET.Element:
    """The ``<testsuites>`` element of ``results``, one ``<testsuite>`` per section.

    Examples
    --------
    >>> r = CheckResult("a", "scenarios", False, "2 problems", 0.5, ("x",))
    >>> root = build_junit([r])
    >>> root.get("failures"), root[0].get("name"), root[0][0].find("failure").get("message")
    ('1', 'scenarios', '2 problems')
    """
    root = ET.Element("testsuites", {"name": name, **_counts(results)})
    sections: dict[str, list[CheckResult]] = {}
    for result in results:
        sections.setdefault(result.section, []).append(result)
    for section, members in sections.items():
        suite = ET.SubElement(root, "testsuite", {"name": _clean(section),
                                                  **_counts(members)})
        suite.extend(case for r in members for case in _cases(r))
    if interruption is not None:
        _mark_interrupted(root, results, interruption)
    return root


def render_junit(results: Sequence[CheckResult],
                 interruption: Interruption | None = None) -> str:
    """The JUnit XML document of ``results`` as text."""
    root = build_junit(results, interruption=interruption)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(results: Sequence[CheckResult], path: str | os.PathLike[str],
                interruption: Interruption | None = None) -> None:
    """Write the JUnit XML of ``results`` to ``path`` atomically (marked if interrupted)."""
    write_atomic(path, render_junit(results, interruption))
