"""The listed cells of a preset are kept on disk between runs (verification/conformance/
store.py): read back exactly, keyed by the preset and the code, and never trusted when the
entry is damaged, belongs to other code, or the store is off."""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs
import pytest

from dynmem.verification.conformance import store
from dynmem.verification.conformance.cells import get_reachable, list_reachable
from dynmem.verification.explore.config import get_config

CONFIG = get_config(1)
fresh = get_reachable.__wrapped__  # past the per-process memo, to the store


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DYNMEM_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_a_stored_entry_reads_back_exactly(folder: Path) -> None:
    listed = fresh(CONFIG)
    (entry,) = folder.glob("reachable-1vm-*.json")
    loaded = store.load_entry(CONFIG)
    assert loaded == (listed.cells, listed.situations, listed.witnesses)
    assert listed.cells == list_reachable(CONFIG).cells and listed.witnesses
    assert json.loads(entry.read_text())["preset"] == "1vm"


def test_another_preset_or_other_code_has_another_key(folder: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fresh(CONFIG)
    assert store.load_entry(attrs.evolve(CONFIG, demands=(0,))) is None
    monkeypatch.setattr(store, "get_code_digest", lambda: "other code")
    assert store.load_entry(CONFIG) is None


def test_a_damaged_or_foreign_entry_is_listed_again(folder: Path) -> None:
    listed = fresh(CONFIG)
    (entry,) = folder.glob("reachable-1vm-*.json")
    for damage in ("{", json.dumps({**json.loads(entry.read_text()), "key": "x"}),
                   json.dumps({**json.loads(entry.read_text()), "cells": [["a"]]})):
        entry.write_text(damage)
        assert store.load_entry(CONFIG) is None
        assert fresh(CONFIG).cells == listed.cells  # listed again, and rewritten
        assert store.load_entry(CONFIG) is not None


def test_a_changed_entry_is_what_is_read(folder: Path) -> None:
    """The store is really read (a planted entry shows through): the test above cannot pass
    by listing every time."""
    fresh(CONFIG)
    (entry,) = folder.glob("reachable-1vm-*.json")
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps({**data, "situations": ["planted"]}))
    assert fresh(CONFIG).situations == frozenset({"planted"})


def test_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNMEM_CACHE_DIR", store.OFF)
    assert store.get_cache_dir() is None
    assert fresh(CONFIG).cells
    assert store.load_entry(CONFIG) is None


def test_an_unwritable_folder_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("DYNMEM_CACHE_DIR", str(blocker / "below"))
    assert fresh(CONFIG).cells  # no error: the next run lists again
    assert store.load_entry(CONFIG) is None


def test_only_the_newest_entries_of_a_preset_are_kept(folder: Path) -> None:
    """One entry per version of dynmem would grow without end: older ones are removed,
    other presets' are not."""
    other = folder / "reachable-1vm-linux-grown-0000000000000000.json"  # another preset
    other.write_text("{}")
    os.utime(other, (0, 0))  # the oldest file: pruned if taken for one of 1vm's
    for n in range(store.KEEP + 3):
        stale = folder / f"reachable-1vm-{n:016x}.json"
        stale.write_text("{}")
        os.utime(stale, (n, n))
    fresh(CONFIG)
    kept = sorted(p.name for p in folder.glob("reachable-1vm-*.json") if p != other)
    assert len(kept) == store.KEEP and store.load_entry(CONFIG) is not None
    assert f"reachable-1vm-{store.KEEP + 2:016x}.json" in kept  # the newest stale one
    assert "reachable-1vm-0000000000000000.json" not in kept and other.exists()
