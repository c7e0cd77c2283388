"""``check-trace``: recorded logs are judged like a system IUT in refinement mode; the fast
path is equivalent to the full check (same verdict, line, class and message) on clean logs,
logs with planted faults and logs of buggy systems (specs/formats/oracle.md §5)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from oracle_helpers import load_example

import dynmem.verification.oracle.checktrace as checktrace
from dynmem.model.concrete_steps import is_allowed
from dynmem.verification.cli.main import main
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.checktrace import check_log
from dynmem.verification.oracle.loggen import log_initial, simulate_log
from dynmem.verification.oracle.logwriter import format_log
from dynmem.verification.traces import render_text

IS_ALLOWED = is_allowed


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


def _verdict(lines: list[str], fast: bool, relation: object = IS_ALLOWED) -> tuple[object, ...]:
    """Everything check-trace reports: events, line, class, headline, diff, violations and
    the readable window of the last steps."""
    result = check_log(lines, "log", relation, fast=fast)  # type: ignore[arg-type]
    d = result.divergence
    window = render_text(result.window) if result.window is not None else None
    return (result.events, result.line, d.cls if d else None, d.headline() if d else None,
            d.diff if d else None, d.violations if d else None, window)


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


# --- the fast path's shortcuts, each against the full check ----------------------------------


def _mutate_tick(lines: list[str], rng: random.Random) -> list[str]:
    """Plant one fault in a tick that sends requests: a request dropped, doubled, changed,
    sent to an unknown VM, or the tick marked rejected."""
    out = list(lines)
    ticks = [i for i, line in enumerate(out) if i and '"sent"' in line]
    index = rng.choice(ticks)
    entry = json.loads(out[index])
    sent = entry["sent"]
    how = rng.randrange(5)
    if how == 0:
        sent.pop(rng.randrange(len(sent)))
    elif how == 1:
        sent.append(dict(sent[0]))
    elif how == 2:
        rng.choice(sent)["mib"] += 2
    elif how == 3:
        sent.append({"kind": "balloon_request", "vm": "ghost", "mib": 2})
    else:
        entry["rejected"] = "busy"
    out[index] = json.dumps(entry)
    return out


@pytest.mark.parametrize("relation", ["model", "rules"])
@pytest.mark.parametrize("seed", range(8))
def test_fast_path_equals_full_check_on_faulty_ticks(seed: int, relation: str) -> None:
    """A tick's requests are certified one by one (R-TICK); a wrong tick fails identically,
    with the model and with the rules (no model)."""
    lines = _mutate_tick(_log(500, seed=seed + 40), random.Random(seed))
    is_allowed = IS_ALLOWED if relation == "model" else None
    fast, full = _verdict(lines, True, is_allowed), _verdict(lines, False, is_allowed)
    assert fast == full and fast[2] is not None


@pytest.mark.parametrize("seed", range(6))
def test_fast_path_equals_full_check_without_the_model(seed: int) -> None:
    """Without the model's relation the rules judge; the fast path follows them."""
    lines = _mutate(_log(400, seed=seed + 20), random.Random(seed))
    assert _verdict(lines, True, None) == _verdict(lines, False, None)


def _reordered(lines: list[str], rng: random.Random) -> list[str]:
    """The same log with the VMs listed in another order and every object's keys shuffled."""
    def shuffle(value: object) -> object:
        if isinstance(value, dict):
            items = list(value.items())
            rng.shuffle(items)
            return {k: shuffle(v) for k, v in items}
        if isinstance(value, list):
            return [shuffle(v) for v in value]
        return value

    out = [lines[0]]
    for line in lines[1:]:
        entry = json.loads(line)
        entry["observed"]["vms"].reverse()
        out.append(json.dumps(shuffle(entry)))
    return out


def test_vm_order_and_key_order_do_not_matter() -> None:
    """Rule O1: VMs in any order (and JSON keys in any order): same verdicts, and the fast
    path still certifies the steps."""
    rng = random.Random(8)
    lines = _reordered(_log(1500, seed=8), rng)
    result = check_log(lines, "log", IS_ALLOWED)
    assert result.divergence is None and result.fast > 0.9 * result.events
    faulty = _mutate(lines, rng)
    assert _verdict(faulty, True) == _verdict(faulty, False)


def test_the_first_entry_is_always_fully_checked() -> None:
    """The header's state is not known to satisfy the invariants: a header whose last VM
    breaks INV-CONFIG fails at line 2 on both paths, though no entry touches that VM."""
    lines = _log(20, seed=1)
    header = json.loads(lines[0])
    header["initial"]["vms"][-1]["settings"]["weight"] = 20000
    lines[0] = json.dumps(header)
    fast, full = _verdict(lines, True), _verdict(lines, False)
    assert fast == full and fast[1] == 2 and "INV-CONFIG" in str(fast[3])


@pytest.mark.parametrize(("old", "new"), [
    ('"visible_mib": 1024', '"visible_mib": 1024.0'),
    ('"txn_mib": 0', '"txn_mib": false'),
    ('"free_mib": ', '"free_mib": 1e400, "x": '),
    ('"committed_mib": ', '"committed_mib": 18446744073709551616, "x": '),
    ('"committed_mib": ', '"committed_mib": NaN, "x": '),
    ('"vm": "vm1"', '"vm": "vm1", "vm": "vm1"'),
    ('"ballooned_mib": 0', '"ballooned_mib": -0'),
    ('"observed": {', '"observed": {"extra": [1], '),
])
def test_odd_json_gets_the_same_answer_on_both_paths(old: str, new: str) -> None:
    """The fast path parses with orjson but leaves anything it does not fully validate to the
    full check (standard-library parser): floats, booleans for ints, huge ints, NaN,
    duplicate keys get the same error or verdict as without the fast path."""
    lines = _log(120, seed=6)
    hits = [i for i, line in enumerate(lines) if i > 60 and old in line]
    lines[hits[0]] = lines[hits[0]].replace(old, new, 1)

    def outcome(fast: bool) -> object:
        try:
            return _verdict(lines, fast)
        except InputError as err:
            return str(err)

    assert outcome(True) == outcome(False)
    json.loads(lines[hits[0]])  # the standard library reads every one of these lines,
    assert "is not JSON" not in str(outcome(True))  # so neither path calls it unreadable


def test_tiny_caches_give_the_same_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Caches cleared every few lines (memo, interned values, reused lines) change nothing."""
    monkeypatch.setattr(checktrace, "MEMO_LIMIT", 8)
    monkeypatch.setattr(checktrace, "LINE_CACHE_CHARS", 2000)
    for seed in range(3):
        lines = _mutate(_log(600, seed=seed + 30), random.Random(seed))
        assert _verdict(lines, True) == _verdict(lines, False)


def test_a_planted_fast_path_bug_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The equivalence tests are sharp: a fast path that forgets to compare the VMs an event
    does not name certifies faulty steps, and the planted-fault comparison sees it."""
    monkeypatch.setattr(checktrace.LogChecker, "_others_unchanged", lambda *args: True)
    differ = 0
    for seed in range(12):
        lines = _mutate(_log(400, seed=seed, vms=2 + seed % 3), random.Random(seed))
        differ += _verdict(lines, True) != _verdict(lines, False)
    assert differ > 0
