"""The walk knows the guest profiles (specs/lifecycle.md §1): with ``with_hibernating_guest``
each episode draws whether the last VM's guest hibernates, such a guest sends only what its
profile says, fair runs have the host's watchdog beside it, and the planted bug only such a
guest shows (``watchdog_waits_on_balloons``) is caught there and nowhere else."""

from __future__ import annotations

import random
from pathlib import Path

import attrs
import pytest

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.environment import GuestProfile
from dynmem.reference.events import BalloonResponse, CapabilitiesReport, UnballoonResponse
from dynmem.reference.policy import compute_plan
from dynmem.verification.cli.main import main
from dynmem.verification.explore.config import get_config
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.walk import REAL_8VM, run_walk, with_hibernating_guest, with_vm_lifecycle
from dynmem.verification.walk.offers import get_offer, get_unsaid, pick_profiles

HIBERNATE = GuestProfile.LINUX_HIBERNATE


def test_hibernating_space() -> None:
    """The last VM runs a Linux guest that may hibernate, the lifecycle is on, and the name
    says so; applied twice it changes nothing."""
    space = with_hibernating_guest(get_config(2))
    name, settings = space.vms[-1]
    assert space.name == "2vm+lifecycle+hibernate" and space.vm_lifecycle
    assert space.profiles == ((name, HIBERNATE),) and settings.guest_os == "linux"
    assert with_hibernating_guest(space) is space


def test_profiles_drawn_per_episode() -> None:
    """Every profile in the first episode, each in about half of the others; a space
    without profiles draws nothing (its walks stay those of before)."""
    space = with_hibernating_guest(get_config(2))
    rng = random.Random(0)
    drawn = [pick_profiles(rng, space, episode) for episode in range(200)]
    assert drawn[0] == space.profiles
    assert 60 < sum(1 for d in drawn[1:] if d) < 140 and () in drawn
    plain, before = random.Random(0), random.Random(0).random()
    assert pick_profiles(plain, get_config(2), 5) == () and plain.random() == before


def test_hibernating_guest_says_only_its_words() -> None:
    """Of its VM's offer, a hibernating guest never sends an answer to a balloon or an
    unballoon, nor a capabilities report with hot-add; everything else stays."""
    space = with_hibernating_guest(get_config(2))
    name, settings = space.vms[-1]
    vm = next(v for v in space.initial().vms if v.name == name)
    for txn, answer in ((TxnKind.BALLOON, BalloonResponse), (TxnKind.UNBALLOON,
                                                               UnballoonResponse)):
        busy = attrs.evolve(vm, power=Power.RUNNING, channel=Channel.READY, txn=txn,
                            txn_mib=2, visible_mib=settings.startup_mib + 4)
        unsaid = get_unsaid(busy, space, HIBERNATE)
        offer = get_offer(busy, space)
        assert unsaid and all(isinstance(e, answer) for e in unsaid)
        assert {e.KIND for e in offer} - {e.KIND for e in unsaid} >= {"status_report", "stop"}
    caps = attrs.evolve(vm, power=Power.RUNNING, channel=Channel.CAPS)
    assert {(e.balloon, e.hot_add) for e in get_offer(caps, space)
            if isinstance(e, CapabilitiesReport) and e not in get_unsaid(caps, space, HIBERNATE)
            } == {(True, False)}


@pytest.mark.parametrize("space", [with_hibernating_guest(get_config(2)),
                                   with_hibernating_guest(REAL_8VM)], ids=lambda s: s.name)
def test_reference_passes_beside_a_hibernating_guest(space) -> None:  # type: ignore[no-untyped-def]
    """The reference, refinement on, keeps every invariant and settles (the watchdog ends
    the wait on the silent guest) in every episode."""
    result = run_walk(space, episodes=40, depth=300, seed=1)
    assert result.ok, result.summary()


def test_watchdog_bug_caught_only_beside_a_hibernating_guest(tmp_path: Path) -> None:
    """``watchdog_waits_on_balloons`` breaks nothing where every guest answers (200 episodes
    pass); with the hibernating guest drawn it is stuck for ever (PROG-FIXED-POINT), in the
    29th episode of seed 0 (measured 2026-12-03), and the trace names the guest's profile."""
    bug = get_mutant("watchdog_waits_on_balloons")
    plain = with_vm_lifecycle(get_config(2))
    options = {"episodes": 200, "depth": 200, "seed": 0, "step_fn": bug.reference_step,
               "plan": bug.plan or compute_plan, "mutant": bug.name, "failure_dir": tmp_path}
    assert run_walk(plain, **options).ok  # type: ignore[arg-type]
    result = run_walk(with_hibernating_guest(plain), **options)  # type: ignore[arg-type]
    assert result.failure is not None and result.failure.episode < 200
    assert result.failure.message.startswith("PROG-FIXED-POINT")
    notes = dict(result.failure.trace.notes)
    assert notes[f"guest {plain.vms[-1][0]}"] == "linux_hibernate"


def test_command_walks_the_hibernating_guest(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``dynmem fuzz --engine walk --mutant watchdog_waits_on_balloons`` runs the guest the
    bug needs (``explore_hibernate``) and fails; ``--hibernate`` with the reference passes."""
    code = main(["fuzz", "--engine", "walk", "--mutant", "watchdog_waits_on_balloons",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1 and "PROG-FIXED-POINT" in out and "+hibernate" in out
    assert main(["fuzz", "--engine", "walk", "--hibernate", "--episodes", "20",
                 "--depth", "200"]) == 0
