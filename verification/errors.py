"""The exception family of dynmem (specs/formats.md §errors): one root, clear messages.

``InputError`` is bad input from a user's file or command line; the CLI prints its message
(which names the file, the field path and the value) and exits 2, never a traceback.
"""

from __future__ import annotations


class DynmemError(Exception):
    """Root of every error dynmem raises on purpose."""


MAX_ECHO_CHARS = 80  # of a value (or path, source) echoed in a message; then its length


def cut(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text``, or its first ``limit`` characters and its length (a 100 MB value must not
    become a 100 MB error line).

    Examples
    --------
    >>> cut("x" * 100, 5)
    'xxxxx… (100 characters)'
    """
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


class InputError(DynmemError):
    """Bad user input: ``source: path = value: rule``; long values and paths are cut."""

    def __init__(self, source: str, path: str, value: object, rule: str) -> None:
        self.source, self.path, self.value, self.rule = source, path, value, rule
        shown = cut(repr(value))
        path = cut(path, 4 * MAX_ECHO_CHARS)
        where = f"{path} = {shown}" if path else shown if value is not None else ""
        source = cut(source, 4 * MAX_ECHO_CHARS)
        super().__init__(f"{source}: {where}: {rule}" if where else f"{source}: {rule}")


class ModelError(DynmemError):
    """The model and the reference disagree (a bug in one of them, never hidden)."""


class SolverUnknown(DynmemError):
    """Z3 answered unknown or timed out: reported as unknown, never as proved."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that every
    ``finally`` runs (child processes ended, partial reports written); exit code 143."""


# Signals the CLI's handlers turned into KeyboardInterrupt. Python drops an exception raised
# inside a gc callback ("Exception ignored in ..."), and Hypothesis installs one: a Ctrl-C
# that lands there would be lost and a campaign would run on. A long loop's checkpoint
# (``raise_pending_signal``) raises it again.
_PENDING_SIGNALS: list[int] = []


def note_signal(signum: int) -> None:
    """Remember that ``signum`` (SIGINT or SIGTERM) asked the command to stop."""
    _PENDING_SIGNALS.append(signum)


def clear_signals() -> None:
    """Forget the signals noted so far (a new command starts)."""
    _PENDING_SIGNALS.clear()


def get_pending_signal() -> int | None:
    """The last of SIGINT or SIGTERM that asked the command to stop, None if none did."""
    return _PENDING_SIGNALS[-1] if _PENDING_SIGNALS else None


def raise_pending_signal() -> None:
    """Raise the interrupt a noted signal asked for, if any: :class:`Terminated` for
    SIGTERM, KeyboardInterrupt for SIGINT.

    Examples
    --------
    >>> clear_signals(); raise_pending_signal()  # nothing noted: nothing happens
    >>> note_signal(15)
    >>> try:
    ...     raise_pending_signal()
    ... except Terminated as err:
    ...     print(err)
    signal 15
    >>> clear_signals()
    """
    if _PENDING_SIGNALS:
        signum = _PENDING_SIGNALS[-1]
        raise (Terminated if signum == 15 else KeyboardInterrupt)(f"signal {signum}")
