"""The HTML report of a ``dynmem verify`` run (``--html FILE``).

One page with the verdict, a table per section (checks, passed, failed, time), every check
with its verdict, time and summary, and the details of each failure. Every counterexample a
check returned gets its own report (verification/traces/html.py) and its ITF trace, written
beside the page in ``<FILE stem>-traces/``, and the check's row links to them, so
``dynmem show`` and ``dynmem shrink`` can take the trace from there.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from pathlib import Path

from dynmem.verification.atomic import write_atomic
from dynmem.verification.errors import InputError
from dynmem.verification.suite.checks import CheckResult, Interruption
from dynmem.verification.traces.html import page, write_report
from dynmem.verification.traces.itf import write_itf
from dynmem.verification.traces.trace import Trace

Links = dict[tuple[str, str], list[tuple[str, str]]]  # (section, check) -> [(label, href)]

EXTRA_CSS = """
td.ok { color: #2e7d32; font-weight: 600; }
td.fail { color: #c62828; font-weight: 600; }
pre { background: #fafafa; border: 1px solid #eee; padding: .5em; overflow-x: auto; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "check"


def describe_trace(trace: Trace, number: int) -> str:
    """A link label: ``counterexample 1: INV-PHYSICAL at step 4``."""
    first = trace.first_finding
    what = f"{first.invariant} at step {first.step}" if first else "no finding"
    return f"counterexample {number}: {what}"


def _section_rows(results: Sequence[CheckResult]) -> str:
    sections: dict[str, list[CheckResult]] = {}
    for r in results:
        sections.setdefault(r.section, []).append(r)
    rows = []
    for name, members in sections.items():
        failed = sum(1 for r in members if not r.ok)
        css = "fail" if failed else "ok"
        rows.append(f"<tr><td>{_e(name)}</td><td class=\"num\">{len(members)}</td>"
                    f"<td class=\"num\">{len(members) - failed}</td>"
                    f"<td class=\"num {css}\">{failed}</td>"
                    f"<td class=\"num\">{sum(r.seconds for r in members):.2f} s</td></tr>")
    return ("<table><tr><th>section</th><th>checks</th><th>passed</th><th>failed</th>"
            "<th>time</th></tr>" + "".join(rows) + "</table>")


def _check_rows(results: Sequence[CheckResult], links: Links) -> str:
    rows = []
    for r in results:
        verdict = '<td class="ok">ok</td>' if r.ok else '<td class="fail">FAIL</td>'
        anchors = " ".join(f'<a href="{_e(href)}">{_e(label)}</a>'
                           for label, href in links.get((r.section, r.name), []))
        rows.append(f"<tr><td>{_e(r.section)}</td><td>{_e(r.name)}</td>{verdict}"
                    f"<td class=\"num\">{r.seconds:.2f} s</td><td>{_e(r.summary)}"
                    f"{'<br>' + anchors if anchors else ''}</td></tr>")
    return ("<table><tr><th>section</th><th>check</th><th>verdict</th><th>time</th>"
            "<th>summary</th></tr>" + "".join(rows) + "</table>")


def render_verify_report(results: Sequence[CheckResult], links: Links | None = None,
                         interruption: Interruption | None = None) -> str:
    """The HTML document of a verify run; ``links`` maps checks to their trace reports."""
    links = links or {}
    failed = [r for r in results if not r.ok]
    ok = bool(results) and not failed
    if interruption is not None:
        banner = (f'<div class="banner bad">verify: INTERRUPTED, '
                  f'{_e(interruption.sentence(tuple(results)))}; not run: '
                  + _e(", ".join(f"{s}/{n}" for s, n in interruption.not_run)) + "</div>")
    elif ok:
        banner = f'<div class="banner good">verify: ok, {len(results)} checks passed</div>'
    else:
        what = f"{len(failed)} of {len(results)} checks failed" if results else "no checks"
        banner = f'<div class="banner bad">verify: FAILED, {_e(what)}</div>'
    details = "".join(
        f"<h3>{_e(r.section)}/{_e(r.name)}</h3><p>{_e(r.summary)}</p>"
        f"<pre>{_e(chr(10).join(r.details))}</pre>" for r in failed if r.details)
    body = (f"<h1>dynmem verify</h1>{banner}"
            f"<h2>Sections</h2>{_section_rows(results)}"
            f"<h2>Checks</h2>{_check_rows(results, links)}"
            + (f"<h2>Failures</h2>{details}" if details else ""))
    return page("dynmem verify", body, EXTRA_CSS)


def traces_folder(path: str | os.PathLike[str]) -> Path:
    """``<stem>-traces/`` beside the page ``path``: where its counterexamples go."""
    target = Path(path)
    return target.with_name(f"{target.stem}-traces")


def write_verify_report(results: Sequence[CheckResult], path: str | os.PathLike[str],
                        interruption: Interruption | None = None) -> list[Path]:
    """Write the run's page to ``path`` and one report + ITF trace per counterexample in
    ``<stem>-traces/`` beside it; returns the files written besides the page."""
    target = Path(path)
    folder = traces_folder(path)
    links: Links = {}
    written: list[Path] = []
    for r in results:
        for number, trace in enumerate(r.traces, start=1):
            if not written:
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as err:
                    raise InputError(str(folder), "", None,
                                     f"cannot create: {err.strerror}") from None
            stem = _slug(f"{r.section}-{r.name}-{number}")
            report, itf = folder / f"{stem}.html", folder / f"{stem}.itf.json"
            write_report(trace, report, title=f"{r.section}/{r.name}: "
                                              f"{describe_trace(trace, number)}")
            write_itf(trace, itf)
            written += [report, itf]
            links.setdefault((r.section, r.name), []).append(
                (describe_trace(trace, number), f"{folder.name}/{report.name}"))
    write_atomic(target, render_verify_report(results, links, interruption))
    return written
