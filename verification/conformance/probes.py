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
  (R-BALLOON-RESPONSE: the transaction ends when everything asked has arrived);
- a start of an off VM whose startup is not free (R-START: it waits for reclaim). The
  presets offer the waiting start only with ``vm_lifecycle``; without this probe an IUT
  that starts such a VM at once, into the host's reserve, passed every preset.

*Follow-ups* look behind the observation. A reset gives the IUT every field of a state, so
a field the observation does not show (the channel, the capabilities, the report,
``hot_add_enabled``) is only ever as the harness set it, and an IUT that keeps a wrong value
of it after an event would go unseen. So after each accepted event that may change such a
field (a guest message, a start), its VM's next events are asked without a reset: the
honest next message and every DM request event of the preset's sizes that the guards allow
in the state after it. They are judged in that state; their successors are not explored.
"""

from __future__ import annotations

from dynmem.model.vocabulary import SUPPORTED_VERSIONS, Channel, Power, TxnKind
from dynmem.reference.environment import compute_honest_message, compute_honest_report
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    DmRequest,
    Event,
    HotAddRequest,
    HotAddResponse,
    QuietPeriodEnd,
    Start,
    StatusReport,
    UnballoonRequest,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import step
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
        return [StatusReport(vm.name, compute_honest_report(vm))]
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
        if vm.power == Power.OFF and vm.settings.startup_mib > state.free_mib:
            asked.setdefault(Start(vm.name), False)  # waits for reclaim (R-START)
    return list(asked.items())


# Events whose effect the observation may not show in full: their VM is followed up.
FOLLOWED = (VersionRequest, CapabilitiesReport, QuietPeriodEnd, StatusReport, HotAddResponse,
            BalloonResponse, UnballoonResponse, Start)
_REQUESTS = (HotAddRequest, BalloonRequest, UnballoonRequest)


def get_follow_ups(event: Event, post: DmState, config: ExploreConfig) -> list[Event]:
    """The events asked right after the accepted ``event`` (no reset), in ``post``."""
    name = getattr(event, "vm", None)
    vm = post.get_vm(name) if isinstance(event, FOLLOWED) and isinstance(name, str) else None
    if vm is None or not vm.running:
        return []
    honest = compute_honest_message(vm)
    out = [honest] if honest is not None else []
    return out + [request for cls in _REQUESTS for mib in config.request_amounts
                  for request in (cls(vm.name, mib),) if step(post, request).accepted]
