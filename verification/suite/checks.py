"""The types of ``dynmem verify``: a named :class:`Check`, its :class:`Verdict`, its result.

A section is a module of this package with a ``SECTION`` name and a ``checks(budgets)``
function returning :class:`Check` values (:class:`Budgets` bounds their work);
``suite/runner.py`` lists the sections and runs them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar

import attrs

from dynmem.model.params import MINIMAL
from dynmem.verification.traces.trace import Trace

# ``tick(done, total, what)``: how far the running check is (total None: open-ended).
Tick = Callable[[int, "int | None", str], None]
_TICK: ContextVar[Tick | None] = ContextVar("dynmem_check_tick", default=None)


def report_progress(done: int, total: int | None, what: str = "") -> None:
    """Tell whoever runs the current check how far it got (nothing if nobody listens).

    A check's long loop calls this (``dynmem verify`` shows it as the check's own bar); the
    check's signature stays ``run() -> Verdict``, so checks written without it still run.
    """
    tick = _TICK.get()
    if tick is not None:
        tick(done, total, what)


@contextlib.contextmanager
def reporting_to(tick: Tick) -> Iterator[None]:
    """Within the block, :func:`report_progress` calls ``tick``."""
    token = _TICK.set(tick)
    try:
        yield
    finally:
        _TICK.reset(token)


@attrs.frozen
class Budgets:
    """The counts that bound the suite's work, so its verdicts do not depend on the machine.

    ``rlimit`` is the Z3 resource budget of each solver check (``dynmem verify --rlimit``).
    """

    rlimit: int = MINIMAL.rlimit


DEFAULT_BUDGETS = Budgets()


@attrs.frozen
class Case:
    """One obligation inside a check (e.g. one proof obligation), shown as its own JUnit case.

    ``status`` is ``"passed"``, ``"failed"`` or ``"error"`` (undecided: e.g. a Z3 unknown).
    """

    name: str
    status: str
    seconds: float = 0.0
    message: str = ""


@attrs.frozen
class Verdict:
    """What one check found: ``ok``, a one-line ``summary`` and detail lines for people."""

    ok: bool
    summary: str
    details: tuple[str, ...] = ()
    traces: tuple[Trace, ...] = ()  # counterexamples (the HTML report links one page each)
    cases: tuple[Case, ...] = ()  # the obligations inside the check, for JUnit


@attrs.frozen
class Check:
    """A named obligation of ``dynmem verify``; ``run`` does the work."""

    name: str
    section: str
    run: Callable[[], Verdict]


@attrs.frozen
class CheckResult:
    """A finished check: its name, section, verdict and wall-clock seconds."""

    name: str
    section: str
    ok: bool
    summary: str
    seconds: float
    details: tuple[str, ...] = ()
    traces: tuple[Trace, ...] = ()
    cases: tuple[Case, ...] = ()


@attrs.frozen
class Interruption:
    """A run stopped early (Ctrl-C, SIGTERM): the checks that never ran, and how it ended."""

    not_run: tuple[tuple[str, str], ...]  # (section, name) of each check not run
    signal: str = "interrupted"  # "interrupted" (SIGINT) or "terminated" (SIGTERM)

    def sentence(self, results: Sequence[CheckResult]) -> str:
        """``interrupted after 17 of 21 checks: 16 passed, 1 failed``."""
        done = len(results)
        passed = sum(1 for r in results if r.ok)
        return (f"{self.signal} after {done} of {done + len(self.not_run)} checks: "
                f"{passed} passed, {done - passed} failed")
