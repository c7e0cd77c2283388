"""``dynmem --version``, ``dynmem specs`` and ``python -m dynmem`` (issue 16, packaging)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dynmem.verification import __version__
from dynmem.verification.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def test_version_is_the_one_of_pyproject(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the version pyproject reads from ``dynmem.verification``."""
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"dynmem {__version__} (hypothesis ")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "dynmem.verification.__version__" }' in pyproject


def test_specs_lists_pages_and_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    """The folder comes first, then every page and schema relative to it."""
    assert main(["specs"]) == 0
    folder, *files = capsys.readouterr().out.splitlines()
    assert (Path(folder) / "formats" / "oracle.md").is_file()
    names = [line.strip() for line in files]
    assert {"README.md", "formats/oracle.md", "formats/schemas/report.schema.json",
            "scenario.schema.json"} <= set(names)
    assert not any(name.endswith(".py") for name in names)


def test_specs_path_is_only_the_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["specs", "--path"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and Path(out.strip()).is_dir()


def test_python_m_dynmem_is_the_command(tmp_path: Path) -> None:
    """``python -m dynmem`` runs the same ``main`` (a ``__main__`` in the namespace package)."""
    done = subprocess.run([sys.executable, "-m", "dynmem", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"dynmem {__version__} ("), done.stdout
