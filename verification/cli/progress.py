"""Progress on stderr that a person can follow, the same for every long command.

A :class:`Board` is the stderr of one run. On a terminal it is a ``rich`` live display: one
row per running phase (spinner, bar, done/total, what runs now, elapsed time), rewritten in
place, with permanent lines (``say``: a check's verdict, a warning) printed above it; the
rows vanish when the run ends. Anywhere else (a log file, a pipe, CI) it writes plain lines,
never a carriage return: a phase's first and last update and at most one line per
``every`` seconds between them, so a log of an hour-long run stays readable. ``--json``
changes nothing here: the document goes to stdout, progress to stderr.

Every long command ends with :meth:`Board.finish`: one line with the verdict, the wall time
and the CPU time (user + system of this process and its children: an IUT, prove's workers)
— the machine is shared, so CPU seconds are the comparable number.

``rich`` is imported only when a terminal display starts (start-up time of ``dynmem --help``:
benchmarks/bench_startup.py). Text from users (VM names, an IUT's messages) is escaped
(``console.escape_controls``) and never read as rich markup.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from dynmem.verification.cli.console import escape_controls

PLAIN_EVERY_S = 10.0  # seconds between two plain lines of one phase (a log file's rhythm)

PlainLine = Callable[[int, "int | None", str], str]

# Where the command's clock starts (``mark_start``, called by ``cli.main``): wall seconds
# from ``perf_counter`` and CPU seconds; unmarked, a board's clock starts when it is made.
_START: list[tuple[float, float]] = []


def mark_start(whole_process: bool) -> None:
    """Start the command's clock now; ``whole_process``: its CPU count from zero (the
    interpreter's start-up and imports are part of what the command cost)."""
    _START[:] = [(time.perf_counter(), 0.0 if whole_process else cpu_seconds())]


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def format_summary(text: str, wall: float, cpu: float) -> str:
    """``text (12.3 s wall, 20.1 s CPU)``: the last line of a long command.

    Examples
    --------
    >>> format_summary("verify: ok, 21 checks", 95.27, 180.2)
    'verify: ok, 21 checks (95.3 s wall, 180.2 s CPU)'
    """
    return f"{text} ({wall:.1f} s wall, {cpu:.1f} s CPU)"


def _default_line(name: str) -> PlainLine:
    def line(done: int, total: int | None, text: str) -> str:
        count = f"{done:,}/{total:,}" if total is not None else f"{done:,}"
        return f"{name}: {count}" + (f" {text}" if text else "")
    return line


def is_live(stream: Any) -> bool:
    """Whether ``stream`` is a terminal that can show a live display."""
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):  # a closed stream
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


