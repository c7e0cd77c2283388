"""``dynmem prove``: the table, JSON, exit codes (0 proved, 1 CTI/unknown, 2 bad usage)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dynmem.verification.cli.commands import prove
from dynmem.verification.cli.main import main
from dynmem.verification.symbolic.obligations import Obligation, ProofRun, Proved, Unknown


def test_prove_prints_the_table_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """Default run: N=2 and any N, a table row per invariant, PROVED, exit 0."""
    code = main(["prove", "--jobs", "1"])
    out = capsys.readouterr()
    assert "PROVED:" in out.out, out.out  # the output first: a failure shows what failed
    assert "dynmem prove: N = 2 VM slots" in out.out
    assert "dynmem prove: any number of VMs" in out.out
    assert "INV-CONSERVATION" in out.out
    assert "lemma L-OWNED-NONNEG (any N): proved" in out.out
    assert "[N=2 1143/1143]" in out.err  # progress goes to stderr
    assert code == 0


def test_prove_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one document with every obligation and its unsat core."""
    code = main(["prove", "--vms", "1", "--json"])
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert data["ok"], [o for r in data["runs"] for o in r["obligations"]
                        if o["status"] != "proved"]
    assert code == 0 and "Traceback" not in out.err  # progress on stderr, JSON on stdout
    assert out.err.splitlines()[-1].startswith("prove: PROVED, 593 obligations (")
    assert data["ok"] and [r["n_vms"] for r in data["runs"]] == [1]
    first = data["runs"][0]["obligations"][0]
    assert first["status"] == "proved" and first["core"] == ["Init"]
    assert "guard BalloonRequest: mib even" in data["support"]["unused_guards"]
    assert data["unit"] == "mib" and data["mutant"] is None


@pytest.mark.parametrize(("argv", "message"), [
    (["--vms", "0"], "--vms = 0: must be 1..512"),
    (["--rlimit", "0"], "--rlimit = 0: must be 1..4294967295"),
    (["--rlimit", "4294967296"], "--rlimit = 4294967296: must be 1..4294967295"),
    (["--jobs", "0"], "--jobs = 0: must be >= 1"),
])
def test_bad_usage_exits_2(argv: list[str], message: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    """Out-of-range options are a clear message and exit 2, never a traceback."""
    assert main(["prove", *argv]) == 2
    assert message in capsys.readouterr().err


def test_unknown_is_shown_and_exits_1(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown obligation is shown as ?? with its reason, never as proved: exit 1."""
    ob = Obligation("consecution", "INV-FLOOR", "Demand", 0, 1)
    fake = ProofRun(1, (Proved(Obligation("initiation", "INV-FLOOR", n_vms=1), 0.01),
                        Unknown(ob, 0.02, "Z3 answered unknown (canceled)")), 0.03)
    monkeypatch.setattr(prove, "check_inductive", lambda *a, **k: fake)
    assert main(["prove", "--vms", "1"]) == 1
    out = capsys.readouterr().out
    assert "UNKNOWN Demand at vm0 preserves INV-FLOOR (N=1): Z3 answered unknown" in out
    assert "  ??" in out and "NOT PROVED" in out


def test_cti_is_rendered_as_a_trace(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A CTI from a planted bug is printed with the event, the values and the blame."""
    from test_inductive import HOT_ADD_IGNORES_FREE

    from dynmem.verification.symbolic.inductive import check_inductive

    real = check_inductive
    monkeypatch.setattr(prove, "check_inductive",
                        lambda n, model, *a, **k: real(n, HOT_ADD_IGNORES_FREE, *a, **k))
    assert main(["prove", "--any-n", "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "CTI event HotAddRequest does not preserve INV-PHYSICAL" in out
    assert "✗ INV-PHYSICAL" in out or "x INV-PHYSICAL" in out


def test_starved_budget_is_unknown_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """``--rlimit 50`` starves every obligation: exit 1, each reported UNKNOWN with the
    budget and the flag that raises it (the message comes first, then the exit code)."""
    code = main(["prove", "--vms", "1", "--rlimit", "50", "--jobs", "1"])
    out = capsys.readouterr().out
    assert ("UNKNOWN initial states satisfy INV-TYPE (N=1): Z3 gave up on obligation "
            "'initial states satisfy INV-TYPE (N=1)' after 50 of its 50 rlimit units "
            "(budget exhausted") in out
    assert "undecided, not proved; raise it with --rlimit 500" in out
    assert "NOT PROVED" in out
    assert code == 1


def test_solver_processes_end_quietly() -> None:
    """A real ``dynmem prove`` with two solver processes: when the pool ends its workers
    (SIGTERM), none of them prints a traceback (they used to inherit the CLI's handler)."""
    done = subprocess.run([sys.executable, "-m", "dynmem.verification.cli", "prove",
                           "--vms", "1", "--jobs", "2"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Terminated" not in done.stderr, done.stderr
