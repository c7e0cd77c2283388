"""``check_iut``: the oracle as one function call, for a Python object or a command.

What ``dynmem oracle`` does, returned instead of printed: say hello, generate examples, shrink
the first failure, and describe it (``OracleRun.report`` is the text the command prints).
The pytest plugin and user scripts call this; the IUT is either a Python object
implementing :class:`~dynmem.verification.oracle.iut.SystemIut` or
:class:`~dynmem.verification.oracle.iut.PolicyIut`, or a shell command speaking the JSON
Lines protocol of specs/formats/oracle.md.
"""

from __future__ import annotations

from typing import Any

import attrs

from dynmem.model.concrete_steps import is_allowed
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import initial_state
from dynmem.verification.oracle.generate import ORACLE_ALIGNMENTS, get_default_source
from dynmem.verification.oracle.iut import (
    Driver,
    InProcessIut,
    IutFault,
    IutUnusable,
    Kind,
    Mode,
    PolicyIut,
    SystemIut,
    check_hello,
)
from dynmem.verification.oracle.judge import PROTOCOL, CaseResult, Divergence
from dynmem.verification.oracle.pagegen import small_preset
from dynmem.verification.oracle.pagejudge import PageDivergence
from dynmem.verification.oracle.pagesession import (
    InProcessPageIut,
    PageCase,
    PageDriver,
    PageRun,
    check_pages,
)
from dynmem.verification.oracle.pagewire import WIRE_PAGES
from dynmem.verification.oracle.report import report_text, report_to_json
from dynmem.verification.oracle.search import SHRINK_REPLAYS, Progress, SearchResult, search
from dynmem.verification.oracle.wire import open_iut
from dynmem.verification.traces.trace import Trace

Iut = SystemIut | PolicyIut | str
MODEL = "dynmem.model.concrete_steps.is_allowed"  # what judges each step, named in reports


@attrs.frozen
class OracleRun:
    """The outcome of :func:`check_iut`: the search result and what it was run with."""

    result: SearchResult
    kind: Kind
    mode: Mode
    iut: str  # the command, or the Python object's class name
    model: str  # what judged the steps

    @property
    def ok(self) -> bool:
        """True when no example diverged."""
        return self.result.failure is None

    @property
    def report(self) -> str:
        """The readable report (verdict, first divergence, diff, shrunk trace)."""
        return report_text(self.result, self.kind, self.mode, self.iut, self.model)

    def to_json(self) -> dict[str, Any]:
        """report.json (specs/formats/schemas/report.schema.json)."""
        return report_to_json(self.result, self.kind, self.mode, self.iut, self.model)


def hello_failure(fault: IutFault) -> SearchResult:
    """A fault at hello is the IUT's: a divergence at step 0, before any state."""
    empty = initial_state(HostSettings(1, 0))
    divergence = Divergence("protocol", 0, None, fault.message, fault.detail,
                            stderr_tail=fault.stderr_tail)
    # The state is a placeholder: the "phase" note keeps it out of the report.
    trace = Trace(empty, source="oracle", notes=(("phase", "hello"),))
    return SearchResult(0, CaseResult(empty, (), divergence, trace), 0)


def describe_iut(iut: Iut) -> str:
    """How reports name ``iut``: the command, or the object's class."""
    return iut if isinstance(iut, str) else type(iut).__name__


def open_driver(iut: Iut, timeout: float = 10.0) -> Driver:
    """A driver for ``iut``: a subprocess for a command, in-process for an object."""
    return open_iut(iut, timeout=timeout) if isinstance(iut, str) else InProcessIut(iut)


