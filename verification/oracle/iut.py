"""Implementations under test (IUTs): the two Protocols, their answers and faults.

An IUT is either a *system* (consumes events, reports what it observes) or a *policy*
(given the host's view, returns the DM requests it would send), specs/formats/oracle.md §2.
Python IUTs implement :class:`SystemIut` or :class:`PolicyIut` and run in-process through
:class:`InProcessIut`; any other program speaks the protocol on stdin/stdout and runs
through :class:`~dynmem.verification.oracle.wire.SubprocessIut`. Both raise
:class:`IutFault` for anything the IUT gets wrong at the protocol level (crash, early exit,
timeout, malformed JSON, wrong schema, an ``error`` answer), so the oracle never hangs and
never shows a traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

import attrs

from dynmem.model.vocabulary import HostProfile
from dynmem.reference.events import DmRequest, Event
from dynmem.reference.state import DmState
from dynmem.verification.codec import event_to_json
from dynmem.verification.errors import DynmemError, InputError
from dynmem.verification.oracle.observation import Observation, requests_from_json

PROTOCOL_VERSION = 1
Kind = Literal["policy", "system"]
Mode = Literal["refinement", "lockstep"]
FaultDetail = Literal["crash", "exit", "timeout", "malformed", "schema", "error"]


@attrs.frozen
class Hello:
    """The IUT's answer to ``hello``: its protocol version, name and kinds (Rule P1), and the
    host profile it implements (Rule P1a: which protocol versions its host accepts; an IUT
    that does not say is a ``qemu`` host, every version, as before), and the wire it speaks
    (Rule P1b: 1, amounts in MiB, as before; 2, page ranges, specs/formats/oracle.md §9), and
    whether it follows the guest's hot-add alignment (Rule P1c: then capabilities reports
    advertise 4 and 128 MiB too; an IUT that does not say only ever sees 2 MiB)."""

    name: str
    kinds: tuple[str, ...]
    protocol: int = PROTOCOL_VERSION
    host_profile: HostProfile = HostProfile.QEMU
    wire: int = 1
    hot_add_alignment: bool = False


@attrs.frozen
class Observed:
    """A system IUT's answer to one event (Rule P3)."""

    observation: Observation
    sent: tuple[DmRequest, ...] = ()
    rejected: str | None = None


@runtime_checkable
class SystemIut(Protocol):
    """A whole system: it consumes events and reports what it observes after each one."""

    def hello(self, kind: Kind, mode: Mode) -> Hello:
        """Say who you are and which kinds you implement."""
        ...

    def reset(self, state: DmState) -> None:
        """Adopt ``state`` (any full state) and forget everything else (Rule P2)."""
        ...

    def event(self, step: int, event: Event) -> Observed:
        """Process ``event``; return the observation after it and the requests sent."""
        ...


@runtime_checkable
class PolicyIut(Protocol):
    """A balancing policy: the host's view in, the DM requests it would send out."""

    def hello(self, kind: Kind, mode: Mode) -> Hello:
        ...

    def reset(self, state: DmState) -> None:
        ...

    def plan(self, step: int, view: DmState) -> tuple[DmRequest, ...]:
        """The requests to send now, in order (Rule P4); ``view`` has no demand values."""
        ...


class IutFault(DynmemError):
    """The IUT broke the protocol; ``detail`` is one of crash, exit, timeout, malformed,
    schema, error (specs/formats/oracle.md §3, class ``protocol``)."""

    def __init__(self, detail: FaultDetail, message: str, stderr_tail: str = "") -> None:
        self.detail, self.message, self.stderr_tail = detail, message, stderr_tail
        super().__init__(f"{detail}: {message}")


class IutUnusable(DynmemError):
    """The IUT cannot be used for this run at all (bad usage, exit 2): it does not start,
    speaks another protocol version or lacks the requested kind."""


