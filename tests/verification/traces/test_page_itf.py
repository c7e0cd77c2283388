"""Page-level traces as ITF (specs/formats/itf.md §7b): exact round trips of every page bug's
shortest trace, ``explore --pages --out`` and ``dynmem show`` on them, the re-check that
does not trust the file, and one-line errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from dynmem.reference.events import BalloonRequest
from dynmem.reference.pages import PageRange, page_step
from dynmem.reference.pages.events import PageBalloonResponse
from dynmem.verification.cli.main import main
from dynmem.verification.explore.pages import explore_pages, get_fallback_menu
from dynmem.verification.mutants.pages import ALL_PAGE_MUTANTS, PAGE_MUTANTS_BY_NAME
from dynmem.verification.oracle.pageitf import (
    page_trace_from_itf,
    page_trace_to_itf,
    read_page_itf,
    write_page_itf,
)
from dynmem.verification.traces.pagetrace import (
    PageTrace,
    PageTraceStep,
    recheck_page_trace,
    replay_page_trace,
)

DUPLICATE = "credit-duplicate-pages-by-count"


def _bug_trace(name: str) -> PageTrace:
    """The shortest trace by which exploration (or its fallback scope) catches ``name``."""
    step_fn = PAGE_MUTANTS_BY_NAME[name].step
    result = explore_pages(step_fn)
    if result.finding is None:
        result = explore_pages(step_fn, menu=get_fallback_menu)
    assert result.finding is not None, name
    f = result.finding
    return replay_page_trace(f.initial, f.events, f"explore --pages --mutant {name}",
                             f.problem, step_fn)


def _json_round_trip(doc: dict[str, Any]) -> Any:
    return json.loads(json.dumps(doc))


@pytest.mark.parametrize("name", [m.name for m in ALL_PAGE_MUTANTS])
def test_every_page_bug_trace_round_trips_and_rechecks(name: str) -> None:
    trace = _bug_trace(name)
    back = page_trace_from_itf(_json_round_trip(page_trace_to_itf(trace)), "t.itf.json")
    assert back == trace
    found = recheck_page_trace(back)
    assert found is not None and found[0] == len(trace.steps)  # the last step, as explored


def test_refused_steps_and_sub_unit_ranges_round_trip(tmp_path: Path) -> None:
    """A 4 KiB range and a message the host refuses keep their exact values."""
    start = _bug_trace(DUPLICATE).initial
    events = (PageBalloonResponse("a", (PageRange(3, 1),)),)  # no balloon asked: refused
    trace = replay_page_trace(start, events, "hand")
    assert trace.steps[0].rejected is not None
    path = tmp_path / "t.itf.json"
    write_page_itf(trace, path)
    assert read_page_itf(path) == trace and recheck_page_trace(trace) is None


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "t.itf.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_explore_pages_out_then_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dup.itf.json"
    assert main(["explore", "--pages", "--mutant", DUPLICATE, "--out", str(out)]) == 1
    capsys.readouterr()
    assert read_page_itf(out) == _bug_trace(DUPLICATE)
    assert main(["show", str(out)]) == 1
    text = capsys.readouterr().out
    assert "returns pages 0x0-0x1ff (2 MiB), 0x0-0x1ff (2 MiB) again" in text
    assert "verdict: VIOLATION at step 4: PINV-ONCE" in text and "re-check" not in text


def test_show_rechecks_instead_of_trusting_the_file(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Killable: the honest host's replay of the bug's messages is clean (exit 0); the
    bug's file with its problem claim removed still fails, and says the file was wrong."""
    bug = _bug_trace(DUPLICATE)
    honest = replay_page_trace(bug.initial, [s.event for s in bug.steps], "honest")
    assert main(["show", _write(tmp_path, page_trace_to_itf(honest), "h.itf.json")]) == 0
    assert "verdict: ok" in capsys.readouterr().out
    quiet = page_trace_to_itf(attrs.evolve(bug, problem=None))
    assert main(["show", _write(tmp_path, quiet)]) == 1
    text = capsys.readouterr().out
    assert "verdict: VIOLATION at step 4" in text and "re-check: the file says no problem" in text


def test_show_names_the_fields_where_the_refinement_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A step the page invariants accept but the amount level does not (a balloon request
    recorded as accepted with no transaction opened): show names the fields that differ,
    not two whole amount-level states."""
    start = _bug_trace(DUPLICATE).initial
    step = PageTraceStep(BalloonRequest("a", 2), start)  # accepted, nothing changed
    trace = PageTrace(start, (step,), "hand", None)
    found = recheck_page_trace(trace)
    assert found is not None and found[1].startswith("refinement:")
    assert main(["show", _write(tmp_path, page_trace_to_itf(trace))]) == 1
    text = capsys.readouterr().out
    assert "verdict: VIOLATION at step 1: the refinement to the amount level fails" in text
    assert "a.txn: the page level abstracts to NONE, the amount level reaches BALLOON" in text
    assert "DmState(" not in text


def _bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: Any) -> str:
    assert main(["show", _write(tmp_path, doc)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_bad_input_names_the_file_path_and_value(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    good = page_trace_to_itf(_bug_trace(DUPLICATE))
    doc = json.loads(json.dumps(good))
    doc["states"][2]["free_pages"] = 1024
    err = _bad(tmp_path, capsys, doc)
    assert "t.itf.json: states[2].free_pages = 1024" in err and "#bigint" in err
    doc = json.loads(json.dumps(good))
    doc["states"][4]["mbt::nondetPicks"]["ranges"]["value"][0]["start"] = {"#bigint": "-1"}
    err = _bad(tmp_path, capsys, doc)
    assert "states[4].mbt::nondetPicks.ranges[0].start = -1" in err
    doc = json.loads(json.dumps(good))
    doc["states"][1]["mbt::actionTaken"] = "hot_add_requst"
    assert "unknown page-level kind" in _bad(tmp_path, capsys, doc)
    doc = json.loads(json.dumps(good))
    del doc["states"][3]["mbt::nondetPicks"]["success"]
    assert "states[3].mbt::nondetPicks.success" in _bad(tmp_path, capsys, doc)
    doc = json.loads(json.dumps(good))
    doc["#meta"]["level"] = "page"  # then read as an amount-level trace, which it is not
    assert "t.itf.json: vars = " in _bad(tmp_path, capsys, doc)


def test_page_flags_of_show_are_refused(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, page_trace_to_itf(_bug_trace(DUPLICATE)))
    assert main(["show", path, "--plot", str(tmp_path / "p.png")]) == 2
    assert "--plot" in capsys.readouterr().err and not (tmp_path / "p.png").exists()


def test_reference_host_replays_every_honest_message() -> None:
    """The replay uses the host it is given: the reference refuses nothing the bug took."""
    bug = _bug_trace(DUPLICATE)
    honest = replay_page_trace(bug.initial, [s.event for s in bug.steps], "h", None, page_step)
    assert [s.event for s in honest.steps] == [s.event for s in bug.steps]
    assert honest.steps[-1].state != bug.steps[-1].state
