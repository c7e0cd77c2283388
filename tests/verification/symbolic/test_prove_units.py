"""``dynmem prove --unit page``: every obligation proved with amounts in 4 KiB pages, and
the planted bugs only pages show caught there and nowhere else (specs/proofs.md §7)."""

from __future__ import annotations

import json

import pytest

from dynmem.model.units import MIB, PAGES
from dynmem.verification.cli.main import main
from dynmem.verification.mutants.model_edits import MODEL_MUTANTS
from dynmem.verification.mutants.unit_edits import UNIT_MUTANTS
from dynmem.verification.symbolic.inductive import check_inductive
from dynmem.verification.symbolic.obligations import Model
from tests.helpers.cli_errors import assert_usage_error


@pytest.mark.parametrize(("n_vms", "count"), [(2, 1143), (None, 595)])
def test_every_obligation_is_proved_in_pages(n_vms: int | None, count: int) -> None:
    run = check_inductive(n_vms, Model(units=PAGES))
    assert run.ok and len(run.outcomes) == count, [o for o in run.outcomes
                                                   if o.status != "proved"]


@pytest.mark.parametrize("name", sorted(UNIT_MUTANTS))
@pytest.mark.parametrize("n_vms", [2, None])
def test_page_count_bugs_are_caught_in_pages_only(name: str, n_vms: int | None) -> None:
    """In MiB the edit changes nothing (answers are whole units), so the proof passes; in
    pages it has a CTI on the invariant the bug names, and no unknown."""
    mutant = UNIT_MUTANTS[name]
    assert check_inductive(n_vms, Model(actions=mutant.apply(), units=MIB)).ok
    run = check_inductive(n_vms, Model(actions=mutant.apply(), units=PAGES))
    broken = {o.obligation.invariant for o in run.outcomes if o.status == "cti"}
    assert broken == {mutant.invariant} and run.count("unknown") == 0


def test_cli_proves_in_pages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--unit", "page", "--any-n", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["unit"] == "page" and data["runs"][0]["proved"] == 595


def test_cli_shows_a_page_cti_in_pages_and_mib(capsys: pytest.CaptureFixture[str]) -> None:
    """The counterexample names the event and each changed field in pages and MiB."""
    argv = ["prove", "--unit", "page", "--any-n", "--mutant", "hot_add_returns_stranded_tail"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "planted bug hot_add_returns_stranded_tail" in out
    assert "CTI event HotAddResponse does not preserve INV-CONSERVATION" in out
    assert "fields named *_mib hold pages here" in out and "  changed:" in out
    assert "vm0.visible_mib: " in out and " MiB) -> " in out and "NOT PROVED" in out


def test_cli_proves_a_model_bug_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """--mutant takes the model-level planted bugs too: the proof of the buggy model fails."""
    assert main(["prove", "--vms", "2", "--mutant", "hot_add_ignores_reserve"]) == 1
    assert "CTI event HotAddRequest at vm0 does not preserve INV-PHYSICAL" in (
        capsys.readouterr().out)
    assert "hot_add_ignores_reserve" in MODEL_MUTANTS


@pytest.mark.parametrize(("argv", "words"), [
    (["prove", "--unit", "page", "--pages"], "--unit = 'page': does not apply with --pages"),
    (["prove", "--unit", "page", "--triage"], "--unit = 'page': does not apply with --triage"),
    (["prove", "--mutant", "no_such_bug"], "is no model-level planted bug"),
    (["prove", "--mutant", "hot-add-ignoring-alignment"], "is a page bug"),
])
def test_cli_bad_usage(capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    assert_usage_error(capsys, argv, words)


def test_cli_unknown_unit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["prove", "--unit", "kib"])
    assert exit_.value.code == 2
    assert "invalid choice: 'kib' (choose from 'mib', 'page')" in capsys.readouterr().err
