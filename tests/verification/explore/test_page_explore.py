"""``explore_pages`` / ``dynmem explore --pages``: the page layer explored breadth-first on
its small scope (issue 15 item 2: bad pages in the explorer; specs/pages.md §7).

The reference host keeps every page invariant and the refinement on the whole space; each
planted page bug is caught with a shortest trace (none exists one step shorter), and that
trace replays: every step but the last is fine under the bug, the last is not.
"""

from __future__ import annotations

import json

import pytest
from cli_errors import assert_usage_error

from dynmem.reference.events import BalloonRequest
from dynmem.reference.pages import PageBalloonResponse, check_page_step, page_step
from dynmem.verification.cli.main import main
from dynmem.verification.explore.pages import (
    describe_page_event,
    explore_pages,
    get_initial_states,
    get_page_menu,
)
from dynmem.verification.mutants.pages import PAGE_MUTANTS, PAGE_MUTANTS_BY_NAME

# Shortest traces, fixed by the menu and the scope (a change must be explained).
# The hot-add bugs are met at their request: PINV-EXTENT and PINV-ALIGNED see the region in
# flight (before PINV-EXTENT named it, the overlap was met at the answer, in 2 steps).
SHORTEST = {"credit-duplicate-pages-by-count": 4, "accept-pages-outside-ram": 2,
            "unballoon-pages-not-ballooned": 3, "hot-add-overlapping-ram": 1,
            "hot-add-ignoring-alignment": 1}


def test_the_reference_host_keeps_every_check_on_the_whole_scope() -> None:
    result = explore_pages()
    assert result.ok and result.complete and result.finding is None
    assert (result.states, result.steps, result.refused, result.depth) == (2645, 9329, 9218, 19)


def test_the_menu_sends_what_broken_guests_send() -> None:
    """In a balloon in flight: the honest answer, a sub-2 MiB part, a range listed twice,
    pages beyond RAM, and an empty final part are all offered."""
    state = page_step(get_initial_states()[1], BalloonRequest("a", 2)).state
    answers = [e for e in get_page_menu(state) if isinstance(e, PageBalloonResponse)]
    counts = [tuple(r.count for r in e.ranges) for e in answers]
    assert (512,) in counts and (256,) in counts and (512, 512) in counts and () in counts
    assert any(r.start >= 6 * 256 for e in answers for r in e.ranges)  # beyond 6 MiB of RAM
    twice = next(e for e in answers if len(e.ranges) == 2 and e.ranges[0] == e.ranges[1])
    assert "0x0-0x1ff (2 MiB), 0x0-0x1ff (2 MiB)" in describe_page_event(twice)


@pytest.mark.parametrize("name", [m.name for m in PAGE_MUTANTS])
def test_each_page_bug_is_caught_with_a_shortest_trace(name: str) -> None:
    bug = PAGE_MUTANTS_BY_NAME[name]
    result = explore_pages(bug.step)
    finding = result.finding
    assert finding is not None and not result.ok
    assert len(finding.events) == SHORTEST[bug.name]
    assert any(name in finding.problem for name in bug.breaks), finding.problem
    state = finding.initial
    for index, event in enumerate(finding.events):
        outcome = bug.step(state, event)
        problem = check_page_step(state, event, outcome)
        assert (problem is None) == (index < len(finding.events) - 1)
        state = outcome.state
    # shortest: one step less finds nothing
    assert explore_pages(bug.step, max_depth=SHORTEST[bug.name] - 1).finding is None


def test_cli_pages_clean_and_with_a_bug(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--pages"]) == 0
    out = capsys.readouterr().out
    assert "2,645 states" in out and "complete" in out and "verdict: ok" in out
    assert main(["explore", "--pages", "--mutant", "credit-duplicate-pages-by-count"]) == 1
    out = capsys.readouterr().out
    assert "verdict: VIOLATION, PINV-ONCE, PINV-LEDGER" in out
    assert "returns pages 0x0-0x1ff (2 MiB), 0x0-0x1ff (2 MiB) again (final part)" in out
    assert main(["explore", "--pages", "--mutant", "hot-add-overlapping-ram", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["layer"] == "pages" and not data["ok"] and len(data["finding"]["events"]) == 1


@pytest.mark.parametrize("argv, words", [
    (["explore", "--pages", "--mutant", "stop_leaks_in_flight"], "is no page bug"),
    (["explore", "--pages", "--vms", "3"], "--vms"),
    (["explore", "--pages", "--lifecycle"], "--lifecycle"),
])
def test_cli_pages_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str],
                               words: str) -> None:
    assert_usage_error(capsys, argv, words)
