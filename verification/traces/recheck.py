"""Re-check a trace read from a file: its verdict comes from the model, never from the file.

A trace file is only a claim. :func:`recheck_trace` judges it again: every step is replayed
with the reference (or the planted bug the trace names in its ``mutant`` note) from the state
before it; a step the reference does not reproduce must at least be allowed by the model's
transition (``model.concrete_steps.is_allowed``: another safe policy, an IUT in refinement
mode), else it is a ``TRACE-STEP`` finding; the host, and the set of VMs outside a
create/delete, must not change (``TRACE-SHAPE``); every invariant of the registry is checked
on every recorded state and step. A progress finding the file claims (``PROG-…``) is checked
again on its state. The findings the file lists are then compared with these: a claimed one
the check does not reproduce is reported as unconfirmed, and does not count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.invariants import Violation, check_state
from dynmem.reference.events import Create, Delete
from dynmem.reference.state import DmState
from dynmem.reference.step import Step, step
from dynmem.verification.mutants.catalogue import BY_NAME
from dynmem.verification.properties.progress import (
    PROG_FIXED_POINT,
    check_fixed_point,
    is_fixed_point,
    settle_fairly,
)
from dynmem.verification.traces.trace import Finding, Trace, TraceStep, check_transition

TRACE_STEP = "TRACE-STEP"  # a step neither the reference nor the model's transition allows
TRACE_SHAPE = "TRACE-SHAPE"  # the host or the set of VMs changes where no event can do it


@attrs.frozen
class Recheck:
    """What re-checking found: the findings (the verdict), the file's claims that did not
    reproduce, and with what the steps were replayed."""

    findings: tuple[Finding, ...]
    unconfirmed: tuple[Finding, ...] = ()
    unclaimed: tuple[Finding, ...] = ()
    replayed_with: str = "the reference"

    @property
    def ok(self) -> bool:
        return not self.findings

    def sentences(self) -> list[str]:
        """One line per claim of the file that re-checking does not reproduce, and per
        finding of the re-check the file does not claim."""
        return ([f"the file claims {f.invariant} ({f.violation.clause}) at step {f.step}; "
                 f"re-checking finds no such violation" for f in self.unconfirmed]
                + [f"re-checking finds {f.invariant} ({f.violation.clause}) at step "
                   f"{f.step}, which the file does not claim" for f in self.unclaimed])


def _step_fn(trace: Trace) -> tuple[Step, str]:
    mutant = dict(trace.notes).get("mutant")
    if isinstance(mutant, str) and mutant in BY_NAME:
        return BY_NAME[mutant].reference_step, f"mutant {mutant}"
    return step, "the reference"


def _shape(pre: DmState, item: TraceStep) -> Violation | None:
    """The host never changes; VMs appear only by create and leave only by delete."""
    post, event = item.state, item.event
    if post.host != pre.host:
        return Violation(TRACE_SHAPE, "the host is constant", None,
                         f"the host changes from {pre.host!r} to {post.host!r}")
    before = [vm.name for vm in pre.vms]
    after = [vm.name for vm in post.vms]
    expected = before
    if item.rejected is None and isinstance(event, Create):
        expected = [*before, event.vm]
    elif item.rejected is None and isinstance(event, Delete):
        expected = [n for n in before if n != event.vm]
    if sorted(after) != sorted(expected):
        return Violation(TRACE_SHAPE, "VMs change only by create and delete", None,
                         f"{event.KIND} changes the VMs from {before!r} to {after!r}")
    return None


def _judge_step(pre: DmState, item: TraceStep, step_fn: Step, label: str) -> Violation | None:
    """Why the step ``pre -> item`` is not a step of the system, or None."""
    named = getattr(item.event, "vm", None)
    if named is not None and named not in {vm.name for vm in pre.vms} \
            and not isinstance(item.event, Create) and item.rejected is None:
        return Violation(TRACE_STEP, "events name existing VMs", str(named),
                         f"{item.event.KIND} names VM {named!r}, which does not exist "
                         f"before the step, yet the trace records it accepted")
    result = step_fn(pre, item.event)
    if result.state == item.state and (result.reason is None) == (item.rejected is None):
        return None
    if item.rejected is not None:
        if item.state != pre:
            return Violation(TRACE_STEP, "a refused event changes nothing", named,
                             f"{item.event.KIND} is recorded as refused, yet the state "
                             f"changes")
        if result.reason is None:
            return Violation(TRACE_STEP, "refusals are the system's", named,
                             f"{item.event.KIND} is recorded as refused ({item.rejected}), "
                             f"but {label} accepts it")
        return None  # both refuse (the wording of the reason may differ)
    why = is_allowed(pre, item.event, item.state, item.sent)
    if why is None:
        return None  # another policy's step: the model allows it
    what = f"refuses it ({result.reason})" if result.reason is not None else \
        "gives another state"
    return Violation(TRACE_STEP, "each step is allowed", named,
                     f"{item.event.KIND}: {label} {what}, and the model does not allow the "
                     f"recorded step: {why}")


def _replayed(trace: Trace, step_fn: Step, label: str) -> Iterator[Finding]:
    yield from (Finding(0, v) for v in check_state(trace.initial))
    pre = trace.initial
    for index, item in enumerate(trace.steps, start=1):
        if item.rejected is None:  # the invariants first: they are what a reader looks for
            yield from (Finding(index, v) for v in check_transition(pre, item.event,
                                                                     item.state))
        elif item.state != pre:
            yield from (Finding(index, v) for v in check_state(item.state))
        problem = _shape(pre, item) or _judge_step(pre, item, step_fn, label)
        if problem is not None:
            yield Finding(index, problem)
        pre = item.state


def _progress_holds(trace: Trace, claim: Finding, step_fn: Step) -> bool:
    """Whether the progress violation ``claim`` is found again on its state."""
    if not 0 <= claim.step <= len(trace.steps):
        return False
    state = trace.state_at(claim.step)
    if claim.invariant == PROG_FIXED_POINT:
        return not settle_fairly(state, step_fn=step_fn).converged
    if not is_fixed_point(state):
        return False
    return any(v.invariant == claim.invariant and v.vm == claim.violation.vm
               for v in check_fixed_point(state))


def recheck_trace(trace: Trace) -> Recheck:
    """Judge ``trace`` again (see the module); the file's findings are only compared.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings
    >>> from dynmem.model.invariants import Violation
    >>> t = Trace(DmState(HostSettings(4096, 1024), 3072))
    >>> recheck_trace(t).ok
    True
    >>> forged = attrs.evolve(t, findings=(Finding(0, Violation("INV-PHYSICAL", "x", None, "")),))
    >>> r = recheck_trace(forged)
    >>> r.ok, r.sentences()
    (True, ['the file claims INV-PHYSICAL (x) at step 0; re-checking finds no such violation'])
    """
    step_fn, label = _step_fn(trace)
    found = list(_replayed(trace, step_fn, label))
    keys = {_key(f) for f in found}
    unconfirmed = []
    for claim in trace.findings:
        if _key(claim) in keys:
            continue
        if claim.invariant.startswith("PROG-") and _progress_holds(trace, claim, step_fn):
            found.append(claim)
            keys.add(_key(claim))
        else:
            unconfirmed.append(claim)
    claimed = {_key(f) for f in trace.findings}
    unclaimed = tuple(f for f in found if _key(f) not in claimed)
    return Recheck(tuple(found), tuple(unconfirmed), unclaimed, label)


def _key(finding: Finding) -> tuple[Any, ...]:
    v = finding.violation
    return (finding.step, v.invariant, v.clause, v.vm)


def rechecked(trace: Trace) -> tuple[Trace, Recheck]:
    """``trace`` with the re-checked findings in place of the file's, and the re-check."""
    result = recheck_trace(trace)
    return attrs.evolve(trace, findings=result.findings), result
