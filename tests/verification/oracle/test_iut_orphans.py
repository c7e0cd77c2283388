"""No IUT process outlives its session, and the IUT's stderr costs bounded memory
(issue 11 item 4; specs/formats/oracle.md Rule P7).

One test per way out: a child that calls ``setsid()`` (and one that double-forks, so the
harness adopts it as child subreaper), an ``sh -c "python3 iut.py; sleep 299"`` wrapper
ended by SIGTERM to ``dynmem oracle``, an IUT and child that ignore SIGTERM, and an IUT that
floods stderr. Each checks by pid that nothing survives.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from oracle_helpers import PYTHON, ROOT

from dynmem.verification.oracle import reaper
from dynmem.verification.oracle.iut import IutFault
from dynmem.verification.oracle.reaper import MARKER, become_subreaper
from dynmem.verification.oracle.wire import STDERR_KEEP_BYTES, STDERR_TAIL_BYTES, SubprocessIut

HELLO = ('{"type": "hello", "protocol": 1, "name": "t", '
         '"capabilities": {"kinds": ["system"]}}')
SERVE = f"""
import json, os, subprocess, sys, time
def say(obj):
    sys.stdout.write(obj + "\\n"); sys.stdout.flush()
def serve():
    for line in sys.stdin:
        kind = json.loads(line)["type"]
        if kind == "hello": say('{HELLO}')
        elif kind == "reset": say('{{"type": "ready"}}')
        elif kind == "bye": return
"""
# A detached sleeper: its own session, SIGTERM ignored; it writes its pid to argv[1].
SLEEPER = ("import os, signal, sys, time\nos.setsid()\n"
           "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
           "open(sys.argv[1], 'w').write(str(os.getpid()))\ntime.sleep(299)\n")
# Starts a sleeper and exits at once: the sleeper's parent is gone (a double fork).
SPAWNER = ("import subprocess, sys\n"
           "subprocess.Popen([sys.executable, sys.argv[1], sys.argv[2]])\n")


def _scripts(tmp_path: Path) -> tuple[str, str]:
    sleeper, spawner = tmp_path / "sleeper.py", tmp_path / "spawner.py"
    sleeper.write_text(SLEEPER)
    spawner.write_text(SPAWNER)
    return str(sleeper), str(spawner)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie is dead for our purpose)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _pid_from(path: Path) -> int:
    """The pid a test process wrote to ``path`` (it has, once the IUT answered)."""
    for _ in range(6000):  # a bounded count of short waits; no verdict rests on time
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.01)
    raise AssertionError(f"{path} was never written")


def _iut(tmp_path: Path, body: str) -> str:
    path = tmp_path / "iut.py"
    path.write_text(SERVE + body + "\n")
    return f"{PYTHON} {path}"


pytestmark = pytest.mark.skipif(not become_subreaper(), reason="needs Linux /proc and prctl")


def test_setsid_and_double_forked_children_end_with_the_session(tmp_path: Path) -> None:
    """A child in its own session and a double-forked grandchild (its parent gone, so the
    harness adopts it) both survive a group kill; the session's end finds and ends them."""
    one, two = tmp_path / "setsid.pid", tmp_path / "orphan.pid"
    sleeper, spawner = _scripts(tmp_path)
    body = (f"subprocess.Popen([sys.executable, {sleeper!r}, {str(one)!r}])\n"
            f"subprocess.run([sys.executable, {spawner!r}, {sleeper!r}, {str(two)!r}])\n"
            "serve()")
    driver = SubprocessIut(_iut(tmp_path, body), timeout=30)
    try:
        assert driver.hello("system", "refinement").name == "t"
        pids = [_pid_from(one), _pid_from(two)]
        assert all(_alive(pid) for pid in pids)
    finally:
        driver.close()
    survivors = [pid for pid in pids if _alive(pid)]
    assert survivors == [], f"left running: {survivors}"


def test_iut_and_child_that_ignore_sigterm_are_ended(tmp_path: Path) -> None:
    """An IUT that ignores SIGTERM and never answers, with a detached child that ignores it
    too: a timeout verdict, then neither survives."""
    child = tmp_path / "child.pid"
    sleeper, _ = _scripts(tmp_path)
    body = ("import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"subprocess.Popen([sys.executable, {sleeper!r}, {str(child)!r}])\n"
            f"open({str(tmp_path / 'iut.pid')!r}, 'w').write(str(os.getpid()))\n"
            "time.sleep(299)")
    driver = SubprocessIut(_iut(tmp_path, body), timeout=2, grace=0.2)
    with pytest.raises(IutFault) as fault:
        driver.hello("system", "refinement")
    pids = [_pid_from(tmp_path / "iut.pid"), _pid_from(child)]
    driver.close()
    assert fault.value.detail == "timeout"
    assert [pid for pid in pids if _alive(pid)] == []


