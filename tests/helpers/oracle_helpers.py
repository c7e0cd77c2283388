"""Shared helpers for the oracle tests: load example IUTs, small fixed states, fake IUTs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from dynmem.model.vocabulary import VERSION_WIN10
from dynmem.reference.events import (
    CapabilitiesReport,
    Demand,
    Event,
    QuietPeriodEnd,
    Start,
    StatusReport,
    VersionRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PYTHON = sys.executable


def load_example(relative: str) -> ModuleType:
    """Import ``examples/<relative>`` as a module."""
    path = EXAMPLES / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def two_vm_host() -> DmState:
    """8 GiB host, 1 GiB reserve, two dynamic VMs (weights 8000 and 2000), both off."""
    dyn = {"dynamic": True, "startup_mib": 1024, "maximum_mib": 8192}
    return initial_state(HostSettings(8192, 1024), (("hi", VmSettings(**dyn, weight=8000)),
                                                     ("lo", VmSettings(**dyn, weight=2000))))


def connect(name: str, demand: int) -> list[Event]:
    """Start ``name``, negotiate to READY and report ``demand``."""
    return [Start(name), VersionRequest(name, VERSION_WIN10), CapabilitiesReport(name),
            QuietPeriodEnd(name), Demand(name, demand), StatusReport(name, demand)]
