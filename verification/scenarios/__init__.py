"""Scenario files and their simulation through the reference.

``load_scenario`` / ``parse_scenario`` read and validate a scenario (specs/formats.md
§scenario), ``simulate`` runs it with every invariant checked after every step,
``check_expectations`` judges its ``expect`` block, ``summarize_state`` is what
``dynmem simulate --json`` prints. The shipped scenarios are this package's JSON files.
"""

from dynmem.verification.scenarios.expectations import check_expectations
from dynmem.verification.scenarios.scenario import Scenario, load_scenario, parse_scenario
from dynmem.verification.scenarios.simulate import Simulation, simulate
from dynmem.verification.scenarios.summary import summarize_state

__all__ = [
    "Scenario", "Simulation", "check_expectations", "load_scenario", "parse_scenario", "simulate",
    "summarize_state",
]
