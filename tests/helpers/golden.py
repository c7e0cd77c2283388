"""Golden files: a text pinned byte for byte in a ``golden/`` folder beside the test.

``check_golden(path, text)`` fails with a diff when ``text`` differs from the file. After an
intended change, run the tests with ``DYNMEM_UPDATE_GOLDEN=1``: each golden is rewritten and
that run fails, so a changed text is always looked at (``git diff``) before it is accepted.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

UPDATE = "DYNMEM_UPDATE_GOLDEN"


def golden_dir(test_file: str) -> Path:
    """The ``golden/`` folder beside the test module ``test_file`` (pass ``__file__``)."""
    return Path(test_file).resolve().parent / "golden"


def check_golden(path: Path, text: str) -> None:
    """``text`` is exactly the content of ``path`` (rewritten instead when ``UPDATE`` is set)."""
    if os.environ.get(UPDATE):
        path.write_text(text, encoding="utf-8")
        pytest.fail(f"rewrote {path}; review the diff and run again without {UPDATE}")
    if not path.exists():
        pytest.fail(f"no golden file {path}; write it with {UPDATE}=1 and review it")
    pinned = path.read_text(encoding="utf-8")
    if text != pinned:
        diff = difflib.unified_diff(pinned.splitlines(keepends=True),
                                    text.splitlines(keepends=True),
                                    f"{path.name} (pinned)", f"{path.name} (now)")
        pytest.fail(f"{path} differs (set {UPDATE}=1 to accept an intended change):\n"
                    + "".join(diff), pytrace=False)
