"""``dynmem verify [--json] [--junit FILE] [--html FILE] [--rlimit N]``: the main job.

Runs every check of every section of ``verification/suite/runner.py`` and prints a summary
table (per check, then per section: checks, passed, failed, time).

Exit 0 only if every check passes, 1 otherwise. Progress goes to stderr (``cli/progress.py``:
a live display on a terminal, each check's own bar included; plain lines in a log), also
with ``--json``, which prints exactly one JSON document on stdout; the last stderr line is
the verdict with the wall and CPU time. ``--junit`` writes JUnit XML
(one test case per check) for CI; ``--html`` a report page that links each counterexample's
own report and trace. ``--rlimit`` is the Z3 resource budget of every solver check (a count,
so the verdicts do not depend on the machine's load).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dynmem.model.params import MAX_RLIMIT, MINIMAL
from dynmem.verification.atomic import check_output_folder
from dynmem.verification.cli import options
from dynmem.verification.cli.console import write_result
from dynmem.verification.cli.progress import Board
from dynmem.verification.engines import engine_versions, engine_warning
from dynmem.verification.errors import InputError, Terminated
from dynmem.verification.suite.checks import (
    Budgets,
    Check,
    CheckResult,
    Interruption,
    reporting_to,
)
from dynmem.verification.suite.html import traces_folder, write_verify_report
from dynmem.verification.suite.junit import write_junit
from dynmem.verification.suite.runner import collect_checks, run_check


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="run every verification check (scenarios, proofs, bmc, exploration, fuzzing)",
        description="Run every verification check and print a summary table. Exit 0 only "
                    "if every check passes.",
    )
    options.add_json(parser)
    parser.add_argument("--section", action="append", metavar="NAME",
                        help="run only this section (repeatable); default: every section")
    parser.add_argument("--junit", metavar="FILE.xml",
                        help="also write JUnit XML (one test case per check) for CI")
    options.add_html(parser, "every check, linking each counterexample's own report")
    options.add_rlimit(parser, MINIMAL.rlimit, "solver check")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the suite; print the table (or JSON); 0 if all checks pass, else 1.

    Interrupted (Ctrl-C, SIGTERM), it still writes the reports of the checks that finished,
    marked as interrupted, says how far it got, and lets the interruption end the command.
    """
    if not 1 <= args.rlimit <= MAX_RLIMIT:
        raise InputError("command line", "--rlimit", args.rlimit,
                         f"must be 1..{MAX_RLIMIT} (Z3 work units per solver check)")
    checks = select_sections(collect_checks(budgets=Budgets(rlimit=args.rlimit)), args.section)
    if args.html:  # the counterexamples' folder, checked before hours of work
        check_output_folder(traces_folder(args.html))
    warning = engine_warning(engine_versions())
    if warning is not None:
        print(f"verify: warning: {warning}", file=sys.stderr)
    results: list[CheckResult] = []
    board = Board()
    try:
        with board.phase("verify", len(checks), _suite_line) as suite:
            for index, check in enumerate(checks, start=1):
                suite.update(index - 1, f"{check.section}/{check.name}", force=True)
                results.append(_run_one(board, check, index, len(checks)))
    except KeyboardInterrupt as stop:
        board.stop()
        word = "terminated" if isinstance(stop, Terminated) else "interrupted"
        cut = Interruption(tuple((c.section, c.name) for c in checks[len(results):]), word)
        _finish(args, results, cut)
        board.finish(f"verify: {cut.sentence(results)}")
        raise
    board.stop()
    code = _finish(args, results, None)
    passed = sum(r.ok for r in results)
    board.finish(f"verify: {'ok' if code == 0 else 'FAILED'}, {passed}/{len(results)} checks "
                 "passed")
    return code


def _suite_line(done: int, total: int | None, text: str) -> str:
    """The plain line as a check starts (a log shows what runs now)."""
    return f"[{done + 1}/{total}] {text} ..."


def _run_one(board: Board, check: Check, index: int, total: int) -> CheckResult:
    """Run one check with its own progress row (fed by the check's ``report_progress``),
    then its verdict as a permanent line."""
    name = f"[{index}/{total}] {check.section}/{check.name}"

    def line(done: int, of: int | None, what: str) -> str:
        count = f"{done:,}/{of:,}" if of is not None else f"{done:,}"
        return f"{name}: {count} {what}".rstrip()

    with board.phase(f"{check.section}/{check.name}", None, line) as phase:
        def tick(done: int, of: int | None, what: str) -> None:
            phase.update(done, what, of)

        with reporting_to(tick):
            result = run_check(check)
    word = "ok" if result.ok else "FAIL"
    board.say(f"{name}: {word} ({result.seconds:.2f} s)")
    return result


