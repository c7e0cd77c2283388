"""Attacks by a misbehaving implementation under test: answers the strict reader refuses.

An IUT that answers an event with a key given twice, JSON nested 100,000 deep, a 5000-digit
integer or a lone surrogate is at fault: the oracle reports it (exit 1, the report names the
problem) or refuses to go on (exit 2), never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fault_cases import expect_verdict, run_cli

POISONS = {
    "duplicate-key": '{"type": "observed", "type": "error", "observed": {}}',
    "deep": "[" * 100_000 + "]" * 100_000,
    "bigint": '{"type": "observed", "observed": {"free_mib": ' + "9" * 5000 + "}}",
    "surrogate": '{"type": "observed", "observed": {"vms": [{"name": "\\ud800"}]}}',
}

IUT = '''
import json, sys
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import _serve_one
iut = ReferenceSystem()
for line in sys.stdin:
    request = json.loads(line)
    answer = _serve_one(iut, request)
    if request.get("type") == "event":
        print(open(sys.argv[1]).read(), flush=True)
    elif answer is not None:
        print(json.dumps(answer), flush=True)
    else:
        break
'''


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_poisoned_answers_are_the_iuts_fault(poison: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "iut.py"
    script.write_text(IUT)
    (tmp_path / "poison.txt").write_text(POISONS[poison])
    command = f"{sys.executable} {script} {tmp_path / 'poison.txt'}"
    outcome = run_cli(capsys, ["oracle", "--iut", command, "--examples", "2", "--seed", "1"])
    expect_verdict(outcome, 1)
    assert "not usable JSON" in outcome.out or "not JSON" in outcome.out, outcome.out[-1500:]
