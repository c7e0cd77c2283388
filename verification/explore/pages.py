"""Breadth-first exploration of the page layer on a small scope (specs/pages.md §7).

The random page runs (verification/stateful/pages.py) draw ranges; this explorer tries, in
every reachable state, each message of a fixed menu that an honest or a broken guest or
host could send there: the honest answer, a range listed twice, overlapping ranges, pages
beyond RAM, a range straddling its end, pages already ballooned, a part smaller than 2 MiB,
an empty final part; unballoons of pages not ballooned or listed twice; hot-add regions at
the top of RAM, over it, past it, unaligned, one block of the guest's alignment; hot-add
answers short by a page, by half a unit, by a unit, or over (picked by name from
verification/pagemenu.py); and, on its own scope, honest messages only with the Linux
guest's 4 KiB fallback. Every accepted step is checked (``check_page_step``: the page
invariants, the refinement to the amount level, the exact credit of honest answers), so a
host bug is reported with a shortest trace. The scope (one VM of 4 to 8 MiB, 4 MiB spare,
its guest aligned to 2 or 4 MiB) keeps the space complete in about two CPU seconds, and
every rule binds within it: a balloon can empty the spare RAM, a hot-add can reach the
maximum.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import attrs

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import BalloonRequest, UnballoonResponse
from dynmem.reference.pages import (
    PageEvent,
    PageState,
    check_page_step,
    initial_page_state,
    page_step,
)
from dynmem.reference.pages.step import PageStep
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.pagemenu import (
    balloon_answers,
    hot_add_answers,
    hot_add_requests,
    unballoon_requests,
)
from dynmem.verification.traces.pagetext import describe_page_event, describe_page_state

# One VM of 4 MiB startup, up to 8 MiB; it starts with 4 or 6 MiB online; 4 MiB spare; its
# guest advertises a hot-add alignment of 2 MiB or 4 MiB (R-HOT-ADD-ALIGN: at 4 MiB the menu's
# 2 MiB regions, and any region at the top of 6 MiB, are not aligned).
SCOPE_VM = VmSettings(dynamic=True, startup_mib=4, maximum_mib=8)
SCOPE_RAM_MIB = (4, 6)
SCOPE_ALIGN_MIB = (2, 4)
SCOPE_SPARE_MIB = 4
MAX_DEPTH = 40  # the honest space is complete at depth 19, a planted bug is met within 4;
MAX_STATES = 200_000  # bounds, never verdicts: an incomplete run is not ok


def get_initial_states() -> list[PageState]:
    """The scope's initial states: the VM online with each of ``SCOPE_RAM_MIB``, for each
    alignment of ``SCOPE_ALIGN_MIB`` (2 MiB first)."""
    reserve = 16
    states = []
    for align in SCOPE_ALIGN_MIB:
        for ram in SCOPE_RAM_MIB:
            state = initial_page_state(HostSettings(reserve + ram + SCOPE_SPARE_MIB, reserve),
                                       (("a", SCOPE_VM),), ram_mib={"a": ram})
            states.append(state.with_vm(attrs.evolve(state.vms[0], hot_add_align_mib=align)))
    return states


# The explorer's picks from the shared menu (verification/pagemenu.py), in its order.
BALLOON_PICKS = ("honest", "half-more", "twice", "overlapping", "beyond", "straddling",
                 "ballooned", "empty")
HOT_ADD_PICKS = ("none", "page-short", "half-short", "unit-short", "full", "over")
UNBALLOON_PICKS = ("lowest", "twice", "not-ballooned")
REGION_PICKS = ("top", "over-ram", "gap", "page-off")


@attrs.frozen
class PageMenu:
    """Which messages of the shared menu (verification/pagemenu.py) one scope tries: the
    guest's balloon and hot-add answers, the host's requests to an idle VM, by pick name."""

    balloon_answers: tuple[str, ...]
    hot_add_answers: tuple[str, ...]
    hot_add_failures: bool
    unballoons: tuple[str, ...]
    regions: tuple[str, ...]

    def __call__(self, state: PageState) -> list[PageEvent]:
        """Every message tried in ``state``, in a fixed order."""
        events: list[PageEvent] = []
        for vm in state.vms:
            if vm.txn == TxnKind.BALLOON:
                events += balloon_answers(vm, self.balloon_answers)
            elif vm.txn == TxnKind.UNBALLOON:
                events.append(UnballoonResponse(vm.name))
            elif vm.txn == TxnKind.HOT_ADD:
                events += hot_add_answers(vm, self.hot_add_answers,
                                          failures=self.hot_add_failures)
            else:  # the host balloons 2 or 4 MiB, unballoons, hot-adds
                events += [BalloonRequest(vm.name, 2), BalloonRequest(vm.name, 4),
                           *unballoon_requests(vm, self.unballoons),
                           *hot_add_requests(vm, self.regions, aligned_block=True)]
        return events


# Every message the adversarial explorer tries.
get_page_menu = PageMenu(BALLOON_PICKS, HOT_ADD_PICKS, True, UNBALLOON_PICKS, REGION_PICKS)

# The honest Linux guest under fragmentation (its 4 KiB fallback) and an honest host: the
# fallback scope's menu. Scattered single pages multiply the adversarial scope's states
# past 20,000 (measured), so the fallback is explored with honest messages only: 510
# scattered single pages as the last part (the guest could allocate no more), a 1 MiB part
# of scattered pages with more to come, an empty last part; the host unballoons the lowest
# ballooned unit and hot-adds at the top; the guest adds a hot-add in full.
FALLBACK_BALLOON_PICKS = ("honest", "fallback", "scatter-more", "empty")
get_fallback_menu = PageMenu(FALLBACK_BALLOON_PICKS, ("full",), False, ("lowest",), ("top",))


@attrs.frozen
class PageFinding:
    """A step that broke a page invariant or the refinement, and a shortest way there."""

    initial: PageState
    events: tuple[PageEvent, ...]
    problem: str


@attrs.frozen
class PageExploration:
    """What the exploration met: states, accepted steps, refusals, depth, completeness,
    and the first finding (None: the host kept every check on every step)."""

    states: int
    steps: int
    refused: int
    depth: int
    complete: bool
    finding: PageFinding | None

    @property
    def ok(self) -> bool:
        return self.finding is None and self.complete


def explore_pages(step_fn: PageStep = page_step, initial: Sequence[PageState] | None = None,
                  max_depth: int = MAX_DEPTH, max_states: int = MAX_STATES,
                  menu: Callable[[PageState], list[PageEvent]] = get_page_menu
                  ) -> PageExploration:
    """Breadth-first over ``step_fn`` from ``initial`` (the scope's), every ``menu`` message
    in every state (the adversarial menu, or ``get_fallback_menu``); stop at the first step
    that fails ``check_page_step`` (a shortest one)."""
    starts = list(initial) if initial is not None else get_initial_states()
    parent: dict[PageState, tuple[PageState | None, PageEvent | None, int]] = {
        s: (None, None, 0) for s in starts}
    queue = deque(starts)
    steps = refused = deepest = 0
    complete = True
    while queue:
        state = queue.popleft()
        depth = parent[state][2]
        deepest = max(deepest, depth)
        if depth >= max_depth:
            complete = complete and not menu(state)
            continue
        for event in menu(state):
            result = step_fn(state, event)
            problem = check_page_step(state, event, result)
            if problem is not None:
                return PageExploration(len(parent), steps, refused, depth + 1, False,
                                       _finding(parent, state, event, problem))
            if not result.accepted:
                refused += 1
                continue
            steps += 1
            if result.state not in parent:
                if len(parent) >= max_states:
                    complete = False
                    continue
                parent[result.state] = (state, event, depth + 1)
                queue.append(result.state)
    return PageExploration(len(parent), steps, refused, deepest, complete, None)


def _finding(parent: dict[PageState, tuple[PageState | None, PageEvent | None, int]],
             state: PageState, event: PageEvent, problem: str) -> PageFinding:
    events = [event]
    at: PageState | None = state
    while at is not None:
        before, via, _ = parent[at]
        if via is not None:
            events.append(via)
        if before is None:
            return PageFinding(at, tuple(reversed(events)), problem)
        at = before
    raise AssertionError("every explored state leads back to an initial one")


def render_page_report(result: PageExploration, mutant: str | None = None,
                       fallback: bool = False) -> str:
    """The text report: what was covered, the verdict, the shortest trace of a finding
    (``fallback``: of the honest 4 KiB fallback scope)."""
    head = (f"explore --pages{f' --mutant {mutant}' if mutant else ''}: the page layer "
            f"{'with honest messages and the 4 KiB fallback ' if fallback else ''}on its "
            f"scope (one VM of {SCOPE_VM.startup_mib} to {SCOPE_VM.maximum_mib} MiB, "
            f"{' or '.join(map(str, SCOPE_RAM_MIB))} MiB online, hot-adds aligned to "
            f"{' or '.join(map(str, SCOPE_ALIGN_MIB))} MiB, {SCOPE_SPARE_MIB} MiB spare): "
            f"{result.states:,} states, {result.steps:,} accepted steps, {result.refused:,} "
            f"refused messages, depth {result.depth}"
            + (", complete" if result.complete else
               ", stopped at the first finding" if result.finding else ", INCOMPLETE"))
    finding = result.finding
    if finding is None:
        verdict = ("verdict: ok, every page invariant, the refinement to the amount level "
                   "and the exact credit of honest answers held on every step"
                   if result.complete else
                   "verdict: no finding, but the search stopped at its bound: not a proof")
        return f"{head}\n{verdict}\n"
    what = finding.problem.split(" broken after ")[0]  # the invariants, or the refinement
    lines = [head, f"verdict: VIOLATION, {what}",
             f"shortest trace ({len(finding.events)} steps) from "
             f"{'; '.join(describe_page_state(finding.initial))}:"]
    lines += [f"  {i}. {describe_page_event(e)}" for i, e in enumerate(finding.events, 1)]
    lines.append(f"broken: {what} after step {len(finding.events)}" if what != finding.problem
                 else f"problem: {finding.problem}")
    return "\n".join(lines) + "\n"


def page_report_to_json(result: PageExploration, mutant: str | None = None) -> dict[str, object]:
    """The report as JSON (``dynmem explore --pages --json``)."""
    finding = result.finding
    return {"layer": "pages", "mutant": mutant, "states": result.states,
            "steps": result.steps, "refused": result.refused, "depth": result.depth,
            "complete": result.complete, "ok": result.ok,
            "finding": None if finding is None else {
                "problem": finding.problem,
                "initial": describe_page_state(finding.initial),
                "events": [describe_page_event(e) for e in finding.events]}}
