"""``dynmem fuzz --linux``: the stateful machine with fleets of Windows and Linux guests
(specs/protocol.md §3.2); the reference passes, and every honest message follows the
guest's ``guest_os``."""

from __future__ import annotations

from hypothesis import find

from dynmem.verification.stateful import strategies as dms
from dynmem.verification.stateful.fuzz import run_fuzz


def test_mixed_fleets_draw_linux_guests() -> None:
    """The fleet strategy of ``--linux`` draws Linux guests (and keeps Windows ones)."""
    def has(os_name: str) -> object:
        return find(dms.mixed_fleets(), lambda f: any(s.guest_os == os_name for _, s in f))
    assert has("linux") and has("windows")


def test_the_reference_passes_with_linux_guests() -> None:
    """A short ci campaign with Linux guests: no invariant, refinement or progress failure."""
    result = run_fuzz("ci", examples=30, linux_guests=True)
    assert result.ok, result.message
