"""The JSON Lines wire (specs/formats/oracle.md §2): drive a program that speaks it, or speak it.

:class:`SubprocessIut` drives any program through stdin/stdout; it runs in its own process
group, which is always killed when the driver closes or gives up, and so is every process the
IUT started that left the group (``verification/oracle/reaper.py``). Its stderr is drained
into a bounded buffer: memory stays small whatever the IUT writes. :func:`serve_jsonl` turns
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
import threading
import time
from collections.abc import Callable
from itertools import count
from typing import IO, Any

import attrs

from dynmem.model.vocabulary import HOST_PROFILE_WORDS, HostProfile
from dynmem.reference.events import DmRequest, Event
from dynmem.reference.state import DmState
from dynmem.verification.codec import (
    event_from_json,
    event_to_json,
    load_json,
    profile_from_word,
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
    Planned,
    PolicyIut,
    Probed,
    SystemIut,
    plan_one_by_one,
    probe_one_by_one,
)
from dynmem.verification.oracle.observation import (
    observation_from_json,
    observation_to_json,
    requests_from_json,
    view_of,
    view_to_json,
)
from dynmem.verification.oracle.pagewire import WIRE_AMOUNTS, WIRES
from dynmem.verification.oracle.reaper import MARKER, become_subreaper, end_session

MAX_LINE_BYTES = 64 * 1024 * 1024
STDERR_TAIL_BYTES = 2048  # shown with a fault
STDERR_KEEP_BYTES = 16 * 1024  # kept in memory (a ring of the last bytes), never a file
_SESSIONS = count(1)


class _StderrTail:
    """Drain the IUT's stderr in a thread, keeping only the last bytes (bounded memory).

    The pipe is read to its end, so an IUT that floods stderr never stalls on a full pipe;
    the buffer is cut back to ``STDERR_KEEP_BYTES`` whenever it passes twice that.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.data, self.seen = stream, bytearray(), 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, daemon=True, name="iut-stderr")
        self.thread.start()

    def _drain(self) -> None:
        fd = self.stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.seen += len(chunk)
                self.data += chunk
                if len(self.data) > 2 * STDERR_KEEP_BYTES:
                    del self.data[:-STDERR_KEEP_BYTES]

    def tail(self, size: int = STDERR_TAIL_BYTES) -> str:
        """The last ``size`` bytes received, decoded."""
        with self.lock:
            return bytes(self.data[-size:]).decode("utf-8", "replace")

    def finish(self) -> None:
        """Wait for the end of the pipe (every writer is gone once the session ended)."""
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.stream.close()


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
    ``hello``. ``close`` sends ``bye``, waits ``grace`` seconds and kills the group, then
    every other process of the session (one that called ``setsid()``, one the harness
    adopted as child subreaper: ``verification/oracle/reaper.py``).
    """

    def __init__(self, command: str, timeout: float = 10.0, cwd: str | None = None,
                 grace: float = 1.0, pipelined: bool = True) -> None:
        self.command, self.timeout, self.cwd, self.grace = command, timeout, cwd, grace
        self.pipelined = pipelined  # batches pipelined (Rule P8), or one request at a time
        self._lines: dict[DmState, bytes] = {}
        self._events: dict[Event, bytes] = {}
        self._answers: dict[bytes, Observed] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: _LineReader | None = None
        self.stderr: _StderrTail | None = None
        self.marker = ""
        self.greeting: tuple[Kind, Mode] | None = None
        self.pids: list[int] = []  # every process group leader started (tests check cleanup)

    # lifecycle

    def _spawn(self) -> None:
        become_subreaper()  # orphans of the IUT's processes stay ours to find and end
        self.marker = f"{os.getpid()}-{next(_SESSIONS)}"
        try:
            self.proc = subprocess.Popen(
                ["/bin/sh", "-c", self.command], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.cwd,
                env=dict(os.environ, **{MARKER: self.marker}), start_new_session=True)
        except OSError as err:
            raise IutUnusable(f"cannot start the IUT {self.command!r}: {err}") from None
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.pids.append(self.proc.pid)
        self.reader = _LineReader(self.proc.stdout.fileno())
        self.stderr = _StderrTail(self.proc.stderr)

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
        end_session(proc.pid, self.marker)  # those that left the group, or were adopted
        if self.stderr is not None:
            self.stderr.finish()
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

    def stderr_tail(self) -> str:
        """The last 2 KiB the IUT wrote on stderr."""
        return self.stderr.tail() if self.stderr is not None else ""

    @property
    def stderr_seen(self) -> int:
        """Bytes the current (or last) IUT process wrote on stderr in all."""
        return self.stderr.seen if self.stderr is not None else 0

    @property
    def stderr_kept(self) -> int:
        """Bytes of it held in memory now."""
        return len(self.stderr.data) if self.stderr is not None else 0

    def _fault(self, detail: FaultDetail, message: str) -> IutFault:
        if detail in ("crash", "exit") and self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)
        self._kill_group()  # first: the pipe then ends, so the tail is complete
        return IutFault(detail, message, self.stderr_tail())

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

    def exchange_many(self, lines: list[bytes], types: list[str], expects: list[str]
                      ) -> tuple[list[dict[str, Any]], IutFault | None]:
        """Send the encoded request ``lines`` pipelined and decode their answers in order.

        ``types`` are the requests' types (for messages), ``expects`` the answer types.
        Returns the answers and the fault that ended the batch early, if any (the IUT is
        then killed, and restarted by the next request).
        """
        raw, fault = self.exchange_raw(lines, types)
        answers: list[dict[str, Any]] = []
        for index, line in enumerate(raw):
            try:
                answers.append(self._decode(line, {"type": types[index]}, expects[index]))
            except IutFault as bad:
                return answers, bad
        return answers, fault

    def exchange_raw(self, lines: list[bytes], types: list[str]
                     ) -> tuple[list[bytes], IutFault | None]:
        """Send ``lines`` pipelined (Rule P8); the answer lines read, undecoded, and the
        fault that ended the batch early (timeout, exit, crash), if any.

        Requests are written while answers are read (select on both pipes), so neither
        side can block the other; the per-request timeout counts from the last answer.
        """
        if not lines:
            return [], None
        if self.proc is None:
            try:
                self._spawn()
                if self.greeting is not None:
                    self._exchange(_hello_request(*self.greeting), "hello")
            except IutFault as fault:
                return [], fault
        answers: list[bytes] = []
        try:
            self._pipeline(b"".join(lines), types, answers)
        except IutFault as fault:
            return answers, fault
        return answers, None

    def _pipeline(self, payload: bytes, types: list[str], answers: list[bytes]) -> None:
        assert self.proc is not None and self.proc.stdin is not None and self.reader
        reader, wanted = self.reader, len(types)
        try:
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._ended({"type": types[0]}) from None
        out_fd, in_fd = self.proc.stdin.fileno(), reader.fd
        os.set_blocking(out_fd, False)
        sent = 0
        deadline = time.monotonic() + self.timeout
        try:
            while len(answers) < wanted:
                if b"\n" in reader.buffer:
                    *complete, reader.buffer = reader.buffer.split(b"\n")
                    answers += complete[: wanted - len(answers)]
                    deadline = time.monotonic() + self.timeout
                    continue
                pending = {"type": types[len(answers)]}
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._fault("timeout", f"no answer to {pending['type']!r} within "
                                                 f"{self.timeout:g} s")
                writing = [out_fd] if sent < len(payload) else []
                readable, writable, _ = select.select([in_fd], writing, [], left)
                if writable:
                    try:
                        sent += os.write(out_fd, payload[sent:sent + 65536])
                    except BlockingIOError:
                        pass
                    except (BrokenPipeError, OSError):
                        raise self._ended(pending) from None
                if readable:
                    chunk = os.read(in_fd, 1 << 20)
                    if not chunk:
                        raise self._ended(pending)
                    reader.buffer += chunk
                    if len(reader.buffer) > MAX_LINE_BYTES and b"\n" not in reader.buffer:
                        raise self._fault("malformed",
                                          f"answer line longer than {MAX_LINE_BYTES} bytes")
        finally:
            if self.proc is not None:
                with contextlib.suppress(OSError, ValueError):
                    os.set_blocking(out_fd, True)

    def _ended(self, request: dict[str, Any]) -> IutFault:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return self._fault("exit", f"closed stdout before answering {request['type']!r}")
        if code == 127 and request["type"] == "hello":
            self._kill_group()
            tail = self.stderr_tail()
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

    def request(self, payload: dict[str, Any], expect: str) -> dict[str, Any]:
        """Send one request and return its answer, of type ``expect`` (the page-level
        session, specs/formats/oracle.md §9, builds its own requests)."""
        return self._exchange(payload, expect)

    def schema_fault(self, err: InputError) -> IutFault:
        """The IUT's answer broke a schema: a protocol fault (the IUT is then restarted)."""
        return self._schema(err)

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
        self._ready(answer)

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


    # batches (pipelined; Rule P8)

    def probe_many(self, items: list[tuple[DmState, tuple[Event, ...]]]) -> Probed:
        """``reset`` to each state and send its events: every item pipelined, unless
        ``pipelined`` is False (then one request at a time, to measure what it saves)."""
        if not self.pipelined:
            return probe_one_by_one(self, items)
        lines: list[bytes] = []
        types: list[str] = []
        for state, events in items:
            lines.append(self._encoded_reset(state))
            lines += [self._encoded_event(event) for event in events]
            types += ["reset", *["event"] * len(events)]
        raw, fault = self.exchange_raw(lines, types)
        out: list[tuple[Observed, ...]] = []
        at = 0
        for _state, events in items:
            if at + 1 + len(events) > len(raw):
                break
            ready, answers = raw[at], raw[at + 1:at + 1 + len(events)]
            at += 1 + len(events)
            try:
                if ready != b'{"type": "ready"}' and ready != b'{"type":"ready"}':
                    self._ready(self._decode(ready, {"type": "reset"}, "ready"))
                out.append(tuple(self._observed(line) for line in answers))
            except IutFault as bad:
                return out, bad
        return out, fault

    def _ready(self, answer: dict[str, Any]) -> None:
        if set(answer) != {"type"}:
            raise self._fault("schema", f"the ready answer has unknown fields: {answer!r}")

    def _observed(self, line: bytes) -> Observed:
        # Many questions get the same answer (a refused event: the state as it was), so
        # each distinct answer line is decoded once (a bounded cache).
        found = self._answers.get(line)
        if found is None:
            try:
                found = observed_from_json(self._decode(line, {"type": "event"}, "observed"),
                                           "IUT answer")
            except InputError as err:
                raise self._schema(err) from None
            if len(self._answers) > 65536:
                self._answers.clear()
            self._answers[line] = found
        return found

    def _encoded_reset(self, state: DmState) -> bytes:
        # A state is asked many questions in a row: encode it once (a bounded cache).
        line = self._lines.get(state)
        if line is None:
            if len(self._lines) > 4096:
                self._lines.clear()
            line = self._lines[state] = (json.dumps({"type": "reset",
                                                     "state": state_to_json(state)})
                                         .encode() + b"\n")
        return line

    def _encoded_event(self, event: Event) -> bytes:
        line = self._events.get(event)
        if line is None:
            if len(self._events) > 4096:
                self._events.clear()
            line = self._events[event] = (json.dumps({"type": "event", "step": 1,
                                                      "event": event_to_json(event)})
                                          .encode() + b"\n")
        return line

    def plan_many(self, views: list[DmState]) -> Planned:
        """The plan for each view, pipelined (or one at a time without ``pipelined``)."""
        if not self.pipelined:
            return plan_one_by_one(self, views)
        lines = [json.dumps({"type": "plan", "step": 1, "view": view_to_json(v)}).encode()
                 + b"\n" for v in views]
        answers, fault = self.exchange_many(lines, ["plan"] * len(views), ["plan"] * len(views))
        out: list[tuple[DmRequest, ...]] = []
        for answer in answers:
            try:
                _only(answer, ("type", "requests"), "IUT answer")
                out.append(requests_from_json(answer.get("requests"), "IUT answer",
                                              "requests"))
            except InputError as err:
                return out, self._schema(err)
        return out, fault


