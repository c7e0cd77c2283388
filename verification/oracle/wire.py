"""The JSON Lines wire (specs/formats/oracle.md §2): drive a program that speaks it, or speak it.

:class:`SubprocessIut` drives any program through stdin/stdout; it runs in its own process
group, which is always killed when the driver closes or gives up. :func:`serve_jsonl` turns
a Python IUT object into a protocol speaker.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

from dynmem.reference.events import DmRequest, Event
from dynmem.reference.state import DmState
from dynmem.verification.codec import (
    event_from_json,
    event_to_json,
    load_json,
    state_from_json,
    state_to_json,
)
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.iut import (
    PROTOCOL_VERSION,
    FaultDetail,
    Hello,
    IutFault,
    IutUnusable,
    Kind,
    Mode,
    Observed,
    PolicyIut,
    SystemIut,
)
from dynmem.verification.oracle.observation import (
    observation_from_json,
    observation_to_json,
    requests_from_json,
    view_of,
    view_to_json,
)

MAX_LINE_BYTES = 64 * 1024 * 1024
STDERR_TAIL_BYTES = 2048


# --- subprocess ------------------------------------------------------------------------------


class _LineReader:
    """Read ``\\n``-terminated lines from a pipe with a deadline, never blocking past it."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer = fd, b""

    def readline(self, timeout: float) -> bytes | None:
        """The next line without its newline, or None at end of file; TimeoutError."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
            if len(self.buffer) > MAX_LINE_BYTES and b"\n" not in self.buffer:
                raise OverflowError
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


class SubprocessIut:
    """Drive a program that speaks specs/formats/oracle.md §2 on stdin/stdout.

    The program is started lazily (``/bin/sh -c command`` in a new session, so it and every
    child it spawns share one process group) and restarted after a fault, with the same
    ``hello``. ``close`` sends ``bye``, waits ``grace`` seconds and kills the group.
    """

    def __init__(self, command: str, timeout: float = 10.0, cwd: str | None = None,
                 grace: float = 1.0) -> None:
        self.command, self.timeout, self.cwd, self.grace = command, timeout, cwd, grace
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: _LineReader | None = None
        self.stderr: IO[bytes] | None = None
        self.greeting: tuple[Kind, Mode] | None = None
        self.pids: list[int] = []  # every process group leader started (tests check cleanup)

    # lifecycle

    def _spawn(self) -> None:
        # Kept open for the IUT's lifetime (closed in close()): a pipe could fill and block it.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                ["/bin/sh", "-c", self.command], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self.stderr, cwd=self.cwd,
                start_new_session=True)
        except OSError as err:
            raise IutUnusable(f"cannot start the IUT {self.command!r}: {err}") from None
        assert self.proc.stdout is not None
        self.pids.append(self.proc.pid)
        self.reader = _LineReader(self.proc.stdout.fileno())

    def _kill_group(self) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
            proc.wait(timeout=5)
        self.proc = self.reader = None

    def close(self) -> None:
        """Say ``bye``, give the IUT ``grace`` seconds to exit, then kill its group."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(b'{"type": "bye"}\n')
                proc.stdin.close()
                proc.wait(timeout=self.grace)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        self._kill_group()
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None

    def stderr_tail(self) -> str:
        """The last 2 KiB the IUT wrote on stderr."""
        if self.stderr is None:
            return ""
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - STDERR_TAIL_BYTES))
            return self.stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def _fault(self, detail: FaultDetail, message: str) -> IutFault:
        if detail in ("crash", "exit") and self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)
        tail = self.stderr_tail()
        self._kill_group()
        return IutFault(detail, message, tail)

    # one request, one answer

    def _exchange(self, request: dict[str, Any], expect: str) -> dict[str, Any]:
        if self.proc is None:
            self._spawn()
            if request["type"] != "hello" and self.greeting is not None:
                self._exchange(_hello_request(*self.greeting), "hello")
        assert self.proc is not None and self.proc.stdin is not None and self.reader
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._ended(request) from None
        try:
            line = self.reader.readline(self.timeout)
        except TimeoutError:
            raise self._fault("timeout", f"no answer to {request['type']!r} within "
                                         f"{self.timeout:g} s") from None
        except OverflowError:
            raise self._fault("malformed", f"answer line longer than {MAX_LINE_BYTES} bytes")\
                from None
        if line is None:
            raise self._ended(request)
        return self._decode(line, request, expect)

    def _ended(self, request: dict[str, Any]) -> IutFault:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return self._fault("exit", f"closed stdout before answering {request['type']!r}")
        if code == 127 and request["type"] == "hello":
            tail = self.stderr_tail()
            self._kill_group()
            raise IutUnusable(f"cannot run the IUT {self.command!r}: {tail.strip()}")
        how = ("exited with status 0" if code == 0 else
               f"was killed by signal {-code}" if code < 0 else f"exited with status {code}")
        detail: FaultDetail = "exit" if code == 0 else "crash"
        return self._fault(detail, f"the IUT {how} before answering {request['type']!r}")

    def _decode(self, line: bytes, request: dict[str, Any], expect: str) -> dict[str, Any]:
        shown = line[:200].decode("utf-8", "replace")
        try:  # the strict, bounded reader: duplicate keys, depth, huge integers, surrogates
            answer = load_json(line.decode("utf-8"), "answer")
        except UnicodeDecodeError as err:
            raise self._fault("malformed", f"answer to {request['type']!r} is not JSON "
                                           f"({err}): {shown!r}") from None
        except InputError as err:
            raise self._fault("malformed", f"answer to {request['type']!r} is not usable "
                                           f"JSON ({err}): {shown!r}") from None
        if not isinstance(answer, dict):
            raise self._fault("schema", f"answer to {request['type']!r} is not a JSON "
                                        f"object: {shown!r}")
        if answer.get("type") == "error":
            raise self._fault("error", f"the IUT answered error to {request['type']!r}: "
                                       f"{answer.get('message')!r}")
        if answer.get("type") != expect:
            raise self._fault("schema", f"answer to {request['type']!r} must have type "
                                        f"{expect!r}, got {answer.get('type')!r}: {shown!r}")
        return answer

    def _schema(self, err: InputError) -> IutFault:
        return self._fault("schema", str(err))

    # the protocol

    def hello(self, kind: Kind, mode: Mode) -> Hello:
        self.greeting = (kind, mode)
        answer = self._exchange(_hello_request(kind, mode), "hello")
        try:
            return hello_from_json(answer)
        except InputError as err:
            raise self._schema(err) from None

    def reset(self, state: DmState) -> None:
        answer = self._exchange({"type": "reset", "state": state_to_json(state)}, "ready")
        if set(answer) != {"type"}:
            raise self._fault("schema", f"the ready answer has unknown fields: {answer!r}")

    def event(self, step: int, event: Event) -> Observed:
        answer = self._exchange({"type": "event", "step": step, "event": event_to_json(event)},
                                "observed")
        try:
            return observed_from_json(answer, "IUT answer")
        except InputError as err:
            raise self._schema(err) from None

    def plan(self, step: int, view: DmState) -> tuple[DmRequest, ...]:
        answer = self._exchange({"type": "plan", "step": step, "view": view_to_json(view)},
                                "plan")
        try:
            _only(answer, ("type", "requests"), "IUT answer")
            return requests_from_json(answer.get("requests"), "IUT answer", "requests")
        except InputError as err:
            raise self._schema(err) from None


