"""``dynmem verify [--json]``: the main job. Runs every check of every section of
``verification/suite.py`` (for now the built-in scenarios) and prints a summary table.

Exit 0 only if every check passes, 1 otherwise. Progress goes to stderr (quiet with
``--json``, which prints exactly one JSON document on stdout).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dynmem.verification.suite import CheckResult, collect_checks, run_checks


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="run every verification check (for now the built-in scenarios) and report",
        description="Run every verification check and print a summary table. Exit 0 only "
                    "if every check passes.",
    )
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document instead of the table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the suite; print the table (or JSON); 0 if all checks pass, else 1."""
    checks = collect_checks()
    total = len(checks)

    finished: list[CheckResult] = []

    def progress(result: CheckResult) -> None:
        finished.append(result)
        word = "ok" if result.ok else "FAIL"
        print(f"[{len(finished)}/{total}] {result.section}/{result.name}: {word} "
              f"({result.seconds:.2f} s)", file=sys.stderr)

    results = run_checks(checks, None if args.json else progress)
    ok = bool(results) and all(r.ok for r in results)
    if args.json:
        json.dump(results_to_json(results, ok), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_table(results, ok))
    return 0 if ok else 1


def results_to_json(results: list[CheckResult], ok: bool) -> dict[str, Any]:
    """``{"ok", "checks": [{"section", "name", "ok", "summary", "seconds", "details"}]}``."""
    return {
        "ok": ok,
        "checks": [
            {"section": r.section, "name": r.name, "ok": r.ok, "summary": r.summary,
             "seconds": round(r.seconds, 3), "details": list(r.details)}
            for r in results
        ],
    }


def render_table(results: list[CheckResult], ok: bool) -> str:
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
    lines.append("")
    if not results:
        lines.append("verify: FAILED, no checks found")
    else:
        lines.append(f"verify: {'ok' if ok else 'FAILED'}, {passed}/{len(results)} checks "
                     f"passed in {seconds:.2f} s")
    return "\n".join(lines) + "\n"
