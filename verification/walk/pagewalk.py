"""``run_page_walk``: seeded random walks over the page layer, every check on every step
(specs/pages.md §7).

Each episode draws a swarm mask of message shapes (``walk/pageoffers.py``; the first keeps
every shape) and walks ``depth`` steps from the space's initial state: at each step it picks
a VM uniformly, then a group of what that VM may be sent now (a request to an idle VM, the
guest's answer to its transaction), then a shape of the group the mask keeps, builds that
shape's message from the shared page menu at the space's sizes, steps it with ``page_step``
(or a planted bug's) and checks it with ``check_page_step``: every page invariant
(``PAGE_INVARIANTS``), the refinement to the amount level (``check_refinement_step``) and
the exact credit of honest answers (R-PG-CREDIT). The first problem stops the campaign; its
episode is shortened by delta debugging (a count of replays, never seconds) and replayed
into a page trace, which ``dynmem fuzz --engine walk --pages --out DIR`` writes as ITF.

No Hypothesis and no clock decide anything: a seed fixes every choice. The page layer has no
balancer tick, so there is no settling phase at an episode's end (the amount-level walk's
progress properties are about the policy).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs

from dynmem.reference.pages import PAGE_INVARIANTS, PageEvent, PageState, page_step
from dynmem.reference.pages.refinement import check_page_step
from dynmem.reference.pages.step import PageStep
from dynmem.verification.traces.pagetrace import PageTrace, replay_page_trace
from dynmem.verification.traces.pagewords import explain_page_problem
from dynmem.verification.traces.shrink import ddmin
from dynmem.verification.walk.pageoffers import (
    PAGE_ALL,
    PAGE_SHAPES,
    build_page_event,
    describe_page_mask,
    get_page_groups,
    pick_page_mask,
)
from dynmem.verification.walk.pagespace import PageWalkSpace
from dynmem.verification.walk.run import cpu_seconds

__all__ = ["MAX_SHRINK_REPLAYS", "PAGE_DEPTH", "PAGE_EPISODES", "PageWalkFailure",
           "PageWalkResult", "get_problem_kind", "run_page_walk", "shrink_page_episode"]

# A campaign's default size: about 10,000 steps, a few CPU seconds on either preset.
PAGE_EPISODES = 50
PAGE_DEPTH = 200
# Replays delta debugging may spend on one failing episode: a count, so the shortened trace
# is the same on any machine. A planted bug's episode (up to a few hundred steps) shortens
# to a handful of steps in far fewer.
MAX_SHRINK_REPLAYS = 3_000
PageWalkProgress = Callable[[int, int], None]  # (episodes done, steps so far)


@attrs.frozen
class PageWalkFailure:
    """What stopped a campaign: where, after how much work, and the (shortened) trace."""

    problem: str
    episode: int  # 0-based
    shapes: tuple[str, ...]  # the episode's swarm mask
    steps: int  # checked steps of the campaign up to and including the failing one
    episode_steps: int  # steps of the failing episode up to the failure
    replays: int  # replays delta debugging spent
    trace: PageTrace  # the shortened episode, replayed by the host that was checked
    words: tuple[str, ...]  # what its last step broke, in the domain's words

    @property
    def what(self) -> str:
        """The broken invariants (``PINV-ONCE, PINV-LEDGER``), ``refinement`` or the rule."""
        return get_problem_kind(self.problem)


@attrs.frozen
class PageWalkResult:
    """The outcome of one campaign and what it covered."""

    config: str
    mutant: str | None
    seed: int
    episodes: int  # episodes run (the last one may have stopped early)
    depth: int
    steps: int  # steps taken, each checked
    accepted: int
    sent: tuple[tuple[str, int, int], ...]  # per shape: (shape, sent, accepted)
    refusals: tuple[tuple[str, int], ...]  # per refusing rule: (rule, refusals)
    cpu_seconds: float
    wall_seconds: float
    failure: PageWalkFailure | None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def refused(self) -> int:
        return self.steps - self.accepted

    @property
    def fewest_sent(self) -> int:
        """How often the least-sent shape was sent."""
        return min((n for _, n, _ in self.sent), default=0)

    @property
    def invariant_checks(self) -> int:
        """Page invariants evaluated: each of the registry on the state after every step."""
        return self.steps * len(PAGE_INVARIANTS)

    @property
    def steps_per_cpu_second(self) -> float:
        return self.steps / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def summary(self) -> str:
        head = (f"walk --pages {self.config}{f' (mutant {self.mutant})' if self.mutant else ''}"
                f", seed {self.seed}: {self.episodes} episodes x {self.depth} steps, "
                f"{self.steps:,} steps checked ({self.accepted:,} accepted, {self.refused:,} "
                f"refused), {self.cpu_seconds:.2f} CPU s ({self.steps_per_cpu_second:,.0f} "
                f"steps per CPU s), {self.wall_seconds:.2f} s wall")
        if self.failure is None:
            return head + ": ok"
        f = self.failure
        return (head + f": FAILED in episode {f.episode} after {f.steps:,} steps: {f.what}")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.ok, "engine": "walk", "layer": "pages", "config": self.config,
            "mutant": self.mutant, "seed": self.seed, "episodes": self.episodes,
            "depth": self.depth, "steps": self.steps, "accepted": self.accepted,
            "refused": self.refused, "invariant_checks": self.invariant_checks,
            "refinement_checked": True,
            "cpu_seconds": round(self.cpu_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "steps_per_cpu_second": round(self.steps_per_cpu_second),
            "shapes": {s: {"sent": n, "accepted": a} for s, n, a in self.sent},
            "refusals": dict(self.refusals),
        }
        f = self.failure
        if f is not None:
            data["failure"] = {
                "problem": f.problem, "episode": f.episode, "shapes": list(f.shapes),
                "steps": f.steps, "episode_steps": f.episode_steps,
                "trace_steps": len(f.trace.steps), "replays": f.replays,
                "words": list(f.words)}
        return data


@attrs.frozen
class _Stopped:
    events: tuple[PageEvent, ...]
    problem: str


def _walk_episode(space: PageWalkSpace, initial: PageState, step_fn: PageStep,
                  rng: random.Random, mask: int, depth: int, sent: Counter[str],
                  accepted: Counter[str], refusals: Counter[str]) -> _Stopped | None:
    """One episode of up to ``depth`` checked steps; what stopped it, or None."""
    state = initial
    events: list[PageEvent] = []
    for _ in range(depth):
        shape, event = _choose(state, rng, mask, space)
        events.append(event)
        result = step_fn(state, event)
        sent[shape] += 1
        problem = check_page_step(state, event, result)
        if problem is not None:
            return _Stopped(tuple(events), problem)
        if result.accepted:
            accepted[shape] += 1
            state = result.state
        else:
            refusals[result.rule or "?"] += 1
    return None


def _choose(state: PageState, rng: random.Random, mask: int,
            space: PageWalkSpace) -> tuple[str, PageEvent]:
    """A VM, then one of the groups it may be sent, then a shape of it that has something
    to send: (shape, message). Uniform at each level, so a group of many shapes (the
    guest's fourteen balloon answers) does not crowd out one of few."""
    vms = list(state.vms)
    while vms:
        vm = vms.pop(rng.randrange(len(vms)))
        groups = get_page_groups(vm, mask)
        while groups:
            _, keys = groups.pop(rng.randrange(len(groups)))
            while keys:
                shape = keys.pop(rng.randrange(len(keys)))
                event = build_page_event(vm, shape, rng, space)
                if event is not None:
                    return shape, event
    # every mask keeps the honest answer to each transaction and an idle VM's hot-add at the
    # top of its address space (refused or not, it is a message)
    raise AssertionError("no VM has a message to send")


def run_page_walk(space: PageWalkSpace, *, episodes: int = PAGE_EPISODES,
                  depth: int = PAGE_DEPTH, seed: int = 0, step_fn: PageStep = page_step,
                  mutant: str | None = None, shrink: bool = True,
                  on_progress: PageWalkProgress | None = None) -> PageWalkResult:
    """Walk ``episodes`` episodes of ``depth`` steps over ``space`` with ``step_fn`` (the
    reference's ``page_step`` or a planted page bug's, named ``mutant``); stop at the first
    problem, shortened unless ``shrink`` is False. The caller writes its trace (the page
    ITF writer lives beside the oracle's page wire, a sibling package)."""
    started_cpu, started_wall = cpu_seconds(), time.perf_counter()
    initial = space.initial()
    rng = random.Random(seed)
    sent: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    stopped: _Stopped | None = None
    mask, done, steps = PAGE_ALL, 0, 0
    for episode in range(episodes):
        mask = PAGE_ALL if episode == 0 else pick_page_mask(rng)
        before = sum(sent.values())
        stopped = _walk_episode(space, initial, step_fn, rng, mask, depth, sent, accepted,
                                refusals)
        steps += sum(sent.values()) - before
        done = episode + 1
        if stopped is not None:
            break
        if on_progress is not None:
            on_progress(done, steps)
    failure = None
    if stopped is not None:
        failure = _failure(initial, stopped, done - 1, mask, steps, step_fn, mutant, shrink)
    return PageWalkResult(
        space.name, mutant, seed, done, depth, steps, sum(accepted.values()),
        tuple((s, sent[s], accepted[s]) for s in PAGE_SHAPES), tuple(sorted(refusals.items())),
        cpu_seconds() - started_cpu, time.perf_counter() - started_wall, failure)


# --- a failure --------------------------------------------------------------------------------


def get_problem_kind(problem: str) -> str:
    """What a problem is, without the step it happened at: the broken invariants
    (``PINV-ONCE, PINV-LEDGER``), ``refinement`` or the rule (``R-PG-CREDIT``).

    Examples
    --------
    >>> get_problem_kind("PINV-RAM broken after PageBalloonResponse(...)")
    'PINV-RAM'
    >>> get_problem_kind("refinement: not abstractable: ...")
    'refinement'
    """
    if " broken after " in problem:
        return problem.split(" broken after ")[0]
    return problem.split(":")[0]


def _first_problem(initial: PageState, events: tuple[PageEvent, ...],
                   step_fn: PageStep) -> tuple[int, str] | None:
    """The first step (its count of events) that fails ``check_page_step``, and why."""
    state = initial
    for n, event in enumerate(events, start=1):
        result = step_fn(state, event)
        problem = check_page_step(state, event, result)
        if problem is not None:
            return n, problem
        state = result.state
    return None


def shrink_page_episode(initial: PageState, events: tuple[PageEvent, ...], problem: str,
                        step_fn: PageStep, max_replays: int = MAX_SHRINK_REPLAYS
                        ) -> tuple[tuple[PageEvent, ...], str, int]:
    """A 1-minimal sub-sequence of ``events`` (delta debugging, at most ``max_replays``
    replays) whose replay from ``initial`` still fails the same way as ``problem``, cut at
    the failing step: (events, its problem, replays spent). A message that no longer fits
    its state after a cut (pages since ballooned, no transaction) is simply refused by the
    host and then dropped."""
    kind = get_problem_kind(problem)
    replays = [0]

    def keeps(candidate: tuple[PageEvent, ...]) -> bool:
        replays[0] += 1
        found = _first_problem(initial, candidate, step_fn)
        return found is not None and get_problem_kind(found[1]) == kind

    shortest = ddmin(events, keeps, lambda: replays[0] >= max_replays)
    found = _first_problem(initial, shortest, step_fn)
    assert found is not None  # ddmin keeps only failing candidates, and the episode failed
    return shortest[:found[0]], found[1], replays[0]


def _failure(initial: PageState, stopped: _Stopped, episode: int, mask: int, steps: int,
             step_fn: PageStep, mutant: str | None, shrink: bool) -> PageWalkFailure:
    """Shorten the failing episode, replay it into a page trace, say what it broke."""
    events, problem, replays = stopped.events, stopped.problem, 0
    if shrink:
        events, problem, replays = shrink_page_episode(initial, events, problem, step_fn)
    source = f"fuzz --engine walk --pages{f' --mutant {mutant}' if mutant else ''}"
    trace = replay_page_trace(initial, events, source, problem, step_fn)
    pre = trace.steps[-2].state if len(trace.steps) > 1 else initial
    words = explain_page_problem(pre, events[-1], step_fn(pre, events[-1]), problem)
    return PageWalkFailure(problem, episode, tuple(describe_page_mask(mask)), steps,
                           len(stopped.events), replays, trace, tuple(words))
