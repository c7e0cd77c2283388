"""specs/ and the code agree on every id (specs/README.md, "Ids").

The comparisons are pure functions over text and the registries; the ``test_*_agree`` tests
run them on the real files, and ``TestChecksCatchMismatches`` feeds them broken copies of
the real texts to show that each one reports the mismatch (a check that cannot fail is a
defect).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import attrs
import pytest

from dynmem.model.invariants import INVARIANTS, Invariant
from dynmem.reference.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
# Code whose R-/P- citations must match specs/ (comments, docstrings and SPEC strings).
CODE_DIRS = (ROOT / "reference", ROOT / "model")
# Code that may cite ids (every one must exist) without having to cite every rule.
CITING_DIRS = (ROOT / "verification",)

# A whole id token: "R-REQUEST-1..3" cites R-REQUEST-1; a family wildcard "R-REQUEST-*" or a
# placeholder "R-…" cites nothing.
RULE_ID = re.compile(r"(?<![\w-])([RP]-[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)(?![\w-])")
INVARIANT_ID = re.compile(r"(?<![\w-])((?:INV|AUX)-[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)(?![\w-])")
FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
HEADING = re.compile(r"^#{1,6} .*$", re.M)
EVENT_HEADING = re.compile(
    r"^## (?P<cls>[A-Z]\w*) \(`(?P<kind>[a-z_]+)`\) — (?P<id>[RP]-[A-Z0-9-]+)[ \t]*$", re.M
)
DOC_ONLY = re.compile(r"^Documentation-only ids[^:\n]*:[ \t]*(?P<ids>.*)$", re.M)
TABLE_ROW = re.compile(r"^\|[ \t]*(?:INV|AUX)-.*$", re.M)


# --- reading ----------------------------------------------------------------------------------


def read_specs() -> dict[str, str]:
    """Every Markdown page under specs/ (formats/ too), by path relative to specs/."""
    return {str(p.relative_to(SPECS)): p.read_text(encoding="utf-8")
            for p in sorted(SPECS.rglob("*.md"))}


def read_code() -> dict[str, str]:
    """Every module of the code directories (sub-packages too: reference/pages) by relative
    path."""
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
            for d in CODE_DIRS for p in sorted(d.rglob("*.py"))}


def read_citing_code() -> dict[str, str]:
    """Every module under the citing directories (sub-packages too) by relative path."""
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
            for d in CITING_DIRS for p in sorted(d.rglob("*.py"))}


def get_defined_rule_ids(specs: Mapping[str, str]) -> dict[str, list[str]]:
    """R-/P- ids defined by a heading, mapped to the files defining them (fences ignored)."""
    defined: dict[str, list[str]] = {}
    for name, text in specs.items():
        for heading in HEADING.findall(FENCE.sub("", text)):
            for rule_id in RULE_ID.findall(heading):
                defined.setdefault(rule_id, []).append(name)
    return defined


def get_cited_ids(texts: Mapping[str, str], pattern: re.Pattern[str]) -> dict[str, list[str]]:
    """Ids matching ``pattern`` in ``texts``, mapped to the files that mention them."""
    cited: dict[str, list[str]] = {}
    for name, text in texts.items():
        for found in sorted(set(pattern.findall(text))):
            cited.setdefault(found, []).append(name)
    return cited


def get_doc_only_ids(readme: str) -> set[str]:
    """The ids specs/README.md declares documentation-only ("none" for none)."""
    match = DOC_ONLY.search(readme)
    if match is None:
        raise AssertionError("specs/README.md lacks its 'Documentation-only ids: ...' line")
    return set(RULE_ID.findall(match["ids"]))


@attrs.frozen
class SpecRow:
    """One row of the registry table in specs/invariants.md."""

    id: str
    name: str
    layer: str
    statement: str
    clauses: tuple[str, ...]


def parse_invariant_rows(text: str) -> list[SpecRow]:
    """The INV-/AUX- rows of the table: id | `name` | layer | statement | `clause`; ..."""
    rows = []
    for line in TABLE_ROW.findall(text):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5:
            raise AssertionError(f"invariant row needs 5 cells, has {len(cells)}: {line}")
        rows.append(SpecRow(cells[0], cells[1].strip("`"), cells[2], cells[3],
                            tuple(re.findall(r"`([^`]+)`", cells[4]))))
    return rows


# --- comparisons ------------------------------------------------------------------------------


def compare_invariants(rows: Sequence[SpecRow], registry: Sequence[Invariant]) -> list[str]:
    """Problems between the spec table and the registry: ids, names, layers, text, clauses."""
    problems = []
    by_id = {row.id: row for row in rows}
    if len(by_id) != len(rows):
        problems.append("specs/invariants.md lists an id twice: "
                        + ", ".join(sorted({r.id for r in rows if
                                            sum(x.id == r.id for x in rows) > 1})))
    registered = {inv.id: inv for inv in registry}
    for missing in sorted(registered.keys() - by_id.keys()):
        problems.append(f"{missing} is in the registry but has no row in specs/invariants.md")
    for extra in sorted(by_id.keys() - registered.keys()):
        problems.append(f"{extra} has a row in specs/invariants.md but no registry entry")
    for inv_id in sorted(registered.keys() & by_id.keys()):
        inv, row = registered[inv_id], by_id[inv_id]
        expected = (inv.name, inv.layer, inv.statement, tuple(c.name for c in inv.clauses))
        for field, want, have in zip(("name", "layer", "statement", "clauses"), expected,
                                     (row.name, row.layer, row.statement, row.clauses),
                                     strict=True):
            if want != have:
                problems.append(f"{inv_id} {field}: registry {want!r} != spec {have!r}")
    return problems


def compare_events(text: str, event_types: Mapping[str, type]) -> list[str]:
    """Problems between the ``## Class (`kind`) — R-ID`` headings and the event classes."""
    problems = []
    headings: dict[str, re.Match[str]] = {}
    for match in EVENT_HEADING.finditer(text):
        if match["cls"] in headings:
            problems.append(f"specs/events.md has two headings for {match['cls']}")
        headings[match["cls"]] = match
    classes = {cls.__name__: (kind, cls) for kind, cls in event_types.items()}
    for name, (kind, cls) in sorted(classes.items()):
        if kind != getattr(cls, "KIND", None):
            problems.append(f"EVENT_TYPES maps {kind!r} to {name} whose KIND is "
                            f"{getattr(cls, 'KIND', None)!r}")
        heading = headings.get(name)
        if heading is None:
            problems.append(f"{name} has no '## {name} (`{kind}`) — ID' heading in "
                            f"specs/events.md")
            continue
        if heading["kind"] != kind:
            problems.append(f"{name}: KIND {kind!r} != heading kind {heading['kind']!r}")
        spec = getattr(cls, "SPEC", None)
        if heading["id"] != spec:
            problems.append(f"{name}: SPEC {spec!r} != heading id {heading['id']!r}")
    for extra in sorted(headings.keys() - classes.keys()):
        problems.append(f"specs/events.md has a heading for {extra}, which is not in EVENT_TYPES")
    return problems


