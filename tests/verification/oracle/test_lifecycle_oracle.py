"""The oracle knows the lifecycle of specs/lifecycle.md (``dynmem oracle --lifecycle``): the
generator sends every lifecycle event, accepted and refused; the exhaustive phase covers the
presets ``NAME+lifecycle``; check-trace judges logs holding them; a planted IUT bug in a
lifecycle event is caught with a shortest trace."""

from __future__ import annotations

import collections
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from oracle_helpers import EXAMPLES, PYTHON, load_example

from dynmem.model.concrete_steps import is_allowed
from dynmem.reference.environment import enabled_events
from dynmem.reference.events import (
    LIFECYCLE_EVENTS,
    BalancerTick,
    Event,
    MigrateIn,
    Restore,
    Save,
    Start,
)
from dynmem.reference.step import Step, step
from dynmem.verification.cli.main import main
from dynmem.verification.conformance import check_policy, check_system, get_preset
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.oracle.checktrace import check_log
from dynmem.verification.oracle.generate import get_default_source
from dynmem.verification.oracle.iut import InProcessIut, Observed
from dynmem.verification.oracle.judge import INVARIANT, NO_PROGRESS
from dynmem.verification.oracle.loggen import log_initial
from dynmem.verification.oracle.logwriter import format_log
from dynmem.verification.oracle.observation import observe
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem
from dynmem.verification.oracle.search import search

LIFECYCLE_KINDS = {cls.KIND for cls in LIFECYCLE_EVENTS}