def _hello_request(kind: Kind, mode: Mode) -> dict[str, Any]:
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "kind": kind, "mode": mode}


def _only(answer: dict[str, Any], allowed: tuple[str, ...], source: str) -> None:
    for key in answer:
        if key not in allowed:
            raise InputError(source, key, answer[key],
                             "unknown field; known: " + ", ".join(allowed))


def hello_from_json(answer: dict[str, Any], source: str = "IUT answer") -> Hello:
    """A hello answer (schema hello-answer.schema.json)."""
    _only(answer, ("type", "protocol", "name", "capabilities"), source)
    protocol = answer.get("protocol")
    if not isinstance(protocol, int) or isinstance(protocol, bool):
        raise InputError(source, "protocol", protocol, "must be an integer (1)")
    caps = answer.get("capabilities")
    kinds = caps.get("kinds") if isinstance(caps, dict) else None
    if not isinstance(kinds, list) or not all(k in ("policy", "system") for k in kinds):
        raise InputError(source, "capabilities.kinds", kinds,
                         'must be a list of "policy" and/or "system"')
    name = answer.get("name", "")
    if not isinstance(name, str):
        raise InputError(source, "name", name, "must be a string")
    return Hello(name=name, kinds=tuple(kinds), protocol=protocol)


def observed_from_json(answer: dict[str, Any], source: str) -> Observed:
    """An observed answer or log entry body (schema observed-answer.schema.json)."""
    _only(answer, ("type", "observed", "sent", "rejected"), source)
    observation = observation_from_json(answer.get("observed"), source, "observed")
    if "sent" not in answer:
        raise InputError(source, "sent", None, "is required (an empty list if none)")
    sent = requests_from_json(answer["sent"], source, "sent")
    rejected = answer.get("rejected")
    if rejected is not None and not isinstance(rejected, str):
        raise InputError(source, "rejected", rejected, "must be null or a string")
    return Observed(observation, sent, rejected)