def compare_rule_citations(specs: Mapping[str, str], code: Mapping[str, str]) -> list[str]:
    """Problems between R-/P- ids defined in specs/ and those cited in the code."""
    problems = []
    defined = get_defined_rule_ids(specs)
    cited = get_cited_ids(code, RULE_ID)
    doc_only = get_doc_only_ids(specs.get("README.md", ""))
    for rule_id, files in sorted(defined.items()):
        if len(files) > 1:
            problems.append(f"{rule_id} is defined by {len(files)} headings: {files}")
    for rule_id in sorted(cited.keys() - defined.keys()):
        problems.append(f"{rule_id} is cited in {cited[rule_id]} but defined by no heading in "
                        f"specs/")
    for rule_id in sorted(defined.keys() - cited.keys() - doc_only):
        problems.append(f"{rule_id} is defined in specs/{defined[rule_id][0]} but cited nowhere "
                        f"in {', '.join(d.name + '/' for d in CODE_DIRS)}")
    for rule_id in sorted(doc_only - defined.keys()):
        problems.append(f"documentation-only id {rule_id} is not defined in specs/")
    for rule_id in sorted(doc_only & cited.keys()):
        problems.append(f"documentation-only id {rule_id} is cited in {cited[rule_id]}")
    return problems


def compare_mentions(texts: Mapping[str, str], known: Iterable[str],
                     pattern: re.Pattern[str]) -> list[str]:
    """Ids matching ``pattern`` mentioned in ``texts`` that are not in ``known``."""
    known_ids = set(known)
    return [f"{found} is mentioned in {files} but does not exist"
            for found, files in sorted(get_cited_ids(texts, pattern).items())
            if found not in known_ids]


