"""``dynmem oracle --linux`` (issue 15 item 5): the oracle meets Linux guests, the reference
conforms, and a policy that reads a Linux report as a Windows one is caught."""

from __future__ import annotations

import pytest
from oracle_helpers import load_example

from dynmem.model.concrete_steps import is_allowed
from dynmem.verification.conformance import check_policy, get_preset
from dynmem.verification.oracle.generate import get_default_source
from dynmem.verification.oracle.iut import InProcessIut
from dynmem.verification.oracle.judge import NO_PROGRESS
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem
from dynmem.verification.oracle.search import search


def test_presets_and_source_run_linux_guests() -> None:
    """The exhaustive presets name their Linux guest; the random source draws some."""
    assert get_preset("system", 2, linux=True).name == "2vm+linux"
    assert get_preset("system", 2, linux=True).vms[-1][1].guest_os == "linux"
    assert get_default_source("system", linux=True).linux_guests
    assert not get_default_source("system").linux_guests  # the default is unchanged


def test_the_reference_system_conforms_with_linux_guests() -> None:
    """The random phase with Linux guests: the reference against itself, lockstep."""
    found = search(InProcessIut(ReferenceSystem()), "system", "lockstep",
                   get_default_source("system", linux=True), 40, 1, is_allowed, 1000)
    assert found.failure is None


@pytest.mark.slow  # the whole 2vm+linux graph with the policy's plans: about 15 s CPU
def test_linux_read_as_windows_is_caught_as_no_progress() -> None:
    """The planted policy (examples/buggy_iuts/linux_read_as_windows.py) asks the Linux guest
    for memory below its floor, tick after tick: no-progress PROG-FIXED-POINT with a shortest
    trace of 16 events."""
    iut = load_example("buggy_iuts/linux_read_as_windows.py").make_iut()
    preset = get_preset("policy", 2, linux=True)
    found = check_policy(InProcessIut(iut), preset, "refinement", is_allowed)
    assert found.failure is not None and found.failure.divergence is not None
    divergence = found.failure.divergence
    assert (divergence.cls, divergence.detail) == (NO_PROGRESS, "PROG-FIXED-POINT")
    assert len(found.failure.events) == 16


@pytest.mark.thorough  # the whole 2vm+linux graph with the reference's plans: 30 s of CI's
def test_the_reference_policy_passes_the_linux_preset() -> None:
    """The reference policy passes the preset the planted bug fails (CI: the independent
    implementations pass 1vm+linux and 1vm-linux-grown, test_independent.py)."""
    preset = get_preset("policy", 2, linux=True)
    clean = check_policy(InProcessIut(ReferencePolicy()), preset, "refinement", is_allowed)
    assert clean.failure is None
