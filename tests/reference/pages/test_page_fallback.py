"""The Linux guest's 4 KiB fallback as an honest guest (issue 15 item 5; specs/pages.md §4
R-PG-CREDIT, §5 hidden residue): under fragmentation it answers a balloon with parts smaller
than 2 MiB of scattered single pages. The reference credits exactly the pages given, keeps
every page invariant and refines the amount level; a host that rounds each part down to
whole 2 MiB units (dropping the fallback's pages) is caught by the same run."""

from __future__ import annotations

import pytest
from cli_errors import assert_usage_error

from dynmem.reference.events import BalloonRequest
from dynmem.reference.pages import (
    PageBalloonResponse,
    PageSet,
    abstract_state,
    check_page_step,
    initial_page_state,
    page_step,
)
from dynmem.reference.pages.honest import is_honest_answer
from dynmem.reference.pages.step import PageStep
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.explore.pages import explore_pages, get_fallback_menu
from dynmem.verification.mutants.pages import (
    EXACT_CREDIT_MUTANTS,
    PAGE_MUTANTS_BY_NAME,
    PageMutant,
)
from dynmem.verification.pagemenu import FALLBACK_RANGES, scattered_pages
from dynmem.verification.stateful.pages import find_page_problem

ROUNDS = PAGE_MUTANTS_BY_NAME["round-parts-to-units"]


def _fallback_run(step_fn: PageStep) -> tuple[list[str], list[PageSet]]:
    """A 4 MiB balloon (1024 pages) answered by two messages of 510 scattered pages, more to
    come, then the last part of 4 pages; the problems found and the pages each part gave."""
    host = HostSettings(physical_mib=16 + 64 + 4, reserve_mib=16)
    state = initial_page_state(host, (("a", VmSettings(True, 32, 64)),), {"a": 64})
    state = page_step(state, BalloonRequest("a", 4)).state
    problems, parts = [], []
    for pages, more in ((FALLBACK_RANGES, True), (FALLBACK_RANGES, True), (4, False)):
        vm = state.vms[0]
        ranges = scattered_pages(vm, pages)
        assert is_honest_answer(vm, ranges) and all(r.count == 1 for r in ranges)
        event = PageBalloonResponse("a", ranges, more)
        result = step_fn(state, event)
        problems.append(check_page_step(state, event, result) or "")
        parts.append(PageSet.from_ranges(ranges))
        state = result.state
    return problems, parts


def test_a_fallback_run_credits_exactly_the_pages_given() -> None:
    host = HostSettings(physical_mib=16 + 64 + 4, reserve_mib=16)
    start = initial_page_state(host, (("a", VmSettings(True, 32, 64)),), {"a": 64})
    problems, parts = _fallback_run(page_step)
    assert problems == ["", "", ""]
    state = page_step(start, BalloonRequest("a", 4)).state
    for part in parts:
        state = page_step(state, PageBalloonResponse("a", part.to_ranges(),
                                                     part is not parts[-1])).state
    vm = state.vms[0]
    given = PageSet()
    for part in parts:
        given = given.union(part)
    assert given.size == 1024 and len(parts[0].intervals) == FALLBACK_RANGES  # scattered
    assert vm.ballooned == given and vm.ballooned_count == 1024
    assert state.free_pages == start.free_pages + 1024
    # the amount level sees the whole units (4 MiB) and no hidden residue here
    assert abstract_state(state).vms[0].ballooned_mib == 4 and vm.residue_pages == 0


def test_a_short_fallback_leaves_hidden_residue_the_amount_level_counts_as_assigned() -> None:
    host = HostSettings(physical_mib=16 + 64 + 4, reserve_mib=16)
    state = initial_page_state(host, (("a", VmSettings(True, 32, 64)),), {"a": 64})
    before = abstract_state(state)
    state = page_step(state, BalloonRequest("a", 4)).state
    event = PageBalloonResponse("a", scattered_pages(state.vms[0], FALLBACK_RANGES))
    result = page_step(state, event)
    assert check_page_step(state, event, result) is None
    vm = result.state.vms[0]
    assert vm.ballooned.size == vm.ballooned_count == vm.residue_pages == FALLBACK_RANGES
    after = abstract_state(result.state)
    assert after.vms[0].ballooned_mib == 0 and after.free_mib == before.free_mib


def test_the_host_that_rounds_parts_to_units_is_caught_by_the_fallback_run() -> None:
    problems, _ = _fallback_run(ROUNDS.step)
    assert problems[0].startswith("R-PG-CREDIT: an honest answer of 510 pages was credited 0")


@pytest.mark.parametrize("mutant", EXACT_CREDIT_MUTANTS, ids=lambda m: m.name)
def test_the_exact_credit_bugs_keep_every_invariant_yet_every_engine_catches_them(
        mutant: PageMutant) -> None:
    """They break no PINV (only R-PG-CREDIT); the fallback scope, the adversarial scope and
    the random page runs still catch them."""
    step_fn = mutant.step
    for menu in (get_fallback_menu, None):
        result = explore_pages(step_fn, **({"menu": menu} if menu else {}))
        assert result.finding is not None and len(result.finding.events) == 2
        assert result.finding.problem.startswith("R-PG-CREDIT")
    assert (find_page_problem(step_fn).problem or "").startswith("R-PG-CREDIT")


def test_the_fallback_scope_is_complete_and_honest() -> None:
    result = explore_pages(menu=get_fallback_menu)
    assert result.ok and result.complete
    assert (result.states, result.steps, result.refused, result.depth) == (421, 730, 777, 24)


def test_the_page_oracle_catches_the_rounding_host_and_draws_the_fallback() -> None:
    """The oracle's exhaustive phase (a 4 KiB part, more to come) and its random phase (whose
    guests answer with the honest fallback too) both catch it; the reference passes."""
    from dynmem.verification.oracle.pagesession import (  # noqa: PLC0415 - oracle engine
        InProcessPageIut,
        exhaustive,
        random_phase,
    )
    from dynmem.verification.oracle.reference_page_host import (  # noqa: PLC0415
        ReferencePageHost,
    )

    run = exhaustive(InProcessPageIut(ReferencePageHost(ROUNDS.step)))
    assert run.failure is not None and len(run.failure.steps) == 2
    run = random_phase(InProcessPageIut(ReferencePageHost(ROUNDS.step)), 50, seed=1,
                       shrink_replays=50)
    assert run.failure is not None
    assert random_phase(InProcessPageIut(ReferencePageHost()), 30, seed=1).ok


def test_bmc_refuses_a_bug_without_a_bit_level_form(capsys: pytest.CaptureFixture[str]) -> None:
    from dynmem.verification.cli.main import main  # noqa: PLC0415 - the command line

    assert_usage_error(capsys, ["bmc", "--pages", "--mutant", "round-parts-to-units"],
                       "no bit-level form")
    assert main(["explore", "--pages", "--mutant", "round-parts-to-units"]) == 1
    assert "verdict: VIOLATION, R-PG-CREDIT" in capsys.readouterr().out
