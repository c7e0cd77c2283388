"""Page-level conformance vectors (specs/formats/oracle.md §9.8): the host's rules for bad
pages as cases any language can run against a page-level IUT (``"wire": 2``).

Each case is a page state, page events (no ticks: the rules alone decide the outcome) and a
kind: ``exact`` (every event accepted; the observation after each one is in steps.ndjson)
or ``reject`` (the last event must be refused and leave the state as it was). The expected
answers are the page reference's (``page_step``). ``dynmem vectors OUT --pages`` writes them.
A case whose guest advertises a hot-add alignment above 2 MiB is sent only to an IUT whose
hello says ``hot_add_alignment`` (Rule P1c); others skip it and are told so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB
from dynmem.reference.events import BalloonRequest, UnballoonResponse
from dynmem.reference.pages import (
    PageBalloonResponse,
    PageEvent,
    PageHotAddRequest,
    PageHotAddResponse,
    PageRange,
    PageState,
    PageUnballoonRequest,
    initial_page_state,
    page_step,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.atomic import write_atomic
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.iut import Hello, IutFault
from dynmem.verification.oracle.pagejudge import diff_states
from dynmem.verification.oracle.pagesession import PageDriver
from dynmem.verification.oracle.pagewire import (
    WIRE_PAGES,
    event_to_json,
    lift_observation,
    observation_to_json,
    state_from_json,
    state_to_json,
)
from dynmem.verification.oracle.vectors import promote_case

UNIT = PageRange(0x1200, 512)  # 2 MiB at page 0x1200, as in issue 15's words
LINUX_BLOCK_MIB = 128  # what a Linux guest advertises: its memory block size

# Why an IUT is not sent a case whose guest advertises more than 2 MiB (Rule P1c).
NOT_ALIGNED = ("not run: its guest advertises a hot-add alignment above 2 MiB, sent only to an "
               "IUT whose hello says hot_add_alignment (Rule P1c)")


@attrs.frozen
class PageVectorCase:
    name: str
    description: str
    kind: str  # exact or reject
    pre: PageState
    events: tuple[PageEvent, ...]
    spec: tuple[str, ...]


def _vm(ram_mib: int = 64, startup: int = 32, maximum: int = 320) -> PageState:
    host = HostSettings(physical_mib=512, reserve_mib=64)
    settings = VmSettings(dynamic=True, startup_mib=startup, maximum_mib=maximum)
    return initial_page_state(host, (("a", settings),), {"a": ram_mib})


def _aligned_vm(align_mib: int) -> PageState:
    """The VM of :func:`_vm` whose guest advertised ``align_mib`` (R-HOT-ADD-ALIGN)."""
    state = _vm()
    return state.with_vm(attrs.evolve(state.vms[0], hot_add_align_mib=align_mib))


def needs_page_alignment(pre: PageState) -> bool:
    """Whether a guest of ``pre`` advertises a hot-add alignment above 2 MiB: only an IUT of
    Rule P1c (its hello says ``hot_add_alignment``) is sent the case."""
    return any(vm.hot_add_align_mib != DEFAULT_HOT_ADD_ALIGN_MIB for vm in pre.vms)


def _ballooned() -> tuple[PageState, tuple[PageEvent, ...]]:
    events: tuple[PageEvent, ...] = (BalloonRequest("a", 4), PageBalloonResponse("a", (UNIT,)))
    return _vm(), events


def page_cases() -> list[PageVectorCase]:
    """The curated page cases (one per host rule, honest and adversarial)."""
    pre, honest = _ballooned()
    mib = 256
    return [
        PageVectorCase("pages_balloon_exact", "a 2 MiB range is credited 512 pages", "exact",
                       pre, honest, ("R-PG-CREDIT",)),
        PageVectorCase("pages_duplicate_range_credited_once",
                       "the same 2 MiB listed twice is credited once (512 pages)", "exact",
                       pre, (BalloonRequest("a", 4), PageBalloonResponse("a", (UNIT, UNIT))),
                       ("R-PG-DEDUP",)),
        PageVectorCase("pages_overlapping_ranges_union",
                       "two ranges overlapping by 1 MiB are credited as their union (3 MiB)",
                       "exact", pre,
                       (BalloonRequest("a", 4), PageBalloonResponse("a", (
                           UNIT, PageRange(UNIT.start + mib, 512)))), ("R-PG-DEDUP",)),
        PageVectorCase("pages_outside_ram_dropped",
                       "pages beyond RAM are not credited; the pages in RAM are", "exact", pre,
                       (BalloonRequest("a", 4), PageBalloonResponse("a", (
                           PageRange(64 * mib - 256, 512),))), ("R-PG-RANGE",)),
        PageVectorCase("pages_sub_unit_parts_credited_exactly",
                       "four 1 MiB parts and an empty final part are credited 1024 pages",
                       "exact", pre,
                       (BalloonRequest("a", 8),
                        *(PageBalloonResponse("a", (PageRange(i * mib, mib),), True)
                          for i in range(4)),
                        PageBalloonResponse("a", ())), ("R-PG-CREDIT",)),
        PageVectorCase("pages_already_ballooned_not_again",
                       "pages already in the ledger are not credited again", "exact", pre,
                       (*honest, BalloonRequest("a", 2), PageBalloonResponse("a", (UNIT,))),
                       ("R-PG-DEDUP",)),
        PageVectorCase("pages_unballoon_exact", "an unballoon returns exactly the ballooned "
                       "pages it lists", "exact", pre,
                       (*honest, PageUnballoonRequest("a", (UNIT,)), UnballoonResponse("a")),
                       ("R-PG-UNBALLOON-EXACT",)),
        PageVectorCase("pages_partial_hot_add_strands_the_tail",
                       "a hot-add of 2048 pages answered with 2047 adds 2047 and strands 1",
                       "exact", pre,
                       (PageHotAddRequest("a", PageRange(32768, 2048)),
                        PageHotAddResponse("a", 2047)), ("R-PG-HOT-ADD-CREDIT",)),
        PageVectorCase("invalid_pages_unballoon_listed_twice",
                       "an unballoon listing a range twice is refused", "reject", pre,
                       (*honest, PageUnballoonRequest("a", (UNIT, UNIT))),
                       ("R-PG-UNBALLOON-EXACT",)),
        PageVectorCase("invalid_pages_unballoon_not_ballooned",
                       "an unballoon of pages not ballooned is refused", "reject", pre,
                       (*honest, PageUnballoonRequest("a", (PageRange(0, 512),))),
                       ("R-PG-UNBALLOON-EXACT",)),
        PageVectorCase("invalid_pages_hot_add_overlaps_ram",
                       "a hot-add region overlapping RAM is refused", "reject", pre,
                       (PageHotAddRequest("a", PageRange(64 * mib - 512, 512)),),
                       ("R-PG-HOT-ADD-DISJOINT",)),
        PageVectorCase("invalid_pages_hot_add_misaligned",
                       "a hot-add region not aligned to 2 MiB is refused", "reject", pre,
                       (PageHotAddRequest("a", PageRange(32768 + 1, 512)),), ("R-PG-UNIT",)),
        # whole 2 MiB units, but 2 MiB past the guest's 128 MiB block (Rule P1c)
        PageVectorCase("invalid_pages_hot_add_off_guest_alignment",
                       "a hot-add region of whole 2 MiB units not on the 128 MiB alignment "
                       "the guest advertised is refused", "reject",
                       _aligned_vm(LINUX_BLOCK_MIB),
                       (PageHotAddRequest("a", PageRange((LINUX_BLOCK_MIB + 2) * mib,
                                                         LINUX_BLOCK_MIB * mib)),),
                       ("R-HOT-ADD-ALIGN",)),
    ]


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True) + "\n"


def compute_page_fingerprint(pre: PageState, events: Sequence[PageEvent]) -> str:
    """The fingerprint of §4 over the page-level JSON of ``{"pre", "events"}``."""
    data = {"pre": state_to_json(pre), "events": [event_to_json(e) for e in events]}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def write_page_vector(directory: Path, case: PageVectorCase) -> dict[str, Any]:
    """Write one case; its expected answers come from ``page_step``."""
    state, steps = case.pre, []
    for number, event in enumerate(case.events, 1):
        result = page_step(state, event)
        last = number == len(case.events)
        if result.accepted == (case.kind == "reject" and last):
            raise ValueError(f"page vector {case.name}: event {number} "
                             f"{'accepted' if result.accepted else 'refused'}")
        state = result.state
        steps.append({"observed": observation_to_json(state), "sent": []})
    fingerprint = compute_page_fingerprint(case.pre, case.events)
    meta = {"name": case.name, "description": case.description, "kind": case.kind,
            "expected": "accept" if case.kind == "exact" else "reject", "wire": WIRE_PAGES,
            "fingerprint": fingerprint, "spec": list(case.spec),
            "alignment": needs_page_alignment(case.pre)}
    write_atomic(directory / "meta.json", _dump(meta), parents=True)
    write_atomic(directory / "pre.json", _dump(state_to_json(case.pre)), parents=True)
    header = {"type": "header", "format": "dynmem-vector", "version": 1, "wire": WIRE_PAGES,
              "vms": len(case.pre.vms), "events": len(case.events)}
    write_atomic(directory / "events.ndjson",
                 _dump(header) + "".join(_dump(event_to_json(e)) for e in case.events),
                 parents=True)
    if case.kind == "exact":
        write_atomic(directory / "steps.ndjson", "".join(_dump(s) for s in steps), parents=True)
    return {"name": case.name, "kind": case.kind, "expected": meta["expected"],
            "fingerprint": fingerprint}


def write_page_vectors(out: Path, cases: Sequence[PageVectorCase] | None = None,
                       promote: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """Write every page case under ``out``, and the promoted page case directories (an
    oracle's ``case/``), with ``index.json``."""
    index = [write_page_vector(out / case.name, case) for case in (cases or page_cases())]
    index += [promote_case(source, out, WIRE_PAGES) for source in promote]
    write_atomic(out / "index.json", _dump({"format": "dynmem-vectors", "version": 1,
                                             "wire": WIRE_PAGES, "cases": index}),
                 parents=True)
    return index


@attrs.frozen
class PageVectorResult:
    """One case run on a page-level IUT: ``failure`` says why it failed, ``skipped`` why it
    was not sent (Rule P1c); both None: it passed."""

    name: str
    failure: str | None = None
    skipped: str | None = None


def check_page_vectors(driver: PageDriver, hello: Hello, out: Path) -> list[PageVectorResult]:
    """Run every case of ``out`` (written by ``write_page_vectors``) on a page-level IUT whose
    hello answer is ``hello``. Ranges are compared as sets of pages, so an IUT may list them
    in any order or split. A case whose guest advertises more than 2 MiB is skipped unless
    the hello says ``hot_add_alignment`` (Rule P1c), read from the case's state (what its
    meta's ``alignment`` says, and true of a promoted case written before that field)."""
    index = json.loads((out / "index.json").read_text())
    results = []
    for item in index["cases"]:
        folder = out / item["name"]
        pre_json = json.loads((folder / "pre.json").read_text())
        pre = state_from_json(pre_json, str(folder / "pre.json"))
        if needs_page_alignment(pre) and not hello.hot_add_alignment:
            results.append(PageVectorResult(item["name"], skipped=NOT_ALIGNED))
            continue
        events = (folder / "events.ndjson").read_text().splitlines()[1:]
        expected = ((folder / "steps.ndjson").read_text().splitlines()
                    if item["kind"] == "exact" else [])
        results.append(PageVectorResult(item["name"], _run_page_case(
            driver, pre, pre_json, events, expected, item["kind"])))
    return results


def summarize_page_vectors(results: Sequence[PageVectorResult]) -> str:
    """What a run covered, for people: the counts, then each case failed or not run and why
    (a green run says what it skipped)."""
    failed = [r for r in results if r.failure is not None]
    skipped = [r for r in results if r.skipped is not None]
    lines = [f"{len(results) - len(failed) - len(skipped)} passed, {len(failed)} failed, "
             f"{len(skipped)} not run"]
    lines += [f"FAIL {r.name}: {r.failure}" for r in failed]
    lines += [f"SKIP {r.name}: {r.skipped}" for r in skipped]
    return "\n".join(lines)


def _run_page_case(driver: PageDriver, pre: PageState, pre_json: Any, events: list[str],
                   expected: list[str], kind: str) -> str | None:
    try:
        driver.request({"type": "reset", "state": pre_json}, "ready")
        before = pre
        for number, line in enumerate(events, 1):
            answer = driver.request({"type": "event", "step": number,
                                     "event": json.loads(line)}, "observed")
            got = lift_observation(answer.get("observed"), pre, "IUT answer")
            last = number == len(events)
            if kind == "reject" and last:
                if answer.get("rejected") is None or got != before:
                    return f"event {number} must be refused and leave the state unchanged"
                return None
            if answer.get("rejected") is not None:
                return f"event {number} refused: {answer['rejected']}"
            if kind == "exact":
                want = lift_observation(json.loads(expected[number - 1])["observed"], pre,
                                        "steps.ndjson")
                if got != want:
                    return f"after event {number}: " + "; ".join(diff_states(want, got)[:3])
            before = got
    except (IutFault, InputError) as err:
        return str(err)
    return None