def _hello_request(kind: Kind, mode: Mode) -> dict[str, Any]:
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "kind": kind, "mode": mode}


def _only(answer: dict[str, Any], allowed: tuple[str, ...], source: str) -> None:
    for key in answer:
        if key not in allowed:
            raise InputError(source, key, answer[key],
                             "unknown field; known: " + ", ".join(allowed))


def hello_from_json(answer: dict[str, Any], source: str = "IUT answer") -> Hello:
    """A hello answer (schema hello-answer.schema.json)."""
    _only(answer, ("type", "protocol", "name", "capabilities", "host_profile", "wire",
                   "hot_add_alignment"), source)
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
    word = answer.get("host_profile", HOST_PROFILE_WORDS[HostProfile.QEMU])
    profile = profile_from_word(word, source, "host_profile")
    wire = answer.get("wire", WIRE_AMOUNTS)
    if not isinstance(wire, int) or isinstance(wire, bool) or wire not in WIRES:
        raise InputError(source, "wire", wire, "must be 1 (amounts in MiB) or 2 (page ranges, "
                                               "specs/formats/oracle.md §9)")
    aligned = answer.get("hot_add_alignment", False)
    if not isinstance(aligned, bool):
        raise InputError(source, "hot_add_alignment", aligned,
                         "must be true or false (Rule P1c: whether the IUT follows the "
                         "guest's hot-add alignment)")
    return Hello(name=name, kinds=tuple(kinds), protocol=protocol, host_profile=profile,
                 wire=wire, hot_add_alignment=aligned)


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
        answer: dict[str, Any] = {"type": "hello", "protocol": hello.protocol,
                                  "name": hello.name,
                                  "capabilities": {"kinds": list(hello.kinds)}}
        if hello.host_profile != HostProfile.QEMU:
            answer["host_profile"] = HOST_PROFILE_WORDS[hello.host_profile]
        if hello.wire != WIRE_AMOUNTS:
            answer["wire"] = hello.wire
        if hello.hot_add_alignment:
            answer["hot_add_alignment"] = True
        return answer
    if kind == "reset":
        iut.reset(_decode_field(request.get("state"), state_from_json, "reset", "state"))
        return {"type": "ready"}
    if kind == "event":
        observed: Observed = iut.event(request.get("step", 0),
                                       _decode_field(request.get("event"), event_from_json,
                                                     "event", "event"))
        return {"type": "observed", "observed": observation_to_json(observed.observation),
                "sent": [event_to_json(r) for r in observed.sent],
                "rejected": observed.rejected}
    if kind == "plan":
        requests = iut.plan(request.get("step", 0), view_from_json(request.get("view"), "view"))
        return {"type": "plan", "requests": [event_to_json(r) for r in requests]}
    if kind == "bye":
        return None
    return {"type": "error", "message": f"unknown request type {kind!r}"}


