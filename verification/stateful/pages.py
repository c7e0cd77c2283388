"""Random page-level runs with adversarial guests (specs/pages.md §7).

The guest lists pages the way a broken or malicious one would: the same range twice,
overlapping ranges, pages outside its RAM or inside a hot-add region not yet added, parts
smaller than 2 MiB, more than was asked, empty final parts; it answers hot-adds with too
few, too many or sub-unit page counts. The host's own requests are mostly honest (ballooned
pages back, aligned regions after RAM) and sometimes not, to exercise its refusals. After
every step :func:`check_page_step` checks the refinement to the amount level and every page
invariant.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import attrs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import BalloonRequest, UnballoonResponse
from dynmem.reference.pages import (
    PAGES_PER_UNIT,
    PageBalloonResponse,
    PageEvent,
    PageHotAddRequest,
    PageHotAddResponse,
    PageRange,
    PageState,
    PageUnballoonRequest,
    PageVm,
    check_page_step,
    initial_page_state,
)
from dynmem.reference.pages.step import PageStep
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.pagemenu import FALLBACK_RANGES, scattered_pages

# Fixed draws, no database, no deadline: a verdict never depends on the machine or on history.
PAGE_RUN_SETTINGS = settings(max_examples=150, derandomize=True, database=None, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])
# Page counts around the 2 MiB unit (and 1 MiB, 4 KiB) where rounding bugs live.
_COUNTS = (1, 255, 256, 257, 511, 512, 513, 1024)


@st.composite
def adversarial_ranges(draw: st.DrawFn, vm: PageVm) -> tuple[PageRange, ...]:
    """Up to 4 ranges: in RAM, straddling its end, beyond it, repeated or overlapping."""
    top = max(end for _, end in vm.regions.intervals)
    ranges: list[PageRange] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(("in", "in", "edge", "out", "again")))
        count = draw(st.sampled_from(_COUNTS) | st.integers(0, 1100))
        if kind == "again" and ranges:  # the same range, or one overlapping it
            prev = draw(st.sampled_from(ranges))
            ranges.append(PageRange(prev.start + draw(st.integers(0, prev.count)), count))
            continue
        start = {"in": draw(st.integers(0, max(0, top - 1))),
                 "edge": max(0, top - draw(st.integers(0, 600))),
                 "out": top + draw(st.integers(0, 4096))}.get(kind, 0)
        ranges.append(PageRange(start, count))
    return tuple(ranges)


@st.composite
def page_events(draw: st.DrawFn, state: PageState) -> PageEvent:
    """One event that makes sense to try now for a VM of ``state``."""
    vm = draw(st.sampled_from(state.vms))
    top = max(end for _, end in vm.regions.intervals)
    if vm.txn == TxnKind.BALLOON:
        if draw(st.integers(0, 4)) == 0:  # the honest Linux guest's 4 KiB fallback
            outstanding = vm.txn_pages - vm.txn_done_pages
            pages = min(outstanding, draw(st.integers(0, FALLBACK_RANGES)))
            return PageBalloonResponse(vm.name, scattered_pages(vm, pages), draw(st.booleans()))
        return PageBalloonResponse(vm.name, draw(adversarial_ranges(vm)), draw(st.booleans()))
    if vm.txn == TxnKind.UNBALLOON:
        return UnballoonResponse(vm.name)
    if vm.txn == TxnKind.HOT_ADD:
        asked = vm.txn_pages
        pages = draw(st.sampled_from((0, asked - 1, asked - 256, asked - PAGES_PER_UNIT, asked,
                                      asked + 7)).filter(lambda n: n >= 0))
        return PageHotAddResponse(vm.name, pages, draw(st.booleans()))
    kind = draw(st.sampled_from(("balloon", "balloon", "unballoon", "hot_add")))
    if kind == "balloon":
        return BalloonRequest(vm.name, draw(st.sampled_from((2, 4, 6, 8))))
    if kind == "unballoon":
        seen = (vm.ballooned.size - vm.hidden_pages) // PAGES_PER_UNIT
        units = draw(st.integers(1, max(1, seen)))
        honest = vm.ballooned.take_lowest(units * PAGES_PER_UNIT).to_ranges()
        # the same count of pages, but some listed twice or not ballooned
        shifted = tuple(PageRange(r.start + PAGES_PER_UNIT, r.count) for r in honest)
        twice = (*honest[1:], *honest[:1], *honest[:1]) if honest else ()
        ranges = draw(st.sampled_from((honest, honest, shifted, twice))
                      | adversarial_ranges(vm))
        return PageUnballoonRequest(vm.name, ranges)
    start = draw(st.sampled_from((top, top + PAGES_PER_UNIT, top - PAGES_PER_UNIT, top + 1)))
    count = draw(st.sampled_from((PAGES_PER_UNIT, 2 * PAGES_PER_UNIT, 300)))
    return PageHotAddRequest(vm.name, PageRange(max(0, start), count))


def describe_run(events: Sequence[PageEvent], problem: str) -> str:
    """A failing run as the events that led to it and the problem."""
    return "\n".join([*(f"  {i}: {e!r}" for i, e in enumerate(events)), problem])


# One VM of 34 or 40 MiB (startup 32) on a host with 4 MiB to spare: small enough that every
# rule binds within 30 steps. Its guest advertises 2 MiB or 4 MiB hot-add alignment: at 4 MiB
# the drawn regions (2 or 4 MiB, at RAM's top or a unit past it) are aligned or not
# (R-HOT-ADD-ALIGN, PINV-ALIGNED).
_SMALL_VM = VmSettings(dynamic=True, startup_mib=32, maximum_mib=64)
_ALIGNMENTS_MIB = (2, 4)


@attrs.frozen
class PageRunOutcome:
    """What a campaign of page runs found: the first problem (None: none) and the steps run."""

    problem: str | None
    steps: int


def find_page_problem(step_fn: PageStep, examples: int = 150) -> PageRunOutcome:
    """Run up to ``examples`` adversarial 30-step runs of ``step_fn`` (one small VM) and stop
    at the first problem, unshrunk: the verdict is whether one exists. Derandomized."""
    found: list[str] = []
    steps = [0]

    @settings(PAGE_RUN_SETTINGS, max_examples=examples, phases=(Phase.explicit, Phase.generate))
    @given(st.sampled_from((34, 40)), st.sampled_from(_ALIGNMENTS_MIB), st.data())
    def run(ram_mib: int, align_mib: int, data: st.DataObject) -> None:
        state = initial_page_state(HostSettings(16 + ram_mib + 4, 16), (("a", _SMALL_VM),),
                                   ram_mib={"a": ram_mib})
        state = state.with_vm(attrs.evolve(state.vms[0], hot_add_align_mib=align_mib))
        for _ in range(30):
            event = data.draw(page_events(state))
            result = step_fn(state, event)
            steps[0] += 1
            problem = check_page_step(state, event, result)
            if problem is not None:
                found.append(problem)
                raise AssertionError(problem)
            state = result.state

    with contextlib.suppress(AssertionError):
        run()
    return PageRunOutcome(found[-1] if found else None, steps[0])
