"""What the ``dynmem`` process prints: control characters escaped, encodable on any terminal.

A VM name, an IUT's stderr or a trace's message is untrusted text; an ANSI escape in it must
not repaint the user's terminal (or hide a line), and a lone surrogate (``"\\ud800"``) must
not crash the print with UnicodeEncodeError. :class:`SafeText` wraps stdout and stderr for
the run: C0 controls other than newline, tab and carriage return, DEL and C1 controls are
written as ``\\x1b``-style escapes, and unencodable characters as ``\\udc80``-style escapes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

_CONTROLS = (*range(0x20), *range(0x7f, 0xa0))
# stderr keeps carriage returns (progress lines rewrite themselves); stdout, a report or a
# document, does not (a name holding ``\r`` would overwrite a line on a terminal).
_ESCAPES = {code: f"\\x{code:02x}" for code in _CONTROLS if chr(code) not in "\n\t\r"}
_ESCAPES_NO_CR = {**_ESCAPES, ord("\r"): "\\x0d"}


def escape_controls(text: str, keep_cr: bool = True) -> str:
    r"""``text`` with control characters (but newline, tab and, if ``keep_cr``, CR) escaped.

    Examples
    --------
    >>> escape_controls("vm\x1b[2Jx\n")
    'vm\\x1b[2Jx\n'
    """
    return text.translate(_ESCAPES if keep_cr else _ESCAPES_NO_CR)


class SafeText:
    """A text stream that escapes control characters and never fails on encoding."""

    def __init__(self, stream: TextIO, keep_cr: bool = True) -> None:
        self._stream, self._keep_cr = stream, keep_cr
        encoding = getattr(stream, "encoding", None) or "utf-8"
        self._encoding = encoding

    def write(self, text: str) -> int:
        safe = escape_controls(text, self._keep_cr)
        try:
            safe.encode(self._encoding)
        except (UnicodeEncodeError, LookupError):
            safe = safe.encode(self._encoding, errors="backslashreplace").decode(
                self._encoding, errors="replace")
        return self._stream.write(safe)

    @property
    def raw_stream(self) -> TextIO:
        """The wrapped stream, for a writer that escapes its own text (the live progress
        display of ``cli/progress.py`` writes terminal escapes of its own)."""
        return self._stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def write_result(as_json: bool, data: Callable[[], Any], text: Callable[[], str]) -> None:
    """A command's result on stdout: one JSON document (``--json``) or its text report (each
    built only if it is the one printed)."""
    if as_json:
        json.dump(data(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text())
