"""A policy that never settles fails with class ``no-progress`` in both phases (issue 12,
item 2), with the cycle; the reference policy settles."""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import Channel, TxnKind
from dynmem.reference.events import BalloonRequest, DmRequest, HotAddRequest, UnballoonRequest
from dynmem.reference.state import DmState, compute_target
from dynmem.verification.conformance import check_policy
from dynmem.verification.explore import get_config
from dynmem.verification.oracle.generate import get_default_source
from dynmem.verification.oracle.iut import Hello, InProcessIut, Kind, Mode
from dynmem.verification.oracle.judge import NO_PROGRESS
from dynmem.verification.oracle.search import search
from dynmem.verification.properties.progress import PROG_FIXED_POINT


class Oscillating:
    """Grants 2 MiB above the target, then gives everything above the target back."""

    def hello(self, kind: Kind, mode: Mode) -> Hello:
        return Hello("oscillating", ("policy",))

    def reset(self, state: DmState) -> None:
        return None

    def plan(self, step: int, view: DmState) -> tuple[DmRequest, ...]:
        out: list[DmRequest] = []
        free = view.free_mib  # shared by this tick's hot-adds (several VMs may be short)
        for vm in view.vms:
            if not (vm.running and vm.settings.dynamic and vm.channel == Channel.READY
                    and vm.has_report and vm.txn == TxnKind.NONE):
                continue
            target = compute_target(vm.report_mib, vm.settings)
            need = target + 2 - vm.assigned_mib
            if vm.assigned_mib > target and vm.cap_balloon:
                out.append(BalloonRequest(vm.name, min(vm.assigned_mib - target, 2048)))
            elif need > 0 and vm.ballooned_mib > 0:
                out.append(UnballoonRequest(vm.name, min(need, vm.ballooned_mib, 2048)))
            elif need > 0 and vm.cap_hot_add and vm.hot_add_enabled:
                mib = min(need, vm.settings.maximum_mib - vm.visible_mib, free, 2048)
                if mib >= 2:
                    out.append(HotAddRequest(vm.name, mib - mib % 2))
                    free -= mib - mib % 2
        return tuple(out)


def test_exhaustive_phase_finds_the_oscillation() -> None:
    """The explored graph of its plans has a cycle of honest steps: no-progress, with a
    trace to the cycle and once around it."""
    result = check_policy(InProcessIut(Oscillating()), get_config(1), "refinement")
    case = result.failure
    assert case is not None and case.divergence is not None
    assert case.divergence.cls == NO_PROGRESS
    assert case.divergence.detail == PROG_FIXED_POINT
    assert "oscillation" in (case.divergence.reason or "")
    notes = dict(case.trace.notes)
    assert 0 < notes["cycle_starts_after_step"] < len(case.events)


def test_random_phase_finds_it_too() -> None:
    """After a generated example the system settles with the policy's plans; it does not,
    so the run fails with no-progress (a shrunk example that still oscillates)."""
    # Without swarm testing: its crowds of short VMs find this toy policy's overdrawn
    # hot-adds (class not-allowed) before it oscillates.
    source = attrs.evolve(get_default_source("policy"), swarm=False)
    result = search(InProcessIut(Oscillating()), "policy", "refinement", source, 50, seed=1,
                    shrink_replays=200)
    assert result.failure is not None and result.failure.divergence is not None
    assert result.failure.divergence.cls == NO_PROGRESS
    assert result.failure.divergence.detail == PROG_FIXED_POINT
