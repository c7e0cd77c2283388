"""JUnit XML of a ``dynmem verify`` run (``--junit FILE``), so CI shows each check as a test.

One ``<testsuite>`` per section (scenarios, proofs, bmc, ...), one ``<testcase>`` per check
(proof obligation, scenario, exploration, ...). A failed check carries ``<failure>`` with its
summary as the message and its details as the text; a check that crashed carries
``<error>`` instead. The layout is the one Jenkins, GitLab and GitHub test reporters read.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from dynmem.verification.atomic import write_atomic
from dynmem.verification.suite import CheckResult

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


def _counts(results: Sequence[CheckResult]) -> dict[str, str]:
    errors = sum(1 for r in results if not r.ok and r.summary.startswith(CRASHED))
    failures = sum(1 for r in results if not r.ok) - errors
    return {"tests": str(len(results)), "failures": str(failures), "errors": str(errors),
            "skipped": "0", "time": _seconds(sum(r.seconds for r in results))}


def build_junit(results: Sequence[CheckResult], name: str = "dynmem verify") -> ET.Element:
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
        suite.extend(_case(r) for r in members)
    return root


def render_junit(results: Sequence[CheckResult]) -> str:
    """The JUnit XML document of ``results`` as text."""
    root = build_junit(results)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(results: Sequence[CheckResult], path: str | os.PathLike[str]) -> None:
    """Write the JUnit XML of ``results`` to ``path`` atomically."""
    write_atomic(path, render_junit(results))
