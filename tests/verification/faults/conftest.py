"""Print the fault-injection tally at the end of the session (numbers for the README)."""

from __future__ import annotations

import pytest
from fault_cases import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        parts = ", ".join(f"{name}: {count}" for name, count in TALLY.items())
        failed = len(terminalreporter.stats.get("failed", []))
        verdict = "no traceback, no replaced file" if not failed else f"{failed} FAILED"
        terminalreporter.write_line(f"fault injection: {parts}; {verdict}")
