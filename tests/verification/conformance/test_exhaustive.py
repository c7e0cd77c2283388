"""The bounded-exhaustive phase (issue 12, item 1): full coverage on the reference, every
planted bug caught with a shortest trace, the same answers pipelined or one at a time."""

from __future__ import annotations

import pytest
from oracle_helpers import EXAMPLES, PYTHON, load_example

from dynmem.model.concrete_steps import is_allowed
from dynmem.verification.conformance import check_policy, check_system
from dynmem.verification.explore import explore, get_config
from dynmem.verification.oracle.iut import InProcessIut
from dynmem.verification.oracle.judge import INVARIANT, NOT_ALLOWED
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem
from dynmem.verification.oracle.wire import SubprocessIut

IS_ALLOWED = is_allowed


@pytest.mark.parametrize("mode", ["refinement", "lockstep"])
def test_reference_system_covers_every_reachable_state(mode: str) -> None:
    """The reference as a system IUT conforms, on exactly the explorer's states."""
    config = get_config(1)
    result = check_system(InProcessIut(ReferenceSystem()), config, mode,  # type: ignore[arg-type]
                          IS_ALLOWED)
    assert result.ok and result.complete
    assert result.states == explore(config).n_states
    assert result.requests > result.transitions > 0 and result.probes > 0
    assert result.verdict().startswith("conforms on every reachable state of preset 1vm")


@pytest.mark.parametrize("mode", ["refinement", "lockstep"])
def test_reference_policy_covers_preset_two(mode: str) -> None:
    """The reference as a policy IUT conforms on preset 2, progress checked on the graph."""
    config = get_config(2)
    result = check_policy(InProcessIut(ReferencePolicy()), config, mode,  # type: ignore[arg-type]
                          IS_ALLOWED)
    x = explore(config)
    assert result.ok and result.progress_checked
    assert (result.states, result.transitions) == (x.n_states, x.n_edges)
    assert result.views == x.n_states  # every plan judged at every reachable state


# file, kind, class, first invariant accepted, exhaustive trace length (shortest)
BUGS = [
    ("overcommit_in_flight", "system", INVARIANT, {"INV-CONSERVATION", "INV-PHYSICAL"}, 7),
    ("taken_without_response", "system", INVARIANT, {"INV-NO-HOST-PAGING"}, 7),
    ("ignores_maximum", "policy", NOT_ALLOWED, set(), 6),
    ("starts_without_free", "system", INVARIANT, {"INV-PHYSICAL", "AUX-FREE"}, 7),
    ("partial_hot_add_leak", "system", INVARIANT, {"INV-CONSERVATION"}, 7),
    ("hot_add_during_unballoon", "policy", NOT_ALLOWED, set(), 11),
]


@pytest.mark.parametrize(("name", "kind", "cls", "invariants", "length"), BUGS)
def test_every_planted_bug_is_caught_with_a_shortest_trace(
        name: str, kind: str, cls: str, invariants: set[str], length: int) -> None:
    """Each planted bug fails the exhaustive phase (presets 1, then 2) with the class it
    must have, on a breadth-first (shortest) trace replayed from the initial state."""
    iut = InProcessIut(load_example(f"buggy_iuts/{name}.py").make_iut())
    check = check_policy if kind == "policy" else check_system
    result = check(iut, get_config(1), "refinement", IS_ALLOWED)
    if result.failure is None:
        result = check(iut, get_config(2), "refinement", IS_ALLOWED)
    case = result.failure
    assert case is not None and case.divergence is not None and not result.complete
    assert case.divergence.cls == cls
    if invariants:
        assert case.divergence.violations[0].invariant in invariants
    assert len(case.events) == case.divergence.step == length


def test_pipelined_batches_give_the_same_answers() -> None:
    """A subprocess IUT answers the same pipelined as one request at a time."""
    command = f"{PYTHON} {EXAMPLES}/reference_system_iut.py"
    results = []
    for pipelined in (True, False):
        driver = SubprocessIut(command, pipelined=pipelined)
        try:
            driver.hello("system", "lockstep")
            results.append(check_system(driver, get_config(1), "lockstep", IS_ALLOWED))
        finally:
            driver.close()
    fast, slow = results
    assert fast.ok and slow.ok
    assert (fast.states, fast.transitions, fast.requests) == \
        (slow.states, slow.transitions, slow.requests)
