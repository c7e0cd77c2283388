"""README.md stays true: its test command is the one CI runs, its commands exist, and the
scenario output it shows is what ``dynmem simulate`` prints today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dynmem.verification.cli.main import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _ci_command() -> str:
    """The command line of ``.ci/run`` (what is left after comments, ``set`` and ``cd``)."""
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in lines if line and not line.startswith(("#", "set ", "cd "))]
    assert len(commands) == 1, commands
    return commands[0]


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)\n```", README, flags=re.DOTALL)


def test_readme_test_command_is_what_ci_runs() -> None:
    """The README's test command is exactly the line ``.ci/run`` runs."""
    command = _ci_command()
    assert command == "python3 -m pip install -q -e '.[test]' && bash tests/check.sh"
    assert command in [block.strip() for block in _code_blocks("bash")]


def test_readme_install_and_verify_command() -> None:
    assert "python3 -m pip install -e . && dynmem verify" in [
        block.strip() for block in _code_blocks("bash")]


def test_readme_names_only_existing_commands() -> None:
    """Every ``dynmem WORD`` in the README is a registered subcommand."""
    named = set(re.findall(r"`dynmem ([a-z][a-z-]*)", README))
    named.discard("COMMAND")
    assert named, "the README lists no commands"
    registered = {name for name, _, _ in COMMANDS}
    assert named <= registered, named - registered


def test_readme_scenario_output_is_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The README's scenario, run now, prints exactly the output the README shows (if this
    fails after a change to the renderer or the policy, re-run it and paste the output)."""
    script = next(b for b in _code_blocks("bash") if "<<'EOF'" in b)
    name, scenario = re.fullmatch(r"cat > (\S+) <<'EOF'\n(.*)\nEOF\ndynmem simulate \1",
                                  script, flags=re.DOTALL).groups()  # type: ignore[union-attr]
    (tmp_path / name).write_text(scenario + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", name]) == 0
    shown = _code_blocks("text")[0]
    assert capsys.readouterr().out.rstrip("\n") == shown


def test_readme_python_api_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python API example runs as written (its asserts hold), beside the README's
    scenario file and the shipped sample log."""
    block = next(b for b in re.findall(r"```python\n(.*?)\n```", README, flags=re.DOTALL)
                 if "check_iut(" in b and "dynmem_oracle" not in b)
    script = next(b for b in _code_blocks("bash") if "<<'EOF'" in b)
    scenario = script.split("<<'EOF'\n", 1)[1].split("\nEOF", 1)[0]
    (tmp_path / "two-vms.json").write_text(scenario + "\n", encoding="utf-8")
    (tmp_path / "examples").mkdir()
    log = "examples/sample_host.log.jsonl"
    (tmp_path / log).write_text((ROOT / log).read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md (Python API)", "exec"), {})
