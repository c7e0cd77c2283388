"""The stateful machines as plain Hypothesis tests, for long campaigns under HypoFuzz.

HypoFuzz (``pip install hypofuzz``; not in the test extra: it brings a web dashboard and a
coverage tracer) fuzzes the Hypothesis tests that pytest collects, forever, in as many
processes as asked, and keeps what it finds in the settings' example database. Point
``DYNMEM_FUZZ_DB`` at a folder that every fuzzing process (and machine: a shared mount)
sees, so the campaigns share their corpus and every failure found, then replay them here
with plain pytest (README, "Long stateful campaigns under HypoFuzz")::

    DYNMEM_FUZZ_DB=/shared/dynmem-fuzz-db hypothesis fuzz -n 2 --no-dashboard -- \\
        tests/verification/stateful/test_fuzz_campaigns.py
    DYNMEM_FUZZ_DB=/shared/dynmem-fuzz-db python3 -m pytest \\
        tests/verification/stateful/test_fuzz_campaigns.py

Without the variable (CI) each machine runs a few derandomized examples and no database is
written: the file is then a check that the entry HypoFuzz uses collects and passes.
"""

from __future__ import annotations

import os

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from dynmem.verification.stateful.machine import get_settings, machine_for

SHARED_DB = os.environ.get("DYNMEM_FUZZ_DB")
EXAMPLES_WITHOUT_DB = 5  # CI: the entry works; HypoFuzz ignores the count and runs on
EXAMPLES_REPLAYING = 50  # pytest with the database: what it saved first, then a few new


def _campaign_settings() -> settings:
    if SHARED_DB:  # the thorough profile, its failures and corpus kept in the shared folder
        # HypoFuzz reads the database of the loaded profile, not a test's own settings
        settings.register_profile("dynmem-fuzz", get_settings(
            "thorough", max_examples=EXAMPLES_REPLAYING,
            database=DirectoryBasedExampleDatabase(SHARED_DB)))
        settings.load_profile("dynmem-fuzz")
        return settings.get_profile("dynmem-fuzz")
    return get_settings("ci", max_examples=EXAMPLES_WITHOUT_DB)


# One test per machine: the reference, fleets with Linux guests, starts that wait for reclaim.
_REFERENCE = machine_for(label="reference")
_LINUX = machine_for(label="linux", linux_guests=True)
_RECLAIM = machine_for(label="reclaim", reclaim_starts=True)

TestReferenceMachine = _REFERENCE.TestCase
TestLinuxGuestMachine = _LINUX.TestCase
TestReclaimStartsMachine = _RECLAIM.TestCase
_SETTINGS = _campaign_settings()
for _case in (TestReferenceMachine, TestLinuxGuestMachine, TestReclaimStartsMachine):
    _case.settings = _SETTINGS
del _case  # a module global named like nothing pytest collects
