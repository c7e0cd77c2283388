"""Check a scenario's ``expect`` block against its simulation (specs/formats.md §scenario).

Every unmet expectation is one sentence naming the expected and the actual value; an empty
list means every expectation holds (or the scenario has none).
"""

from __future__ import annotations

from dynmem.verification.scenarios.scenario import Expectation
from dynmem.verification.scenarios.simulate import Simulation
from dynmem.verification.scenarios.summary import summarize_state


def get_rejections(simulation: Simulation) -> dict[int, str]:
    """Scenario event index -> the reason of its first rejected trace step."""
    found: dict[int, str] = {}
    for origin, item in zip(simulation.origins, simulation.trace.steps, strict=True):
        if item.rejected is not None and origin not in found:
            found[origin] = item.rejected
    return found


def check_expectations(simulation: Simulation) -> list[str]:
    """The unmet expectations of ``simulation``'s scenario, one sentence each.

    Examples
    --------
    >>> from dynmem.verification.scenarios.scenario import parse_scenario
    >>> from dynmem.verification.scenarios.simulate import simulate
    >>> s = parse_scenario({"host": {"physical_mib": 4096, "reserve_mib": 1024},
    ...                     "vms": [{"name": "a", "startup_mib": 1024}],
    ...                     "events": [{"kind": "start", "vm": "a"}],
    ...                     "expect": {"final": {"free_mib": 2000}}}, "x.json")
    >>> check_expectations(simulate(s))
    ['final free_mib: expected 2000, got 2048']
    """
    expect = simulation.scenario.expect
    if expect is None:
        return []
    return (_check_converged(expect, simulation) + _check_rejected(expect, simulation)
            + _check_final(expect, simulation))


def _check_converged(expect: Expectation, simulation: Simulation) -> list[str]:
    if expect.converged is None or expect.converged == simulation.converged:
        return []
    return [f"converged: expected {str(expect.converged).lower()}, got "
            f"{str(simulation.converged).lower()}"]


def _check_rejected(expect: Expectation, simulation: Simulation) -> list[str]:
    if expect.rejected is None:
        return []
    actual = get_rejections(simulation)
    unmet = []
    wanted = {r.event: r.reason for r in expect.rejected}
    for index, reason in wanted.items():
        if index not in actual:
            unmet.append(f"events[{index}]: expected a rejection ({reason!r}), "
                         "but it was accepted")
        elif reason not in actual[index]:
            unmet.append(f"events[{index}]: expected a rejection containing {reason!r}, "
                         f"got {actual[index]!r}")
    for index, reason in sorted(actual.items()):
        if index not in wanted:
            unmet.append(f"events[{index}]: rejected unexpectedly: {reason}")
    return unmet


def _check_final(expect: Expectation, simulation: Simulation) -> list[str]:
    final = summarize_state(simulation.trace.final)
    unmet = []
    if expect.final_free_mib is not None and expect.final_free_mib != final["free_mib"]:
        unmet.append(f"final free_mib: expected {expect.final_free_mib}, "
                     f"got {final['free_mib']}")
    for name, fields in expect.final_vms:
        vm = final["vms"].get(name)
        if vm is None:
            unmet.append(f"final {name}: expected the VM to exist, but it does not")
            continue
        for key, value in fields:
            if vm[key] != value:
                unmet.append(f"final {name}.{key}: expected {value!r}, got {vm[key]!r}")
    return unmet
