"""BMC knows the guest profiles (specs/lifecycle.md §1). The model's environment is any
guest, which covers the honest Windows and Linux guests (each says a part of what any guest
says): the default scopes are theirs. A ``linux_hibernate`` guest says less, so its scope
(``with_hibernating_guest``: slot 0) constrains the unrolling: it never answers a balloon or
an unballoon and reports balloon without hot-add. Witnesses and a planted lifecycle bug under
that profile show the constraints are there, and no stronger than the profile."""

from __future__ import annotations

import pytest

from dynmem.model.actions import ACTIONS
from dynmem.model.invariants import BY_ID
from dynmem.reference.events import (
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    MigrateIn,
    StuckTimeout,
    UnballoonResponse,
)
from dynmem.verification.cli.main import main
from dynmem.verification.mutants.models import get_variant
from dynmem.verification.symbolic.bmc import Counterexample, check_bmc
from dynmem.verification.symbolic.scope import small_scope, with_hibernating_guest
from dynmem.verification.symbolic.witness import find_witnesses

HIBERNATING = with_hibernating_guest(small_scope(1))
# What a hibernating guest makes impossible on one VM: its answers, and what needs them
# (an unballoon needs pages ballooned, which only a balloon response gives; hot-add needs
# the capability it never reports).
IMPOSSIBLE = {"BalloonResponse", "UnballoonResponse", "UnballoonRequest", "HotAddRequest",
              "HotAddResponse"}
# A start admitted after waiting needs a host too full to start (witness.CROWDED_WITNESSES),
# whatever the guest: searched on the crowded scope, not here.
CROWDED = {"StartAdmit"}


def test_scope_names_the_guest() -> None:
    assert HIBERNATING.name == "small+hibernate" and HIBERNATING.vms is not None
    assert HIBERNATING.vms[0].guest_os == "linux"
    assert "vm0's guest linux_hibernate" in HIBERNATING.describe()
    assert with_hibernating_guest(HIBERNATING) is HIBERNATING


@pytest.mark.slow  # one witness search of 8 depths (about 18 s CPU, measured 2026-12-03)
def test_witness_per_action_under_the_profile() -> None:
    """Within 8 steps every action of the model fires beside a hibernating guest (the
    lifecycle's among them: the watchdog on its unanswered balloon, save, restore,
    migration, restart, reset), except exactly those the profile makes impossible; every
    witness is replayed by the reference; no witness has the guest answer or report
    hot-add."""
    run = find_witnesses(HIBERNATING, 8)
    assert run.problem is None
    assert set(run.missing) == IMPOSSIBLE | CROWDED
    assert {w.action for w in run.witnesses} == {a.name for a in ACTIONS} - set(run.missing)
    for witness in run.witnesses:
        events = [s.event for s in witness.trace.steps]
        assert not any(isinstance(e, BalloonResponse | UnballoonResponse) for e in events)
        assert all(e.balloon and not e.hot_add for e in events
                   if isinstance(e, CapabilitiesReport))
    stuck = next(w for w in run.witnesses if w.action == "StuckTimeout")
    events = [s.event for s in stuck.trace.steps]
    assert isinstance(events[-1], StuckTimeout) and isinstance(events[0], MigrateIn)


def test_answers_impossible_only_under_the_profile() -> None:
    """Killable: without the profile's constraints (the default scope, any guest) the
    guest answers a balloon within 8 steps; with them, it never does."""
    answers = [a for a in ACTIONS if a.name in ("Start", "VersionRequest", "CapabilitiesReport",
                                                "QuietPeriodEnd", "StatusReport", "Demand",
                                                "BalancerTick", "HotAddRequest",
                                                "HotAddResponse", "BalloonRequest",
                                                "BalloonResponse", "MigrateIn")]
    plain = find_witnesses(small_scope(1), 8, answers)
    assert "BalloonResponse" not in plain.missing
    assert "BalloonResponse" in find_witnesses(HIBERNATING, 8, answers).missing


def test_lifecycle_bug_caught_beside_a_hibernating_guest() -> None:
    """The planted bug ``stuck_frees_unreceived`` (the watchdog counts a stuck balloon's
    outstanding pages as received) is caught in the profile's scope, in 6 steps: the guest
    arrives at more than startup (it cannot hot-add), is asked for a balloon it never
    answers, and the watchdog frees what never came (INV-NO-HOST-PAGING), replayed by the
    reference bug."""
    variant = get_variant("stuck_frees_unreceived")
    assert variant is not None and variant.model is not None and variant.step is not None
    outcome = check_bmc(HIBERNATING, 8, variant.model.apply(), [BY_ID[variant.invariant]],
                        variant.step)
    assert isinstance(outcome, Counterexample) and outcome.depth == 6
    assert outcome.invariants == ("INV-NO-HOST-PAGING",)
    events = [s.event for s in outcome.trace.steps]
    assert isinstance(events[0], MigrateIn) and isinstance(events[-1], StuckTimeout)
    assert not any(isinstance(e, BalloonResponse) for e in events)
    assert any(isinstance(e, BalloonRequest) for e in events) or any(
        s.sent for s in outcome.trace.steps)


def test_command(capsys: pytest.CaptureFixture[str]) -> None:
    """``dynmem bmc --hibernate`` names the guest; with ``--pages`` it is refused in one
    line."""
    assert main(["bmc", "--vms", "1", "--depth", "2", "--hibernate"]) == 0
    assert "linux_hibernate" in capsys.readouterr().out
    assert main(["bmc", "--pages", "--hibernate"]) == 2
    assert "--hibernate" in capsys.readouterr().err