class Phase:
    """One phase of a run (a check, a search, a campaign): ``update`` as it goes, ``close``
    at the end (a ``with`` block does it). ``total`` None: no bar, a count and a spinner."""

    def __init__(self, board: Board, name: str, total: int | None,
                 plain: PlainLine | None, after: float = 0.0) -> None:
        self.board, self.name, self.total = board, name, total
        self.plain = plain or _default_line(name)
        # Silent for its first ``after`` seconds: a phase that is usually short shows
        # nothing unless it runs long (``simulate`` of a user's long scenario).
        self.after, self.opened = after, time.perf_counter()
        self.done, self.text = 0, ""
        self._last_plain: float | None = None  # when the last plain line was written
        self._pending = False  # an update not yet written as a plain line
        self._task: Any = None
        self.board._open(self)

    def update(self, done: int, text: str = "", total: int | None = None,
               force: bool = False, keep: bool = False) -> None:
        """``done`` of ``total`` (kept if None) with ``text`` saying what runs now. ``force``:
        a log gets this line now, whatever the rhythm; ``keep``: the line is a record (a
        finding, a BMC depth's verdict), written as a permanent line on a terminal too."""
        self.done, self.text = done, text
        if total is not None:
            self.total = total
        if keep and self._task is not None:
            self.board.say(self.plain(done, self.total, text))
        self.board._update(self, force or keep or self.done == self.total)

    def close(self) -> None:
        """End the phase: its row goes; a plain log gets its last state if not yet written."""
        self.board._close(self)

    def __enter__(self) -> Phase:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class Board:
    """The stderr of one command run: phases, permanent lines and the final summary.

    ``live`` None: a rich display if ``stream`` is a terminal, plain lines otherwise.
    ``quiet``: nothing at all (an embedding program that wants no stderr).
    """

    def __init__(self, stream: TextIO | None = None, live: bool | None = None,
                 every: float = PLAIN_EVERY_S, quiet: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = is_live(self.stream) if live is None else live
        self.every, self.quiet = every, quiet
        self.wall0, self.cpu0 = _START[0] if _START else (time.perf_counter(), cpu_seconds())
        self._rich: Any = None  # rich.progress.Progress, started with the first phase
        self._phases: list[Phase] = []

    # --- the public face ----------------------------------------------------------------

    def phase(self, name: str, total: int | None = None,
              plain: PlainLine | None = None, after: float = 0.0) -> Phase:
        """A new phase; ``plain(done, total, text)`` formats its plain lines; ``after``:
        nothing is shown of it before it has run that many seconds."""
        return Phase(self, name, total, plain, after)

    def say(self, line: str) -> None:
        """A permanent line (above the live rows on a terminal)."""
        if self.quiet:
            return
        if self._rich is not None:
            self._rich.console.print(escape_controls(line, keep_cr=False), markup=False,
                                     highlight=False, soft_wrap=True)
        else:
            print(line, file=self.stream, flush=True)

    def elapsed(self) -> tuple[float, float]:
        """Wall and CPU seconds since the board was made."""
        return time.perf_counter() - self.wall0, cpu_seconds() - self.cpu0

    def finish(self, text: str, after: float = 0.0) -> None:
        """Stop the live display and write the run's last line: ``text`` with wall and CPU
        (``after``: only if the run took that many seconds, a command usually short)."""
        self.stop()
        wall, cpu = self.elapsed()
        if wall >= after:
            self.say(format_summary(text, wall, cpu))

    def stop(self) -> None:
        """Stop the live display (rows vanish); later lines are plain. Idempotent."""
        for phase in list(self._phases):
            phase.close()
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def __enter__(self) -> Board:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- the phases' side ---------------------------------------------------------------

    def _open(self, phase: Phase) -> None:
        self._phases.append(phase)
        if self.quiet or not self.live or phase.after > 0:
            return  # a phase silent at first gets its row at its first late update
        self._open_row(phase)

    def _open_row(self, phase: Phase) -> None:
        if self._rich is None:
            self._rich = _start_rich(self.stream)
        phase._task = self._rich.add_task(escape_controls(phase.name, keep_cr=False),
                                          total=phase.total, text="")

    def _update(self, phase: Phase, force: bool) -> None:
        if self.quiet:
            return
        if phase.after > 0:
            if time.perf_counter() - phase.opened < phase.after:
                return
            if self.live and phase._task is None:
                phase.after = 0.0
                self._open_row(phase)
        if phase._task is not None and self._rich is not None:
            self._rich.update(phase._task, completed=phase.done, total=phase.total,
                              text=escape_controls(phase.text, keep_cr=False))
            return
        now = time.perf_counter()
        if force or phase._last_plain is None or now - phase._last_plain >= self.every:
            print(phase.plain(phase.done, phase.total, phase.text), file=self.stream,
                  flush=True)
            phase._last_plain, phase._pending = now, False
        else:
            phase._pending = True

    def _close(self, phase: Phase) -> None:
        if phase not in self._phases:
            return
        self._phases.remove(phase)
        if phase._task is not None and self._rich is not None:
            self._rich.remove_task(phase._task)
            phase._task = None
            if not self._phases:  # nothing left to show: the terminal is plain again (so a
                self._rich.stop()  # message after an interruption is not drawn over)
                self._rich = None
        elif phase._pending and not self.quiet:
            print(phase.plain(phase.done, phase.total, phase.text), file=self.stream,
                  flush=True)
            phase._pending = False


def _start_rich(stream: TextIO) -> Any:
    """A started ``rich.progress.Progress`` on ``stream`` (the raw terminal: rich writes its
    own escapes; the text it shows is escaped before it gets there)."""
    from rich.console import Console  # lazy: start-up time (see the module's docstring)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    raw = getattr(stream, "raw_stream", stream)
    console = Console(file=raw, force_terminal=True, highlight=False)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                        BarColumn(bar_width=30), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[text]}", markup=False),
                        console=console, transient=True, refresh_per_second=8,
                        redirect_stdout=False, redirect_stderr=False)  # stdout: the JSON
    progress.start()
    return progress


__all__ = ["PLAIN_EVERY_S", "Board", "Phase", "cpu_seconds", "format_summary", "is_live",
           "mark_start"]