# --- the real files ---------------------------------------------------------------------------


def test_invariant_table_and_registry_agree() -> None:
    """Every registry entry has its row in specs/invariants.md with the same text, and back."""
    rows = parse_invariant_rows(read_specs()["invariants.md"])
    assert rows, "specs/invariants.md has no INV-/AUX- rows"
    assert compare_invariants(rows, INVARIANTS) == []


def test_event_headings_and_event_types_agree() -> None:
    """Every event class has its ``## Class (`kind`) — SPEC`` heading, and back (R-TICK etc.)."""
    assert compare_events(read_specs()["events.md"], EVENT_TYPES) == []


def test_rule_ids_cited_in_code_and_defined_in_specs_agree() -> None:
    """Every R-/P- id cited in model/ or reference/ is defined in specs/, and back."""
    assert compare_rule_citations(read_specs(), read_code()) == []


def test_specs_mention_only_defined_ids() -> None:
    """specs/ mentions no R-/P- id without a heading and no INV-/AUX- id outside the registry."""
    specs = read_specs()
    defined = get_defined_rule_ids(specs)
    assert compare_mentions(specs, defined, RULE_ID) == []
    assert compare_mentions(specs, (inv.id for inv in INVARIANTS), INVARIANT_ID) == []


def test_code_mentions_only_registered_invariants() -> None:
    """Every INV-/AUX- id the code cites is a registry entry."""
    assert compare_mentions(read_code(), (inv.id for inv in INVARIANTS), INVARIANT_ID) == []


def test_verification_cites_only_existing_ids() -> None:
    """Every R-/P- id verification/ cites has its heading in specs/, and every INV-/AUX- id it
    cites is a registry entry (it need not cite every rule: model/ and reference/ do)."""
    code = read_citing_code()
    assert code, "no verification modules found"
    assert compare_mentions(code, get_defined_rule_ids(read_specs()), RULE_ID) == []
    assert compare_mentions(code, (inv.id for inv in INVARIANTS), INVARIANT_ID) == []


# --- the checks catch mismatches --------------------------------------------------------------