class _Requests:
    """Decoded request lines. The exhaustive phase resets to one state before each of many
    events and asks the same events in many states, so the last reset and every event line
    seen are decoded once (their JSON, not their meaning: each is still processed)."""

    def __init__(self) -> None:
        self.reset: tuple[str, dict[str, Any]] | None = None
        self.events: dict[str, dict[str, Any]] = {}

    def get(self, line: str) -> Any:
        if self.reset is not None and self.reset[0] == line:
            return self.reset[1]
        found = self.events.get(line)
        if found is not None:
            return found
        request = json.loads(line)
        kind = request.get("type") if isinstance(request, dict) else None
        if kind == "reset":
            request["state"] = _Decoded(state_from_json(request.get("state"), "reset", "state"))
            self.reset = (line, request)
        elif kind == "event":
            request["event"] = _Decoded(event_from_json(request.get("event"), "event", "event"))
            if len(self.events) > 4096:
                self.events.clear()
            self.events[line] = request
        return request


@attrs.frozen
class _Decoded:
    """A request field already decoded (by ``_Requests``)."""

    value: Any


def _decode_field(data: Any, decode: Callable[[Any, str, str], Any], source: str,
                  path: str) -> Any:
    return data.value if isinstance(data, _Decoded) else decode(data, source, path)


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
    decoded = _Requests()
    for line in stdin:
        if not line.strip():
            continue
        try:
            answer = _serve_one(iut, decoded.get(line))
        except (InputError, ValueError) as err:
            answer = {"type": "error", "message": str(err)}
        if answer is None:
            break
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()
    return 0
