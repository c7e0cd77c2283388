"""Fixtures shared by every test: ``pytester`` for the pytest plugin's own tests; and one
Hypothesis profile for every ``@given`` test, so the suite's verdict is the same on every run
and machine: derandomized draws (pinned by the exact Hypothesis release, pyproject.toml) and
no example database carried from one run to the next."""

from hypothesis import settings

pytest_plugins = ["pytester"]

settings.register_profile("dynmem-tests", derandomize=True, database=None)
settings.load_profile("dynmem-tests")