def _broken(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced once; fails if ``old`` is absent (no vacuous mutation)."""
    assert old in text, f"mutation target {old!r} not found"
    return text.replace(old, new, 1)


class TestChecksCatchMismatches:
    """Each comparison reports a planted mismatch in a copy of the real texts."""

    @pytest.mark.parametrize(("old", "new", "expected"), [
        ("a running dynamic VM never has assigned < startup |",
         "a running dynamic VM never has assigned below startup |", "INV-FLOOR statement"),
        ("| `never_above_maximum` |", "| `never_above_max` |", "INV-CEILING name"),
        ("| AUX-FREE | `free_ledger_non_negative` | aux |",
         "| AUX-FREE | `free_ledger_non_negative` | safety |", "AUX-FREE layer"),
        ("`assigned <= visible`; ", "", "INV-CEILING clauses"),
        ("| INV-OFF |", "| INV-OFF-X |", "INV-OFF is in the registry but has no row"),
        ("| INV-OFF |", "| INV-OFF-X |", "INV-OFF-X has a row"),
    ])
    def test_invariant_mismatch(self, old: str, new: str, expected: str) -> None:
        """A changed statement, name, layer, clause list or id in the table is reported."""
        text = _broken(read_specs()["invariants.md"], old, new)
        problems = compare_invariants(parse_invariant_rows(text), INVARIANTS)
        assert any(expected in p for p in problems), problems

    def test_registry_entry_without_row(self) -> None:
        """An invariant added to the registry without a spec row is reported."""
        extra = attrs.evolve(INVARIANTS[0], id="INV-NEW")
        rows = parse_invariant_rows(read_specs()["invariants.md"])
        problems = compare_invariants(rows, (*INVARIANTS, extra))
        assert problems == ["INV-NEW is in the registry but has no row in specs/invariants.md"]

    @pytest.mark.parametrize(("old", "new", "expected"), [
        ("## Stop (`stop`) — R-STOP\n", "## Stop (`stop`) — R-HALT\n", "Stop: SPEC 'R-STOP'"),
        ("## Stop (`stop`) — R-STOP\n", "## Stop (`halt`) — R-STOP\n", "Stop: KIND 'stop'"),
        ("## Stop (`stop`) — R-STOP\n", "## Stop — R-STOP\n", "Stop has no"),
        ("## Stop (`stop`) — R-STOP\n", "## Stop (`stop`) — R-STOP\n## Halt (`halt`) — R-HALT\n",
         "heading for Halt"),
    ])
    def test_event_mismatch(self, old: str, new: str, expected: str) -> None:
        """A heading with another id or kind, a missing heading or an extra one is reported."""
        text = _broken(read_specs()["events.md"], old, new)
        problems = compare_events(text, EVENT_TYPES)
        assert any(expected in p for p in problems), problems

    def test_event_class_without_heading(self) -> None:
        """An event class added to EVENT_TYPES without a heading is reported."""
        fake = type("Reboot", (), {"KIND": "reboot", "SPEC": "R-REBOOT"})
        problems = compare_events(read_specs()["events.md"], {**EVENT_TYPES, "reboot": fake})
        assert any(p.startswith("Reboot has no") for p in problems), problems

    def test_code_cites_undefined_rule(self) -> None:
        """An R- id cited in code but defined by no heading is reported."""
        code = {**read_code(), "reference/extra.py": "# R-TELEPORT: move memory by magic\n"}
        problems = compare_rule_citations(read_specs(), code)
        assert any(p.startswith("R-TELEPORT is cited") for p in problems), problems

    def test_spec_rule_never_cited(self) -> None:
        """A P- id defined by a heading but cited nowhere in the code is reported."""
        specs = read_specs()
        specs["policy.md"] += "\n## P-SHARE — split equal weights evenly\n"
        problems = compare_rule_citations(specs, read_code())
        assert any(p.startswith("P-SHARE is defined") for p in problems), problems

    def test_removed_heading_orphans_citations(self) -> None:
        """Removing a rule's heading reports the code's citations of it."""
        specs = read_specs()
        specs["events.md"] = _broken(specs["events.md"], "### R-REQUEST-2 — one transaction",
                                     "### One transaction")
        problems = compare_rule_citations(specs, read_code())
        assert any(p.startswith("R-REQUEST-2 is cited") for p in problems), problems

    def test_documentation_only_id_must_stay_uncited(self) -> None:
        """An id declared documentation-only but cited in code is reported."""
        specs = read_specs()
        specs["README.md"] = _broken(specs["README.md"], "deliberately not cited in code): none.",
                                     "deliberately not cited in code): R-START.")
        problems = compare_rule_citations(specs, read_code())
        assert any("documentation-only id R-START is cited" in p for p in problems), problems

    @pytest.mark.parametrize(("planted", "pattern"), [
        ("# R-TELEPORT: move memory by magic\n", RULE_ID),
        ('"""Checks INV-TELEPORT on every state."""\n', INVARIANT_ID),
    ])
    def test_verification_cites_unknown_id(self, planted: str, pattern: re.Pattern[str]) -> None:
        """An id cited in a verification sub-package but defined nowhere is reported."""
        code = {**read_citing_code(), "verification/explore/extra.py": planted}
        known = (get_defined_rule_ids(read_specs()) if pattern is RULE_ID
                 else [inv.id for inv in INVARIANTS])
        problems = compare_mentions(code, known, pattern)
        assert any("TELEPORT is mentioned in ['verification/explore/extra.py']" in p
                   for p in problems), problems

    def test_dangling_mention_in_specs(self) -> None:
        """A spec that mentions an id nobody defines is reported."""
        specs = {"x.md": "see R-NOWHERE and INV-NOWHERE"}
        assert compare_mentions(specs, [], RULE_ID) != []
        assert compare_mentions(specs, [], INVARIANT_ID) != []
