"""Hypothesis stateful testing of the reference: the machine, its strategies, campaigns.

``DmMachine`` (``machine.py``) drives the reference with one rule per event kind and checks
refinement and every invariant after every step; ``machine_for`` builds it for a planted bug;
``run_fuzz`` runs a whole campaign under the ``ci`` or ``thorough`` profile.
"""

from dynmem.verification.stateful.fuzz import FuzzResult, run_fuzz
from dynmem.verification.stateful.machine import DmMachine, machine_for

__all__ = [
    "DmMachine", "FuzzResult", "machine_for", "run_fuzz",
]
