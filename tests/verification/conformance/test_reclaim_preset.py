"""The exhaustive phase's default presets have a start that waits for reclaim (2vm-reclaim):
the reference conforms on it, and reclaim bugs that no other default preset meets are
caught with a shortest trace."""

from __future__ import annotations

import pytest
from oracle_helpers import load_example

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.vocabulary import Power
from dynmem.reference.events import BalancerTick, BalloonRequest, Start, StartAdmit
from dynmem.reference.policy import compute_plan
from dynmem.reference.step import step
from dynmem.verification.conformance import (
    RECLAIM,
    check_policy,
    check_system,
    get_preset,
    get_presets,
)
from dynmem.verification.explore.explorer import explore
from dynmem.verification.mutants import get_mutant
from dynmem.verification.oracle.iut import InProcessIut
from dynmem.verification.oracle.judge import INVARIANT, NO_PROGRESS
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem


def test_default_presets_add_the_reclaim_preset_after_two_vms() -> None:
    """``--vms 2`` runs 1vm, 2vm, 2vm-reclaim; ``--lifecycle`` presets wait already."""
    assert [c.name for c in get_presets("system", 1)] == ["1vm"]
    assert [c.name for c in get_presets("system", 2)] == ["1vm", "2vm", "2vm-reclaim"]
    assert [c.name for c in get_presets("policy", 3)] == \
        ["1vm", "2vm", "2vm-reclaim", "3vm-weights"]
    assert [c.name for c in get_presets("system", 2, lifecycle=True)] == \
        ["1vm+lifecycle", "2vm+lifecycle"]
    assert [c.name for c in get_presets("system", 2, linux=True)][-1] == "2vm-reclaim+linux"
    assert not get_preset("system", 2).waiting_starts  # preset 2 keeps its 20,773 states


def test_reclaim_preset_has_a_waiting_start_that_reclaims() -> None:
    """In 2vm-reclaim hi's start waits while lo, of lower weight, has grown above its
    startup: the reference's tick balloons lo, and the start is admitted once its startup
    is free. Every invariant holds on its 13,147 states."""
    x = explore(RECLAIM, progress=False)
    assert x.ok and x.n_states == 13_147
    squeezed = [s for s in x.states
                if (hi := s.get_vm("hi")) is not None and hi.power == Power.STARTING
                and BalloonRequest("lo", 4) in compute_plan(s)]
    assert squeezed
    admitted = [s for s in x.states if (hi := s.get_vm("hi")) is not None
                and hi.power == Power.STARTING and step(s, StartAdmit("hi")).accepted]
    assert admitted


@pytest.mark.slow  # two whole presets in lockstep: about 9 s CPU, 26 s wall under load
def test_reference_conforms_on_the_reclaim_preset() -> None:
    """Both kinds of reference IUT conform on every state of 2vm-reclaim, in lockstep."""
    system = check_system(InProcessIut(ReferenceSystem()), RECLAIM, "lockstep", is_allowed)
    assert system.ok and system.complete and system.states == 13_147
    policy = check_policy(InProcessIut(ReferencePolicy()), RECLAIM, "lockstep", is_allowed)
    assert policy.ok and policy.complete and policy.progress_checked


def test_admit_without_free_memory_is_caught_only_by_the_reclaim_preset() -> None:
    """A system that admits a waiting start before its startup is free (the catalogue's
    admit_without_free_memory) passes every state of 2vm, where no start waits, and fails
    2vm-reclaim with a shortest trace: hi starts and grows to 36 MiB, lo's start waits
    (free 30 < 32), lo is admitted all the same (9 events, INV-PHYSICAL)."""
    iut = ReferenceSystem(get_mutant("admit_without_free_memory").reference_step)
    found = check_system(InProcessIut(iut), RECLAIM, "refinement", is_allowed)
    assert found.failure is not None and found.failure.divergence is not None
    divergence = found.failure.divergence
    assert divergence.cls == INVARIANT
    assert divergence.violations[0].invariant == "INV-PHYSICAL"
    assert len(found.failure.events) == 9
    assert found.failure.events[-2:] == (Start("lo"), StartAdmit("lo"))


def test_reclaim_of_any_weight_is_caught_by_the_default_presets() -> None:
    """The planted policy examples/buggy_iuts/reclaim_any_weight.py (it squeezes hi, of
    higher weight, for lo's waiting start) was caught only with --lifecycle; 2vm-reclaim
    reports no-progress PROG-RECLAIM-ORDER with a shortest trace of 10 events."""
    iut = load_example("buggy_iuts/reclaim_any_weight.py").make_iut()
    found = check_policy(InProcessIut(iut), RECLAIM, "refinement", is_allowed)
    assert found.failure is not None and found.failure.divergence is not None
    divergence = found.failure.divergence
    assert (divergence.cls, divergence.detail) == (NO_PROGRESS, "PROG-RECLAIM-ORDER")
    assert len(found.failure.events) == 10
    assert found.failure.events[-2:] == (Start("lo"), BalancerTick())
