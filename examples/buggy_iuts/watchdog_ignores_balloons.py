"""Planted bug: a system whose watchdog gives up only on a hot-add, never on a balloon.

The host's watchdog (R-STUCK) must give up on any transaction without progress, so that a
guest that never answers (a hibernating Linux guest, specs/lifecycle.md §1) does not hold
the balancer for ever. This host watches only hot-adds (the memory it reserved from free)
and refuses ``stuck_timeout`` while a balloon or an unballoon is in flight. Honest guests
always answer, so only a silent guest needs the watchdog: ``dynmem explore --hibernate`` and
the stateful ``HibernatingMachine`` show the hang (PROG-FIXED-POINT); the oracle sees the
refusal where the reference accepts (``dynmem oracle --hibernate``, or ``--lifecycle``).
The same bug as the catalogue's ``watchdog_waits_on_balloons``.
"""

from __future__ import annotations

from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl


def make_iut() -> ReferenceSystem:
    return ReferenceSystem(get_mutant("watchdog_waits_on_balloons").reference_step,
                           name="watchdog ignores balloons")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
