"""``check-trace``: recorded logs are judged like a system IUT in refinement mode; the fast
path is equivalent to the full check (same verdict, line, class and message) on clean logs,
logs with planted faults and logs of buggy systems (specs/formats/oracle.md §5)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from oracle_helpers import load_example

import dynmem.verification.checktrace as checktrace
from dynmem.verification.checktrace import check_log, format_log
from dynmem.verification.cli import main
from dynmem.verification.errors import InputError
from dynmem.verification.loggen import log_initial, simulate_log
from dynmem.verification.oracle import load_is_allowed

IS_ALLOWED = load_is_allowed()


def _log(events: int, seed: int, vms: int = 3, step_fn: object = None) -> list[str]:
    initial = log_initial(vms)
    kwargs = {"step_fn": step_fn} if step_fn is not None else {}
    return list(format_log(initial, simulate_log(initial, events, seed, **kwargs)))


def _mutate(lines: list[str], rng: random.Random) -> list[str]:
    """Plant one fault in a random entry: a wrong amount, a lost VM, a stray request..."""
    out = list(lines)
    index = rng.randrange(1, len(out))
    entry = json.loads(out[index])
    vms = entry["observed"]["vms"]
    vm = rng.choice(vms)
    how = rng.randrange(7)
    if how == 0:
        entry["observed"]["free_mib"] += rng.choice((-2, 2, 1024))
    elif how == 1:
        vm["visible_mib"] += 2
        vm["assigned_mib"] += 2
    elif how == 2:
        vm["ballooned_mib"] += 2
        vm["assigned_mib"] -= 2
    elif how == 3:
        vm["txn"], vm["txn_mib"] = "hot_add", 2
    elif how == 4:
        entry["sent"] = [{"kind": "hot_add_request", "vm": vm["name"], "mib": 2}]
    elif how == 5:
        entry["rejected"] = "refused"
    else:
        vms.remove(vm)
    out[index] = json.dumps(entry)
    return out


def _verdict(lines: list[str], fast: bool) -> tuple[object, ...]:
    result = check_log(lines, "log", IS_ALLOWED, fast=fast)
    d = result.divergence
    return (result.events, result.line, d.cls if d else None, d.headline() if d else None)


def test_clean_log_conforms_and_the_fast_path_does_the_work() -> None:
    """A log of the reference conforms; the fast path certifies most of its steps."""
    lines = _log(3000, seed=5)
    result = check_log(lines, "log", IS_ALLOWED)
    assert result.divergence is None and result.events == 3000
    assert result.fast > 0.7 * result.events


@pytest.mark.parametrize("seed", range(12))
def test_fast_path_equals_full_check_on_planted_faults(seed: int) -> None:
    """With one planted fault, both paths stop at the same line with the same message."""
    rng = random.Random(seed)
    lines = _mutate(_log(400, seed=seed, vms=2 + seed % 3), rng)
    fast, full = _verdict(lines, True), _verdict(lines, False)
    assert fast == full


@pytest.mark.parametrize("bug", ["taken_without_response", "overcommit_in_flight",
                                 "starts_without_free"])
def test_logs_of_buggy_systems_fail_identically(bug: str) -> None:
    """A log recorded from a buggy system fails, with the same verdict on both paths."""
    iut = load_example(f"buggy_iuts/{bug}.py").make_iut()
    lines = _log(1500, seed=1, vms=4, step_fn=iut.step_fn)
    if bug == "starts_without_free":  # a start the host must refuse: too many VMs
        lines = _log(50, seed=1, vms=16, step_fn=iut.step_fn)
    fast, full = _verdict(lines, True), _verdict(lines, False)
    assert fast == full and fast[2] == "invariant"


def test_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo is cleared at its bound (constant memory), without changing the verdict."""
    monkeypatch.setattr(checktrace, "MEMO_LIMIT", 16)
    lines = _mutate(_log(800, seed=3), random.Random(3))
    checker_verdict = _verdict(lines, True)
    assert checker_verdict == _verdict(lines, False)


def test_cli_reports_the_first_violation_with_context(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`dynmem check-trace` prints the line, class, diff and the readable window; exit 1."""
    lines = _log(200, seed=2)
    entry = json.loads(lines[150])
    entry["observed"]["free_mib"] += 1024
    lines[150] = json.dumps(entry)
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(lines) + "\n")
    assert main(["check-trace", str(log)]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION at line 151" in out and "INV-CONSERVATION" in out
    assert "the last 8 steps" in out and "verdict:" in out
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(_log(100, seed=2)) + "\n")
    assert main(["check-trace", str(good), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


@pytest.mark.parametrize(("text", "where"), [
    ("", "empty"),
    ('{"type": "header"}', "line 1"),
    ("HEADER\n{}", "line 1"),
])
def test_unreadable_logs_are_input_errors(tmp_path: Path, text: str, where: str) -> None:
    """A bad header or an empty file: exit 2 with a message naming where."""
    log = tmp_path / "bad.jsonl"
    log.write_text(text)
    with pytest.raises(InputError, match=where):
        check_log(log.read_text().splitlines(), str(log), None)
    assert main(["check-trace", str(log)]) == 2


def test_bad_entry_names_line_and_field(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed entry is reported with its line number and field path (exit 2)."""
    lines = _log(20, seed=1)
    entry = json.loads(lines[5])
    entry["observed"]["vms"][0]["txn"] = "ballon"
    lines[5] = json.dumps(entry)
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(lines))
    assert main(["check-trace", str(log), "--no-fast"]) == 2
    err = capsys.readouterr().err
    assert "line 6.observed.vms[0].txn = 'ballon'" in err
