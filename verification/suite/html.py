"""The HTML report of a ``dynmem verify`` run (``--html FILE``).

One page (``templates/verify.html.j2``, auto-escaped) with the verdict, the version, date
and machine of the run, a table of the sections (checks, passed, failed, time) and of the
checks, then one section per check: its verdict, time, summary, the links to its
counterexamples, its details and its obligations (the failed and undecided ones listed).
Every counterexample a check returned gets its own report (verification/traces/html.py) and
its ITF trace, written beside the page in ``<FILE stem>-traces/``, and the check links to
them, so ``dynmem show`` and ``dynmem shrink`` can take the trace from there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import attrs

from dynmem.verification.atomic import write_atomic
from dynmem.verification.errors import InputError
from dynmem.verification.suite.checks import Case, CheckResult, Interruption
from dynmem.verification.traces.html import COLOURS, write_report
from dynmem.verification.traces.itf import write_itf
from dynmem.verification.traces.pages import Provenance, render_page
from dynmem.verification.traces.trace import Trace

Links = dict[tuple[str, str], list[tuple[str, str]]]  # (section, check) -> [(label, href)]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "check"


def describe_trace(trace: Trace, number: int) -> str:
    """A link label: ``counterexample 1: INV-PHYSICAL at step 4``."""
    first = trace.first_finding
    what = f"{first.invariant} at step {first.step}" if first else "no finding"
    return f"counterexample {number}: {what}"


@attrs.frozen
class CheckView:
    """One check as the page shows it: its own section, linked from the tables."""

    result: CheckResult
    anchor: str  # the id of its section
    links: tuple[tuple[str, str], ...]  # (label, href) of each counterexample's page
    cases: dict[str, int]  # obligations per status (passed, failed, error)
    not_passed: tuple[Case, ...]  # the obligations that failed or were undecided


@attrs.frozen
class SectionView:
    """A section of the run: its checks and totals."""

    name: str
    anchor: str
    checks: tuple[CheckView, ...]

    @property
    def failed(self) -> int:
        """How many of its checks failed."""
        return sum(1 for c in self.checks if not c.result.ok)

    @property
    def seconds(self) -> float:
        """Its checks' time, summed."""
        return sum(c.result.seconds for c in self.checks)


def get_sections(results: Sequence[CheckResult], links: Links) -> list[SectionView]:
    """The run's sections in run order, each check with its anchor and links."""
    grouped: dict[str, list[CheckView]] = {}
    for r in results:
        counts: dict[str, int] = {}
        for case in r.cases:
            counts[case.status] = counts.get(case.status, 0) + 1
        grouped.setdefault(r.section, []).append(CheckView(
            r, "check-" + _slug(f"{r.section}-{r.name}"),
            tuple(links.get((r.section, r.name), [])), counts,
            tuple(c for c in r.cases if c.status != "passed")))
    return [SectionView(name, "section-" + _slug(name), tuple(members))
            for name, members in grouped.items()]


def describe_run(results: Sequence[CheckResult], interruption: Interruption | None) -> str:
    """The banner: ``verify: ok, 21 checks passed``, ``verify: FAILED, ...`` or interrupted."""
    failed = [r for r in results if not r.ok]
    if interruption is not None:
        not_run = ", ".join(f"{s}/{n}" for s, n in interruption.not_run)
        return (f"verify: INTERRUPTED, {interruption.sentence(tuple(results))}; not run: "
                f"{not_run}")
    if results and not failed:
        return f"verify: ok, {len(results)} checks passed"
    what = f"{len(failed)} of {len(results)} checks failed" if results else "no checks"
    return f"verify: FAILED, {what}"


def render_verify_report(results: Sequence[CheckResult], links: Links | None = None,
                         interruption: Interruption | None = None,
                         provenance: Provenance | None = None) -> str:
    """The HTML document of a verify run; ``links`` maps checks to their trace reports."""
    ok = bool(results) and all(r.ok for r in results) and interruption is None
    sections = get_sections(results, links or {})
    return render_page("verify.html.j2", package=__name__.rsplit(".", 1)[0],
                       provenance=provenance, colours=COLOURS, ok=ok,
                       verdict=describe_run(results, interruption), sections=sections,
                       failed=[c for s in sections for c in s.checks if not c.result.ok],
                       checks=len(results), seconds=sum(r.seconds for r in results),
                       counterexamples=sum(len(v) for v in (links or {}).values()))


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