def _finish(args: argparse.Namespace, results: list[CheckResult],
            cut: Interruption | None) -> int:
    """Write the reports and print the table or JSON; the exit code of a whole run."""
    ok = bool(results) and all(r.ok for r in results) and cut is None
    _write_reports(args, results, cut)
    write_result(args.json,
                 lambda: results_to_json(results, ok, cut),
                 lambda: render_table(results, ok, cut))
    sys.stdout.flush()
    return 0 if ok else 1


def select_sections(checks: list[Check], wanted: list[str] | None) -> list[Check]:
    """The checks of the ``wanted`` sections (all when None); an unknown name is bad usage."""
    if not wanted:
        return checks
    known = list(dict.fromkeys(c.section for c in checks))
    for name in wanted:
        if name not in known:
            raise InputError("verify", "--section", name,
                             "unknown section; known: " + ", ".join(known))
    return [c for c in checks if c.section in wanted]


def _write_reports(args: argparse.Namespace, results: list[CheckResult],
                   cut: Interruption | None) -> None:
    """``--junit`` and ``--html`` (each written atomically, marked if ``cut``)."""
    if args.junit:
        write_junit(results, args.junit, cut)
        if not args.json:
            print(f"verify: wrote {args.junit}", file=sys.stderr)
    if args.html:
        extra = write_verify_report(results, args.html, cut)
        if not args.json:
            traces = f" and {len(extra) // 2} counterexample reports" if extra else ""
            print(f"verify: wrote {args.html}{traces}", file=sys.stderr)


def section_totals(results: list[CheckResult]) -> list[str]:
    """One line per section: checks, passed, failed and time, aligned."""
    sections: dict[str, list[CheckResult]] = {}
    for r in results:
        sections.setdefault(r.section, []).append(r)
    rows = [("SECTION", "CHECKS", "PASSED", "FAILED", "TIME")]
    for name, members in sections.items():
        failed = sum(1 for r in members if not r.ok)
        rows.append((name, str(len(members)), str(len(members) - failed), str(failed),
                     f"{sum(r.seconds for r in members):.2f} s"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def results_to_json(results: list[CheckResult], ok: bool,
                    cut: Interruption | None = None) -> dict[str, Any]:
    """``{"ok", "checks": [{"section", "name", "ok", "summary", "seconds", "details"}]}``;
    an interrupted run adds ``"interrupted"`` (a sentence) and ``"not_run"``."""
    extra: dict[str, Any] = {} if cut is None else {
        "interrupted": cut.sentence(results),
        "not_run": [{"section": s, "name": n} for s, n in cut.not_run]}
    return {
        "ok": ok,
        **extra,
        "checks": [
            {"section": r.section, "name": r.name, "ok": r.ok, "summary": r.summary,
             "seconds": round(r.seconds, 3), "details": list(r.details)}
            for r in results
        ],
    }


def render_table(results: list[CheckResult], ok: bool,
                 cut: Interruption | None = None) -> str:
    """One row per check (section, check, verdict, time, summary), failures' details below."""
    header = ("SECTION", "CHECK", "VERDICT", "TIME", "SUMMARY")
    rows = [(r.section, r.name, "ok" if r.ok else "FAIL", f"{r.seconds:.2f} s", r.summary)
            for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
             + "  " + row[4] for row in [header, *rows]]
    for r in results:
        if not r.ok:
            lines.append("")
            lines.append(f"{r.section}/{r.name} failed:")
            lines += [f"    {line}" for line in r.details]
    passed = sum(r.ok for r in results)
    seconds = sum(r.seconds for r in results)
    if results:
        lines += ["", *section_totals(results)]
    lines.append("")
    if cut is not None:
        lines.append(f"verify: INTERRUPTED, {cut.sentence(results)}")
    elif not results:
        lines.append("verify: FAILED, no checks found")
    else:
        lines.append(f"verify: {'ok' if ok else 'FAILED'}, {passed}/{len(results)} checks "
                     f"passed in {seconds:.2f} s")
    return "\n".join(lines) + "\n"
