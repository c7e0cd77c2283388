"""The checks ``dynmem verify`` runs: named checks grouped in sections, each giving a result.

A section is a module under ``dynmem.verification`` listed in :data:`SECTIONS`, with a
``SECTION`` name and a ``checks()`` function returning :class:`Check` values. Later issues add
their sections (proofs, bmc, exploration, fuzzing) by adding one line to ``SECTIONS``. A check
that raises is a failed check with the exception in its details, never a pass.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable, Iterable

import attrs

from dynmem.verification.trace import Trace

# Modules under dynmem.verification providing SECTION and checks(), in run order.
SECTIONS = (
    "builtin",
    "proof_checks",
    "bmc_checks",
    "engine_checks",
)


@attrs.frozen
class Case:
    """One obligation inside a check (e.g. one proof obligation), shown as its own JUnit case.

    ``status`` is ``"passed"``, ``"failed"`` or ``"error"`` (undecided: e.g. a Z3 unknown).
    """

    name: str
    status: str
    seconds: float = 0.0
    message: str = ""


@attrs.frozen
class Verdict:
    """What one check found: ``ok``, a one-line ``summary`` and detail lines for people."""

    ok: bool
    summary: str
    details: tuple[str, ...] = ()
    traces: tuple[Trace, ...] = ()  # counterexamples (the HTML report links one page each)
    cases: tuple[Case, ...] = ()  # the obligations inside the check, for JUnit


@attrs.frozen
class Check:
    """A named obligation of ``dynmem verify``; ``run`` does the work."""

    name: str
    section: str
    run: Callable[[], Verdict]


@attrs.frozen
class CheckResult:
    """A finished check: its name, section, verdict and wall-clock seconds."""

    name: str
    section: str
    ok: bool
    summary: str
    seconds: float
    details: tuple[str, ...] = ()
    traces: tuple[Trace, ...] = ()
    cases: tuple[Case, ...] = ()


def collect_checks(sections: Iterable[str] = SECTIONS) -> list[Check]:
    """Every check of every section, in order."""
    checks: list[Check] = []
    for name in sections:
        module = importlib.import_module(f"dynmem.verification.{name}")
        checks += module.checks()
    return checks


def run_check(check: Check) -> CheckResult:
    """Run ``check`` and time it; an exception is a failure with its traceback as details."""
    start = time.perf_counter()
    try:
        verdict = check.run()
    except Exception as err:  # a crashing check must fail loudly, not stop the suite
        lines = traceback.format_exception(err)
        verdict = Verdict(False, f"crashed: {type(err).__name__}: {err}",
                          tuple("".join(lines).rstrip().splitlines()))
    seconds = time.perf_counter() - start
    return CheckResult(check.name, check.section, verdict.ok, verdict.summary, seconds,
                       verdict.details, verdict.traces, verdict.cases)


def run_checks(checks: Iterable[Check],
               on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Run ``checks`` in order; ``on_result`` sees each result as it finishes (progress)."""
    results = []
    for check in checks:
        result = run_check(check)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
