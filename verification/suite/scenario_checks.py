"""The built-in scenarios (``verification/scenarios/*.json``): the seed's examples and
DOMAIN.md §4/§5, shipped in the package. ``dynmem verify`` runs each one as a check: every
invariant after every step, every settle converged, and the scenario's ``expect`` block met.
"""

from __future__ import annotations

from functools import partial
from importlib import resources
from importlib.abc import Traversable

from dynmem.verification.errors import InputError
from dynmem.verification.scenarios.expectations import check_expectations, get_rejections
from dynmem.verification.scenarios.scenario import Scenario, parse_json, parse_scenario
from dynmem.verification.scenarios.simulate import simulate
from dynmem.verification.suite.checks import DEFAULT_BUDGETS, Budgets, Check, Verdict
from dynmem.verification.traces import ASCII_MARKS, describe_finding

SECTION = "scenarios"


def list_builtin() -> list[Traversable]:
    """The shipped scenario files, sorted by name."""
    folder = resources.files("dynmem.verification.scenarios")
    return sorted((f for f in folder.iterdir() if f.name.endswith(".json")),
                  key=lambda f: f.name)


def load_builtin(entry: Traversable) -> Scenario:
    """Read and validate one shipped scenario (named ``scenarios/<file>`` in errors)."""
    source = f"scenarios/{entry.name}"
    return parse_scenario(parse_json(entry.read_text(encoding="utf-8"), source), source)


def check_builtin(entry: Traversable) -> Verdict:
    """Simulate one shipped scenario and check invariants, convergence and expectations."""
    try:
        scenario = load_builtin(entry)
    except InputError as err:
        return Verdict(False, "invalid scenario file", (str(err),))
    if scenario.expect is None:
        return Verdict(False, "no 'expect' block: a built-in scenario must state its result")
    simulation = simulate(scenario)
    unmet = check_expectations(simulation)
    details = [describe_finding(f, ASCII_MARKS) for f in simulation.trace.findings]
    details += [f"not converged: {r.describe()}" for r in simulation.settles if not r.converged]
    details += [f"expectation not met: {text}" for text in unmet]
    rejected = len(get_rejections(simulation))
    steps = len(simulation.trace.steps)
    if details:
        return Verdict(False, f"{steps} steps, {len(details)} problems", tuple(details),
                       (simulation.trace,))
    refused = f"{rejected} rejected as expected" if rejected else "none rejected"
    return Verdict(True, f"{steps} steps, invariants hold, {refused}, expectations met")


def checks(budgets: Budgets = DEFAULT_BUDGETS) -> list[Check]:
    """One check per shipped scenario, named after its file (no budget needed)."""
    return [Check(entry.name.removesuffix(".json"), SECTION, partial(check_builtin, entry))
            for entry in list_builtin()]
