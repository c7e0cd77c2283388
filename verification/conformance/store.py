"""The reachable cells of a preset, kept on disk between runs.

Listing them (``cells.get_reachable``) steps the reference through every question of every
state of a preset: 5 to 15 CPU s for each preset a ``dynmem oracle`` run tops up from, half
of a default run's CPU, paid again by every run. The list is a function of the preset and of
dynmem's own code, so it is stored under a key of both: the preset's ``repr`` and a digest
of every source file of the model, the reference and the verification package. Change a
file and the key changes (an old entry is never read again); the entry also holds its key,
so a renamed or copied file is not trusted either.

The folder is ``$DYNMEM_CACHE_DIR``, else ``$XDG_CACHE_HOME/dynmem``, else
``~/.cache/dynmem``; ``DYNMEM_CACHE_DIR=off`` turns the store off; the newest ``KEEP``
entries of each preset are kept. It is a cache, so nothing is lost when it fails: an entry
that cannot be read or parsed is listed again and rewritten, and a folder that cannot be
written (a read-only home) is skipped.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import dynmem.model
import dynmem.reference
import dynmem.verification
from dynmem.verification.atomic import write_atomic
from dynmem.verification.codec import (
    event_from_json,
    event_to_json,
    state_from_json,
    state_to_json,
)
from dynmem.verification.errors import InputError
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.oracle.topup import Witness
from dynmem.verification.properties.cells import Cell

FORMAT = 1
OFF = "off"

__all__ = ["FORMAT", "get_cache_dir", "get_code_digest", "load_entry", "store_entry"]

# What an entry holds: the cells, the situations, and a witness (initial state, events) per cell.
Entry = tuple[frozenset[Cell], frozenset[str], dict[Cell, Witness]]


def get_cache_dir() -> Path | None:
    """The store's folder, or None when ``DYNMEM_CACHE_DIR=off``."""
    chosen = os.environ.get("DYNMEM_CACHE_DIR", "")
    if chosen == OFF:
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "dynmem"


@functools.cache
def get_code_digest() -> str:
    """A digest of every source file of dynmem's model, reference and verification packages
    (their paths and bytes): what the listed cells depend on besides the preset."""
    digest = hashlib.sha256()
    for package in (dynmem.model, dynmem.reference, dynmem.verification):
        root = Path(package.__path__[0])
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def _key(config: ExploreConfig) -> str | None:
    """The entry's key, None for a preset whose ``repr`` is not a value (an object address
    would make every run miss)."""
    text = repr(config)
    if " at 0x" in text:
        return None
    return hashlib.sha256(f"{FORMAT}\0{get_code_digest()}\0{text}".encode()).hexdigest()


def _path(config: ExploreConfig) -> tuple[Path, str] | None:
    folder, key = get_cache_dir(), _key(config)
    if folder is None or key is None:
        return None
    return folder / f"reachable-{config.name.replace('/', '_')}-{key[:16]}.json", key


def load_entry(config: ExploreConfig) -> Entry | None:
    """The stored cells of ``config`` for this code, None when there is no usable entry."""
    where = _path(config)
    if where is None:
        return None
    path, key = where
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["key"] != key:
            return None
        source = str(path)
        witnesses = {
            _cell(w["cell"]): (state_from_json(w["initial"], source, "initial"),
                               tuple(event_from_json(e, source, "events") for e in w["events"]))
            for w in data["witnesses"]}
        situations = data["situations"]
        if not all(isinstance(s, str) for s in situations):
            raise ValueError(f"not situations: {situations!r}")
        return frozenset(_cell(c) for c in data["cells"]), frozenset(situations), witnesses
    except (OSError, ValueError, KeyError, TypeError, InputError):
        return None  # missing, unreadable or not ours: list the cells again


def _cell(data: Any) -> Cell:
    if not (isinstance(data, list) and len(data) == 4 and all(isinstance(p, str) for p in data)):
        raise ValueError(f"not a cell: {data!r}")
    return (data[0], data[1], data[2], data[3])


def store_entry(config: ExploreConfig, entry: Entry) -> None:
    """Keep ``entry`` for ``config`` and this code (atomically; skipped where the folder
    cannot be written)."""
    where = _path(config)
    if where is None:
        return
    path, key = where
    cells, situations, witnesses = entry
    data = {
        "format": FORMAT, "key": key, "preset": config.name,
        "cells": sorted(list(c) for c in cells), "situations": sorted(situations),
        "witnesses": [{"cell": list(cell), "initial": state_to_json(initial),
                       "events": [event_to_json(e) for e in events]}
                      for cell, (initial, events) in sorted(witnesses.items())],
    }
    with contextlib.suppress(InputError):  # a read-only folder: the next run lists again
        write_atomic(path, json.dumps(data, separators=(",", ":")) + "\n")
    _prune(path)


# Entries kept per preset: one per version of dynmem, so a developer's folder would grow
# with every edit; the newest few cover versions installed side by side.
KEEP = 8


def _prune(newest: Path) -> None:
    """Remove all but the ``KEEP`` most recent entries of ``newest``'s preset."""
    preset = newest.name.rsplit("-", 1)[0]
    with contextlib.suppress(OSError):
        entries = sorted((p for p in newest.parent.glob(f"{preset}-*.json")
                          if p.name.rsplit("-", 1)[0] == preset),  # not 2vm-reclaim's for 2vm
                         key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink()
