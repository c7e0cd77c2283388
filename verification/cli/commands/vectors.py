"""``dynmem vectors OUT``: write the test suite's conformance vectors (specs §6).

Each case becomes a directory (pre.json, events.ndjson, meta.json, and post.json +
steps.ndjson or checks.json); ``index.json`` lists them with their fingerprints.
``--promote DIR`` adds case directories written by ``dynmem oracle --out`` (``DIR/case``;
with ``--pages``, those of a page-level IUT).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dynmem.verification.cli import options
from dynmem.verification.oracle.pagevectors import write_page_vectors
from dynmem.verification.oracle.vectors import collect_cases, write_vectors


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "vectors",
        help="write conformance vectors (any language can run them)",
        description="Write the test suite's conformance vectors as one directory per case "
                    "(specs/formats/oracle.md §6). Exit 0 on success, 2 on bad input.",
    )
    parser.add_argument("out", metavar="OUT", help="directory to write (created if needed)")
    parser.add_argument("--promote", action="append", default=[], metavar="CASE_DIR",
                        help="also add this case directory (e.g. an oracle's OUT/case; "
                             "with --pages a page-level one); may be repeated")
    options.add_pages(parser, "write the page-level vectors instead (4 KiB page ranges, for "
                              "an IUT whose hello says \"wire\": 2; specs/formats/oracle.md "
                              "§9.8)", mutant=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write every case and the promoted ones; print a one-line summary per kind."""
    if args.pages:
        index = write_page_vectors(Path(args.out), promote=[Path(p) for p in args.promote])
    else:
        index = write_vectors(Path(args.out), collect_cases(), [Path(p) for p in args.promote])
    kinds: dict[str, int] = {}
    for item in index:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    shown = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"dynmem vectors: wrote {len(index)} cases to {args.out} ({shown})")
    return 0
