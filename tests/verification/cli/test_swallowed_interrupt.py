"""A Ctrl-C that Python drops inside a gc callback still stops ``dynmem fuzz`` (errors.py).

Python ignores an exception raised in a gc callback ("Exception ignored in ..."), and
Hypothesis installs one, so a SIGINT handled there once let a campaign run on; the fault test
``test_summary_of_work_done[int-fuzz]`` timed out on it under load. Here the signal is sent
from inside a gc callback on purpose.
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from dynmem.verification.cli.main import main


@pytest.fixture
def sigint_inside_gc() -> Iterator[None]:
    sent: list[bool] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # handled here: the interrupt is dropped

    gc.callbacks.append(callback)
    try:
        yield
    finally:
        gc.callbacks.remove(callback)


@pytest.mark.usefixtures("sigint_inside_gc")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the drop itself
def test_fuzz_stops_on_a_sigint_a_gc_callback_swallowed(
        capsys: pytest.CaptureFixture[str]) -> None:
    # A run started in the background inherits SIGINT ignored, and dynmem then leaves it so;
    # the handler Python installs in a foreground process is what this test is about.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert main(["fuzz", "--examples", "400"]) == 130
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert "fuzz: interrupted after " in capsys.readouterr().err
