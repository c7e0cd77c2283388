"""``dynmem mutants [--json]``: the catalogue of planted bugs.

One row per planted bug: its name, the invariant it must break, whether a model-level
variant (``dynmem bmc --mutant NAME``) and a reference-level variant exist, and what it
does. Exit 0 (listing cannot fail).
"""

from __future__ import annotations

import argparse
from typing import Any

from dynmem.verification.cli import options
from dynmem.verification.cli.console import write_result
from dynmem.verification.mutants.models import MutantVariant, list_variants
from dynmem.verification.mutants.pages import ALL_PAGE_MUTANTS
from dynmem.verification.mutants.unit_edits import UNIT_MUTANTS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mutants",
        help="list the planted bugs (mutated models) every check must catch",
        description="List the catalogue of planted bugs: name, the invariant each must "
                    "break, and whether a model-level (dynmem bmc --mutant NAME) and a "
                    "reference-level variant exist.",
    )
    options.add_json(parser)
    parser.set_defaults(handler=run)


def variant_to_json(variant: MutantVariant) -> dict[str, Any]:
    """``{"name", "invariant", "breaks", "model", "reference", "description", "note"}``."""
    return {"name": variant.name, "invariant": variant.invariant or None,
            "breaks": list(variant.breaks),
            "model": variant.model is not None, "reference": variant.step is not None,
            "description": variant.description, "note": variant.note or None}


def render_table(variants: list[MutantVariant]) -> str:
    """Name, invariant, levels, then the description, one row per planted bug."""
    header = ("NAME", "INVARIANT", "MODEL", "REFERENCE", "DESCRIPTION")
    rows = [(v.name, v.invariant or "-", "yes" if v.model else "no",
             "yes" if v.step else "no", v.description) for v in variants]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
             + "  " + row[4] for row in [header, *rows]]
    lines += [f"{v.name}: no model-level variant: {v.note}" for v in variants if v.note]
    with_model = sum(1 for v in variants if v.model)
    lines.append(f"{len(variants)} planted bugs, {with_model} with a model-level variant "
                 f"(run one: dynmem bmc --mutant NAME)")
    lines += ["", "Page-layer bugs (specs/pages.md §9: caught by dynmem explore --pages --mutant "
              "NAME, dynmem fuzz --engine walk --pages --mutant NAME, the Z3 small-scope check "
              "and BMC (those that break a PINV: dynmem prove --pages --mutant NAME) and the "
              "random page runs):"]
    lines += [f"{m.name}  breaks {', '.join(m.breaks)}: {m.description}" for m in ALL_PAGE_MUTANTS]
    lines += ["", "Page-count bugs (specs/proofs.md §7: harmless in MiB, caught by dynmem prove "
              "--unit page --mutant NAME):"]
    lines += [f"{m.name}  breaks {m.invariant}: {m.description}" for m in UNIT_MUTANTS.values()]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Print the catalogue (table or JSON)."""
    variants = list_variants()
    write_result(args.json,
                 lambda: {"mutants": [variant_to_json(v) for v in variants],
                          "page_mutants": [{"name": m.name, "breaks": list(m.breaks),
                                            "description": m.description}
                                           for m in ALL_PAGE_MUTANTS],
                          "unit_mutants": [{"name": m.name, "breaks": [m.invariant],
                                            "description": m.description}
                                           for m in UNIT_MUTANTS.values()]},
                 lambda: render_table(variants))
    return 0
