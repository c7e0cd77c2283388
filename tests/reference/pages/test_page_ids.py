"""specs/pages.md §6 and the page invariant registry agree; each page rule (R-PG-…) of
specs/pages.md is cited by reference/pages (tests/test_spec_ids.py checks the R- ids of the
whole tree; this checks the page layer's own ones land there)."""

from __future__ import annotations

import re
from pathlib import Path

from dynmem.reference.pages import PAGE_INVARIANTS

ROOT = Path(__file__).resolve().parents[3]
PAGES_MD = (ROOT / "specs" / "pages.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| (PINV-[A-Z-]+) \| `(\w+)` \| (.*) \|$", re.M)


def parse_rows(text: str) -> dict[str, tuple[str, str]]:
    return {m[1]: (m[2], m[3]) for m in ROW.finditer(text)}


def compare(rows: dict[str, tuple[str, str]]) -> list[str]:
    problems = []
    registry = {inv.id: (inv.name, inv.statement) for inv in PAGE_INVARIANTS}
    for inv_id in sorted(registry.keys() | rows.keys()):
        if registry.get(inv_id) != rows.get(inv_id):
            problems.append(f"{inv_id}: registry {registry.get(inv_id)} != spec {rows.get(inv_id)}")
    return problems


def test_table_and_registry_agree() -> None:
    """Every PINV entry has its row, same name and statement, and back."""
    assert compare(parse_rows(PAGES_MD)) == []


def test_a_changed_statement_is_reported() -> None:
    """The comparison can fail: a reworded row is a mismatch."""
    broken = PAGES_MD.replace("no page is credited twice", "no page is credited two times", 1)
    assert [p for p in compare(parse_rows(broken)) if p.startswith("PINV-ONCE")]


def test_every_page_rule_is_cited_by_the_page_layer() -> None:
    """Each ``### R-PG-…`` heading is cited in reference/pages/ (and nothing else cites one
    that is not a heading)."""
    defined = set(re.findall(r"^### (R-PG-[A-Z-]+) ", PAGES_MD, re.M))
    code = "".join(p.read_text(encoding="utf-8")
                   for p in sorted((ROOT / "reference" / "pages").glob("*.py")))
    cited = set(re.findall(r"R-PG-[A-Z]+(?:-[A-Z]+)*", code))
    assert defined and defined == cited
