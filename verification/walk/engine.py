"""The walk engine: seeded random walks over a step function, every check on every step.

``Walker.walk`` runs one episode from the initial state: at each step it picks one event
uniformly among those offered (``walk/offers.py``) whose kind the episode's swarm mask keeps
(and a balancer tick, and Create for a deleted VM), steps it, and checks

* R-REJECT: a refused event returns the very same state;
* refinement: the model's transition allows every accepted step (``is_allowed``);
* every invariant of the registry: the two-state clauses on the step and the state clauses
  on the state after it (``properties.invariants.InvariantCache``, the explorer's checks).

Most of that work is shared between steps. An event that names one VM reads only that VM,
free memory and the host settings, and changes at most that VM and free memory (R-LOCAL,
specs/events.md; tests/verification/test_locality.py checks it for the reference and every
planted bug), and the model's per-VM actions read the same (``HostView`` is the host and
free memory; every other slot must keep its value, which it does). So the step's result,
its refinement verdict and its two-state checks are functions of (VM value, free memory,
event), and for the single-VM kinds that neither read nor write free memory (``FREE_BLIND``,
properties/locality.py) of (VM value, event) alone: each is computed once, on the first state
that has them, and reused (the latter only for the reference's step function). A step that
turns out to change anything else (a delete, a planted bug editing other VMs) is marked
*direct* and stepped on every state. Ticks are memoised per whole state. The state clauses
run on every state (per VM value cached, host clauses each time); after a single-VM step only
that VM's and the host's are judged, the others' having held on the state before
(``InvariantCache.check_changed_vm``).

Nothing here reads a clock: a walk is bounded by counts, and a seed fixes every choice.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import attrs

from dynmem.model.invariants import INVARIANTS, Invariant, Violation
from dynmem.reference.environment import GuestProfile
from dynmem.reference.events import BalancerTick, Create, Event
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Step, StepResult, step
from dynmem.verification.properties.invariants import InvariantCache
from dynmem.verification.properties.locality import FREE_BLIND, is_slot_change
from dynmem.verification.properties.progress import check_squeeze_order
from dynmem.verification.walk.config import WalkSpace
from dynmem.verification.walk.offers import KIND_BIT, get_offer, get_unsaid

Refinement = Callable[..., str | None]
# The guests of one episode that run a profile (specs/lifecycle.md §1): (VM name, profile).
EpisodeProfiles = tuple[tuple[str, GuestProfile], ...]
# A single-VM event's outcome at one (VM value, free memory): (VM after, or None when the
# event must be stepped on each state; free after; accepted; what is wrong, or None).
Local = tuple[Vm | None, int, bool, str | None]
_DIRECT: Local = (None, 0, True, None)
_TICK = BalancerTick()
_TICK_BIT = KIND_BIT["balancer_tick"]
_CREATE_BIT = KIND_BIT["create"]
# Memo sizes at which a memo is emptied (a count, so a walk stays deterministic): bounds the
# memory of long walks over large configurations, whose (VM, free) values rarely repeat.
MEMO_LIMIT = 400_000


@attrs.frozen
class Stopped:
    """An episode that found something: the events stepped (the last one is the culprit,
    unless ``settle`` holds the steps of the final fair delivery) and what is wrong."""

    events: tuple[Event, ...]
    message: str
    settle: tuple[tuple[Event, StepResult], ...] = ()
    progress: tuple[Violation, ...] = ()


def describe(violation: Violation) -> str:
    """``INV-… (clause): message``."""
    return f"{violation.invariant} ({violation.clause}): {violation.message}"


class Walker:
    """Random walks over ``space`` with ``step_fn``, checked on every step.

    ``refinement`` is the model's ``is_allowed`` (None: not checked); ``memo`` False steps
    every event on its state (the same verdicts, slower: tests compare the two).
    """

    def __init__(self, space: WalkSpace, step_fn: Step, refinement: Refinement | None,
                 invariants: Sequence[Invariant] = INVARIANTS, memo: bool = True) -> None:
        self.space, self.step_fn, self.is_allowed = space, step_fn, refinement
        self.checks = InvariantCache(invariants)
        self.memo = memo
        self.initial = space.initial()
        self.pool: dict[Vm, Vm] = {}
        self.offers: dict[Vm, tuple[Event, ...]] = {}
        # per swarm mask and the episode's guest profiles
        self.picks: dict[tuple[int, EpisodeProfiles],
                         dict[Vm, tuple[tuple[int, ...], ...]]] = {}
        self.local: dict[tuple[Vm, int | None], list[Local | None]] = {}
        # The reference's steps of FREE_BLIND kinds neither read nor write free memory
        # (tests/verification/oracle/test_vm_step.py): keyed by the VM alone (free None), as
        # the check-trace oracle keys them. A planted bug's steps are keyed with free.
        self.blind = FREE_BLIND if step_fn is step else frozenset()
        self.ticks: dict[DmState, tuple[DmState, bool, str | None]] = {}
        self.steps = 0  # events stepped and checked, over all episodes
        self.accepted = 0

    # --- one episode -----------------------------------------------------------------------

    def walk(self, rng: random.Random, mask: int, depth: int,
             profiles: EpisodeProfiles = ()) -> tuple[DmState, Stopped | None]:
        """Up to ``depth`` steps from the initial state, the guests named in ``profiles``
        saying only what their profile says; the last state and what stopped it."""
        self._bound_memos()
        state = self.initial
        events: list[Event] = []
        choose = self._choose
        take = self._take
        checks = self.checks
        total: int | None = None  # what the VMs of ``state`` own in all, once checked
        for _ in range(depth):
            event, where, index = choose(state, rng, mask, profiles)
            events.append(event)
            post, accepted, problem, changed = take(state, event, where, index)
            self.steps += 1
            if problem is not None:
                return state, Stopped(tuple(events), problem)
            if accepted:
                self.accepted += 1
                if changed >= 0 and total is not None:  # only that VM and free changed
                    broken, total = checks.check_changed_vm(post, total, state.vms[changed],
                                                            post.vms[changed])
                else:
                    broken, total = checks.check_state_total(post)
                if broken:
                    return post, Stopped(tuple(events), describe(broken[0]))
                state = post
        return state, None

    def _choose(self, state: DmState, rng: random.Random, mask: int,
                profiles: EpisodeProfiles = ()) -> tuple[Event, int, int]:
        """One offered event of a kind in ``mask``: (event, the index of the VM it names in
        ``state``, its index in that VM's offer); -1, -1 for a tick or a create.

        Uniform at each level: an actor (a VM with something to pick, the admin creating
        a deleted VM, the balancer's tick), then one of the actor's event kinds, then one
        event of that kind. Picking kinds before events keeps a kind with many values (DM
        requests of every size) from crowding out one with few (a status report).
        """
        picks = self.picks.get((mask, profiles))
        if picks is None:
            picks = self.picks[(mask, profiles)] = {}
        actors = []
        for index, vm in enumerate(state.vms):
            row = picks.get(vm)
            if row is None:
                row = picks[vm] = self._get_picks(vm, mask, profiles)
            if row:
                actors.append(index)
        creates = self._creates(state) if mask & _CREATE_BIT else ()
        n = len(actors) + (1 if creates else 0) + (1 if mask & _TICK_BIT else 0)
        r = int(rng.random() * n)
        if r < len(actors):
            index = actors[r]
            vm = state.vms[index]
            row = picks[vm]
            group = row[int(rng.random() * len(row))]
            offer = group[int(rng.random() * len(group))]
            return self.offers[vm][offer], index, offer
        if creates and r == len(actors):
            return creates[int(rng.random() * len(creates))], -1, -1
        return _TICK, -1, -1

    def _get_picks(self, vm: Vm, mask: int, profiles: EpisodeProfiles = ()
                   ) -> tuple[tuple[int, ...], ...]:
        """The offer indices of ``vm``'s events of kinds in ``mask``, grouped by kind,
        without those its guest's profile never sends (the offer, and so the memoised
        results by offer index, are the same for every profile)."""
        offer = self.offers.get(vm)
        if offer is None:
            offer = self.offers[vm] = get_offer(vm, self.space)
        profile = next((p for name, p in profiles if name == vm.name), None)
        unsaid = frozenset() if profile is None else get_unsaid(vm, self.space, profile)
        groups: dict[str, list[int]] = {}
        for j, event in enumerate(offer):
            if KIND_BIT[event.KIND] & mask and event not in unsaid:
                groups.setdefault(event.KIND, []).append(j)
        return tuple(tuple(group) for group in groups.values())

    def _creates(self, state: DmState) -> tuple[Event, ...]:
        if not self.space.lifecycle or len(state.vms) == len(self.space.vms):
            return ()
        present = {vm.name for vm in state.vms}
        return tuple(Create(name, s) for name, s in self.space.vms if name not in present)

    # --- one step ------------------------------------------------------------------------------

    def _take(self, state: DmState, event: Event, where: int, index: int
              ) -> tuple[DmState, bool, str | None, int]:
        """Step ``event`` (offer ``index`` of VM ``where``, or -1): (state after, accepted,
        problem, the one VM changed if the rest of the state after is ``state``'s but free
        memory, else -1)."""
        if where < 0 or not self.memo:
            if event is _TICK and self.memo:
                found = self.ticks.get(state)
                if found is None:
                    found = self.ticks[state] = self._direct(state, event)
                return (*found, -1)
            return (*self._direct(state, event), -1)
        vms = state.vms
        vm, free = vms[where], state.free_mib
        blind = event.KIND in self.blind
        memo_key = (vm, None if blind else free)
        row = self.local.get(memo_key)
        if row is None:
            row = self.local[memo_key] = [None] * len(self.offers[vm])
        out = row[index]
        if out is None:
            out = row[index] = self._local(state, where, event, blind)
        after, free_after, accepted, problem = out
        if after is None:
            return (*self._direct(state, event), -1)
        if problem is not None or not accepted:
            return state, accepted, problem, -1
        if blind:
            free_after = free  # it leaves free as it is (``_local`` checked that)
        return (DmState(state.host, free_after, vms[:where] + (after,) + vms[where + 1:]), True,
                None, where)

    def _local(self, state: DmState, where: int, event: Event, blind: bool = False) -> Local:
        vm = state.vms[where]
        result = self._step(state, event)
        if isinstance(result, str):
            return vm, state.free_mib, False, result
        if not result.accepted:
            return vm, state.free_mib, False, _rejected(state, event, result)
        post = result.state
        if not is_slot_change(state, where, post) or blind and post.free_mib != state.free_mib:
            return _DIRECT
        after = post.vms[where]
        after = self.pool.setdefault(after, after)
        return after, post.free_mib, True, self.check(state, event, result, where)

    def _direct(self, state: DmState, event: Event) -> tuple[DmState, bool, str | None]:
        result = self._step(state, event)
        if isinstance(result, str):
            return state, False, result
        if not result.accepted:
            return state, False, _rejected(state, event, result)
        post = result.state
        pool = self.pool
        interned = DmState(post.host, post.free_mib,
                           tuple(pool.setdefault(vm, vm) for vm in post.vms))
        return interned, True, self.check(state, event, result)

    def _step(self, state: DmState, event: Event) -> StepResult | str:
        try:
            return self.step_fn(state, event)
        except Exception as err:  # a crash of the step function is a finding too
            return f"crash: {event!r} raised {type(err).__name__}: {err}"

    def check(self, pre: DmState, event: Event, result: StepResult, where: int = -1
              ) -> str | None:
        """What is wrong with the step ``pre --event--> result`` (None: nothing).

        Refinement and the two-state clauses are judged on views of the two states that
        keep only the VMs that matter: for a single-VM step (``where``, or found here) that
        VM, for a tick the VMs it changed or sent a request to (``_get_views``). A tick's
        squeezes are judged on the whole state first (PROG-RECLAIM-ORDER).
        """
        if not result.accepted:
            return _rejected(pre, event, result)
        post = result.state
        if where < 0 and not isinstance(event, BalancerTick | Create):
            name = getattr(event, "vm", None)
            where = next((i for i, vm in enumerate(pre.vms) if vm.name == name), -1)
        if where >= 0 and is_slot_change(pre, where, post):
            before = DmState(pre.host, pre.free_mib, (pre.vms[where],))
            after = DmState(post.host, post.free_mib, (post.vms[where],))
            pre, result = before, StepResult(after, None, result.sent)
        elif isinstance(event, BalancerTick):
            # PROG-RECLAIM-ORDER reads the waiting starts, which the tick's views leave out
            squeezed = check_squeeze_order(pre, result.sent)
            if squeezed:
                return describe(squeezed[0])
            pre, result = _tick_views(pre, result)
        return check_step_result(pre, event, result, self.is_allowed, self.checks)

    def _bound_memos(self) -> None:
        if len(self.local) + len(self.ticks) + len(self.offers) > MEMO_LIMIT:
            self.local.clear()
            self.ticks.clear()
            self.picks.clear()
            self.offers.clear()
            self.pool.clear()


def check_step_result(pre: DmState, event: Event, result: StepResult,
                      refinement: Refinement | None, checks: InvariantCache) -> str | None:
    """What is wrong with the step ``pre --event--> result`` (None: nothing): R-REJECT for a
    refused event; refinement and the two-state clauses for an accepted one (the state
    clauses of the state after are checked separately)."""
    if not result.accepted:
        return _rejected(pre, event, result)
    if refinement is not None:
        why = refinement(pre, event, result.state, result.sent)
        if why is not None:
            return f"refinement: the model does not allow {event!r}: {why}"
    broken = checks.check_step(pre, event, result.state)
    return describe(broken[0]) if broken else None


def _tick_views(pre: DmState, result: StepResult) -> tuple[DmState, StepResult]:
    """A tick's states restricted to the VMs it changed or sent a request to.

    The model's tick makes one choice per slot; a slot the tick leaves alone, with no
    request, chose nothing: its guards hold and it takes no memory. So the tick's verdict
    on these views is its verdict on the whole states (tests compare the two).
    """
    post = result.state
    if len(pre.vms) != len(post.vms):
        return pre, result
    named = {request.vm for request in result.sent}
    keep = [i for i, (a, b) in enumerate(zip(pre.vms, post.vms, strict=True))
            if a is not b and a != b or a.name in named or b.name != a.name]
    if len(keep) == len(pre.vms):
        return pre, result
    before = DmState(pre.host, pre.free_mib, tuple(pre.vms[i] for i in keep))
    after = DmState(post.host, post.free_mib, tuple(post.vms[i] for i in keep))
    return before, StepResult(after, None, result.sent)


def _rejected(state: DmState, event: Event, result: StepResult) -> str | None:
    if result.state is state:
        return None
    return f"R-REJECT: {event!r} was rejected ({result.reason}) but changed the state"

