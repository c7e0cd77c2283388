"""The oracle with guest profiles (``dynmem oracle --hibernate``, specs/lifecycle.md §1): the
generator draws a hibernating guest among the others, which never answers a balloon or an
unballoon; the watchdog is its honest next step, also when a policy settles."""

from __future__ import annotations

import collections

from oracle_helpers import load_example

from dynmem.model.concrete_steps import is_allowed
from dynmem.reference.environment import GuestProfile
from dynmem.reference.events import BalloonRequest, Event, StuckTimeout
from dynmem.verification.conformance import get_presets
from dynmem.verification.oracle.generate import get_default_source
from dynmem.verification.oracle.iut import InProcessIut, Observed
from dynmem.verification.oracle.judge import NOT_ALLOWED
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem
from dynmem.verification.oracle.search import search


class _Recorder(ReferenceSystem):
    """The reference, counting what reaches the hibernating guests' VMs."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: collections.Counter[str] = collections.Counter()

    def event(self, step: int, event: Event) -> Observed:
        answer = super().event(step, event)
        self.seen[event.KIND] += 1
        for sent in answer.sent or ():
            if isinstance(sent, BalloonRequest):
                self.seen["balloon_sent"] += 1
        return answer


def test_the_generator_draws_silent_guests_beside_others() -> None:
    """Over 100 examples the profiles drawn include a hibernating guest beside others, the
    watchdog fires, and the reference passes."""
    source = get_default_source("system", hibernate=True)
    assert source.vm_lifecycle and source.hibernate
    recorder = _Recorder()
    result = search(InProcessIut(recorder), "system", "refinement", source, 100, seed=1,
                    is_allowed=is_allowed)
    assert result.failure is None
    assert recorder.seen["stuck_timeout"] > 0, dict(recorder.seen)
    assert len(tuple(GuestProfile)) == 3  # the profiles drawn: windows, linux, hibernating


def test_a_policy_settles_beside_a_hibernating_guest() -> None:
    """The reference policy: every example settled with the watchdog, every plan judged."""
    result = search(InProcessIut(ReferencePolicy()), "policy", "refinement",
                    get_default_source("policy", hibernate=True), 60, seed=3,
                    is_allowed=is_allowed)
    assert result.failure is None


def test_the_watchdog_bug_is_caught() -> None:
    """examples/buggy_iuts/watchdog_ignores_balloons.py refuses the watchdog on a balloon:
    the random phase reports the refusal (the reference accepts it)."""
    iut = load_example("buggy_iuts/watchdog_ignores_balloons.py").make_iut()
    result = search(InProcessIut(iut), "system", "refinement",
                    get_default_source("system", hibernate=True), 100, seed=1,
                    is_allowed=is_allowed, shrink_replays=50)
    assert result.failure is not None and result.failure.divergence is not None
    assert result.failure.divergence.cls == NOT_ALLOWED
    assert isinstance(result.failure.events[-1], StuckTimeout)


def test_the_exhaustive_phase_adds_the_hibernate_preset() -> None:
    names = [c.name for c in get_presets("system", 2, hibernate=True)]
    assert names[-1] == "2vm+lifecycle+hibernate"
    assert "2vm+lifecycle+hibernate" not in [c.name for c in get_presets("system", 2)]
