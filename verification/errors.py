"""The exception family of dynmem (specs/formats.md §errors): one root, clear messages.

``InputError`` is bad input from a user's file or command line; the CLI prints its message
(which names the file, the field path and the value) and exits 2, never a traceback.
"""

from __future__ import annotations


class DynmemError(Exception):
    """Root of every error dynmem raises on purpose."""


class InputError(DynmemError):
    """Bad user input: ``source: path = value: rule``."""

    def __init__(self, source: str, path: str, value: object, rule: str) -> None:
        self.source, self.path, self.value, self.rule = source, path, value, rule
        where = f"{path} = {value!r}" if path else repr(value) if value is not None else ""
        super().__init__(f"{source}: {where}: {rule}" if where else f"{source}: {rule}")


class ModelError(DynmemError):
    """The model and the reference disagree (a bug in one of them, never hidden)."""


class SolverUnknown(DynmemError):
    """Z3 answered unknown or timed out: reported as unknown, never as proved."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that every
    ``finally`` runs (child processes ended, partial reports written); exit code 143."""
