"""The shared page menu (verification/pagemenu.py): the explorer and the oracle's page
generator pick their messages from it, and every shape of it is sent by one of them."""

from __future__ import annotations

from dynmem.reference.events import BalloonRequest
from dynmem.reference.pages import page_step
from dynmem.verification.explore import pages as explorer
from dynmem.verification.oracle import pagegen
from dynmem.verification.pagemenu import (
    BALLOON_SHAPES,
    HOT_ADD_ANSWERS,
    REGION_SHAPES,
    UNBALLOON_SHAPES,
    balloon_answers,
)


def test_every_shape_of_the_menu_is_sent_by_an_engine() -> None:
    for menu, picks in ((BALLOON_SHAPES, "BALLOON_PICKS"), (HOT_ADD_ANSWERS, "HOT_ADD_PICKS"),
                        (UNBALLOON_SHAPES, "UNBALLOON_PICKS"), (REGION_SHAPES, "REGION_PICKS")):
        used = {*getattr(explorer, picks), *getattr(pagegen, picks)}
        if picks == "BALLOON_PICKS":  # the honest fallback's own picks
            used |= {*explorer.FALLBACK_BALLOON_PICKS, *pagegen.FALLBACK_PICKS}
        assert used == set(menu), (picks, set(menu) - used)


def test_both_engines_send_the_menus_answers() -> None:
    state = page_step(explorer.get_initial_states()[1], BalloonRequest("a", 2)).state
    vm = state.vms[0]
    assert balloon_answers(vm, explorer.BALLOON_PICKS) == [
        e for e in explorer.get_page_menu(state) if hasattr(e, "more_pages")]
    assert balloon_answers(vm, pagegen.BALLOON_PICKS) == [
        e for e in pagegen.page_menu(state) if hasattr(e, "more_pages")]
