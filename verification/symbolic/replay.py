"""Replay a model path through a reference step function (STYLE rule 8).

A path the model allows is run through ``reference.step`` (or a planted bug's step): each
event must be accepted and must lead to exactly the state the model decoded. A BalancerTick
is replayed with the model's choice of requests as the plan (``apply_plan``: the reference
sends them one by one through the same request processing), since the model's balancer is
any policy and the reference's own policy would choose differently. The first step where
the two disagree is reported as a model/reference MISMATCH, with the values on both sides:
that is a bug in the model, the reference or the decoding, never something to hide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from dynmem.model.invariants import check_state
from dynmem.reference.events import BalancerTick, DmRequest, Event
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Step, StepResult, apply_plan, step
from dynmem.verification.symbolic.decode import host_from_raw
from dynmem.verification.symbolic.unrolling import ModelPath
from dynmem.verification.traces.trace import Finding, Trace, TraceStep, check_transition, record


@attrs.frozen
class Replay:
    """The reference's run of a model path; ``mismatch`` says where they part (or None)."""

    trace: Trace
    mismatch: str | None


def apply_event(step_fn: Step, state: DmState, event: Event,
                sent: tuple[DmRequest, ...]) -> StepResult:
    """One event through ``step_fn``; a tick sends the model's requests ``sent``."""
    if isinstance(event, BalancerTick):
        return apply_plan(state, sent, send=lambda s, r: step_fn(s, r))
    return step_fn(state, event)


def _vm_difference(name: str, model: Vm | None, ref: Vm | None) -> str | None:
    if model is None or ref is None:
        return (f"{name}: the model has {'no VM' if model is None else 'the VM'}, the reference "
                f"has {'no VM' if ref is None else 'the VM'}")
    for field in attrs.fields(Vm):
        want, got = getattr(model, field.name), getattr(ref, field.name)
        if want != got:
            return f"{name}.{field.name}: the model has {want!r}, the reference has {got!r}"
    return None


def get_difference(model: DmState, ref: DmState) -> str | None:
    """The first field where two states differ (VMs matched by name), or None if equal."""
    if model.host != ref.host:
        return f"host: the model has {model.host!r}, the reference has {ref.host!r}"
    if model.free_mib != ref.free_mib:
        return f"free_mib: the model has {model.free_mib}, the reference has {ref.free_mib}"
    ours, theirs = {vm.name: vm for vm in model.vms}, {vm.name: vm for vm in ref.vms}
    for name in [*ours, *(n for n in theirs if n not in ours)]:
        found = _vm_difference(name, ours.get(name), theirs.get(name))
        if found is not None:
            return found
    return None


def replay_path(path: ModelPath, step_fn: Step = step, source: str = "bmc",
                notes: tuple[tuple[str, Any], ...] = ()) -> Replay:
    """Run ``path``'s events through ``step_fn`` from its initial state, checking every
    state against the model's; stops at the first mismatch.

    The result's trace is the reference's run (its findings are the reference's verdict).
    """
    if path.initial is None:
        empty = DmState(host_from_raw(path.raw_initial), path.raw_initial["free_mib"])
        return Replay(Trace(empty, source=source, notes=notes),
                      f"the model's initial state breaks TypeOK: {path.raw_initial!r}")
    results: list[tuple[Event, StepResult]] = []
    state, mismatch = path.initial, None
    for index, item in enumerate(path.steps, start=1):
        try:
            result = apply_event(step_fn, state, item.event, item.sent)
        except (ValueError, TypeError) as err:  # a state the reference cannot even build
            mismatch = f"step {index}: the reference raised {type(err).__name__}: {err}"
            break
        results.append((item.event, result))
        mismatch = _step_mismatch(index, item.event, item.state, item.raw, result)
        if mismatch is not None:
            break
        state = result.state
    return Replay(record(path.initial, results, source, notes), mismatch)


def _step_mismatch(index: int, event: Event, model: DmState | None, raw: dict[str, Any],
                   result: StepResult) -> str | None:
    if not result.accepted:
        return (f"step {index}: the model allows {event!r}, the reference refuses it: "
                f"{result.reason}")
    if model is None:
        return f"step {index}: the model's state after {event!r} breaks TypeOK: {raw!r}"
    found = get_difference(model, result.state)
    return None if found is None else f"step {index}: after {event!r}, {found}"


def model_trace(path: ModelPath, source: str = "bmc-model",
                notes: tuple[tuple[str, Any], ...] = ()) -> Trace | None:
    """The model's own path as a trace (checked concretely), or None when a state on it
    breaks TypeOK and cannot be a ``DmState``."""
    if path.initial is None or any(item.state is None for item in path.steps):
        return None
    findings = [Finding(0, v) for v in check_state(path.initial)]
    steps, pre = [], path.initial
    for index, item in enumerate(path.steps, start=1):
        assert item.state is not None
        steps.append(TraceStep(item.event, item.state, None, item.sent))
        findings += [Finding(index, v) for v in check_transition(pre, item.event, item.state)]
        pre = item.state
    return Trace(path.initial, tuple(steps), tuple(findings), source, notes)


def broken_at(trace: Trace, index: int) -> set[str]:
    """The invariant ids the trace's findings break at step ``index``."""
    return {f.invariant for f in trace.findings if f.step == index}


def get_unreproduced(trace: Trace, index: int, expected: Sequence[str]) -> list[str]:
    """The ids in ``expected`` the reference's trace does not break at step ``index``."""
    found = broken_at(trace, index)
    return [inv for inv in expected if inv not in found]
