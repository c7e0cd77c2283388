"""What the ``dynmem`` process prints: control characters escaped, encodable on any terminal.

A VM name, an IUT's stderr or a trace's message is untrusted text; an ANSI escape in it must
not repaint the user's terminal (or hide a line), and a lone surrogate (``"\\ud800"``) must
not crash the print with UnicodeEncodeError. :class:`SafeText` wraps stdout and stderr for
the run: C0 controls other than newline, tab and carriage return, DEL and C1 controls are
written as ``\\x1b``-style escapes, and unencodable characters as ``\\udc80``-style escapes.
"""

from __future__ import annotations

from typing import Any, TextIO

_KEEP = {"\n", "\t", "\r"}
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7f, 0xa0))
            if chr(code) not in _KEEP}


def escape_controls(text: str) -> str:
    r"""``text`` with control characters (but newline, tab and CR) escaped.

    Examples
    --------
    >>> escape_controls("vm\x1b[2Jx\n")
    'vm\\x1b[2Jx\n'
    """
    return text.translate(_ESCAPES)


class SafeText:
    """A text stream that escapes control characters and never fails on encoding."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        encoding = getattr(stream, "encoding", None) or "utf-8"
        self._encoding = encoding

    def write(self, text: str) -> int:
        safe = escape_controls(text)
        try:
            safe.encode(self._encoding)
        except (UnicodeEncodeError, LookupError):
            safe = safe.encode(self._encoding, errors="backslashreplace").decode(
                self._encoding, errors="replace")
        return self._stream.write(safe)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
