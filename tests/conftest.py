"""Fixtures shared by every test: ``pytester`` for the pytest plugin's own tests; and one
Hypothesis profile for every ``@given`` test, so the suite's verdict is the same on every run
and machine: derandomized draws (pinned by the exact Hypothesis release, pyproject.toml) and
no example database carried from one run to the next; and one store of listed cells per
run (``DYNMEM_CACHE_DIR``, verification/conformance/store.py), shared by its workers and the
commands they start, so no run reads what another run left in the user's cache."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ["pytester"]

settings.register_profile("dynmem-tests", derandomize=True, database=None)
settings.load_profile("dynmem-tests")


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    # an xdist worker's base folder lies in the run's, which its workers share
    base = Path(tmp_path_factory.getbasetemp())
    folder = (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "dynmem-cache"
    os.environ["DYNMEM_CACHE_DIR"] = str(folder)
