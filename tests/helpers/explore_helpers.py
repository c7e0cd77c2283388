"""Helpers shared by the exploration tests: comparing two searches, and a planted step that
breaks R-LOCAL (specs/events.md)."""

from __future__ import annotations

from dynmem.model.vocabulary import Channel
from dynmem.reference.events import Start
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, make_step, process_start
from dynmem.verification.explore.graph import Exploration


def same_search(a: Exploration, b: Exploration) -> None:
    """Two explorations built the same graph: ids, parent pointers, edges and findings."""
    assert a.states == b.states
    assert (a.parent, a.depth, a.via, a.fixed) == (b.parent, b.depth, b.via, b.fixed)
    assert (a.edge_src, a.edge_dst, a.edge_kind, a.edge_progress) == (
        b.edge_src, b.edge_dst, b.edge_kind, b.edge_progress)
    assert (a.counterexamples, a.violating_steps, a.progress, a.complete) == (
        b.counterexamples, b.violating_steps, b.progress, b.complete)


def _start_behind_negotiation(state: DmState, event: Start) -> StepResult:
    """A planted non-local guard: no start while another VM still negotiates its channel."""
    if any(vm.channel == Channel.NEGOTIATING for vm in state.vms if vm.name != event.vm):
        return StepResult(state, "another VM is negotiating")
    return process_start(state, event)


NONLOCAL = make_step({Start: _start_behind_negotiation})
