"""The pytest plugin: check your own balancer from your own test suite.

Installed with dynmem (entry point ``pytest11``, module ``pytest_dynmem``): the fixture
``dynmem_oracle`` runs the oracle on an IUT (a Python object implementing ``SystemIut`` or
``PolicyIut``, or a command speaking JSON Lines) and fails the test with the readable
counterexample; ``dynmem_vector`` makes a test one parametrised test per conformance vector;
the marker ``@pytest.mark.dynmem(kind=, mode=, examples=, seed=, max_steps=)`` and the options
``--dynmem-kind/--dynmem-mode/--dynmem-examples/--dynmem-seed`` choose how. The README has a
complete example test file.
"""

from dynmem.verification.plugin.settings import OracleSettings, get_settings
from dynmem.verification.plugin.vectors import VectorCheck, vector_report

__all__ = [
    "OracleSettings", "VectorCheck", "get_settings", "vector_report",
]
