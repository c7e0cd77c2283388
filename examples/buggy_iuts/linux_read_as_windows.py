"""Planted bug: a policy that reads a Linux guest's status report as a Windows guest's.

A Linux guest reports committed memory plus its ballooned pages and its balloon floor, and
gives a balloon only what it has above that floor (specs/protocol.md §3.2). This policy
forgets the convention (the catalogue's ``linux_report_read_as_windows``, P-DEMAND): it
unballoons what it just ballooned, and asks a Linux guest for memory below its floor again
and again. Every request passes the guards and no invariant breaks; the oracle reports
``no-progress`` PROG-FIXED-POINT. Only ``dynmem oracle --kind policy --linux`` meets Linux
guests.
"""

from __future__ import annotations

from dynmem.verification.mutants.catalogue import plan_linux_report_read_as_windows
from dynmem.verification.oracle.reference_iut import ReferencePolicy
from dynmem.verification.oracle.wire import serve_jsonl


def make_iut() -> ReferencePolicy:
    return ReferencePolicy(plan_linux_report_read_as_windows, name="reads Linux as Windows")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