def check_hello(hello: Hello, kind: Kind) -> None:
    """Raise :class:`IutUnusable` unless ``hello`` fits protocol 1 and ``kind`` (Rule P1)."""
    if hello.protocol != PROTOCOL_VERSION:
        raise IutUnusable(f"the IUT speaks protocol {hello.protocol!r}, dynmem speaks "
                          f"{PROTOCOL_VERSION}")
    if kind not in hello.kinds:
        raise IutUnusable(f"the IUT implements kinds {list(hello.kinds)}, not {kind!r}; "
                          f"use --kind {hello.kinds[0] if hello.kinds else 'system'}")


class Driver(Protocol):
    """What the oracle drives: an IUT of either kind behind one fault-raising interface."""

    def hello(self, kind: Kind, mode: Mode) -> Hello: ...
    def reset(self, state: DmState) -> None: ...
    def event(self, step: int, event: Event) -> Observed: ...
    def plan(self, step: int, view: DmState) -> tuple[DmRequest, ...]: ...
    def probe_many(self, items: list[tuple[DmState, tuple[Event, ...]]]) -> Probed: ...
    def plan_many(self, views: list[DmState]) -> Planned: ...
    def close(self) -> None: ...


# Answers to a batch, in order, and the fault that ended it early (the rest unanswered).
Probed = tuple[list[tuple[Observed, ...]], "IutFault | None"]
Planned = tuple[list[tuple[DmRequest, ...]], "IutFault | None"]


# --- in-process ------------------------------------------------------------------------------


class InProcessIut:
    """Drive a Python IUT object; its exceptions and wrong return types become faults."""

    def __init__(self, iut: SystemIut | PolicyIut) -> None:
        self.iut = iut

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as err:  # the IUT's own bug, reported as a crash
            where = traceback.extract_tb(err.__traceback__)[-1]
            raise IutFault("crash", f"{type(err).__name__}: {err} (at {where.filename}:"
                                    f"{where.lineno})") from None

    def hello(self, kind: Kind, mode: Mode) -> Hello:
        answer = self._call(self.iut.hello, kind, mode)
        if not isinstance(answer, Hello):
            raise IutFault("schema", f"hello() returned {answer!r}, not a Hello")
        return answer

    def reset(self, state: DmState) -> None:
        self._call(self.iut.reset, state)

    def event(self, step: int, event: Event) -> Observed:
        fn = getattr(self.iut, "event", None)
        if fn is None:
            raise IutFault("schema", "the IUT object has no event() method (not a SystemIut)")
        answer = self._call(fn, step, event)
        if not isinstance(answer, Observed) or not isinstance(answer.observation, Observation):
            raise IutFault("schema", f"event() returned {answer!r}, not an Observed")
        return answer

    def plan(self, step: int, view: DmState) -> tuple[DmRequest, ...]:
        fn = getattr(self.iut, "plan", None)
        if fn is None:
            raise IutFault("schema", "the IUT object has no plan() method (not a PolicyIut)")
        answer = self._call(fn, step, view)
        try:
            return requests_from_json([event_to_json(r) for r in answer], "plan()", "requests")
        except (InputError, TypeError, AttributeError) as err:
            raise IutFault("schema", f"plan() returned {answer!r}: {err}") from None

    def probe_many(self, items: list[tuple[DmState, tuple[Event, ...]]]) -> Probed:
        """Reset to each state and send its events, one item after another."""
        return probe_one_by_one(self, items)

    def plan_many(self, views: list[DmState]) -> Planned:
        """The plan for each view, one after another."""
        return plan_one_by_one(self, views)

    def close(self) -> None:
        return None


def probe_one_by_one(driver: Driver, items: list[tuple[DmState, tuple[Event, ...]]]
                     ) -> Probed:
    """``probe_many`` without pipelining: reset, events, reset, ... one at a time."""
    out: list[tuple[Observed, ...]] = []
    for state, events in items:
        try:
            driver.reset(state)
            out.append(tuple(driver.event(i, event) for i, event in enumerate(events, 1)))
        except IutFault as fault:
            return out, fault
    return out, None


def plan_one_by_one(driver: Driver, views: list[DmState]) -> Planned:
    """``plan_many`` without pipelining."""
    out: list[tuple[DmRequest, ...]] = []
    for view in views:
        try:
            out.append(driver.plan(1, view))
        except IutFault as fault:
            return out, fault
    return out, None
