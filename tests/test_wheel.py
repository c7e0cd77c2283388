"""The wheel works outside the source tree (issue 16, packaging).

``pip wheel . --no-deps`` builds it from a copy of the sources; it is installed into a fresh
virtual environment whose dependencies come from the running interpreter's site-packages
(a ``.pth`` file naming them: nothing is downloaded, and the editable install of the sources
stays invisible, since ``.pth`` files inside those folders are not processed); then the
installed ``dynmem`` runs from a temporary folder: ``--version``, ``python -m dynmem``, the
scenarios section of ``verify`` and ``specs``, all from the installed copy.
"""

from __future__ import annotations

import re
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from dynmem.verification import __version__

ROOT = Path(__file__).resolve().parents[1]
# What the wheel is built from (pyproject's package-dir folders and the files it names).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "dynmem", "model", "reference",
           "verification", "specs")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in ``cwd``; fail with its output if it exits non-zero."""
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done


def build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of the sources (so the build leaves nothing in the tree)."""
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=IGNORED)
        else:
            shutil.copy2(path, source / name)
    run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(tmp / "dist")],
        cwd=source)
    (wheel,) = (tmp / "dist").glob("dynmem-*.whl")
    return wheel


def make_venv(tmp: Path) -> Path:
    """A fresh venv that sees this interpreter's dependencies but not its dynmem."""
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    python = venv / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                  cwd=tmp).stdout.strip()
    ours = {*site.getsitepackages(), sysconfig.get_path("purelib")}
    (Path(purelib) / "outer_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv


@pytest.mark.slow
def test_the_wheel_runs_outside_the_tree(tmp_path: Path) -> None:
    """Built, installed and run away from the sources: every command answers from the wheel."""
    wheel = build_wheel(tmp_path)
    venv = make_venv(tmp_path)
    python, dynmem = str(venv / "bin" / "python"), str(venv / "bin" / "dynmem")
    run([python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
        cwd=tmp_path)
    away = tmp_path / "elsewhere"
    away.mkdir()
    where = run([python, "-c", "import dynmem.verification as v; print(v.__file__)"], cwd=away)
    assert where.stdout.startswith(str(venv)), where.stdout  # the installed copy, not the tree
    version = run([dynmem, "--version"], cwd=away).stdout  # engines read from the wheel's pins
    assert version.startswith(f"dynmem {__version__} (hypothesis "), version
    assert "warning" not in version, version
    assert run([python, "-m", "dynmem", "--version"], cwd=away).stdout.startswith("dynmem ")
    verified = run([dynmem, "verify", "--section", "scenarios", "--html", "v.html"],
                   cwd=away).stdout
    assert re.search(r"^verify: ok, (\d+)/\1 checks passed", verified, re.M), verified
    # the page's templates are package data: rendered from the installed copy
    assert f"dynmem {__version__}" in (away / "v.html").read_text("utf-8")
    specs = Path(run([dynmem, "specs", "--path"], cwd=away).stdout.strip())
    assert specs.is_relative_to(venv), specs
    assert (specs / "formats" / "oracle.md").is_file()
    assert (specs / "formats" / "schemas" / "report.schema.json").is_file()
    assert (specs / "scenario.schema.json").is_file()
    assert (Path(where.stdout.strip()).parent / "scenarios" / "exchange-squeeze.json").is_file()
    licence = list(venv.glob("lib/python*/site-packages/dynmem-*.dist-info/**/LICENSE*"))
    assert licence, "the wheel carries no LICENSE"
