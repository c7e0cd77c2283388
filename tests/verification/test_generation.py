"""verification/generation.py: Hypothesis draws no literals of local modules in our runs.

The literal below is planted in a module written to a temporary folder (a *local* module to
Hypothesis) and imported; without the pin, Hypothesis hands it out as a generated integer.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from dynmem.verification import generation
from dynmem.verification.generation import fixed_generation, pins_local_constants
from dynmem.verification.stateful.fuzz import run_fuzz

PLANTED = 918_273_645


@pytest.fixture
def local_module(tmp_path: Path) -> Iterator[None]:
    """A module outside site-packages that holds ``PLANTED`` (and other literals)."""
    (tmp_path / "dynmem_planted_literals.py").write_text(
        f"PLANTED = {PLANTED}\nOTHERS = {list(range(1000, 1200, 7))}\n")
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.import_module("dynmem_planted_literals")
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("dynmem_planted_literals", None)


def _draws(pin: bool) -> list[int]:
    seen: list[int] = []

    @seed(7)
    @settings(max_examples=400, database=None, deadline=None)
    # A range where the planted literal is the only constant any module holds: without the
    # pin about one draw in 40 is it; a uniform draw hits it once in two million.
    @given(st.integers(PLANTED - 10**6, PLANTED + 10**6))
    def record(n: int) -> None:
        seen.append(n)

    with fixed_generation() if pin else contextlib.nullcontext():
        record()
    return seen


def test_this_hypothesis_has_the_pool_the_pin_empties() -> None:
    """If a newer Hypothesis moves the pool, this fails rather than the pin doing nothing."""
    assert pins_local_constants()


@pytest.mark.usefixtures("local_module")
def test_a_local_literal_is_drawn_without_the_pin_and_never_with_it() -> None:
    assert PLANTED in _draws(pin=False)  # the hazard is real with this Hypothesis
    assert PLANTED not in _draws(pin=True)


@pytest.mark.usefixtures("local_module")
def test_the_pool_is_back_after_the_block() -> None:
    with fixed_generation():
        pass
    assert PLANTED in _draws(pin=False)
    assert generation.providers._get_local_constants is not None


def test_a_campaign_is_the_same_whatever_the_process_imported(tmp_path: Path) -> None:
    before = run_fuzz("ci", examples=25)
    (tmp_path / "dynmem_more_literals.py").write_text(
        "\n".join(f"N{i} = {i * 37}" for i in range(300)) + "\n")
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.import_module("dynmem_more_literals")
        after = run_fuzz("ci", examples=25)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("dynmem_more_literals", None)
    assert (after.steps, after.coverage.pairs) == (before.steps, before.coverage.pairs)
