"""A hibernating guest beside others (specs/lifecycle.md §1, issue 14 items 1 and 5): the
explorer's profile dimension ``with_hibernating_guest`` (preset 2vm+lifecycle+hibernate),
where the host's watchdog is the silent guest's honest next step, and the planted bug only
such a guest shows."""

from __future__ import annotations

from dynmem.reference.environment import GuestProfile
from dynmem.reference.events import BalloonResponse, CapabilitiesReport, UnballoonResponse
from dynmem.verification.explore.config import get_config, with_hibernating_guest
from dynmem.verification.explore.explorer import explore
from dynmem.verification.explore.run import run_exploration
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.traces import render_text


def test_the_preset_has_its_own_name_and_leaves_the_others_alone() -> None:
    """The dimension adds the lifecycle and a Linux guest that never answers in the last VM;
    the presets it starts from are unchanged (their pinned counts stay)."""
    config = with_hibernating_guest(get_config(2))
    assert config.name == "2vm+lifecycle+hibernate" and config.vm_lifecycle
    assert config.profiles == (("lo", GuestProfile.LINUX_HIBERNATE),)
    assert dict(config.vms)["lo"].guest_os == "linux"
    assert get_config(2).profiles == () and get_config(2).name == "2vm"


def test_the_reference_passes_beside_a_silent_guest() -> None:
    """Every state checked, every fixed point judged with the silent guest present
    (PROG-NO-STARVATION, PROG-WEIGHT-ORDER), and the hibernating guest never answers."""
    x = explore(with_hibernating_guest(get_config(2)))
    assert x.ok and x.complete and x.n_states == 22_639
    stuck = [s for s in x.states if s.get_vm("lo") is not None and s.get_vm("lo").stuck]
    assert stuck, "the watchdog gave up on the hibernating guest somewhere"
    for sid in range(0, x.n_states, 97):
        for event, _result, _target in x.successors(sid):
            if getattr(event, "vm", None) == "lo":
                assert not isinstance(event, BalloonResponse | UnballoonResponse), event
                if isinstance(event, CapabilitiesReport):
                    assert (event.balloon, event.hot_add) == (True, False)


def test_a_watchdog_that_waits_on_balloons_is_caught_only_there() -> None:
    """The planted bug (the watchdog refuses to fire on a balloon): on 2vm+lifecycle (any
    guest: answers always come) and its Linux twin nothing breaks; beside the hibernating
    guest the host is stuck on its silence: PROG-FIXED-POINT with a shortest trace of 6."""
    bug = get_mutant("watchdog_waits_on_balloons")
    plain = explore(get_config(2).with_vm_lifecycle(), bug.reference_step, bug.policy)
    assert plain.ok and plain.complete
    result = run_exploration(2, mutant=bug.name)
    assert result.config == "2vm+lifecycle+hibernate" and not result.ok
    assert result.progress == (("PROG-FIXED-POINT", 40),)
    assert result.trace is not None and len(result.trace.steps) == 6
    text = render_text(result.trace)
    assert "balloon 4 MiB from lo" in text and "✗ PROG-FIXED-POINT" in text, text
