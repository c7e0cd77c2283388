"""Every event kind has its own test file here, named after it (STYLE rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

from dynmem.reference.events import EVENT_TYPES

HERE = Path(__file__).resolve().parent


def test_each_event_kind_has_a_test_file_citing_its_rule() -> None:
    """R-*: tests/reference/test_process_<kind>.py exists for each kind and cites its SPEC id."""
    files = {p.name for p in HERE.glob("test_process_*.py")}
    assert files == {f"test_process_{kind}.py" for kind in EVENT_TYPES}
    for kind, cls in EVENT_TYPES.items():
        text = (HERE / f"test_process_{kind}.py").read_text(encoding="utf-8")
        assert cls.SPEC in text, f"test_process_{kind}.py never cites {cls.SPEC}"


def test_each_test_has_a_docstring_citing_a_spec_id() -> None:
    """R-*: every test in tests/reference has a one-sentence docstring with an id."""
    for path in sorted(HERE.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                doc = ast.get_docstring(node) or ""
                assert any(p in doc for p in ("R-", "P-", "INV-", "AUX-")), (
                    f"{path.name}::{node.name}: no spec id in {doc!r}")
