"""model/units.py: the same definitions counted in 4 KiB pages (specs/proofs.md §7).

Evaluated concretely: in pages a guest's answer is credited page for page and a partial
hot-add charges its last 2 MiB unit whole; in MiB both round to whole units, as before.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dynmem.model.actions import BALLOON_RESPONSE, HOT_ADD_RESPONSE, HostView, is_valid_settings
from dynmem.model.ops import CONCRETE, Ops
from dynmem.model.quantities import get_linux_floor_x32, is_aligned
from dynmem.model.units import MIB, PAGES, UNITS, Units
from dynmem.model.vocabulary import TxnKind

IN_PAGES: Ops = type(CONCRETE)(PAGES)  # type: ignore[call-arg]


def _vm(**fields: Any) -> SimpleNamespace:
    values = {"txn": TxnKind.NONE, "txn_mib": 0, "txn_done_mib": 0, "visible_mib": 0,
              "ballooned_mib": 0, "hot_add_enabled": True}
    return SimpleNamespace(**{**values, **fields})


def _host(free: int) -> HostView:
    return HostView(SimpleNamespace(physical_mib=10**9, reserve_mib=0), free)


def test_units_scale_mib_constants() -> None:
    assert (MIB.unit, PAGES.unit) == (2, 512) and PAGES.of_mib(32) == 8192
    assert UNITS == {"mib": MIB, "page": PAGES} and CONCRETE.units == MIB
    assert isinstance(PAGES, Units) and PAGES.exact and not MIB.exact


def test_a_sub_2_mib_balloon_part_is_credited_page_for_page() -> None:
    """A 2 MiB balloon answered by two 1 MiB parts: in pages 256 + 256 pages are credited
    (R-PG-CREDIT); in MiB each 1 MiB part credits 0 (the unit rounds it away)."""
    vm = _vm(txn=TxnKind.BALLOON, txn_mib=512, visible_mib=PAGES.of_mib(1024))
    first = BALLOON_RESPONSE.update(IN_PAGES, _host(0), vm,
                                    SimpleNamespace(mib=256, more_pages=True))
    assert (first["ballooned_mib"], first["free_mib"], first["txn_done_mib"]) == (256, 256, 256)
    second = BALLOON_RESPONSE.update(IN_PAGES, _host(256), _vm(**{**vars(vm), **first}),
                                     SimpleNamespace(mib=256, more_pages=False))
    assert (second["ballooned_mib"], second["free_mib"], second["txn"]) == (512, 512,
                                                                              TxnKind.NONE)
    in_mib = BALLOON_RESPONSE.update(CONCRETE, _host(0), _vm(txn=TxnKind.BALLOON, txn_mib=2),
                                     SimpleNamespace(mib=1, more_pages=True))
    assert (in_mib["ballooned_mib"], in_mib["free_mib"]) == (0, 0)


@pytest.mark.parametrize(("answer", "visible", "free", "enabled"), [
    (1024, 1024, 0, True),  # the whole request
    (1023, 1024, 0, False),  # one page short: its last unit is charged whole, tail stranded
    (513, 1024, 0, False),  # one page into the second unit
    (512, 512, 512, False),  # a whole unit short: that unit returns to free
    (0, 0, 1024, False),  # an empty success
])
def test_a_partial_hot_add_charges_its_last_unit_whole(answer: int, visible: int, free: int,
                                                      enabled: bool) -> None:
    """R-PG-HOT-ADD-CREDIT in counts: a 4 MiB (1,024-page) hot-add answered with ``answer``
    pages; what is charged and what is not returns to free always sum to the request."""
    vm = _vm(txn=TxnKind.HOT_ADD, txn_mib=1024)
    post = HOT_ADD_RESPONSE.update(IN_PAGES, _host(0), vm,
                                   SimpleNamespace(mib=answer, success=True))
    assert (post["visible_mib"], post["free_mib"], post["hot_add_enabled"]) == (visible, free,
                                                                                 enabled)


def test_a_partial_hot_add_in_mib_rounds_down_as_before() -> None:
    post = HOT_ADD_RESPONSE.update(CONCRETE, _host(0), _vm(txn=TxnKind.HOT_ADD, txn_mib=4),
                                   SimpleNamespace(mib=3, success=True))
    assert (post["visible_mib"], post["free_mib"]) == (2, 2)


def test_settings_alignment_and_linux_floor_scale() -> None:
    """A setting valid in MiB is valid times 256 in pages and not as the bare number; an
    alignment stays in MiB and aligns amounts times 256; the Linux floor bound scales."""
    settings = SimpleNamespace(startup_mib=512, maximum_mib=2048, buffer_pct=20, weight=5000)
    scaled = SimpleNamespace(**{**vars(settings), "startup_mib": 512 * 256,
                                "maximum_mib": 2048 * 256})
    assert is_valid_settings(CONCRETE, settings) and is_valid_settings(IN_PAGES, scaled)
    assert not is_valid_settings(IN_PAGES, settings)  # 512 pages: 2 MiB, below 32 MiB
    assert is_aligned(IN_PAGES, 128 * 256, 128) and not is_aligned(IN_PAGES, 128, 128)
    for mib in (64, 300, 1500, 4000, 9000):
        assert get_linux_floor_x32(IN_PAGES, mib * 256) == 256 * get_linux_floor_x32(CONCRETE,
                                                                                      mib)
