"""Events in words, the readable trace and the runnable program (verification/traces/words.py,
text.py, program.py), pinned by goldens (tests/helpers/golden.py: ``DYNMEM_UPDATE_GOLDEN=1``
rewrites them)."""

from __future__ import annotations

import doctest
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
import trace_cases
from golden import check_golden, golden_dir

from dynmem.model.vocabulary import VERSION_WIN8
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    ChannelReset,
    Configure,
    Create,
    Delete,
    Demand,
    Event,
    GuestRestart,
    HotAddRequest,
    HotAddResponse,
    MigrateIn,
    MigrateOut,
    QuietPeriodEnd,
    Restore,
    Save,
    Start,
    StartAbort,
    StartAdmit,
    StatusReport,
    Stop,
    StuckTimeout,
    UnballoonRequest,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.settings import VmSettings
from dynmem.verification.traces import program as program_py
from dynmem.verification.traces import text as text_py
from dynmem.verification.traces import words as words_py
from dynmem.verification.traces.program import render_program
from dynmem.verification.traces.text import render_text
from dynmem.verification.traces.trace import Trace
from dynmem.verification.traces.words import describe_event

GOLDEN = golden_dir(__file__)

CASES: dict[str, Callable[[], str]] = {
    "static_host_full.txt": lambda: render_text(trace_cases.static_host_full()),
    "weight_contention.txt": lambda: render_text(trace_cases.weight_contention()),
    "planted_overcommit.txt": lambda: render_text(trace_cases.planted_overcommit()),
    "planted_leak_full_ascii.txt": lambda: render_text(trace_cases.planted_leak(), full=True,
                                                       ascii=True),
    "planted_overcommit_program.py.txt": lambda: render_program(
        trace_cases.planted_overcommit()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    """The rendering is byte-for-byte the pinned text (any change fails)."""
    check_golden(GOLDEN / name, CASES[name]())


def test_golden_is_sensitive() -> None:
    """A one-event change to a golden trace changes its text (the goldens can fail)."""
    trace = trace_cases.weight_contention()
    first = trace.steps[2]
    assert first.event == Demand("lo", 4000)
    changed = Trace(trace.initial, (*trace.steps[:2], attrs.evolve(first, event=Demand("lo", 4002)),
                                    *trace.steps[3:]))
    assert render_text(changed) != (GOLDEN / "weight_contention.txt").read_text("utf-8")


def test_doctests() -> None:
    """The modules' examples run."""
    assert all(doctest.testmod(module).failed == 0 for module in (words_py, text_py, program_py))


# --- events in words --------------------------------------------------------------------------

WORDS: list[tuple[Event, str]] = [
    (Create("web", VmSettings(dynamic=True, startup_mib=2048, maximum_mib=8192)),
     "create web (dynamic, startup 2048 MiB, maximum 8192 MiB, buffer 20%, weight 5000)"),
    (Configure("db", VmSettings(startup_mib=4096, dm_capable=False)),
     "configure db: static 4096 MiB, weight 5000, guest without DM support"),
    (Delete("db"), "delete db"),
    (Start("web"), "start web"),
    (Stop("web"), "stop web"),
    (Demand("web", 3000), "web's workload now commits 3000 MiB"),
    (VersionRequest("web", VERSION_WIN8), "web's guest proposes protocol 1.0 (WIN8)"),
    (VersionRequest("web", 7, last_attempt=True),
     "web's guest proposes protocol 0x7 (unknown), its last attempt"),
    (CapabilitiesReport("web", balloon=True, hot_add=False),
     "web's guest reports capabilities: balloon"),
    (QuietPeriodEnd("web"), "web's quiet period ends"),
    (StatusReport("web", 2500), "web's guest reports 2500 MiB committed"),
    (BalloonRequest("web", 512), "host asks web to balloon 512 MiB"),
    (BalloonResponse("web", 512), "web's guest hands back 512 MiB (final part)"),
    (BalloonResponse("web", 256, more_pages=True),
     "web's guest hands back 256 MiB (more to come)"),
    (BalloonResponse("web", 0), "web's guest hands back nothing (at its floor)"),
    (UnballoonRequest("web", 512), "host returns 512 MiB of ballooned memory to web"),
    (UnballoonResponse("web"), "web's guest takes the unballooned memory back"),
    (HotAddRequest("web", 2048), "host hot-adds 2048 MiB to web"),
    (HotAddResponse("web", 2048), "web's guest reports 2048 MiB hot-added"),
    (HotAddResponse("web", 0), "web's guest adds nothing (hot-add failed for good)"),
    (HotAddResponse("web", 0, success=False),
     "web's guest reports the hot-add failed (transient, may retry)"),
    (BalancerTick(), "balancer tick: nothing to send"),
    (StartAdmit("web"), "web's waiting start completes (startup memory is free)"),
    (StartAbort("web"), "web's waiting start fails: reclaim could not free its startup"),
    (GuestRestart("web"), "web's guest restarts (back at startup, new DM session)"),
    (ChannelReset("web"),
     "web's DM channel resets (in-flight work dropped, ballooned pages regained)"),
    (StuckTimeout("web"),
     "host gives up waiting on web (stuck: no progress for several ticks)"),
    (Save("web"), "save web (its memory returns to the host)"),
    (Restore("web"), "restore web"),
    (MigrateOut("web"), "web migrates to another host"),
    (MigrateIn("web", 2048), "web arrives by migration with 2048 MiB"),
]


@pytest.mark.parametrize(("event", "words"), WORDS, ids=[repr(e) for e, _ in WORDS])
def test_describe_event(event: Event, words: str) -> None:
    """Every event kind reads as a sentence in domain words."""
    assert describe_event(event) == words


def test_every_event_kind_has_words() -> None:
    """No event kind falls back to its repr (a new kind needs words here)."""
    from dynmem.reference.events import EVENT_TYPES

    assert {type(e) for e, _ in WORDS} == set(EVENT_TYPES.values())


def test_describe_with_context() -> None:
    """With the state before, partial hot-adds and oversized balloon answers are named."""
    trace = trace_cases.misbehaving_guest()
    texts = [describe_event(s.event, s.sent, before=trace.state_at(i))
             for i, s in enumerate(trace.steps)]
    assert "web's guest hands back 9000 MiB (final part; only 1376 MiB was outstanding)" in texts
    leak = trace_cases.planted_leak()
    assert describe_event(leak.steps[-1].event, before=leak.state_at(len(leak.steps) - 1)) == (
        "web's guest adds only 512 of 2048 MiB (partial: no more hot-add)")


# --- the text trace ---------------------------------------------------------------------------


def test_diff_shows_only_what_changed() -> None:
    """A demand change shows demand, pressure and guest paging of that VM, nothing else."""
    text = render_text(trace_cases.weight_contention())
    block = text.split("step 3: lo's workload now commits 4000 MiB\n")[1].split("step 4")[0]
    assert block == "    lo: demand 0→4000*, pressure 0%→390%*, guest paging 0→2976*\n"


def test_finding_blames_the_clause_with_values() -> None:
    """The failing step shows the invariant, its clause and the values that break it."""
    text = render_text(trace_cases.planted_overcommit())
    assert ("step 4: start vm4\n    vm4: power off→running*, assigned 0→2048*, visible 0→2048*\n"
            "    host: free 0→-2048*\n    ✗ INV-PHYSICAL (reserve + owned <= physical): "
            "reserve 2048 + owned (vm1 2048 + vm2 2048 + vm3 2048 + vm4 2048) = 10240 > "
            "physical 8192\n") in text
    assert text.endswith("verdict: VIOLATED AUX-FREE, INV-PHYSICAL; first INV-PHYSICAL at step "
                         "4 (start vm4), 2 broken clauses\n")


def test_refused_event_and_ok_verdict() -> None:
    """A refused event is shown with its reason and is not a violation; a waiting start and
    its failure are steps of their own."""
    text = render_text(trace_cases.static_host_full())
    assert "step 4: start vm4\n    vm4: power off→starting*\n" in text
    assert ("step 5: vm4's waiting start fails: reclaim could not free its startup\n") in text
    assert "step 6: stop vm4 (fails: vm4 is not running)\n" in text
    assert text.endswith("verdict: ok, no invariant violated in 6 steps, 1 event refused\n")


def test_filters() -> None:
    """``vms`` keeps one VM's rows; ``steps`` keeps a range and says what it left out."""
    trace = trace_cases.weight_contention()
    text = render_text(trace, vms=["hi"], steps=range(16, 20))
    lines = text.splitlines()
    assert "... 15 steps not shown" in lines and "... 10 steps not shown" in lines
    assert [ln.split(":")[0] for ln in lines if ln.startswith("step ")] == [
        "step 16", "step 17", "step 18", "step 19"]
    assert not any(ln.startswith("    lo:") for ln in lines)
    assert "balloon 2288 MiB from lo" in text  # events still name every VM


def test_full_table_and_ascii() -> None:
    """``full`` shows every VM as a table row at every step; ``ascii`` is pure ASCII."""
    text = render_text(trace_cases.weight_contention(), full=True, ascii=True)
    assert text.isascii()
    assert text.count("    vm  power") == 30  # step 0 and each of the 29 steps
    assert "->" in text and "→" not in text


def test_non_fresh_initial_state() -> None:
    """A trace starting mid-run (like a CTI) lists the initial state in full."""
    whole = trace_cases.weight_contention()
    trace = Trace(whole.state_at(17), whole.steps[17:], (), "cti")
    text = render_text(trace)
    assert "step 0: initial state\n    vm  power" in text
    assert "    hi: report 4000, protocol 2.0 (WIN10), caps balloon+hot-add" in text


# --- the trace as a program -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(trace_cases.ALL))
def test_program_runs_and_reproduces(name: str) -> None:
    """The program replays the trace: an ok one ends in the trace's final state; a violating
    one stops at its first finding with an AssertionError naming the invariant."""
    trace = trace_cases.ALL[name]()
    program = render_program(trace)
    namespace: dict[str, object] = {}
    first = trace.first_finding
    if first is None:
        exec(compile(program, name, "exec"), namespace)
        assert namespace["state"] == trace.final
        assert "disagrees" not in program
    else:
        with pytest.raises(AssertionError, match=first.invariant):
            exec(compile(program, name, "exec"), namespace)
        assert namespace["state"] == trace.state_at(first.step)


def test_program_from_mid_run_state() -> None:
    """A trace that starts from an arbitrary state builds it as a literal and still replays."""
    whole = trace_cases.weight_contention()
    trace = Trace(whole.state_at(17), whole.steps[17:], (), "cti")
    program = render_program(trace)
    assert "state = DmState(host=HostSettings(" in program
    namespace: dict[str, object] = {}
    exec(compile(program, "cti", "exec"), namespace)
    assert namespace["state"] == whole.final


def test_program_names_the_divergence() -> None:
    """Where a planted bug and the reference part ways, the program says why."""
    program = render_program(trace_cases.planted_overcommit())
    # the reference lets the start wait for reclaim; the planted bug starts it at once
    assert "# the reference disagrees at step 4;\n" in program


BUILTIN = sorted((Path(text_py.__file__).parents[1] / "scenarios").glob("*.json"))


@pytest.mark.parametrize("scenario", BUILTIN, ids=[p.stem for p in BUILTIN])
def test_builtin_scenarios_render_and_replay(scenario: Path) -> None:
    """Every shipped scenario renders (ASCII option pure ASCII) and its program replays it."""
    from dynmem.verification.scenarios.scenario import load_scenario
    from dynmem.verification.scenarios.simulate import simulate

    trace = simulate(load_scenario(str(scenario))).trace
    assert render_text(trace, ascii=True, full=True).isascii()
    namespace: dict[str, object] = {}
    exec(compile(render_program(trace), scenario.name, "exec"), namespace)
    assert namespace["state"] == trace.final


def test_an_oracle_divergence_is_not_rendered_as_ok() -> None:
    """A trace whose oracle divergence breaks no invariant ends in FAIL, not ``verdict: ok``."""
    trace = trace_cases.weight_contention()
    failing = attrs.evolve(trace, source="oracle", notes=(
        ("divergence", "step 1 start: not allowed by the model"),))
    last = render_text(failing).rstrip().splitlines()[-1]
    assert last.startswith("verdict: FAIL, step 1 start: not allowed by the model")
    assert render_text(trace).rstrip().splitlines()[-1].startswith("verdict: ok")
