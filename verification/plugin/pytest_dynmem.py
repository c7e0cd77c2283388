"""The pytest entry point (``pytest11``): options, the ``dynmem`` marker and the fixtures.

``dynmem_oracle(iut, **settings)`` runs what ``dynmem oracle`` runs (the exhaustive phase,
the random phase, the top-up) and fails the test with the readable report;
``dynmem_vector`` parametrises a test over every conformance vector, and its ``check(iut)``
fails the test with the first divergence and the trace. Settings come from the defaults,
then ``--dynmem-*`` options, then ``@pytest.mark.dynmem(...)``, then the call.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from dynmem.verification.conformance import Phases, check_conformance
from dynmem.verification.errors import DynmemError
from dynmem.verification.oracle.check import Iut, OracleRun
from dynmem.verification.oracle.iut import IutUnusable
from dynmem.verification.oracle.search import SHRINK_REPLAYS
from dynmem.verification.oracle.vectors import collect_cases, needs_lifecycle
from dynmem.verification.plugin.settings import KINDS, MODES, OracleSettings, get_settings
from dynmem.verification.plugin.vectors import VectorCheck, vector_report

MARKER = ("dynmem(kind='system', mode='refinement', examples=100, seed=None, max_steps=60, "
          "vms=2, lifecycle=False, top_up=200, shrink_replays=1000): how the dynmem fixtures "
          "run the oracle in this test (vms=0: no exhaustive phase)")
OPTIONS = ("kind", "mode", "examples", "seed", "vms", "lifecycle", "shrink_replays")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dynmem", "dynmem oracle (pytest plugin of dynmem)")
    group.addoption("--dynmem-kind", choices=KINDS, default=None,
                    help="what the IUTs implement: system or policy (default system)")
    group.addoption("--dynmem-mode", choices=MODES, default=None,
                    help="refinement (any safe policy, default) or lockstep (the reference's)")
    group.addoption("--dynmem-examples", type=int, default=None, metavar="N",
                    help="generated examples per oracle run (default 100)")
    group.addoption("--dynmem-seed", type=int, default=None, metavar="S",
                    help="random seed of every oracle run (default: fresh, in the report)")
    group.addoption("--dynmem-vms", type=int, default=None, metavar="N",
                    help="the exhaustive phase's largest preset, 1..3 VMs (default 2, the "
                         "presets 1vm, 2vm and 2vm-reclaim); 0: the random phase only")
    group.addoption("--dynmem-lifecycle", action="store_true", default=None,
                    help="the IUTs implement specs/lifecycle.md: the oracle sends restarts, "
                         "resets, save/restore, migration, waiting starts, and its "
                         "conformance vectors run too")
    group.addoption("--dynmem-shrink-replays", type=int, default=None, metavar="N",
                    help="replays of the IUT that shrinking a failure may use, a count, "
                         f"never seconds (default {SHRINK_REPLAYS}; 0: report the failure "
                         "as found)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def settings_for(request: pytest.FixtureRequest, call: dict[str, Any] | None = None
                 ) -> OracleSettings:
    """The settings of the requesting test (options, then marker, then ``call``)."""
    options = {name: request.config.getoption(f"dynmem_{name}") for name in OPTIONS}
    marker = request.node.get_closest_marker("dynmem")
    if marker is not None and marker.args:
        raise pytest.UsageError("@pytest.mark.dynmem takes keyword arguments only "
                                "(kind=, mode=, examples=, seed=, max_steps=, vms=, "
                                "lifecycle=, top_up=, shrink_replays=)")
    try:
        return get_settings(options, marker.kwargs if marker else None, call)
    except DynmemError as err:
        raise pytest.UsageError(f"{request.node.nodeid}: {err}") from None


@attrs.frozen
class OracleFixture:
    """``dynmem_oracle``: call it with an IUT; the test fails with the report on a finding."""

    request: pytest.FixtureRequest

    def __call__(self, iut: Iut, **settings: Any) -> OracleRun:
        s = settings_for(self.request, settings)
        try:
            run = check_conformance(iut, Phases(
                s.kind, s.mode, vms=s.vms or 2, exhaustive=s.vms > 0, examples=s.examples,
                seed=s.seed, max_steps=s.max_steps, lifecycle=s.lifecycle, top_up=s.top_up,
                shrink_replays=s.shrink_replays), timeout=s.timeout)
        except IutUnusable as err:
            unusable = f"dynmem oracle: the IUT cannot be used: {err}"
        else:
            if not run.ok:
                pytest.fail(run.report, pytrace=False)
            return run
        pytest.fail(unusable, pytrace=False)  # outside ``except``: no chained traceback


@pytest.fixture
def dynmem_oracle(request: pytest.FixtureRequest) -> OracleFixture:
    """Run the dynmem oracle on an IUT: ``dynmem_oracle(MyBalancer())`` or
    ``dynmem_oracle("node my_iut.js", kind="system")``; fails the test with the readable
    counterexample."""
    return OracleFixture(request)


@attrs.frozen
class VectorFixture:
    """``dynmem_vector``: one conformance case; ``check(iut)`` fails the test on a finding."""

    request: pytest.FixtureRequest
    case: Any  # VectorCase

    def check(self, iut: Iut, **settings: Any) -> None:
        vector = VectorCheck(self.case, settings_for(self.request, settings))
        try:
            result = vector.run(iut)
        except IutUnusable as err:
            skipped = f"conformance vectors drive system IUTs: {err}"
        except DynmemError as err:
            failed = f"conformance vector {self.case.name}: the IUT failed at hello: {err}"
        else:
            if result.divergence is not None:
                pytest.fail(vector_report(vector, result), pytrace=False)
            return
        # outside ``except``: no chained traceback in the test's report
        if "skipped" in locals():
            pytest.skip(skipped)
        pytest.fail(failed, pytrace=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dynmem_vector" in metafunc.fixturenames:
        lifecycle = bool(metafunc.config.getoption("dynmem_lifecycle"))
        cases = [c for c in collect_cases() if lifecycle or not needs_lifecycle(c)]
        metafunc.parametrize("dynmem_vector", cases, ids=[c.name for c in cases],
                             indirect=True)


@pytest.fixture
def dynmem_vector(request: pytest.FixtureRequest) -> VectorFixture:
    """One conformance vector (a test using it runs once per case): ``dynmem_vector.check(
    "python3 my_host.py")``."""
    return VectorFixture(request, request.param)
