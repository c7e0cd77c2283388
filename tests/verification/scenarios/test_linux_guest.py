"""The Linux guest (issue 15 item 5; specs/protocol.md §3.2, policy.md P-DEMAND): a Linux-guest
scenario settles without unballooning what it just ballooned, and the planted bug that reads a
Linux report as a Windows one is caught by that very check and by settle's PROG-FIXED-POINT."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from dynmem.reference.events import BalloonRequest, UnballoonRequest
from dynmem.verification.errors import InputError
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.scenarios.scenario import load_scenario, parse_scenario
from dynmem.verification.scenarios.simulate import Simulation, simulate
from dynmem.verification.traces.trace import TraceStep

SCENARIO = (Path(__file__).resolve().parents[3] / "verification" / "scenarios"
            / "linux-guest-gives-back.json")
BUG = "linux_report_read_as_windows"


def find_give_and_take(steps: Sequence[TraceStep]) -> list[str]:
    """Every unballoon of a VM that follows a balloon of the same VM in ``steps``."""
    ballooned: set[str] = set()
    found = []
    for index, step in enumerate(steps):
        for request in step.sent:
            if isinstance(request, BalloonRequest):
                ballooned.add(request.vm)
            elif isinstance(request, UnballoonRequest) and request.vm in ballooned:
                found.append(f"{request.vm}: unballoon {request.mib} MiB at settled step "
                             f"{index + 1}, after a balloon")
    return found


def settled_runs(sim: Simulation) -> list[Sequence[TraceStep]]:
    """The steps of each ``settle`` of the scenario, one list per settle."""
    return [sim.trace.steps[run.first_step - 1: run.first_step - 1 + run.steps]
            for run in sim.settles]


def test_the_linux_scenario_settles_without_give_and_take() -> None:
    """The scenario converges, meets its expectations, and no settled run unballoons a VM it
    ballooned: the host read the Linux reports per their convention."""
    sim = simulate(load_scenario(SCENARIO))
    assert sim.ok and sim.converged
    runs = settled_runs(sim)
    assert any(isinstance(r, BalloonRequest) for steps in runs for s in steps for r in s.sent)
    assert [find_give_and_take(steps) for steps in runs] == [[], []]


def test_the_planted_bug_is_caught_by_the_same_check_and_by_settle() -> None:
    """Reading Linux reports as Windows ones, the host unballoons what it just ballooned, and
    the second settle never converges (PROG-FIXED-POINT)."""
    bug = get_mutant(BUG)
    sim = simulate(load_scenario(SCENARIO), bug.reference_step, bug.policy)
    assert any(find_give_and_take(steps) for steps in settled_runs(sim))
    assert not sim.converged and not sim.ok
    assert sim.settles[-1].cycle_start is not None  # a loop, not the step bound


def test_the_guest_field_sets_guest_os() -> None:
    """A scenario VM's Linux profile is a Linux guest to the host (its ``guest_os``)."""
    scenario = load_scenario(SCENARIO)
    assert dict(scenario.vms)["lin"].guest_os == "linux"
    assert dict(scenario.vms)["win"].guest_os == "windows"


def test_a_guest_os_that_contradicts_the_profile_is_refused() -> None:
    """``guest: linux`` with ``guest_os: windows`` is one error naming file, field and value."""
    data = {"host": {"physical_mib": 4096, "reserve_mib": 1024},
            "vms": [{"name": "a", "guest": "linux", "guest_os": "windows"}], "events": []}
    with pytest.raises(InputError) as caught:
        parse_scenario(data, "x.json")
    assert str(caught.value).startswith("x.json: vms[0].guest_os = 'windows': a 'linux' guest")


def test_an_unknown_guest_os_is_refused() -> None:
    """An unknown OS family is a range error of the settings, with the known ones."""
    data = {"host": {"physical_mib": 4096, "reserve_mib": 1024},
            "vms": [{"name": "a", "guest_os": "bsd"}], "events": []}
    with pytest.raises(InputError, match=r"vms\[0\]\.guest_os = 'bsd': must be one of "
                                         r"windows, linux"):
        parse_scenario(data, "x.json")
