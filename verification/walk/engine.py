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
specs/events.md; tests/verification/explore/test_locality.py checks it for the reference
and every planted bug), and the model's per-VM actions read the same (``HostView`` is the host and
free memory; every other slot must keep its value, which it does). So the step's result,
its refinement verdict and its two-state checks are functions of (VM value, free memory,
event), and for the single-VM kinds that neither read nor write free memory (``FREE_BLIND``,
properties/locality.py) of (VM value, event) alone: each is computed once, on the first state
that has them, and reused (the latter only for the reference's step function, which is
also stepped on the VM alone, as the explorer's memo steps it). A step that turns out to
change anything else (a delete, a planted bug editing other VMs) is marked *direct*. Direct
steps (and ticks, creates, deletes) are memoised per whole state, the state check of the
state after them included: a step is a pure function of its state; a tick, a create or a
delete is judged on its views, memoised per views; and a reference tick is not stepped
where its plan was found empty at the same free memory and managed VMs (``Walker._tick``,
the explorer's plan key: specs/policy.md). The state
clauses run on every state: after a single-VM step only that VM's and the host's are judged,
the others' having held on the state before (per VM value, then per (free, Σ owned)). And a
new VM value is judged by what it changed: the vm clauses and the pair clauses reading a
changed field, the model's guards and update of its step evaluated once per value of the
fields they read (``RefinementCache``; specs/invariants.md, "Read sets").

The walk keeps its state as free memory and a list of *nodes*, one per interned VM value,
which carry everything computed from the value (offer, picks, steps, vm-clause verdict, what
it owns): a step that hits the memo builds no state object and hashes no VM value.
``memo=False`` steps every event on its whole state and judges every state whole.

Nothing here reads a clock: a walk is bounded by counts, and a seed fixes every choice.
"""

from __future__ import annotations

import operator
import random
from collections.abc import Callable, Sequence

import attrs

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.invariants import INVARIANTS, Invariant, Violation
from dynmem.reference.environment import GuestProfile
from dynmem.reference.events import BalancerTick, Create, Event
from dynmem.reference.policy import is_balanced, is_waiting_start
from dynmem.reference.state import DmState, Vm
from dynmem.reference.step import Step, StepResult, step
from dynmem.verification.properties.invariants import InvariantCache
from dynmem.verification.properties.locality import FREE_BLIND, is_slot_change
from dynmem.verification.properties.progress import check_squeeze_order
from dynmem.verification.properties.refinement import RefinementCache
from dynmem.verification.walk.config import WalkSpace
from dynmem.verification.walk.nodes import Layout, Local, Node, Picks, get_layout
from dynmem.verification.walk.offers import KIND_BIT, get_offer, get_unsaid
from dynmem.verification.walk.views import (
    Refinement,
    check_step_result,
    describe,
    get_membership_views,
    get_tick_views,
    rejected,
)

# The guests of one episode that run a profile (specs/lifecycle.md §1): (VM name, profile).
EpisodeProfiles = tuple[tuple[str, GuestProfile], ...]
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


_get_vm = operator.attrgetter("vm")
# What the reference's plan reads of a VM: every field but its demand (specs/policy.md), as
# a tuple (building a Vm with demand 0 would run its validators)
_get_plan_view = operator.attrgetter(*(f.name for f in attrs.fields(Vm) if f.name != "demand_mib"))
_get_kind = operator.attrgetter("KIND")
_DIRECT: Local = (None, 0, True, None)
_UNJUDGED = "not judged yet"  # a memo's miss, by identity
# A step's outcome on a whole state (free memory and the VMs' nodes): (free after, nodes
# after, what they own in all, accepted, what is wrong with the step or the state after it,
# or None).
Whole = tuple[int, tuple[Node, ...], int, bool, str | None]


class Walker:
    """Random walks over ``space`` with ``step_fn``, checked on every step.

    ``refinement`` is the model's ``is_allowed`` (None: not checked); ``memo`` False steps
    every event on its state (the same verdicts, slower: tests compare the two).
    """

    def __init__(self, space: WalkSpace, step_fn: Step, refinement: Refinement | None,
                 invariants: Sequence[Invariant] = INVARIANTS, memo: bool = True) -> None:
        self.space, self.step_fn = space, step_fn
        self.checks = InvariantCache(invariants)
        self.memo = memo
        self.initial = space.initial()
        self.host = self.initial.host
        # the model's own check, its guards and update evaluated once per what they read
        self.refinement = RefinementCache(self.host) if refinement is is_allowed else None
        self.is_allowed = refinement if self.refinement is None else self.refinement
        self.nodes: dict[Vm, Node] = {}
        # The reference's steps of FREE_BLIND kinds neither read nor write free memory
        # (tests/verification/oracle/test_vm_step.py): keyed by the VM alone (free None), as
        # the check-trace oracle keys them. A planted bug's steps are keyed with free.
        self.blind = FREE_BLIND if step_fn is step else frozenset()
        # The reference's single-VM steps are its steps on the VM alone, put back in place
        # (R-LOCAL; tests/verification/explore/test_locality.py compares the two on every
        # reachable 2-VM state, as the explorer's memo steps them): ``_local`` steps them so.
        self.alone = step_fn is step
        # Steps that are not one VM's (ticks, creates, deletes, a planted bug's step that
        # edits another VM) per whole state: ``step`` is pure and deterministic (reference/step.py;
        # a planted bug's ``make_step`` too), and the checks are functions of the step.
        self.whole: dict[tuple[Event, int, tuple[Node, ...]], Whole] = {}
        self.ticks: dict[tuple[int, tuple[Node, ...]], Whole] = {}  # the same for ticks
        # per the views of a tick, a create or a delete (``check``)
        self.view_verdicts: dict[tuple[DmState, Event, DmState, tuple[Event, ...]],
                                 str | None] = {}
        self.empty_ticks: dict[int, str | None] = {}  # the same, per free, for empty ticks
        # What the reference's plan reads of a VM value, numbered, and the keys (free, those
        # numbers in order) of the states where the plan was empty (``_tick``).
        self.plan_views: dict[tuple[object, ...], int] = {}
        self.empty_plans: set[tuple[int, tuple[int, ...]]] = set()
        self.host_ok: dict[tuple[int, int], bool] = {}  # per (free, Σ owned): the host's
        self.episode_kinds: dict[tuple[int, EpisodeProfiles], int] = {}
        self.layouts: dict[tuple[str, ...], Layout] = {}
        self.entries = 0  # memoised single-VM steps
        self.steps = 0  # events stepped and checked, over all episodes
        self.accepted = 0

    # --- one episode -----------------------------------------------------------------------

    def walk(self, rng: random.Random, mask: int, depth: int,
             profiles: EpisodeProfiles = ()) -> tuple[DmState, Stopped | None]:
        """Up to ``depth`` steps from the initial state, the guests named in ``profiles``
        saying only what their profile says; the last state and what stopped it."""
        self._bound_memos()
        if not self.memo:
            return self._walk_direct(rng, mask, depth, profiles)
        kind = self.episode_kinds.setdefault((mask, profiles), len(self.episode_kinds))
        tick = 1 if mask & _TICK_BIT else 0
        free = self.initial.free_mib
        nodes = [self._intern(vm) for vm in self.initial.vms]
        rows = [self._picks(node, kind, mask, profiles) for node in nodes]
        actors = [where for where, row in enumerate(rows) if row]
        creates = self._creates(nodes) if mask & _CREATE_BIT else ()
        events: list[Event] = []
        draw, judge, local, whole = self._draw, self._judge, self._local, self._whole
        random_, host_ok, memo, ticks = rng.random, self.host_ok, self.whole, self.ticks
        total: int | None = None  # what the VMs own in all, once the state is judged
        accepted_steps = 0
        problem: str | None = None
        for _ in range(depth):
            event, where, index = draw(random_, nodes, rows, actors, creates, tick)
            events.append(event)
            if where >= 0:
                node = nodes[where]
                free_key = None if node.blind[index] else free
                line = node.steps.get(free_key)
                if line is None:
                    line = node.steps[free_key] = [None] * len(node.offer)
                    self.entries += 1
                out = line[index]
                if out is None:
                    out = line[index] = local(nodes, free, where, event, free_key is None)
                after, free_after, accepted, problem = out
                if after is not None:  # one VM's step
                    if problem is not None:
                        break
                    if not accepted:
                        continue
                    accepted_steps += 1
                    if free_key is not None:
                        free = free_after  # a FREE_BLIND kind leaves it (``_local`` checked)
                    if after is not node:
                        nodes[where] = after
                        row = after.picks.get(kind)
                        if row is None:
                            row = self._picks(after, kind, mask, profiles)
                        was_actor = bool(rows[where])
                        rows[where] = row
                        if was_actor != bool(row):
                            actors = [j for j, picks in enumerate(rows) if picks]
                    if total is not None:  # ``_judge``'s common case, inline
                        total += after.owned - node.owned
                        if after.ok and host_ok.get((free, total)):
                            continue
                    problem, total = judge(nodes, free, total, after)
                    if problem is not None:
                        break
                    continue
            before = tuple(nodes)
            if event is _TICK:  # keyed without the event: hashing it is Python code
                found = ticks.get((free, before))
                if found is None:
                    found = ticks[(free, before)] = self._tick(before, free, total)
            else:
                found = memo.get((event, free, before))
                if found is None:
                    found = memo[(event, free, before)] = whole(before, free, event)
            free_after, nodes_after, total_after, accepted, problem = found
            if problem is not None:
                break
            if accepted:
                accepted_steps += 1
                free, total = free_after, total_after
                if nodes_after is not before:  # most ticks leave every VM as it is
                    nodes = list(nodes_after)
                    rows = [self._picks(node, kind, mask, profiles) for node in nodes]
                    actors = [j for j, picks in enumerate(rows) if picks]
                    creates = self._creates(nodes) if mask & _CREATE_BIT else ()
        self.steps += len(events)
        self.accepted += accepted_steps
        if problem is not None:  # the state before the step that broke something
            return self._state(nodes, free), Stopped(tuple(events), problem)
        return self._state(nodes, free), None

    def _walk_direct(self, rng: random.Random, mask: int, depth: int,
                     profiles: EpisodeProfiles) -> tuple[DmState, Stopped | None]:
        """``walk`` stepping every event on its whole state and judging every state whole:
        what the memoised walk must equal (tests compare the two)."""
        state = self.initial
        events: list[Event] = []
        for _ in range(depth):
            event, _, _ = self._choose(state, rng, mask, profiles)
            events.append(event)
            post, accepted, problem = self._direct(state, event)
            self.steps += 1
            if problem is not None:
                return state, Stopped(tuple(events), problem)
            if accepted:
                self.accepted += 1
                broken = self.checks.check_state(post)
                if broken:
                    return post, Stopped(tuple(events), describe(broken[0]))
                state = post
        return state, None

    def _choose(self, state: DmState, rng: random.Random, mask: int,
                profiles: EpisodeProfiles = ()) -> tuple[Event, int, int]:
        """One offered event of ``state`` of a kind in ``mask``, drawn as ``walk`` draws."""
        kind = self.episode_kinds.setdefault((mask, profiles), len(self.episode_kinds))
        nodes = [self._intern(vm) for vm in state.vms]
        rows = [self._picks(node, kind, mask, profiles) for node in nodes]
        actors = [where for where, row in enumerate(rows) if row]
        creates = self._creates(nodes) if mask & _CREATE_BIT else ()
        return self._draw(rng.random, nodes, rows, actors, creates, 1 if mask & _TICK_BIT else 0)

    @staticmethod
    def _draw(random_: Callable[[], float], nodes: Sequence[Node], rows: Sequence[Picks],
              actors: Sequence[int], creates: tuple[Event, ...], tick: int
              ) -> tuple[Event, int, int]:
        """(event, the index of the VM it names, its index in that VM's offer); -1, -1 for
        a tick or a create. ``actors`` are the VMs whose row has something to pick.

        Uniform at each level: an actor (a VM with something to pick, the admin creating
        a deleted VM, the balancer's tick), then one of the actor's event kinds, then one
        event of that kind. Picking kinds before events keeps a kind with many values (DM
        requests of every size) from crowding out one with few (a status report).
        """
        n = len(actors)
        r = int(random_() * (n + (1 if creates else 0) + tick))
        if r < n:
            where = actors[r]
            row = rows[where]
            group = row[int(random_() * len(row))]
            index = group[int(random_() * len(group))]
            return nodes[where].offer[index], where, index
        if creates and r == n:
            return creates[int(random_() * len(creates))], -1, -1
        return _TICK, -1, -1

    def _picks(self, node: Node, kind: int, mask: int, profiles: EpisodeProfiles) -> Picks:
        """The offer indices of ``node``'s events of kinds in ``mask``, grouped by kind,
        without those its guest's profile never sends (the offer, and so the memoised
        results by offer index, are the same for every profile); ``kind`` numbers the
        episode's (mask, profiles)."""
        row = node.picks.get(kind)
        if row is not None:
            return row
        profile = next((p for name, p in profiles if name == node.vm.name),
                       None) if profiles else None
        if profile is None:
            row = tuple([group for bit, group in node.kinds if bit & mask])
        else:
            unsaid = get_unsaid(node.vm, self.space, profile)
            groups: dict[str, list[int]] = {}
            for j, event in enumerate(node.offer):
                if KIND_BIT[event.KIND] & mask and event not in unsaid:
                    groups.setdefault(event.KIND, []).append(j)
            row = tuple(tuple(group) for group in groups.values())
        node.picks[kind] = row
        return row

    def _creates(self, nodes: Sequence[Node]) -> tuple[Event, ...]:
        if not self.space.lifecycle or len(nodes) == len(self.space.vms):
            return ()
        present = {node.vm.name for node in nodes}
        return tuple(Create(name, s) for name, s in self.space.vms if name not in present)

    def _intern(self, vm: Vm) -> Node:
        node = self.nodes.get(vm)
        if node is None:
            offer = get_offer(vm, self.space)
            kinds = tuple(map(_get_kind, offer))
            layout = self.layouts.get(kinds)
            if layout is None:
                layout = self.layouts[kinds] = get_layout(kinds, self.blind)
            plan = -1
            if self.alone and (is_balanced(vm) or is_waiting_start(vm)):
                plan = self.plan_views.setdefault(_get_plan_view(vm), len(self.plan_views))
            node = self.nodes[vm] = Node(vm, offer, layout, self.checks.get_owned(vm), plan)
        return node

    def _state(self, nodes: Sequence[Node], free: int) -> DmState:
        return DmState(self.host, free, tuple(map(_get_vm, nodes)))

    # --- one step ------------------------------------------------------------------------------

    def _judge(self, nodes: Sequence[Node], free: int, total: int | None,
               changed: Node) -> tuple[str | None, int | None]:
        """The state clauses of the state after a single-VM step that left ``changed`` in
        its place: (what is wrong, what the VMs own in all). With ``total`` known, the state
        before broke no clause, so the other VMs' vm clauses hold (a vm clause reads only
        its VM and the host: ``InvariantCache``) and only ``changed``'s and the host's are
        judged; a VM's verdict is kept on its node, the host's per (free, total)."""
        if total is None:
            return self._judge_nodes(nodes, free)
        ok = changed.ok
        if ok is None:
            ok = changed.ok = self.checks.is_vm_ok(self._state(nodes, free), changed.vm)
        if ok:
            host_ok = self.host_ok.get((free, total))
            if host_ok is None:
                state = self._state(nodes, free)
                host_ok = self.host_ok[(free, total)] = self.checks.is_host_ok(state, total)
            if host_ok:
                return None, total
        return self._judge_whole(nodes, free)

    def _judge_nodes(self, nodes: Sequence[Node], free: int
                     ) -> tuple[str | None, int | None]:
        """Every state clause on a state whose every VM may be new: ``_judge`` of each."""
        state: DmState | None = None
        for node in nodes:
            if node.ok is None:
                state = state or self._state(nodes, free)
                node.ok = self.checks.is_vm_ok(state, node.vm)
            if not node.ok:
                return self._judge_whole(nodes, free)
        total = sum(node.owned for node in nodes)
        host_ok = self.host_ok.get((free, total))
        if host_ok is None:
            state = state or self._state(nodes, free)
            host_ok = self.host_ok[(free, total)] = self.checks.is_host_ok(state, total)
        return (None, total) if host_ok else self._judge_whole(nodes, free)

    def _judge_whole(self, nodes: Sequence[Node], free: int
                     ) -> tuple[str | None, int | None]:
        """Every state clause on the whole state (the registry's check on a failure)."""
        broken, total = self.checks.check_state_total(self._state(nodes, free))
        return (describe(broken[0]) if broken else None), total

    def _local(self, nodes: Sequence[Node], free: int, where: int, event: Event,
               blind: bool) -> Local:
        """Step ``event`` of VM ``where`` and check it: its outcome for every state with this
        VM value and free memory (``blind``: any free memory). The reference steps it on
        the VM alone (``alone``), a planted bug on the whole state."""
        node = nodes[where]
        if self.alone:
            state, where = DmState(self.host, free, (node.vm,)), 0
        else:
            state = self._state(nodes, free)
        result = self._step(state, event)
        if isinstance(result, str):
            return node, free, False, result
        if not result.accepted:
            return node, free, False, rejected(state, event, result)
        post = result.state
        if not is_slot_change(state, where, post) or blind and post.free_mib != free:
            return _DIRECT
        after = self._intern(post.vms[where])
        if after.ok is None and node.ok:  # judged by the fields the step changed
            after.ok = self.checks.is_vm_ok(state, after.vm, node.vm)
        return after, post.free_mib, True, self.check_slot(state, event, result, where)

    def _whole(self, nodes: tuple[Node, ...], free: int, event: Event) -> Whole:
        """Step ``event`` on the whole state, check it and the state after it (``nodes``
        itself after a step that leaves every VM as it is)."""
        state = self._state(nodes, free)
        result = self._step(state, event)
        if isinstance(result, str):
            return free, nodes, 0, False, result
        if not result.accepted:
            return free, nodes, 0, False, rejected(state, event, result)
        post = result.state
        if post.vms is state.vms or len(post.vms) == len(nodes) and all(
                node.vm is vm for node, vm in zip(nodes, post.vms, strict=True)):
            after = nodes
        elif len(post.vms) == len(nodes):  # a tick changes a few VMs in place
            after = tuple(node if node.vm is vm else self._intern(vm)
                          for node, vm in zip(nodes, post.vms, strict=True))
        else:
            after = tuple(self._intern(vm) for vm in post.vms)
        problem = self.check(state, event, result)
        total: int | None = None
        if problem is None:
            if post.host != self.host:  # every memo here holds for one host
                problem = (f"the host changed from {self.host!r} to {post.host!r} on {event!r}: "
                           f"the host settings are constant (specs/proofs.md)")
            else:
                problem, total = self._judge_nodes(after, post.free_mib)
        return post.free_mib, after, total or 0, True, problem

    def _tick(self, nodes: tuple[Node, ...], free: int, total: int | None) -> Whole:
        """``_whole`` of a tick, without stepping it when the reference's plan is known to be
        empty here: the plan is a function of free memory and the VMs it manages or that
        wait to start, their demand left out (specs/policy.md; tests/verification/explore/
        test_plan_memo.py), and an empty plan changes nothing, so such a tick leaves a
        judged state (``total`` known) as it is, with the verdict of an empty tick at this
        free memory, which was None when the plan was found empty (the walk went on)."""
        if not self.alone or total is None:
            return self._whole(nodes, free, _TICK)
        key = (free, tuple(node.plan for node in nodes if node.plan >= 0))
        if key in self.empty_plans:
            return free, nodes, total, True, None
        found = self._whole(nodes, free, _TICK)
        free_after, after, _, accepted, problem = found
        if after is nodes and free_after == free and accepted and problem is None:
            self.empty_plans.add(key)
        return found

    def _direct(self, state: DmState, event: Event) -> tuple[DmState, bool, str | None]:
        result = self._step(state, event)
        if isinstance(result, str):
            return state, False, result
        if not result.accepted:
            return state, False, rejected(state, event, result)
        post = result.state
        interned = DmState(post.host, post.free_mib,
                           tuple(self._intern(vm).vm for vm in post.vms))
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
        VM, for a tick the VMs it changed or sent a request to (``walk/views.py``). A tick's
        squeezes are judged on the whole state first (PROG-RECLAIM-ORDER).
        """
        if not result.accepted:
            return rejected(pre, event, result)
        post = result.state
        if where < 0 and not isinstance(event, BalancerTick | Create):
            name = getattr(event, "vm", None)
            where = next((i for i, vm in enumerate(pre.vms) if vm.name == name), -1)
        if where >= 0 and is_slot_change(pre, where, post):
            return self.check_slot(pre, event, result, where)
        if len(pre.vms) != len(post.vms):
            views = get_membership_views(pre, event, result)
            if views is None:
                return check_step_result(pre, event, result, self.is_allowed, self.checks)
            return self._view_verdict(*views, event)
        if isinstance(event, BalancerTick):
            # PROG-RECLAIM-ORDER reads the waiting starts, which the tick's views leave out;
            # it judges the requests sent, so a tick that sends none squeezes nobody
            squeezed = check_squeeze_order(pre, result.sent) if result.sent else []
            if squeezed:
                return describe(squeezed[0])
            # Most ticks send nothing and change nothing, and their views (no VM, free
            # unchanged, this walker's host) are a function of free memory alone.
            empty = post is pre and not result.sent and pre.host is self.host
            if empty:
                found = self.empty_ticks.get(pre.free_mib, _UNJUDGED)
                if found is not _UNJUDGED:
                    return found
            found = self._view_verdict(*get_tick_views(pre, result), event)
            if empty:
                self.empty_ticks[pre.free_mib] = found
            return found
        return check_step_result(pre, event, result, self.is_allowed, self.checks)

    def _view_verdict(self, pre: DmState, result: StepResult, event: Event) -> str | None:
        """``check_step_result`` on a step's views, memoised: it is a pure function of the
        views, the event and the requests sent (the refinement and the registry are fixed per
        walker), and a walk meets the same views of a tick, a create or a delete often (a
        create's: free memory and the new VM)."""
        key = (pre, event, result.state, result.sent)
        found = self.view_verdicts.get(key, _UNJUDGED)
        if found is _UNJUDGED:
            found = self.view_verdicts[key] = check_step_result(
                pre, event, result, self.is_allowed, self.checks)
        return found

    def check_slot(self, pre: DmState, event: Event, result: StepResult, where: int
                   ) -> str | None:
        """``check`` of an accepted step that changed at most VM ``where`` and free memory
        (``is_slot_change``): judged on the one-VM views (R-LOCAL)."""
        if len(pre.vms) > 1:
            post = result.state
            pre, result = (DmState(pre.host, pre.free_mib, (pre.vms[where],)), StepResult(
                DmState(post.host, post.free_mib, (post.vms[where],)), None, result.sent))
        return check_step_result(pre, event, result, self.is_allowed, self.checks)

    def _bound_memos(self) -> None:
        if (len(self.nodes) + self.entries + len(self.whole) + len(self.ticks)
                + len(self.view_verdicts) + len(self.empty_plans)
                + (0 if self.refinement is None else len(self.refinement)) > MEMO_LIMIT):
            self.clear()

    def clear(self) -> None:
        """Empty every memo. A node's steps name the nodes after them, so nodes form cycles:
        they are broken here, and the memos freed by reference counting, without the cyclic
        garbage collector (``run_walk`` runs a campaign without it)."""
        for node in self.nodes.values():
            node.steps.clear()
        self.nodes.clear()
        self.whole.clear()
        self.ticks.clear()
        self.view_verdicts.clear()
        self.empty_ticks.clear()
        self.plan_views.clear()
        self.empty_plans.clear()
        self.host_ok.clear()
        self.checks.clear()
        if self.refinement is not None:
            self.refinement.clear()
        self.entries = 0
