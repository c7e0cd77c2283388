"""An IUT that crashes, hangs, prints garbage, breaks the schema or exits early gets a clear
``protocol`` verdict, never a hang or a traceback, and its whole process group is killed
(specs/formats/oracle.md Rules P6, P7)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from oracle_helpers import PYTHON, two_vm_host

from dynmem.reference.events import Start
from dynmem.verification.cli.main import main
from dynmem.verification.oracle.iut import IutUnusable
from dynmem.verification.oracle.judge import PROTOCOL, run_case
from dynmem.verification.oracle.wire import SubprocessIut

HELLO = ('{"type": "hello", "protocol": 1, "name": "t", '
         '"capabilities": {"kinds": ["system"]}}')

# Each fake IUT answers hello and reset, then misbehaves at its first event.
PREAMBLE = f"""
import json, sys, os, subprocess
def say(obj):
    sys.stdout.write(obj + "\\n"); sys.stdout.flush()
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "hello": say('{HELLO}')
    elif msg["type"] == "reset": say('{{"type": "ready"}}')
    else:
"""

BEHAVIOURS = {
    "crash": ("        sys.exit(3)", "crash"),
    "exit": ("        sys.exit(0)", "exit"),
    "malformed": ("        say('{not json')", "malformed"),
    "schema": ("        say('{\"type\": \"observed\", \"observed\": {\"free_mib\": 1}}')",
               "schema"),
    "wrong_type": ("        say('{\"type\": \"plan\", \"requests\": []}')", "schema"),
    "error": ("        say('{\"type\": \"error\", \"message\": \"cannot\"}')", "error"),
    "hang": ("        import time; time.sleep(60)", "timeout"),
}


def _write_iut(tmp_path: Path, body: str) -> str:
    path = tmp_path / "iut.py"
    path.write_text(PREAMBLE + body + "\n")
    return f"{PYTHON} {path}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose; read its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_misbehaving_iut_gets_a_protocol_verdict(tmp_path: Path, behaviour: str) -> None:
    """Each misbehaviour is classified, with the trace up to it, and nothing is left running."""
    body, detail = BEHAVIOURS[behaviour]
    driver = SubprocessIut(_write_iut(tmp_path, body), timeout=30)  # starting, on a busy machine
    driver.hello("system", "refinement")
    driver.timeout = 2  # a hang is then noticed soon; the others answer in milliseconds
    try:
        result = run_case(driver, "system", "refinement", two_vm_host(), [Start("hi")])
    finally:
        driver.close()
    d = result.divergence
    assert d is not None and (d.cls, d.detail) == (PROTOCOL, detail)
    assert d.step == 1 and result.events == (Start("hi"),)
    assert not any(_alive(pid) for pid in driver.pids)


def test_grandchildren_are_killed_too(tmp_path: Path) -> None:
    """A hanging IUT that spawned a child: both are gone after the verdict (process group)."""
    marker = tmp_path / "child.pid"
    body = (f"        p = subprocess.Popen(['sleep', '300']); open({str(marker)!r}, 'w')"
            ".write(str(p.pid)); time = __import__('time'); time.sleep(60)")
    driver = SubprocessIut(_write_iut(tmp_path, body), timeout=30)
    driver.hello("system", "refinement")
    driver.timeout = 2
    try:
        result = run_case(driver, "system", "refinement", two_vm_host(), [Start("hi")])
    finally:
        driver.close()
    assert result.divergence is not None and result.divergence.detail == "timeout"
    child = int(marker.read_text())
    deadline = time.monotonic() + 30  # ends as soon as it is gone; generous under load
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_close_kills_an_iut_that_ignores_bye(tmp_path: Path) -> None:
    """``close`` waits the grace period, then kills an IUT that does not exit."""
    path = tmp_path / "stubborn.py"
    path.write_text("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                    "time.sleep(60)\n")
    driver = SubprocessIut(f"{PYTHON} {path}", timeout=0.5, grace=0.2)
    with pytest.raises(Exception):  # noqa: B017 - any fault: it never answers hello
        driver.hello("system", "refinement")
    driver.close()
    assert not any(_alive(pid) for pid in driver.pids)


def test_missing_command_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    """An IUT command that does not exist is a usage error (exit 2), not an IUT fault."""
    code = main(["oracle", "--iut", "/nonexistent/iut --flag", "--examples", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot run the IUT" in err and "Traceback" not in err


def test_wrong_protocol_or_kind_is_bad_usage(tmp_path: Path) -> None:
    """An IUT speaking protocol 2, or lacking the kind, does not fit: IutUnusable (exit 2)."""
    v2 = tmp_path / "v2.py"
    v2.write_text("import sys\nfor line in sys.stdin:\n    print('{\"type\": \"hello\", "
                  "\"protocol\": 2, \"capabilities\": {\"kinds\": [\"system\"]}}', flush=True)\n")
    assert main(["oracle", "--iut", f"{PYTHON} {v2}", "--examples", "1"]) == 2
    assert main(["oracle", "--iut", f"{PYTHON} {v2}", "--kind", "policy",
                 "--examples", "1"]) == 2
    with pytest.raises(IutUnusable):
        from dynmem.verification.oracle.iut import Hello, check_hello
        check_hello(Hello("x", ("system",)), "policy")


def test_cli_reports_a_crash_with_exit_1(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Through the CLI, a crashing IUT gives exit 1, a protocol report and no traceback."""
    body, _ = BEHAVIOURS["crash"]
    out = tmp_path / "out"
    code = main(["oracle", "--iut", _write_iut(tmp_path, body), "--examples", "5",
                 "--seed", "1", "--shrink-replays", "300", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    report = json.loads((out / "report.json").read_text())
    assert (report["class"], report["detail"]) == ("protocol", "crash")
    assert "protocol fault (crash)" in captured.out