class _Recorder(ReferenceSystem):
    """The reference, counting the lifecycle events it accepts and refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: collections.Counter[tuple[str, bool]] = collections.Counter()

    def event(self, step: int, event: Event) -> Observed:
        answer = super().event(step, event)
        if event.KIND in LIFECYCLE_KINDS:
            self.seen[(event.KIND, answer.rejected is None)] += 1
        return answer


@pytest.mark.parametrize("lifecycle", [True, False])
def test_the_generator_sends_every_lifecycle_event(lifecycle: bool) -> None:
    """With --lifecycle every lifecycle kind is sent over 150 examples, each both accepted
    and refused (an IUT must refuse what the guards refuse, Rule P3), and the reference
    passes; without it (50 examples) only the end of a start that waits (R-START makes a
    start that does not fit wait, lifecycle or not)."""
    recorder = _Recorder()
    result = search(InProcessIut(recorder), "system", "refinement",
                    get_default_source("system", lifecycle=lifecycle), 150 if lifecycle else 50,
                    seed=1, is_allowed=is_allowed)
    assert result.failure is None
    if not lifecycle:
        assert {kind for kind, _ in recorder.seen} <= {"start_admit", "start_abort"}
        return
    missing = {(kind, ok) for kind in LIFECYCLE_KINDS for ok in (True, False)} - set(
        recorder.seen)
    assert not missing, f"never sent: {sorted(missing)} of {dict(recorder.seen)}"


def test_a_policy_meets_waiting_starts_and_passes() -> None:
    """The reference policy under --lifecycle: ticks with waiting starts, stuck VMs and
    restored VMs, every plan judged and every example settled."""
    result = search(InProcessIut(ReferencePolicy()), "policy", "refinement",
                    get_default_source("policy", lifecycle=True), 60, seed=3,
                    is_allowed=is_allowed)
    assert result.failure is None


def test_exhaustive_phase_covers_the_lifecycle_of_one_vm() -> None:
    """Preset 1vm+lifecycle: the reference conforms on each of its 635 states."""
    found = check_system(InProcessIut(ReferenceSystem()), get_preset("system", 1, True),
                         "refinement", is_allowed)
    assert found.ok and found.complete and found.preset == "1vm+lifecycle"
    assert found.states == 635


def test_restore_at_startup_is_caught_with_a_shortest_trace(tmp_path: Path) -> None:
    """The planted IUT bug (examples/buggy_iuts/restore_at_startup.py) fails the exhaustive
    phase of preset 2vm+lifecycle: arrive at maximum, save, start the other VM, restore
    (4 events, breadth-first so none shorter exists): INV-PHYSICAL."""
    out = tmp_path / "out"
    code = main(["oracle", "--iut", f"{PYTHON} {EXAMPLES}/buggy_iuts/restore_at_startup.py",
                 "--exhaustive", "--vms", "2", "--lifecycle", "--out", str(out)])
    report = json.loads((out / "report.json").read_text())
    assert code == 1 and report["class"] == INVARIANT, report
    assert report["violations"][0]["invariant"] == "INV-PHYSICAL"
    assert report["steps"] == 4 and report["event"] == {"kind": "restore", "vm": "hi"}
    assert [p["preset"] for p in report["phases"]] == ["1vm+lifecycle", "2vm+lifecycle"]


# The whole 2vm+lifecycle graph with the policy's plans (60 to 80 s of CI's test time); CI
# catches the same bug's class on the independent C policy at 2vm-reclaim
# (tests/verification/conformance/test_independent.py).
@pytest.mark.thorough
def test_reclaim_of_any_weight_is_caught_as_no_progress() -> None:
    """The planted policy (examples/buggy_iuts/reclaim_any_weight.py) squeezes a
    higher-weight VM for a waiting start: the exhaustive phase of 2vm+lifecycle reports
    no-progress PROG-RECLAIM-ORDER with a shortest trace of 7 events."""
    iut = load_example("buggy_iuts/reclaim_any_weight.py").make_iut()
    found = check_policy(InProcessIut(iut), get_preset("policy", 2, True), "refinement",
                         is_allowed)
    assert found.failure is not None and found.failure.divergence is not None
    divergence = found.failure.divergence
    assert (divergence.cls, divergence.detail) == (NO_PROGRESS, "PROG-RECLAIM-ORDER")
    assert len(found.failure.events) == 7


def _lifecycle_log(step_fn: Step, events: int, seed: int) -> Iterator[tuple[Event, Observed]]:
    """A random run with the lifecycle events, logged as a host would log it."""
    rng = random.Random(seed)
    state = log_initial(2)
    for _ in range(events):
        options = enabled_events(state, (0, 2048, 6000), lifecycle=True) + [BalancerTick()]
        event = rng.choice(options)
        result = step_fn(state, event)
        state = result.state
        if event.KIND != "demand":
            yield event, Observed(observe(state), result.sent, result.reason)


def test_check_trace_accepts_and_judges_lifecycle_logs() -> None:
    """A log of the reference with restarts, resets, saves, migrations and waiting starts
    conforms; a restore that overcommits is reported at its line."""
    lines = list(format_log(log_initial(2), _lifecycle_log(step, 3000, 1)))
    kinds = {json.loads(line)["event"]["kind"] for line in lines[1:]}
    assert {"guest_restart", "channel_reset", "save", "restore", "migrate_out",
            "migrate_in"} <= kinds, kinds
    assert check_log(lines, "life.jsonl", is_allowed).divergence is None
    # arrive at maximum, save, start the other VM, restore: refused by the reference,
    # admitted by a host that checks startup instead of the saved image (R-RESTORE)
    initial = get_preset("system", 2).initial()
    events: list[Event] = [MigrateIn("hi", 36), Save("hi"), Start("lo"), Restore("hi")]
    for step_fn, verdict in ((step, None), (get_mutant("restore_at_startup").reference_step,
                                            "INV-PHYSICAL")):
        logged = []
        state = initial
        for event in events:
            result = step_fn(state, event)
            state = result.state
            logged.append((event, Observed(observe(state), result.sent, result.reason)))
        found = check_log(list(format_log(initial, logged)), "log.jsonl", is_allowed)
        if verdict is None:
            assert found.divergence is None
        else:
            assert found.divergence is not None and found.line == 5
            assert found.divergence.violations[0].invariant == verdict
