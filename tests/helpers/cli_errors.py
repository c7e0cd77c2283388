"""The command line's answer to bad usage, as tests expect it: exit 2, one ``dynmem:`` line."""

from __future__ import annotations

import pytest


def assert_usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    """``dynmem ARGV`` exits 2 with exactly one ``dynmem:`` line, which names ``words``, and
    no traceback (other lines, e.g. "starting ...", may come before it)."""
    from dynmem.verification.cli.main import main  # noqa: PLC0415 - tests/reference use it too

    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("dynmem:")]
    assert len(errors) == 1 and words in errors[0] and "Traceback" not in err, err
