"""The oracle with guest profiles (``dynmem oracle --hibernate``, specs/lifecycle.md §1): the
generator draws a hibernating guest among the others, which never answers a balloon or an
unballoon; the watchdog is its honest next step, also when a policy settles."""

from __future__ import annotations

import collections

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle_helpers import load_example

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.vocabulary import TxnKind
from dynmem.reference.environment import GuestProfile
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    Event,
    StuckTimeout,
    UnballoonResponse,
)
from dynmem.verification.conformance import get_presets
from dynmem.verification.oracle.generate import get_default_source
from dynmem.verification.oracle.iut import InProcessIut, Observed
from dynmem.verification.oracle.judge import NOT_ALLOWED
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem
from dynmem.verification.oracle.search import generate_case, search


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


@settings(max_examples=80, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def test_generated_examples_keep_the_hibernating_guest_silent(data: st.DataObject) -> None:
    """In every generated example a hibernating guest's VM gets no balloon or unballoon
    answer, whatever the swarm focus (the cells' menu included)."""
    case = generate_case(InProcessIut(ReferenceSystem()), "system", "refinement",
                         get_default_source("system", hibernate=True), data.draw, is_allowed)
    silent = {name for name, p in case.profiles if p == GuestProfile.LINUX_HIBERNATE}
    for event in case.events:
        if isinstance(event, BalloonResponse | UnballoonResponse):
            assert event.vm not in silent, (event, case.profiles)
    _SEEN.update(p for _, p in case.profiles)
    _SEEN.update("balloon to a silent guest" for step in case.trace.steps
                 if isinstance(step.event, BalancerTick) and any(
                     step.state.get_vm(n) is not None
                     and step.state.get_vm(n).txn == TxnKind.BALLOON for n in silent))


_SEEN: set[object] = set()


def test_every_profile_and_a_silent_balloon_were_drawn() -> None:
    """The 80 examples above drew all three profiles, and some tick ballooned a hibernating
    guest (runs after the test above, in file order)."""
    assert set(GuestProfile) <= _SEEN and "balloon to a silent guest" in _SEEN, _SEEN


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