def test_stderr_flood_is_kept_in_bounded_memory(tmp_path: Path) -> None:
    """64 MiB on stderr before each answer: the IUT is served (no pipe stall), only the
    last bytes are kept in memory (no temporary file), and a crash shows the last 2 KiB."""
    body = ("chunk = b'x' * 65536\n"
            "for _ in range(1024): sys.stderr.buffer.write(chunk)\n"
            "sys.stderr.buffer.write(b'END OF FLOOD\\n'); sys.stderr.flush()\n"
            "for line in sys.stdin:\n"
            "    say('" + HELLO + "')\n"
            "    for _ in range(1024): sys.stderr.buffer.write(chunk)\n"
            "    sys.stderr.buffer.write(b'dying now\\n'); sys.stderr.flush(); sys.exit(7)")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    driver = SubprocessIut(_iut(tmp_path, body), timeout=60)
    try:
        assert driver.hello("system", "refinement").name == "t"
        with pytest.raises(IutFault) as fault:
            driver.hello("system", "refinement")
        pid = driver.pids[-1]
    finally:
        driver.close()
    tail = fault.value.stderr_tail
    assert tail.endswith("dying now\n") and len(tail) <= STDERR_TAIL_BYTES, tail[-200:]
    assert fault.value.detail == "crash"
    assert driver.stderr_seen >= 2 * 64 * 2**20  # the whole flood went through the pipe
    assert driver.stderr_kept <= 2 * STDERR_KEEP_BYTES + 65536
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown < 64 * 1024, f"peak memory grew by {grown} KiB"
    assert not _alive(pid)


def test_sigterm_to_oracle_ends_an_sh_wrapper_and_exits_143(tmp_path: Path) -> None:
    """SIGTERM to ``dynmem oracle --iut "sh -c 'python3 iut.py; sleep 299'"`` mid-run: a
    message, exit 143, and no process carrying the run's token is left (sh, python, sleep)."""
    started = tmp_path / "iut.pid"
    iut = tmp_path / "iut.py"
    iut.write_text(f"import os\nopen({str(started)!r}, 'w').write(str(os.getpid()))\n"
                   "from dynmem.verification.oracle.reference_iut import ReferenceSystem\n"
                   "from dynmem.verification.oracle.wire import serve_jsonl\n"
                   "serve_jsonl(ReferenceSystem())\n")
    token = uuid.uuid4().hex
    env = dict(os.environ, DYNMEM_TEST_TOKEN=token)
    proc = subprocess.Popen(
        [PYTHON, "-m", "dynmem.verification.cli", "oracle", "--iut",
         f"sh -c '{PYTHON} {iut}; sleep 299'", "--examples", "1000000", "--seed", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _pid_from(started)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "dynmem: terminated (SIGTERM)" in err and "Traceback" not in err, err
    assert proc.returncode == 143, (out, err)
    assert _with_token(token) == []


def _with_token(token: str) -> list[int]:
    """Live processes whose environment carries ``DYNMEM_TEST_TOKEN=token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"DYNMEM_TEST_TOKEN={token}".encode() in environ.split(b"\0") and \
                _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_the_session_marker_is_set_for_the_iut(tmp_path: Path) -> None:
    """Every IUT process carries its session's marker (what finds a detached child)."""
    seen = tmp_path / "marker"
    body = f"open({str(seen)!r}, 'w').write(os.environ.get({MARKER!r}, ''))\nserve()"
    driver = SubprocessIut(_iut(tmp_path, body), timeout=30)
    try:
        driver.hello("system", "refinement")
    finally:
        driver.close()
    assert seen.read_text().startswith(f"{os.getpid()}-")


def test_an_orphan_handed_over_after_an_empty_listing_is_still_ended(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race behind a flaky run: a killed IUT hands its detached child to the harness
    while the harness reads the process tree, so one listing finds nothing. The sweep ends
    only after a second empty listing, which sees the orphan (here: listings replayed)."""
    sleeper = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(299)"])
    listings = iter([[], [sleeper.pid], [], []])
    monkeypatch.setattr(reaper, "get_members", lambda root, marker: next(listings, []))
    try:
        assert reaper.end_session(root=sleeper.pid + 10**6, marker="m") == 1
        assert not _alive(sleeper.pid)  # killed, and reaped by the sweep
    finally:
        sleeper.kill()
