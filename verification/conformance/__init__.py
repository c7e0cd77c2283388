"""Bounded-exhaustive conformance: the explorer pointed at another implementation (issue 12).

``check_system`` asks a system IUT every event the explorer offers in every state it can
reach in a preset; ``check_policy`` explores the system with the IUT's plans as the
balancer, judges every plan at every reachable view and checks the progress properties on
the resulting graph; ``get_reachable`` lists the coverage cells they meet, the random
phase's yardstick. Both checks return a :class:`ConformanceResult` whose verdict names the
scope covered. ``check_conformance`` runs all of ``dynmem oracle`` (these, the random phase
and the top-up; ``run_phases`` is its core, shared with the command). This package sits
after the engines (it imports both ``explore`` and ``oracle``, which are siblings and may
not import each other) and before ``suite``.
"""

from dynmem.verification.conformance.cells import Reachable, get_reachable
from dynmem.verification.conformance.policy import check_policy
from dynmem.verification.conformance.presets import (
    LINUX_GROWN,
    POLICY_THREE,
    RECLAIM,
    get_preset,
    get_presets,
)
from dynmem.verification.conformance.result import ConformanceResult
from dynmem.verification.conformance.run import (
    Phases,
    StatesProgress,
    Watch,
    check_conformance,
    run_phases,
)
from dynmem.verification.conformance.system import check_system

__all__ = ["LINUX_GROWN", "POLICY_THREE", "RECLAIM", "ConformanceResult", "Phases", "Reachable",
           "StatesProgress", "Watch", "check_conformance", "check_policy", "check_system",
           "get_preset", "get_presets", "get_reachable", "run_phases"]
