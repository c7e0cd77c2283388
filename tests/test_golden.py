"""The golden-file helper (tests/helpers/golden.py) passes, fails with a diff, and rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden import UPDATE, check_golden, golden_dir


def test_same_text_passes(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\ntwo\n", encoding="utf-8")
    check_golden(tmp_path / "a.txt", "one\ntwo\n")


def test_a_difference_fails_with_a_diff(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\ntwo\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)-two\n\+three"):
        check_golden(tmp_path / "a.txt", "one\nthree\n")


def test_a_missing_file_fails(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="no golden file"):
        check_golden(tmp_path / "missing.txt", "text")


def test_update_rewrites_and_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the variable set the file is rewritten, and that run still fails (to be looked at)."""
    monkeypatch.setenv(UPDATE, "1")
    with pytest.raises(pytest.fail.Exception, match="rewrote"):
        check_golden(tmp_path / "new.txt", "fresh\n")
    assert (tmp_path / "new.txt").read_text(encoding="utf-8") == "fresh\n"


def test_golden_dir_is_beside_the_test() -> None:
    assert golden_dir(__file__) == Path(__file__).resolve().parent / "golden"
