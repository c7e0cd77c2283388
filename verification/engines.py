"""The engines whose exact release decides a verdict, and whether the installed ones are pinned.

Hypothesis's derandomized draws and Z3's ``rlimit`` work units both change between releases:
the same ``ci`` campaign finds a planted bug at example 300 under one Hypothesis release and not
within 1,391 under another (measured 2026-12-03: 6.170.17 against 6.155.2). So pyproject.toml
pins both exactly, and a run under other releases says so instead of quietly giving other
verdicts. The pins are read from the installed package's own metadata, so a wheel and an
editable install answer alike.
"""

from __future__ import annotations

import re
from importlib import metadata

import attrs

__all__ = ["VERDICT_ENGINES", "EngineVersion", "engine_versions", "engines_line",
           "engine_warning"]

VERDICT_ENGINES = ("hypothesis", "z3-solver")
_PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;,]+)\s*$")


@attrs.frozen
class EngineVersion:
    """One verdict engine: the release dynmem pins and the one installed (None if absent)."""

    name: str
    pinned: str | None
    installed: str | None

    @property
    def matches(self) -> bool:
        return self.pinned is not None and self.pinned == self.installed


def pins(requirements: list[str]) -> dict[str, str]:
    """The exact pins (``name==version``, no marker) of a list of requirement strings."""
    found: dict[str, str] = {}
    for text in requirements:
        match = _PIN.match(text)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def engine_versions() -> tuple[EngineVersion, ...]:
    """Pinned and installed release of each verdict engine (pins None if dynmem's own metadata
    is missing, as when run from a bare source tree)."""
    try:
        pinned = pins(metadata.requires("dynmem") or [])
    except metadata.PackageNotFoundError:
        pinned = {}
    return tuple(EngineVersion(n, pinned.get(n), _installed(n)) for n in VERDICT_ENGINES)


def engines_line(engines: tuple[EngineVersion, ...]) -> str:
    """``hypothesis 6.170.17, z3-solver 5.4.1.0`` (what is installed)."""
    return ", ".join(f"{e.name} {e.installed or 'not installed'}" for e in engines)


def engine_warning(engines: tuple[EngineVersion, ...]) -> str | None:
    """A sentence naming every engine that is not the pinned release, or None if all are."""
    off = [e for e in engines if not e.matches]
    if not off:
        return None
    parts = [f"{e.name} {e.installed or 'not installed'} (dynmem pins "
             f"{e.pinned or 'nothing: no package metadata'})" for e in off]
    return ("verdicts were measured with the pinned engines; installed " + ", ".join(parts)
            + ": campaigns may find bugs at other examples and proofs may need other budgets."
            " Reinstall with: python3 -m pip install -e .")
