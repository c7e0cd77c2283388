"""The runner of ``dynmem verify``: every check of every section, each giving a result.

The sections are the modules listed in :data:`SECTIONS`, imported as plain modules; each has a
``SECTION`` name and a ``checks(budgets)`` function returning :class:`Check` values
(``suite/checks.py``). A later issue adds a section by adding one import and one entry to
``SECTIONS``. A check that raises is a failed check with the exception in its details, never a
pass.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from types import ModuleType

from dynmem.verification.suite import bmc_checks, engine_checks, proof_checks, scenario_checks
from dynmem.verification.suite.checks import DEFAULT_BUDGETS, Budgets, Check, CheckResult, Verdict

# The sections, in run order.
SECTIONS: tuple[ModuleType, ...] = (scenario_checks, proof_checks, bmc_checks, engine_checks)


def collect_checks(sections: Iterable[ModuleType] = SECTIONS,
                   budgets: Budgets = DEFAULT_BUDGETS) -> list[Check]:
    """Every check of every section, in order, each bounded by ``budgets``."""
    checks: list[Check] = []
    for module in sections:
        checks += module.checks(budgets)
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
