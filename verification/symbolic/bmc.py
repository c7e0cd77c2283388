"""Bounded model checking (specs/invariants.md): the shortest path that breaks an invariant.

``check_bmc`` unrolls the model from its initial states (``verification/symbolic/scope.py``) and
deepens one step at a time, one fresh solver per depth, asking for a path whose LAST state
(or last step, for two-state clauses) breaks a clause of the chosen invariants; every state
before it is assumed to satisfy them, which iterative deepening has already shown for all
shorter paths. The first hit is therefore a shortest counterexample. It is decoded into
reference values and REPLAYED through the reference step function (``reference.step``, or a
planted bug's step): the reference must accept every event, reach exactly the model's
states, and break the same invariants at the last step. Outcomes:

* :class:`Counterexample` — reproduced in the reference; ``trace`` is the reference's run;
* :class:`Mismatch` — the model's path does not replay (a bug in the model, the reference
  or the decoding), with the model's own trace and where the two part;
* :class:`NoViolation` — nothing up to ``depth`` steps: bounded, NOT a proof;
* :class:`BmcUnknown` — Z3 answered unknown (its ``rlimit`` budget ran out): a failure,
  never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from dynmem.model.actions import ACTIONS, Action
from dynmem.model.invariants import INVARIANTS, Invariant
from dynmem.model.params import MINIMAL
from dynmem.model.symbolic_ops import SYMBOLIC
from dynmem.reference.step import Step, step
from dynmem.verification.symbolic.replay import get_unreproduced, model_trace, replay_path
from dynmem.verification.symbolic.scope import Scope
from dynmem.verification.symbolic.unrolling import (
    Hit,
    Miss,
    Progress,
    Unrolling,
    decode_path,
    get_clauses_at,
    get_failed_labels,
    search,
)
from dynmem.verification.traces.trace import Trace


@attrs.frozen
class Counterexample:
    """A shortest violation, reproduced by the reference (``trace`` is its replay)."""

    depth: int
    trace: Trace
    failed: tuple[str, ...]
    seconds: float
    status: str = "violation"

    @property
    def invariants(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(label.split(":")[0] for label in self.failed))


@attrs.frozen
class Mismatch:
    """The model found a violation the reference does not reproduce: a model/reference bug.

    ``trace`` is the model's own path (None if a state on it breaks TypeOK), ``replayed``
    the reference's run up to the step where they part, ``reason`` the difference.
    """

    depth: int
    reason: str
    trace: Trace | None
    replayed: Trace
    failed: tuple[str, ...]
    seconds: float
    status: str = "mismatch"


@attrs.frozen
class NoViolation:
    """No violation on any path of up to ``depth`` steps (bounded, not a proof)."""

    depth: int
    seconds: float
    status: str = "none"


@attrs.frozen
class BmcUnknown:
    """Z3 could not decide a depth: the run FAILS (never read as "no violation")."""

    depth: int
    reason: str
    seconds: float
    status: str = "unknown"


BmcOutcome = Counterexample | Mismatch | NoViolation | BmcUnknown


def _holds_at(invariants: Sequence[Invariant]) -> Any:
    def lemma(u: Unrolling, index: int) -> Any:
        return SYMBOLIC.And(*[term for _, term in get_clauses_at(invariants, u, index)])
    return lemma


def _broken_at_end(invariants: Sequence[Invariant]) -> Any:
    def goal(u: Unrolling) -> Any:
        terms = get_clauses_at(invariants, u, u.depth)
        return SYMBOLIC.Or(*[SYMBOLIC.Not(term) for _, term in terms])
    return goal


def check_bmc(scope: Scope, depth: int, actions: Sequence[Action] = ACTIONS,
              invariants: Sequence[Invariant] = INVARIANTS, step_fn: Step = step,
              rlimit: int = MINIMAL.rlimit, progress: Progress | None = None,
              notes: tuple[tuple[str, Any], ...] = ()) -> BmcOutcome:
    """The shortest path of at most ``depth`` steps breaking one of ``invariants``.

    Parameters
    ----------
    scope : Scope
        The initial states (``small_scope(n)``: a concrete host; ``symbolic_scope(n)``).
    depth : int
        The largest number of steps searched (depths 0..depth, in order).
    actions : sequence of Action
        The model's actions (a model mutant passes its own).
    invariants : sequence of Invariant
        What must not break (default: the whole registry).
    step_fn : callable
        The reference step the counterexample is replayed through (a planted bug's own).
    rlimit : int
        Z3 resource budget per depth (verification/symbolic/budget.py); running out is a
        :class:`BmcUnknown`.
    progress : callable, optional
        ``progress(depth, verdict, seconds)`` after each depth.
    notes : tuple of (str, value)
        Added to the trace's notes (e.g. the mutant's name).

    Returns
    -------
    Counterexample | Mismatch | NoViolation | BmcUnknown

    Examples
    --------
    >>> from dynmem.verification.symbolic.scope import small_scope
    >>> check_bmc(small_scope(1), 2).status
    'none'
    """
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    found = search(scope, actions, range(depth + 1), _broken_at_end(invariants),
                   _holds_at(invariants), rlimit, progress)
    if isinstance(found, Miss):
        return NoViolation(found.depth, found.seconds)
    if not isinstance(found, Hit):
        return BmcUnknown(found.depth, found.reason, found.seconds)
    return confirm(found, invariants, step_fn, notes)


def confirm(hit: Hit, invariants: Sequence[Invariant], step_fn: Step,
            notes: tuple[tuple[str, Any], ...] = ()) -> Counterexample | Mismatch:
    """Decode ``hit``, replay it through ``step_fn`` and compare the verdicts."""
    failed = get_failed_labels(hit, get_clauses_at(invariants, hit.unrolling, hit.depth))
    path = decode_path(hit)
    notes = (("depth", hit.depth), ("scope", hit.unrolling.scope.name), *notes)
    replay = replay_path(path, step_fn, "bmc", notes)
    reason = replay.mismatch
    if reason is None:
        expected = list(dict.fromkeys(label.split(":")[0] for label in failed))
        missing = get_unreproduced(replay.trace, hit.depth, expected)
        if missing:
            reason = (f"step {hit.depth}: the model breaks {', '.join(missing)} but the "
                      f"reference's replay does not ({', '.join(failed)})")
    if reason is not None:
        mine = model_trace(path, notes=(*notes, ("mismatch", reason)))
        return Mismatch(hit.depth, reason, mine, replay.trace, failed, hit.seconds)
    return Counterexample(hit.depth, replay.trace, failed, hit.seconds)
