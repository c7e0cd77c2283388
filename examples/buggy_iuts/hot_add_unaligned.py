"""Planted bug: a host that follows no hot-add alignment but says it does.

Its hello promises to follow the guest's alignment (Rule P1c), so the harness's guests
advertise 4 and 128 MiB blocks; its hot-add guard and its policy still align to the 2 MiB
unit only (the catalogue's ``hot_add_unaligned``), so it hot-adds, say, 96 MiB to a guest
of 128 MiB blocks (INV-HOT-ADD-ALIGNED; the model refuses the request: R-HOT-ADD-ALIGN).
"""

from __future__ import annotations

from dynmem.verification.mutants import get_mutant
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl


def make_iut() -> ReferenceSystem:
    return ReferenceSystem(get_mutant("hot_add_unaligned").reference_step,
                           name="hot-adds unaligned", hot_add_alignment=True)


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