def open_iut(command: str, timeout: float = 10.0, cwd: str | None = None) -> SubprocessIut:
    """A subprocess driver for ``command`` (nothing is started until the first request)."""
    return SubprocessIut(command, timeout=timeout, cwd=cwd)


# --- the other side: serve a Python IUT object over JSON Lines --------------------------------


def view_from_json(data: Any, source: str) -> DmState:
    """A view (§1.3) decoded into a state whose demand values are 0."""
    if isinstance(data, dict) and isinstance(data.get("vms"), list):
        data = dict(data, vms=[{k: v for k, v in vm.items() if k != "assigned_mib"}
                               if isinstance(vm, dict) else vm for vm in data["vms"]])
    return view_of(state_from_json(data, source))


def _serve_one(iut: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    kind = request.get("type")
    if kind == "hello":
        hello: Hello = iut.hello(request.get("kind"), request.get("mode"))
        return {"type": "hello", "protocol": hello.protocol, "name": hello.name,
                "capabilities": {"kinds": list(hello.kinds)}}
    if kind == "reset":
        iut.reset(state_from_json(request.get("state"), "reset", "state"))
        return {"type": "ready"}
    if kind == "event":
        observed: Observed = iut.event(request.get("step", 0),
                                       event_from_json(request.get("event"), "event", "event"))
        return {"type": "observed", "observed": observation_to_json(observed.observation),
                "sent": [event_to_json(r) for r in observed.sent],
                "rejected": observed.rejected}
    if kind == "plan":
        requests = iut.plan(request.get("step", 0), view_from_json(request.get("view"), "view"))
        return {"type": "plan", "requests": [event_to_json(r) for r in requests]}
    if kind == "bye":
        return None
    return {"type": "error", "message": f"unknown request type {kind!r}"}


def serve_jsonl(iut: SystemIut | PolicyIut, stdin: IO[str] | None = None,
                stdout: IO[str] | None = None) -> int:
    """Answer protocol requests from ``stdin`` with ``iut`` until ``bye`` or end of input.

    Parameters
    ----------
    iut : SystemIut or PolicyIut
        The Python object to expose.
    stdin, stdout : text streams, optional
        Default to the process's.

    Returns
    -------
    int
        0, the exit status for the program.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    for line in stdin:
        if not line.strip():
            continue
        try:
            answer = _serve_one(iut, json.loads(line))
        except (InputError, ValueError) as err:
            answer = {"type": "error", "message": str(err)}
        if answer is None:
            break
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()
    return 0
