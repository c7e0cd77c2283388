"""The events the exhaustive phase asks an IUT in one state: the explorer's, a tick, probes.

Every candidate the explorer offers (``explore.candidates.get_candidate_events``: the
environment's choices, admin events, explicit DM requests, events the guards refuse) is
asked, plus a ``balancer_tick`` in every state (a system IUT balances by its own policy, so
the harness cannot know when its tick sends nothing). *Probes* are asked too but their
successors are not explored: accepting them leads to states that differ only in what no
rule reads (the recorded protocol version) or to states already reached, so exploring them
would multiply the state space for nothing:

- the older protocol versions a guest may propose (R-VERSION accepts every supported one);
- an early status report while the channel still waits for the capabilities (R-STATUS);
- a balloon part that completes the request but still says ``more_pages: true``
  (R-BALLOON-RESPONSE: the transaction ends when everything asked has arrived).
"""

from __future__ import annotations

from dynmem.model.vocabulary import SUPPORTED_VERSIONS, Channel, TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonResponse,
    DmRequest,
    Event,
    StatusReport,
    VersionRequest,
)
from dynmem.reference.state import DmState, Vm
from dynmem.verification.explore.candidates import get_candidate_events
from dynmem.verification.explore.config import ExploreConfig


def _no_plan(_state: DmState) -> tuple[DmRequest, ...]:
    return ()


def get_probes(vm: Vm, config: ExploreConfig) -> list[Event]:
    """The probe events for ``vm`` (asked and judged, successors not explored)."""
    if not vm.running:
        return []
    if vm.channel == Channel.NEGOTIATING and not config.all_versions:
        return [VersionRequest(vm.name, v) for v in SUPPORTED_VERSIONS[1:]]
    if vm.channel == Channel.CAPS:
        return [StatusReport(vm.name, vm.demand_mib)]
    outstanding = vm.txn_mib - vm.txn_done_mib
    if vm.txn == TxnKind.BALLOON and outstanding > 0:
        return [BalloonResponse(vm.name, outstanding, more_pages=True)]
    return []


def get_questions(state: DmState, config: ExploreConfig) -> list[tuple[Event, bool]]:
    """Every event asked in ``state``, once each, with whether its successor is explored."""
    asked: dict[Event, bool] = {}
    for event in get_candidate_events(state, config, _no_plan):
        asked.setdefault(event, True)
    asked.setdefault(BalancerTick(), True)
    for vm in state.vms:
        for event in get_probes(vm, config):
            asked.setdefault(event, False)
    return list(asked.items())
