"""The oracle's page-level wire (specs/formats/oracle.md §9): an IUT whose hello says
``"wire": 2`` is judged by the page layer; amount-level IUTs are untouched; the QEMU-style host
of examples/qemu_host/ passes and its duplicate-crediting variant is caught with a shortest
trace; every planted page bug is caught; bad ranges from an IUT are one-line schema faults."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import attrs
import pytest
from oracle_helpers import EXAMPLES, PYTHON

from dynmem.reference.events import BalloonRequest
from dynmem.reference.pages import PageRange, page_step
from dynmem.verification.cli.main import main
from dynmem.verification.errors import InputError
from dynmem.verification.mutants.pages import PAGE_MUTANTS, PAGE_MUTANTS_BY_NAME
from dynmem.verification.oracle import check_page_iut
from dynmem.verification.oracle.generate import ORACLE_ALIGNMENTS
from dynmem.verification.oracle.iut import IutUnusable
from dynmem.verification.oracle.judge import INVARIANT, PROTOCOL
from dynmem.verification.oracle.pagegen import (
    aligned_preset,
    draw_page_event,
    draw_page_initial,
    two_vm_preset,
)
from dynmem.verification.oracle.pageitf import read_page_itf
from dynmem.verification.oracle.pagejudge import PageDivergence
from dynmem.verification.oracle.pagelog import format_page_log
from dynmem.verification.oracle.pagereport import get_case_trace, get_case_vector
from dynmem.verification.oracle.pagesession import (
    InProcessPageIut,
    PageCase,
    PageStepRecord,
    check_pages,
    exhaustive,
    random_phase,
    report_text,
    run_case,
)
from dynmem.verification.oracle.pagetext import describe_event
from dynmem.verification.oracle.pagevectors import (
    NOT_ALIGNED,
    PageVectorResult,
    check_page_vectors,
    summarize_page_vectors,
    write_page_vectors,
)
from dynmem.verification.oracle.pagewire import (
    PageTick,
    event_from_json,
    event_to_json,
    state_to_json,
)
from dynmem.verification.oracle.reference_page_host import ReferencePageHost
from dynmem.verification.oracle.wire import hello_from_json, open_iut
from dynmem.verification.traces.pagetrace import PageTrace, PageTraceStep, recheck_page_trace

HOST = f"{PYTHON} {EXAMPLES / 'qemu_host' / 'hv_balloon_host.py'}"
DUPLICATES = "credit-duplicate-pages-by-count"
ALIGNMENT_BUG = "hot-add-ignoring-alignment"


def test_the_page_reference_passes_both_phases() -> None:
    run = check_pages(InProcessPageIut(ReferencePageHost()), examples=60, seed=3)
    assert run.ok, report_text(run, "reference")
    assert run.states > 100 and run.examples == 60


@pytest.mark.parametrize("mutant", PAGE_MUTANTS, ids=lambda m: m.name)
def test_every_planted_page_bug_is_caught_by_both_phases(mutant: Any) -> None:
    """The oracle engine catches each page bug of the shared catalogue, breadth-first (a
    shortest trace) and in the random phase, with an invariant it names or a refusal. The
    host that ignores the guest's alignment is met where guests advertise more than 2 MiB:
    the aligned preset and guests of ``ORACLE_ALIGNMENTS`` (an IUT of Rule P1c)."""
    aligned = mutant.name == ALIGNMENT_BUG
    for run in (exhaustive(InProcessPageIut(ReferencePageHost(mutant.step)),
                           *([aligned_preset()] if aligned else [])),
                random_phase(InProcessPageIut(ReferencePageHost(mutant.step)), 200, seed=1,
                             shrink_replays=200,
                             alignments=ORACLE_ALIGNMENTS if aligned else ())):
        assert run.failure is not None, f"{mutant.name} passed the {run.phase} phase"
        div = run.failure.divergence
        assert div is not None
        assert div.detail in (*mutant.breaks, "acceptance"), div.headline()


def test_credits_duplicates_is_caught_with_a_two_event_trace() -> None:
    """Issue 15's acceptance, the oracle's part: the host that credits duplicates."""
    mutant = PAGE_MUTANTS_BY_NAME[DUPLICATES]
    run = exhaustive(InProcessPageIut(ReferencePageHost(mutant.step)))
    assert run.failure is not None and run.failure.divergence is not None
    assert run.failure.divergence.cls == INVARIANT
    assert run.failure.divergence.detail == "PINV-ONCE"
    assert len(run.failure.steps) == 2


def test_the_qemu_style_host_passes_under_dynmem_oracle(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    code = main(["oracle", "--iut", HOST, "--examples", "40", "--seed", "5"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "exhaustive phase:" in out and "verdict: PASS" in out


@pytest.mark.parametrize("align", [2, 128])
def test_the_qemu_style_host_with_its_own_alignment_floor_passes(
        align: int, capsys: pytest.CaptureFixture[str]) -> None:
    """``--align-mib`` is the host's own floor above the guest's alignment (a multiple of
    every alignment below it, so still aligned to what the guest advertised)."""
    code = main(["oracle", "--iut", f"{HOST} --align-mib {align}", "--no-exhaustive",
                 "--examples", "40", "--seed", "6"])
    assert code == 0, capsys.readouterr().out


def test_the_qemu_host_that_credits_duplicates_is_caught(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["oracle", "--iut", f"{HOST} --credit-duplicates", "--seed", "1",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "invariant broken (PINV-ONCE) at step 2: a: counter 1024 pages, ledger 512" in out
    assert "trace (a shortest trace (breadth-first), 2 events)" in out
    assert ("a's guest returns pages 0x0-0x1ff (2 MiB), 0x0-0x1ff (2 MiB) again (final part)"
            in out)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verdict"] == "fail" and report["wire"] == 2
    assert report["detail"] == "PINV-ONCE" and len(report["events"]) == 2
    assert (tmp_path / "report.txt").read_text() == out


def test_the_random_phase_alone_catches_it_too(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["oracle", "--iut", f"{HOST} --credit-duplicates", "--no-exhaustive",
                 "--seed", "1", "--examples", "300"])
    out = capsys.readouterr().out
    assert code == 1 and "PINV-ONCE" in out and "random phase:" in out


def test_the_random_phase_sends_adversarial_ranges() -> None:
    """Duplicate, overlapping, out-of-RAM and sub-2 MiB ranges, and host-chosen hot-adds."""
    seen: set[str] = set()
    for number in range(60):
        rng = random.Random(number)
        initial = draw_page_initial(rng)
        case = run_case(InProcessPageIut(ReferencePageHost()), initial,
                        lambda state, i, rng=rng: draw_page_event(rng, state) if i < 40 else None)
        for record in case.steps:
            ranges = getattr(record.event, "ranges", ())
            vm = initial.get_vm(getattr(record.event, "vm", ""))
            words = describe_event(record.event, record.sent)
            top = max(end for _, end in vm.regions.intervals) if vm else 0
            seen |= {name for name, hit in (
                ("duplicate", len(set(ranges)) < len(ranges)),
                ("overlapping", _overlap(ranges)),
                ("out of RAM", any(r.end > top for r in ranges)),
                ("sub-2 MiB", any(0 < r.count < 512 for r in ranges)),
                ("tick hot-add", "hot-add region" in words and "tick" in words)) if hit}
    assert seen == {"duplicate", "overlapping", "out of RAM", "sub-2 MiB", "tick hot-add"}


def _overlap(ranges: tuple[PageRange, ...]) -> bool:
    return any(a is not b and a.start < b.end and b.start < a.end and a != b
               for a in ranges for b in ranges)


class _BadRanges(ReferencePageHost):
    """A page host that reports a ledger range the wire cannot carry."""

    def __init__(self, bad: dict[str, Any]) -> None:
        super().__init__()
        self.bad = bad

    def answer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        answer = super().answer(request)
        if answer is not None and answer["type"] == "observed":
            answer["observed"]["vms"][0]["ballooned"] = [self.bad]
        return answer


@pytest.mark.parametrize(("bad", "words"), [
    ({"start": -1, "count": 512}, "observed.vms[0].ballooned[0].start = -1: a page number"),
    ({"start": 0, "count": 2**24}, "observed.vms[0].ballooned[0].count = 16777216: a page "
                                   "count must be 0..16777215"),
    ({"start": "0x0", "count": 1}, "observed.vms[0].ballooned[0].start = '0x0': must be an "
                                   "integer (pages)"),
    ({"start": 0}, "observed.vms[0].ballooned[0].count = None: is required"),
])
def test_a_bad_range_from_the_iut_is_a_one_line_schema_fault(bad: dict[str, Any],
                                                             words: str) -> None:
    run = exhaustive(InProcessPageIut(_BadRanges(bad)))
    assert run.failure is not None and run.failure.divergence is not None
    div = run.failure.divergence
    assert (div.cls, div.detail) == (PROTOCOL, "schema")
    assert words in div.reason and "\n" not in div.reason


def test_bad_ranges_in_an_event_name_field_and_value() -> None:
    with pytest.raises(InputError, match=r"event.ranges\[1\].count = -3: a page count"):
        event_from_json({"kind": "balloon_response", "vm": "a",
                         "ranges": [{"start": 0, "count": 1}, {"start": 0, "count": -3}]},
                        "event", "event")
    with pytest.raises(InputError, match="event.pages = 100: a balloon request asks whole MiB"):
        event_from_json({"kind": "balloon_request", "vm": "a", "pages": 100}, "event", "event")


def test_hello_wire_field_defaults_to_amounts_and_refuses_unknown_values() -> None:
    base = {"type": "hello", "protocol": 1, "capabilities": {"kinds": ["system"]}}
    assert hello_from_json(dict(base)).wire == 1
    assert hello_from_json(dict(base, wire=2)).wire == 2
    with pytest.raises(InputError, match="wire = 3: must be 1"):
        hello_from_json(dict(base, wire=3))
    with pytest.raises(InputError, match="wire = True"):
        hello_from_json(dict(base, wire=True))


def test_page_messages_match_their_schemas() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("referencing")
    from schema_helpers import validate  # noqa: PLC0415 - needs jsonschema

    host = ReferencePageHost()
    hello = host.answer({"type": "hello", "protocol": 1, "kind": "system",
                         "mode": "refinement"})
    validate("hello-answer.schema.json", hello)
    run = exhaustive(InProcessPageIut(ReferencePageHost(PAGE_MUTANTS_BY_NAME[DUPLICATES].step)))
    assert run.failure is not None
    validate("page-state.schema.json", state_to_json(run.failure.initial))
    host.answer({"type": "reset", "state": state_to_json(run.failure.initial)})
    for record in run.failure.steps:
        event = event_to_json(record.event)
        validate("page-event.schema.json", event)
        answer = host.answer({"type": "event", "step": 1, "event": event})
        validate("page-observed-answer.schema.json", answer)
    with pytest.raises(jsonschema.ValidationError):
        validate("page-event.schema.json", {"kind": "balloon_response", "vm": "a",
                                            "ranges": [{"start": 0, "count": 2**24}]})


# --- check-trace on page-level logs (specs/formats/oracle.md §9.7) ----------------------------


def _page_log(tmp_path: Path, step_fn: Any = None, seed: int = 4) -> Path:
    host = ReferencePageHost(step_fn) if step_fn else ReferencePageHost()
    if step_fn is None:
        rng = random.Random(seed)
        initial = draw_page_initial(rng)
        case = run_case(InProcessPageIut(host), initial,
                        lambda state, i: draw_page_event(rng, state) if i < 60 else None)
        assert case.divergence is None
    else:
        run = exhaustive(InProcessPageIut(host))
        assert run.failure is not None
        case = run.failure
    path = tmp_path / "pages.log.jsonl"
    path.write_text("".join(format_page_log(case.initial, case.steps)))
    return path


def test_check_trace_accepts_a_page_log_of_the_reference(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _page_log(tmp_path)
    assert main(["check-trace", str(log)]) == 0
    out = capsys.readouterr().out
    assert "page-level log (wire 2), 60 events" in out and "conforms" in out


def test_check_trace_finds_the_duplicate_credit_in_a_page_log(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _page_log(tmp_path, PAGE_MUTANTS_BY_NAME[DUPLICATES].step)
    assert main(["check-trace", str(log)]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION at line 3 (event 2)" in out and "PINV-ONCE" in out
    assert "0x0-0x1ff (2 MiB), 0x0-0x1ff (2 MiB) again" in out


def test_check_trace_names_line_and_field_of_a_bad_range(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _page_log(tmp_path)
    lines = log.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["observed"]["vms"][0]["ram"] = [{"start": 2**40, "count": 1}]
    lines[1] = json.dumps(entry)
    log.write_text("\n".join(lines) + "\n")
    assert main(["check-trace", str(log)]) == 2
    err = capsys.readouterr().err
    assert "line 2: observed.vms[0].ram[0].start = 1099511627776: a page number" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unmarked_refused_event_in_a_page_log_must_leave_the_state(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rule L2 as for amounts: no ``rejected`` needed, but the state must not change."""
    log = _page_log(tmp_path)
    lines = log.read_text().splitlines()
    header = json.loads(lines[0])
    state = header["initial"]
    answer = {"free_pages": state["free_pages"],
              "vms": [{k: v for k, v in vm.items() if k not in ("settings", "residue_pages",
                                                               "short_by_part_of_unit")}
                      for vm in state["vms"]]}
    refused = {"event": {"kind": "unballoon_response", "vm": "a"}, "observed": answer,
               "sent": []}
    log.write_text(lines[0] + "\n" + json.dumps(refused) + "\n")
    assert main(["check-trace", str(log)]) == 0, capsys.readouterr().out
    answer["free_pages"] += 512
    log.write_text(lines[0] + "\n" + json.dumps(refused) + "\n")
    assert main(["check-trace", str(log)]) == 1
    assert "VIOLATION at line 2 (event 1)" in capsys.readouterr().out  # PINV-LEDGER first


