"""The verdict engines are pinned exactly, the installed ones are those pins, and a run under
other releases says so (verification/engines.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from dynmem.verification.cli.main import main
from dynmem.verification.engines import (
    VERDICT_ENGINES,
    EngineVersion,
    engine_versions,
    engine_warning,
    pins,
)

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_pins_every_verdict_engine_exactly() -> None:
    """A range would let a fresh machine draw other examples (the CI failure of 2026-12-03:
    a preinstalled Hypothesis 6.155.2 missed a planted bug 6.170.17 finds)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert set(pins(project["dependencies"])) >= set(VERDICT_ENGINES)


def test_the_installed_engines_are_the_pinned_ones() -> None:
    """Otherwise every derandomized count in this suite may move: reinstall (README)."""
    engines = engine_versions()
    assert all(e.matches for e in engines), engine_warning(engines)


def test_pins_reads_exact_pins_only() -> None:
    assert pins(["hypothesis==6.1.2", "z3_solver == 4.0", "attrs>=23", "x==1; python_version<'3'",
                 "numpy>=1,<3"]) == {"hypothesis": "6.1.2", "z3-solver": "4.0"}


def test_a_mismatch_names_engine_installed_and_pinned() -> None:
    engines = (EngineVersion("hypothesis", "6.170.17", "6.155.2"),
               EngineVersion("z3-solver", "5.4.1.0", "5.4.1.0"))
    text = engine_warning(engines)
    assert text is not None
    assert "hypothesis 6.155.2 (dynmem pins 6.170.17)" in text and "z3-solver" not in text
    assert engine_warning(engines[1:]) is None
    assert "not installed" in (engine_warning((EngineVersion("z3-solver", "5", None),)) or "")


def test_version_names_the_installed_engines(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    out = capsys.readouterr().out
    for engine in engine_versions():
        assert f"{engine.name} {engine.installed}" in out


def test_verify_warns_when_an_engine_is_not_pinned(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The verdicts still come, with a first line saying they may differ, and why."""
    from dynmem.verification.cli.commands import verify as verify_command
    from dynmem.verification.suite.checks import Check, Verdict
    monkeypatch.setattr(verify_command, "engine_versions",
                        lambda: (EngineVersion("hypothesis", "6.170.17", "6.155.2"),))
    monkeypatch.setattr(verify_command, "collect_checks",
                        lambda **_: [Check("one", "planted", lambda: Verdict(True, "fine"))])
    monkeypatch.setattr(verify_command, "select_sections", lambda c, _: c)
    assert main(["verify", "--json"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("verify: warning: verdicts were measured with the pinned engines;"
                             " installed hypothesis 6.155.2 (dynmem pins 6.170.17)"), err[0]
