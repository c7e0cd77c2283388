"""``dynmem specs [--path]``: where the installed specification and JSON Schemas are.

Error messages and reports cite pages such as ``specs/formats/oracle.md``; in a wheel they
live inside the installed package (``dynmem.specs``), found with ``importlib.resources``.
Without ``--path`` it prints the folder, then every page and schema relative to it.
Exit 0 (listing cannot fail).
"""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

SPECS_PACKAGE = "dynmem.specs"
SHIPPED_SUFFIXES = (".md", ".json")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "specs",
        help="show where the installed specification and JSON Schemas are",
        description="Print the folder of the installed specification (the pages that error "
                    "messages cite, and the JSON Schemas of every file format), then its "
                    "pages and schemas.",
    )
    parser.add_argument("--path", action="store_true",
                        help="print only the folder (for scripts: ls \"$(dynmem specs "
                             "--path)\"/formats/schemas)")
    parser.set_defaults(handler=run)


def get_specs_root() -> Traversable:
    """The folder of the installed specification."""
    return files(SPECS_PACKAGE)


def list_spec_files(root: Traversable, prefix: str = "") -> list[str]:
    """Every page and schema under ``root``, as sorted paths relative to it."""
    found: list[str] = []
    for entry in root.iterdir():
        if entry.is_dir() and not entry.name.startswith(("_", ".")):
            found += list_spec_files(entry, f"{prefix}{entry.name}/")
        elif entry.is_file() and entry.name.endswith(SHIPPED_SUFFIXES):
            found.append(prefix + entry.name)
    return sorted(found)


def run(args: argparse.Namespace) -> int:
    """Print the folder (and, without ``--path``, its pages and schemas)."""
    root = get_specs_root()
    sys.stdout.write(f"{root}\n")
    if not args.path:
        sys.stdout.writelines(f"  {name}\n" for name in list_spec_files(root))
    return 0