def test_check_page_iut_drives_a_command_and_refuses_an_amount_level_iut() -> None:
    run = check_page_iut(f"{HOST} --credit-duplicates", examples=5, seed=1)
    assert not run.ok and run.failure is not None and run.failure.divergence is not None
    assert run.failure.divergence.detail == "PINV-ONCE"
    with pytest.raises(IutUnusable, match="amount-level wire"):
        check_page_iut(f"{PYTHON} {EXAMPLES / 'reference_system_iut.py'}", examples=1)


@pytest.mark.parametrize("flag", [["--mode", "lockstep"], ["--lifecycle"], ["--linux"]])
def test_flags_that_do_not_apply_to_pages_are_bad_usage(
        flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oracle", "--iut", HOST, "--examples", "1", *flag]) == 2
    err = capsys.readouterr().err
    assert f"{' '.join(flag)} does not apply" in err and len(err.strip().splitlines()) == 1


def test_a_page_iut_that_dies_mid_session_is_a_protocol_verdict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "dies.py"
    script.write_text(
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    kind = json.loads(line)['type']\n"
        "    if kind == 'hello':\n"
        "        print(json.dumps({'type': 'hello', 'protocol': 1, 'name': 'x',\n"
        "                          'capabilities': {'kinds': ['system']}, 'wire': 2}))\n"
        "    elif kind == 'reset':\n"
        "        print(json.dumps({'type': 'ready'}))\n"
        "    else:\n"
        "        print('dying', file=sys.stderr); sys.exit(3)\n"
        "    sys.stdout.flush()\n")
    assert main(["oracle", "--iut", f"{PYTHON} {script}", "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "protocol fault (crash) at step 1: the IUT exited with status 3" in out
    assert "dying" in out


def test_the_page_report_matches_its_schema(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("jsonschema")
    pytest.importorskip("referencing")
    from schema_helpers import validate  # noqa: PLC0415 - needs jsonschema

    main(["oracle", "--iut", f"{HOST} --credit-duplicates", "--seed", "1", "--out",
          str(tmp_path / "fail")])
    main(["oracle", "--iut", HOST, "--seed", "1", "--examples", "3", "--out",
          str(tmp_path / "pass")])
    capsys.readouterr()
    for name in ("fail", "pass"):
        validate("page-report.schema.json",
                 json.loads((tmp_path / name / "report.json").read_text()))


class _BadRequest(ReferencePageHost):
    """A page host whose tick sends an unballoon with a range the wire cannot carry."""

    def answer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        answer = super().answer(request)
        event = request.get("event", {})
        if answer is not None and event.get("kind") == "balancer_tick":
            answer["sent"] = [{"kind": "unballoon_request", "vm": "a",
                               "ranges": [{"start": 0, "count": -1}]}]
        return answer


def test_a_bad_range_in_a_sent_request_is_a_one_line_schema_fault() -> None:
    run = exhaustive(InProcessPageIut(_BadRequest()))
    assert run.failure is not None and run.failure.divergence is not None
    div = run.failure.divergence
    assert (div.cls, div.detail) == (PROTOCOL, "schema")
    assert "IUT answer: sent[0].ranges[0].count = -1: a page count must be 0..16777215" in \
        div.reason


# --- page-level conformance vectors (specs/formats/oracle.md §9.8) ----------------------------


ALIGNED_CASE = "invalid_pages_hot_add_off_guest_alignment"


def _run_page_vectors(iut: str | Any, out: Path) -> list[PageVectorResult]:
    """The page vectors of ``out`` on a command (a process) or an IUT object, after its
    hello (which decides Rule P1c)."""
    driver = open_iut(iut) if isinstance(iut, str) else InProcessPageIut(iut)
    try:
        return check_page_vectors(driver, driver.hello("system", "refinement"), out)
    finally:
        driver.close()


def _failed(results: list[PageVectorResult]) -> list[str]:
    return [r.name for r in results if r.failure is not None]


def test_page_vectors_pass_on_the_qemu_style_host_and_catch_every_page_bug(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every planted page bug fails a vector, the host ignoring the guest's alignment too:
    its IUT's hello says it follows the alignment (Rule P1c), so it is sent the 128 MiB
    guest and fails that case alone."""
    assert main(["vectors", str(tmp_path), "--pages"]) == 0
    assert "wrote 13 cases" in capsys.readouterr().out
    results = _run_page_vectors(HOST, tmp_path)
    assert summarize_page_vectors(results) == "13 passed, 0 failed, 0 not run"
    for mutant in PAGE_MUTANTS:
        failed = _failed(_run_page_vectors(ReferencePageHost(mutant.step,
                                                             hot_add_alignment=True), tmp_path))
        assert failed, f"{mutant.name} passes every page vector"
        if mutant.name == ALIGNMENT_BUG:
            assert failed == [ALIGNED_CASE]
    duplicates = _failed(_run_page_vectors(ReferencePageHost(
        PAGE_MUTANTS_BY_NAME[DUPLICATES].step), tmp_path))
    assert "pages_duplicate_range_credited_once" in duplicates


def test_the_qemu_host_ignoring_the_guest_alignment_fails_the_aligned_vector(
        tmp_path: Path) -> None:
    """The planted bug written as a host of its own (``--ignore-guest-alignment``) hot-adds
    the region 2 MiB past the 128 MiB block the case's guest advertised."""
    write_page_vectors(tmp_path)
    results = {r.name: r for r in _run_page_vectors(f"{HOST} --ignore-guest-alignment",
                                                    tmp_path)}
    assert [n for n, r in results.items() if r.failure] == [ALIGNED_CASE]
    assert results[ALIGNED_CASE].failure == ("event 1 must be refused and leave the state "
                                             "unchanged")


def test_page_vectors_send_the_aligned_guest_only_to_an_iut_of_rule_p1c(tmp_path: Path) -> None:
    """Rule P1c: the case is marked in its meta; an IUT whose hello lacks hot_add_alignment
    is not sent it, and the run says it skipped it and why. Told, the reference passes it."""
    write_page_vectors(tmp_path)
    metas = {p.parent.name: json.loads(p.read_text()) for p in tmp_path.glob("*/meta.json")}
    assert [n for n, m in metas.items() if m["alignment"]] == [ALIGNED_CASE]
    assert all(m["alignment"] is False for n, m in metas.items() if n != ALIGNED_CASE)
    plain = _run_page_vectors(ReferencePageHost(), tmp_path)
    assert [r.name for r in plain if r.skipped] == [ALIGNED_CASE] and not _failed(plain)
    summary = summarize_page_vectors(plain)
    assert summary.splitlines() == ["12 passed, 0 failed, 1 not run",
                                    f"SKIP {ALIGNED_CASE}: {NOT_ALIGNED}"]
    assert "hot_add_alignment (Rule P1c)" in summary
    told = _run_page_vectors(ReferencePageHost(hot_add_alignment=True), tmp_path)
    assert summarize_page_vectors(told) == "13 passed, 0 failed, 0 not run"
    # the bug is not caught where it is not sent: the skip is what the summary says
    bug = PAGE_MUTANTS_BY_NAME[ALIGNMENT_BUG].step
    assert summarize_page_vectors(_run_page_vectors(ReferencePageHost(bug), tmp_path)) == summary


def test_page_vectors_refuse_to_promote_an_amount_level_case(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vectors", str(tmp_path / "amounts")]) == 0
    first = json.loads((tmp_path / "amounts" / "index.json").read_text())["cases"][0]["name"]
    assert main(["vectors", str(tmp_path / "pages"), "--pages", "--promote",
                 str(tmp_path / "amounts" / first)]) == 2
    err = capsys.readouterr().err
    assert "meta.json: wire" in err and "an amount-level case is promoted without --pages" in err


def test_a_failing_session_writes_its_trace_as_itf(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``--out`` writes trace.itf.json (specs/formats/itf.md §7b) beside the report, and
    ``dynmem show`` re-checks it: the duplicate credit breaks PINV-ONCE at step 2."""
    main(["oracle", "--iut", f"{HOST} --credit-duplicates", "--seed", "1", "--out",
          str(tmp_path)])
    trace = read_page_itf(tmp_path / "trace.itf.json")
    assert [type(s.event).__name__ for s in trace.steps] == ["BalloonRequest",
                                                              "PageBalloonResponse"]
    assert trace.problem is not None and "PINV-ONCE" in trace.problem
    broken = recheck_page_trace(trace)
    assert broken is not None and broken[0] == 2 and "PINV-ONCE" in broken[1]
    capsys.readouterr()
    assert main(["show", str(tmp_path / "trace.itf.json")]) == 1
    assert "VIOLATION at step 2: PINV-ONCE" in capsys.readouterr().out


def test_a_failing_session_writes_its_case_as_a_vector(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """``--out`` writes case/ (a page conformance vector, §9.8); ``dynmem vectors --pages
    --promote`` adds it to the vectors; the honest host passes it, the duplicate-crediting
    host fails it at the duplicate answer. Promoted at the wrong level, it is refused."""
    main(["oracle", "--iut", f"{HOST} --credit-duplicates", "--seed", "1", "--out",
          str(tmp_path / "run")])
    meta = json.loads((tmp_path / "run" / "case" / "meta.json").read_text())
    assert meta["kind"] == "exact" and meta["wire"] == 2 and meta["name"].startswith("shrunk_")
    out = tmp_path / "vectors"
    assert main(["vectors", str(out), "--pages", "--promote", str(tmp_path / "run" / "case")]) == 0
    assert "wrote 14 cases" in capsys.readouterr().out
    verdicts = {}
    for name, command in (("honest", HOST), ("duplicates", f"{HOST} --credit-duplicates")):
        verdicts[name] = {r.name: r.failure for r in _run_page_vectors(command, out)}[
            meta["name"]]
    assert verdicts["honest"] is None
    assert verdicts["duplicates"] is not None and "after event 2" in verdicts["duplicates"]
    assert main(["vectors", str(tmp_path / "v2"), "--promote",
                 str(tmp_path / "run" / "case")]) == 2
    err = capsys.readouterr().err
    assert "meta.json: wire = 2: is a page-level case: promote it with --pages" in err


def test_a_vector_keeps_the_messages_the_rules_accept_and_its_last() -> None:
    """A message refused before the last (the IUT refused it too) is left out; the last is
    kept, and a vector whose last message the rules refuse is of kind reject."""
    initial = two_vm_preset()
    refused, accepted = BalloonRequest("ghost", 2), BalloonRequest("a", 2)
    after = page_step(initial, accepted).state
    trace = PageTrace(initial, (PageTraceStep(refused, initial, "no such VM"),
                                PageTraceStep(accepted, after)), "test", "planted")
    vector = get_case_vector(trace, "test")
    assert not isinstance(vector, str)
    assert vector.events == (accepted,) and vector.kind == "exact"
    vector = get_case_vector(attrs.evolve(trace, steps=trace.steps[::-1]), "test")
    assert not isinstance(vector, str)
    assert vector.events == (accepted, refused) and vector.kind == "reject"


def _tick_case(sent: tuple[Any, ...], after: Any) -> PageCase:
    initial = two_vm_preset()
    record = PageStepRecord(PageTick((("a", 32), ("b", 32))), sent, after)
    return PageCase(initial, (record,), PageDivergence(INVARIANT, 1, record.event, "planted"))


def test_a_tick_is_written_as_the_messages_it_sent() -> None:
    """Two requests at one tick are two steps: the first with the state the page rules give
    (the IUT reports only the state after the tick), the last with the IUT's state; a tick
    that changed the state without a message has no page trace, and says why."""
    initial = two_vm_preset()
    first, second = BalloonRequest("a", 2), BalloonRequest("b", 2)
    middle = page_step(initial, first).state
    after = page_step(middle, second).state
    case = _tick_case((first, second), after)
    trace = get_case_trace(case, "test")
    assert isinstance(trace, PageTrace) and case.divergence is not None
    assert [(s.event, s.state) for s in trace.steps] == [(first, middle), (second, after)]
    assert trace.problem == case.divergence.headline()
    assert recheck_page_trace(trace) is None  # the rules' own steps: nothing broken
    reason = get_case_trace(_tick_case((), middle), "test")
    assert reason == ("step 1 is a tick that changed the IUT's state without a page message, "
                      "which a page trace cannot hold")
    assert isinstance(get_case_trace(_tick_case((), initial), "test"), PageTrace)
