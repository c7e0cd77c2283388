"""dynmem.reference.pages: the page-level protocol layer on top of the amount-level reference.

4 KiB pages and page ranges (``PageRange``, ``PageSet``), the per-VM ledger of ballooned
ranges and RAM extent (``PageState``), the host's rules for bad pages (``page_step``), the
abstraction to the amount level (``abstract_state``) and the refinement check
(``check_refinement_step``); see specs/pages.md.
"""

from dynmem.reference.pages.abstraction import abstract_state
from dynmem.reference.pages.events import (
    PageBalloonResponse,
    PageEvent,
    PageHotAddRequest,
    PageHotAddResponse,
    PageUnballoonRequest,
)
from dynmem.reference.pages.invariants import PAGE_INVARIANTS, get_page_violations
from dynmem.reference.pages.ranges import (
    PAGE_KIB,
    PAGES_PER_MIB,
    PAGES_PER_UNIT,
    PageRange,
    PageSet,
)
from dynmem.reference.pages.refinement import (
    abstract_event,
    check_page_step,
    check_refinement_step,
)
from dynmem.reference.pages.state import PageState, PageVm, initial_page_state
from dynmem.reference.pages.step import AMOUNT, PageStepResult, make_page_step, page_step

__all__ = [
    "AMOUNT", "PAGES_PER_MIB", "PAGES_PER_UNIT", "PAGE_INVARIANTS", "PAGE_KIB",
    "PageBalloonResponse", "PageEvent", "PageHotAddRequest", "PageHotAddResponse", "PageRange",
    "PageSet", "PageState", "PageStepResult", "PageUnballoonRequest", "PageVm", "abstract_event",
    "abstract_state", "check_page_step", "check_refinement_step", "get_page_violations",
    "initial_page_state", "make_page_step", "page_step",
]
