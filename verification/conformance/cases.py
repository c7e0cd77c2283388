"""The reported case of an exhaustive failure: the shortest path, replayed through the IUT.

The exhaustive phase judges each question right after a ``reset``; the report shows a run
from the preset's initial state instead (a trace anyone can replay). If that replay does not
fail (the IUT keeps history that a reset forgets), the case starts at the failing state
itself, with a note; if that does not fail either, the recorded divergence is reported on a
one-event case without a replayed trace.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from dynmem.reference.events import Event
from dynmem.reference.state import DmState
from dynmem.verification.oracle.iut import Driver, Kind, Mode
from dynmem.verification.oracle.judge import CaseResult, Divergence, IsAllowed, run_case
from dynmem.verification.traces.trace import Trace


def replay_case(driver: Driver, kind: Kind, mode: Mode, is_allowed: IsAllowed | None,
                initial: DmState, path: Sequence[Event], state: DmState,
                events: Sequence[Event], divergence: Divergence) -> CaseResult:
    """The failure of ``events`` sent from ``state`` (the last one diverged) as a case from
    ``initial`` along ``path``, which leads to ``state``."""
    got = run_case(driver, kind, mode, initial, [*path, *events], is_allowed)
    if got.divergence is not None:
        return got
    got = run_case(driver, kind, mode, state, list(events), is_allowed)
    if got.divergence is not None:
        return _noted(got, "replayed from the failing state: the run from the initial state "
                           "did not fail again (does the IUT keep history a reset forgets?)")
    trace = Trace(state, source="oracle", notes=(
        ("kind", kind), ("mode", mode), ("divergence", divergence.headline()),
        ("note", "not reproduced on replay: the IUT answers differently each time")))
    return CaseResult(state, tuple(events), divergence, trace)


def _noted(case: CaseResult, note: str) -> CaseResult:
    trace = attrs.evolve(case.trace, notes=(*case.trace.notes, ("note", note)))
    return attrs.evolve(case, trace=trace)