def check_page_iut(iut: object | str, *, examples: int = 100, seed: int | None = None,
                   exhaustive: bool = True, max_steps: int = 40, timeout: float = 10.0,
                   shrink_replays: int = SHRINK_REPLAYS) -> PageRun:
    """The page session of ``dynmem oracle`` (specs/formats/oracle.md §9) on a page-level
    IUT: a command whose hello says ``"wire": 2``, or a Python object with
    ``answer(request: dict) -> dict | None`` (e.g. ``ReferencePageHost``). ``report_text``
    of ``verification.oracle.pagesession`` renders the result.

    Raises
    ------
    IutUnusable
        The IUT does not start, speaks another protocol version or the amount-level wire.

    Examples
    --------
    >>> from dynmem.verification.oracle import ReferencePageHost, check_page_iut
    >>> check_page_iut(ReferencePageHost(), examples=5, seed=1).ok
    True
    """
    driver: PageDriver = (open_iut(iut, timeout=timeout) if isinstance(iut, str)
                          else InProcessPageIut(iut))
    try:
        try:
            hello = driver.hello("system", "refinement")
            check_hello(hello, "system")
        except IutFault as fault:
            return PageRun(PageCase(small_preset(), (), PageDivergence(
                PROTOCOL, 0, None, fault.message, fault.detail, stderr_tail=fault.stderr_tail)),
                "hello")
        if hello.wire != WIRE_PAGES:
            raise IutUnusable("the IUT speaks the amount-level wire (no \"wire\": 2 in its "
                              "hello): use check_iut")
        # an IUT that follows the guest's alignment (Rule P1c) meets aligned guests, as
        # under `dynmem oracle`
        return check_pages(driver, examples=examples, seed=seed, exhaustive_phase=exhaustive,
                           max_steps=max_steps, shrink_replays=shrink_replays,
                           alignments=ORACLE_ALIGNMENTS if hello.hot_add_alignment else ())
    finally:
        driver.close()


def check_iut(iut: Iut, *, kind: Kind = "system", mode: Mode = "refinement",
              examples: int = 100, seed: int | None = None, max_steps: int = 60,
              timeout: float = 10.0, shrink_replays: int = SHRINK_REPLAYS,
              progress: Progress | None = None, lifecycle: bool = False,
              hibernate: bool = False) -> OracleRun:
    """Run the oracle's random phase on ``iut``: generated examples, the first failure shrunk.

    The bounded-exhaustive phase of ``dynmem oracle`` is ``dynmem.verification.conformance``
    (``check_system`` / ``check_policy``); this function does not run it.

    Parameters
    ----------
    iut
        A Python object implementing ``SystemIut`` or ``PolicyIut``, or a shell command
        that starts an IUT speaking JSON Lines (specs/formats/oracle.md).
    kind, mode
        ``system`` or ``policy``; ``refinement`` (any safe policy) or ``lockstep`` (exactly
        the reference), as ``dynmem oracle --kind/--mode``.
    examples, seed, max_steps
        How many examples, the random seed (None: a fresh one, in the report), events per
        example at most.
    timeout, shrink_replays
        Per-request timeout of a command IUT; how many replays shrinking may take (a count,
        so the shrunk trace does not depend on the machine's speed).
    progress
        Called as ``progress(examples, shrink_runs)`` while searching.
    lifecycle
        The IUT implements specs/lifecycle.md: the examples also hold restarts, channel
        resets, the stuck timer, save/restore, migration and starts that wait for reclaim
        (``dynmem oracle --lifecycle``).
    hibernate
        Each example draws its guests' profiles, a hibernating guest among them: it never
        answers a balloon or an unballoon and the watchdog is its honest next step
        (``dynmem oracle --hibernate``; implies the lifecycle).

    Returns
    -------
    OracleRun
        ``ok``, the readable ``report`` and ``to_json()``.

    Raises
    ------
    IutUnusable
        The IUT does not start, speaks another protocol version or lacks ``kind``.

    Examples
    --------
    >>> from dynmem.verification.oracle import ReferenceSystem, check_iut
    >>> run = check_iut(ReferenceSystem(), examples=5, seed=1)
    >>> run.ok, run.report.splitlines()[-1]
    (True, 'verdict: PASS, no divergence found')
    """
    driver = open_driver(iut, timeout)
    try:
        try:
            hello = driver.hello(kind, mode)
            check_hello(hello, kind)
        except IutFault as fault:
            result = hello_failure(fault)
        else:
            source = get_default_source(
                kind, max_steps, lifecycle, host_profile=hello.host_profile,
                alignments=ORACLE_ALIGNMENTS if hello.hot_add_alignment else (),
                hibernate=hibernate)
            result = search(driver, kind, mode, source,
                            examples,
                            seed, is_allowed, shrink_replays, progress)
    finally:
        driver.close()
    return OracleRun(result, kind, mode, describe_iut(iut), MODEL)
