"""``dynmem verify``: the checks, the sections that provide them, and their reports.

``collect_checks`` and ``run_checks`` (``runner.py``) over the sections listed in
``SECTIONS`` (scenarios, proofs, bmc, engines), each bounded by ``Budgets`` (counts, never
seconds); the types ``Check``, ``Verdict`` and ``CheckResult`` (``checks.py``); the JUnit
(``write_junit``) and HTML (``write_verify_report``) reports.
"""

from dynmem.verification.suite.checks import Budgets, Check, CheckResult, Verdict
from dynmem.verification.suite.junit import write_junit
from dynmem.verification.suite.runner import SECTIONS, collect_checks, run_checks

__all__ = [
    "Budgets", "Check", "CheckResult", "SECTIONS", "Verdict", "collect_checks", "run_checks",
    "write_junit",
]
