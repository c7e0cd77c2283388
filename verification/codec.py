"""JSON encoding of settings, events and states (specs/formats.md), with precise errors.

Decoding never guesses: an unknown kind or field, a wrong type or an out-of-range value
raises :class:`InputError` naming the source, the field path and the value, with a
suggestion for a likely typo. Encoding is the exact inverse (``decode(encode(x)) == x``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from enum import IntEnum
from typing import IO, Any

import attrs

from dynmem.model.vocabulary import (
    DEFAULT_HOT_ADD_ALIGN_MIB,
    HOST_PROFILE_WORDS,
    Channel,
    HostProfile,
    Power,
    TxnKind,
)
from dynmem.reference.events import EVENT_TYPES, Configure, Create, Event
from dynmem.reference.settings import (
    HostSettings,
    VmSettings,
    check_host_settings,
    check_vm_settings,
)
from dynmem.reference.state import DmState, Vm
from dynmem.verification.errors import InputError

_ENUMS: dict[str, type[IntEnum]] = {"power": Power, "channel": Channel, "txn": TxnKind}


def suggest(word: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to ``word``, or ``""``."""
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def join_path(path: str, key: str | int) -> str:
    """The field path of ``key`` inside ``path``: ``vms[3]``, ``host.reserve_mib``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


_suggest = suggest
_join = join_path


def expect_object(data: Any, source: str, path: str) -> Mapping[str, Any]:
    """``data`` as a JSON object, or an error naming ``path``."""
    if not isinstance(data, Mapping):
        raise InputError(source, path, data, "must be a JSON object")
    return data


def check_keys(data: Mapping[str, Any], allowed: list[str], source: str, path: str) -> None:
    """Reject keys not in ``allowed`` (a typo must never be silently ignored)."""
    for key in data:
        if key not in allowed:
            raise InputError(source, _join(path, key), data[key],
                             f"unknown field{_suggest(key, allowed)}; known: "
                             + ", ".join(allowed))


def read_value(data: Mapping[str, Any], key: str, kind: type, source: str, path: str,
               default: Any = attrs.NOTHING) -> Any:
    """``data[key]`` checked to be of ``kind`` (bool is not an int here)."""
    where = _join(path, key)
    if key not in data:
        if default is attrs.NOTHING:
            raise InputError(source, where, None, "is required")
        return default
    value = data[key]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise InputError(source, where, value, f"must be {_TYPE_WORDS.get(kind, kind.__name__)}")
    if key in NAME_KEYS and isinstance(value, str):
        check_name(value, source, where)
    return value


NAME_KEYS = frozenset(("name", "vm"))  # the fields that hold a VM name
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def check_name(name: str, source: str, path: str) -> None:
    """A VM name is one line: a line break in it could forge a line of a report (``x\n
    verdict: ok``). Other control characters are allowed and printed escaped."""
    if any(c in _LINE_BREAKS for c in name):
        raise InputError(source, path, name, "a VM name must not contain a line break")


_TYPE_WORDS = {int: "an integer (MiB)", bool: "true or false", str: "a string",
               list: "a JSON array", dict: "a JSON object"}


def field_kind(field: Any) -> type:
    """The JSON scalar type (int, bool or str) of an attrs ``field`` of a settings/event class."""
    name = field.type if isinstance(field.type, str) else field.type.__name__
    kinds: dict[str, type] = {"int": int, "bool": bool, "str": str}
    return kinds[name]


def _attrs_from_json(cls: type, data: Any, source: str, path: str,
                     skip: tuple[str, ...] = ()) -> dict[str, Any]:
    obj = expect_object(data, source, path)
    fields = [f for f in attrs.fields(cls) if f.name not in skip]
    check_keys(obj, [f.name for f in fields], source, path)
    out = {}
    for f in fields:
        out[f.name] = read_value(obj, f.name, field_kind(f), source, path, f.default)
    return out


def settings_from_json(data: Any, source: str, path: str, *,
                       check_ranges: bool = True) -> VmSettings:
    """VM settings from a JSON object; omitted fields take the defaults of specs/domain.md.

    ``check_ranges=False`` checks types only: a trace may hold settings an event was refused
    for, and must read back exactly.
    """
    settings = VmSettings(**_attrs_from_json(VmSettings, data, source, path))
    problems = check_vm_settings(settings) if check_ranges else []
    if problems:
        p = problems[0]
        raise InputError(source, _join(path, p.field), p.value, p.rule)
    return settings


_DEFAULT_PROFILE = HostProfile.QEMU
PROFILE_BY_WORD = {word: profile for profile, word in HOST_PROFILE_WORDS.items()}


def profile_from_word(word: Any, source: str, path: str) -> HostProfile:
    """The host profile spelled ``word`` (``2008r2sp1``), or an error naming ``path``."""
    known = list(PROFILE_BY_WORD)
    if not isinstance(word, str) or word not in PROFILE_BY_WORD:
        hint = _suggest(word, known) if isinstance(word, str) else ""
        raise InputError(source, path, word,
                         f"unknown host profile{hint}; known: {', '.join(known)} "
                         f"(specs/protocol.md §1.1)")
    return PROFILE_BY_WORD[word]


def host_from_json(data: Any, source: str, path: str, *,
                   check_ranges: bool = True) -> HostSettings:
    """Host settings from a JSON object: ``physical_mib`` and ``reserve_mib`` are required,
    ``profile`` is optional (``qemu``: every version); ``check_ranges`` as for
    :func:`settings_from_json`."""
    obj = expect_object(data, source, path)
    check_keys(obj, ["physical_mib", "reserve_mib", "profile"], source, path)
    word = read_value(obj, "profile", str, source, path, HOST_PROFILE_WORDS[_DEFAULT_PROFILE])
    host = HostSettings(physical_mib=read_value(obj, "physical_mib", int, source, path),
                        reserve_mib=read_value(obj, "reserve_mib", int, source, path),
                        profile=profile_from_word(word, source, _join(path, "profile")))
    problems = check_host_settings(host) if check_ranges else []
    if problems:
        p = problems[0]
        raise InputError(source, _join(path, p.field), p.value, p.rule)
    return host


_NO_DEFAULT = object()  # a field that is always written

# Settings fields written only when they differ from the default: ``guest_os`` came after the
# formats were published, so a Windows guest's settings read exactly as before (vectors,
# traces and the oracle's wire keep their bytes and fingerprints).
OPTIONAL_SETTINGS = {"guest_os": VmSettings().guest_os}


def host_to_json(host: HostSettings) -> dict[str, Any]:
    """``{"physical_mib", "reserve_mib"}``, and ``"profile"`` unless it is the default
    ``qemu`` (so files and IUTs of before, which know no profile, read it unchanged)."""
    out: dict[str, Any] = {"physical_mib": host.physical_mib, "reserve_mib": host.reserve_mib}
    if host.profile != _DEFAULT_PROFILE:
        out["profile"] = HOST_PROFILE_WORDS[host.profile]
    return out


def settings_to_json(settings: VmSettings) -> dict[str, Any]:
    out = attrs.asdict(settings)
    for name, default in OPTIONAL_SETTINGS.items():
        if out[name] == default:
            del out[name]
    return out


# --- events ---------------------------------------------------------------------------------


# Event and VM fields written only when they differ from the default: the hot-add alignment
# (R-HOT-ADD-ALIGN) came after the formats were published, so a guest advertising the 2 MiB
# default reads exactly as before (vectors, traces, the oracle's wire and fingerprints).
OPTIONAL_EVENT_FIELDS = {"align_mib": DEFAULT_HOT_ADD_ALIGN_MIB}
OPTIONAL_VM_FIELDS = {"hot_add_align_mib": DEFAULT_HOT_ADD_ALIGN_MIB}


def event_to_json(event: Event) -> dict[str, Any]:
    """``{"kind": ..., field: value, ...}``; settings of Create/Configure nest as an object."""
    out: dict[str, Any] = {"kind": event.KIND}
    for f in attrs.fields(type(event)):
        value = getattr(event, f.name)
        if OPTIONAL_EVENT_FIELDS.get(f.name, _NO_DEFAULT) == value:
            continue
        out[f.name] = settings_to_json(value) if isinstance(value, VmSettings) else value
    return out


_AMOUNT_FIELDS = ("mib", "committed_mib", "version")


def event_from_json(data: Any, source: str, path: str, *, check_ranges: bool = True) -> Event:
    """An event from its JSON form, checked field by field.

    ``check_ranges=False`` (for traces) accepts what a scenario may not say: negative amounts
    and out-of-range settings, which the reference refuses but a trace records.
    """
    obj = expect_object(data, source, path)
    kind = obj.get("kind")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        known = sorted(EVENT_TYPES)
        hint = _suggest(kind, known) if isinstance(kind, str) else ""
        raise InputError(source, _join(path, "kind"), kind,
                         f"unknown event kind{hint}; known: " + ", ".join(known))
    cls = EVENT_TYPES[kind]
    body = {k: v for k, v in obj.items() if k != "kind"}
    values: dict[str, Any] = {}
    if cls in (Create, Configure):
        check_keys(body, ["vm", "settings"], source, path)
        values["vm"] = read_value(body, "vm", str, source, path)
        values["settings"] = settings_from_json(body.get("settings", {}), source,
                                                _join(path, "settings"),
                                                check_ranges=check_ranges)
        return cls(**values)
    values = _attrs_from_json(cls, body, source, path)
    for key in _AMOUNT_FIELDS if check_ranges else ():
        if key in values and values[key] < 0:
            raise InputError(source, _join(path, key), values[key], "must be >= 0")
    return cls(**values)


# --- states ---------------------------------------------------------------------------------


def _enum_to_json(enum: type[IntEnum], value: int) -> str | int:
    """A member's lower-case name; an out-of-range int (a broken INV-TYPE state) stays an int."""
    try:
        return enum(value).name.lower()
    except ValueError:
        return value


def vm_to_json(vm: Vm) -> dict[str, Any]:
    """A VM's settings and runtime; enumerations by lower-case name."""
    out: dict[str, Any] = {}
    for f in attrs.fields(Vm):
        value = getattr(vm, f.name)
        if OPTIONAL_VM_FIELDS.get(f.name, _NO_DEFAULT) == value:
            continue
        if isinstance(value, VmSettings):
            out[f.name] = settings_to_json(value)
        elif f.name in _ENUMS:
            out[f.name] = _enum_to_json(_ENUMS[f.name], value)
        else:
            out[f.name] = value
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def vm_from_json(data: Any, source: str, path: str) -> Vm:
    obj = expect_object(data, source, path)
    check_keys(obj, [f.name for f in attrs.fields(Vm)], source, path)
    values: dict[str, Any] = {
        "name": read_value(obj, "name", str, source, path),
        "settings": VmSettings(**_attrs_from_json(VmSettings, obj.get("settings", {}), source,
                                                  _join(path, "settings"))),
    }
    for f in attrs.fields(Vm):
        if f.name in values or f.name not in obj:
            continue
        if f.name in _ENUMS and _is_int(obj[f.name]):
            values[f.name] = obj[f.name]  # out of range: what a broken INV-TYPE state holds
        elif f.name in _ENUMS:
            enum = _ENUMS[f.name]
            word = read_value(obj, f.name, str, source, path)
            names = [m.name.lower() for m in enum]
            if word not in names:
                raise InputError(source, _join(path, f.name), word,
                                 f"must be one of {', '.join(names)}{_suggest(word, names)}")
            values[f.name] = enum[word.upper()]
        else:
            kind = bool if f.type in ("bool", bool) else int
            values[f.name] = read_value(obj, f.name, kind, source, path)
            if kind is int and values[f.name] < 0:
                raise InputError(source, _join(path, f.name), values[f.name], "must be >= 0")
    return Vm(**values)


def state_to_json(state: DmState) -> dict[str, Any]:
    return {
        "host": host_to_json(state.host),
        "free_mib": state.free_mib,
        "vms": [vm_to_json(vm) for vm in state.vms],
    }


def state_from_json(data: Any, source: str, path: str = "") -> DmState:
    """A full state (as written by :func:`state_to_json`); no range rules are enforced, so a
    violating state can be read back and shown."""
    obj = expect_object(data, source, path)
    check_keys(obj, ["host", "free_mib", "vms"], source, path)
    host = host_from_json(obj.get("host"), source, _join(path, "host"), check_ranges=False)
    vms = obj.get("vms", [])
    if not isinstance(vms, list):
        raise InputError(source, _join(path, "vms"), vms, "must be a JSON array")
    seen: set[Any] = set()
    for i, vm in enumerate(vms):  # two VMs of one name: bad input, not a model violation
        name = vm.get("name") if isinstance(vm, Mapping) else None
        if name in seen:
            raise InputError(source, _join(_join(_join(path, "vms"), i), "name"), name,
                             "names a VM twice (VM names are unique)")
        seen.add(name)
    return DmState(
        host=host,
        free_mib=read_value(obj, "free_mib", int, source, path),
        vms=tuple(vm_from_json(v, source, _join(_join(path, "vms"), i)) for i, v in
                  enumerate(vms)),
    )


# --- reading JSON: bounded, strict --------------------------------------------------------------

MAX_JSON_DEPTH = 64  # nesting levels; every dynmem document needs fewer than 10
MAX_INT_DIGITS = 40  # an integer's digits; 2**128 (a seed) has 39, MiB amounts need 20
MAX_FILE_BYTES = 64 * 1024 * 1024  # a document read whole (a trace, a scenario)


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as parsed, before duplicate keys are checked."""


class _BigInt(str):
    """An integer literal with more than :data:`MAX_INT_DIGITS` digits, kept as its text
    until its path is known (``int()`` of 5000 digits is slow, and Python refuses more)."""


def _parse_int(text: str) -> int | _BigInt:
    return _BigInt(text) if len(text.lstrip("-")) > MAX_INT_DIGITS else int(text)


def _bad_text(text: str) -> str | None:
    """Why ``text`` (a JSON string) cannot be used: a lone surrogate cannot be encoded."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return (f"holds a lone surrogate \\u{ord(text[err.start]):04x} at character "
                f"{err.start}: not a Unicode character")
    return None


def _checked(data: Any, source: str, path: str, depth: int) -> Any:
    """``data`` with its objects as dicts, each value checked (duplicate keys, depth,
    integer size, lone surrogates)."""
    if isinstance(data, _BigInt):
        digits = len(data.lstrip("-"))
        raise InputError(source, path, str(data),
                         f"an integer of {digits} digits; at most {MAX_INT_DIGITS} are read")
    if isinstance(data, str):
        problem = _bad_text(data)
        if problem:
            raise InputError(source, path, data, problem)
        return data
    if not isinstance(data, list):
        return data
    if depth >= MAX_JSON_DEPTH:
        raise InputError(source, path, None,
                         f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    if not isinstance(data, _Pairs):
        return [_checked(v, source, join_path(path, i), depth + 1) for i, v in enumerate(data)]
    out: dict[str, Any] = {}
    for key, value in data:
        where = join_path(path, key)
        problem = _bad_text(key)
        if problem:
            raise InputError(source, path, key, f"a key {problem}")
        if key in out:
            raise InputError(source, where, value,
                             "given twice in the same object (which one was meant?)")
        out[key] = _checked(value, source, where, depth + 1)
    return out


def load_json(text: str, source: str, path: str = "") -> Any:
    """``text`` as JSON, strictly and within bounds: the one JSON reader of dynmem.

    A key given twice in one object, nesting deeper than :data:`MAX_JSON_DEPTH`, an integer
    of more than :data:`MAX_INT_DIGITS` digits, a lone surrogate (``"\\ud800"``) and
    ``NaN``/``Infinity`` are errors naming ``source`` and the path (``path`` prefixes it: a
    log line's number).

    Raises
    ------
    InputError
        On malformed JSON (with its line and column) or a value beyond the bounds.

    Examples
    --------
    >>> load_json('{"a": [1, {"b": 2}]}', "x.json")
    {'a': [1, {'b': 2}]}
    >>> load_json('{"a": 1, "a": 2}', "x.json")
    Traceback (most recent call last):
    ...
    dynmem.verification.errors.InputError: x.json: a = 2: given twice in the same object \
(which one was meant?)
    """
    try:
        data = json.loads(text, object_pairs_hook=_Pairs, parse_int=_parse_int,
                          parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise InputError(source, path, None, f"malformed JSON at line {err.lineno}, column "
                                             f"{err.colno}: {err.msg}") from None
    except RecursionError:
        raise InputError(source, path, None,
                         f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as err:
        raise InputError(source, path, None, f"unreadable JSON: {err}") from None
    return _checked(data, source, path, 0)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def read_text(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the file ``path``, refused (not read) beyond ``max_bytes``.

    Raises
    ------
    InputError
        The file cannot be read, is larger than ``max_bytes`` (a huge trace must not end in
        a MemoryError) or is not UTF-8 text.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            raw = handle.read(max_bytes + 1)
    except OSError as err:
        raise InputError(source, "", None, f"cannot read the file: {err.strerror}") from None
    if len(raw) > max_bytes:
        raise InputError(source, "", None,
                         f"the file is {max(size, len(raw)):,} bytes; documents are read "
                         f"whole, up to {max_bytes:,} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(source, "", None, f"not UTF-8 text (byte {raw[err.start]:#04x} at "
                                           f"offset {err.start})") from None


MAX_LINE_CHARS = 1024 * 1024  # of one line of a JSON Lines stream (a log, an IUT answer)


def read_lines(handle: Iterable[str] | IO[str], source: str,
               max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of ``handle`` (a text file), each refused beyond ``max_chars`` characters
    before it is held whole (a log of one 2 GB line must not end in a MemoryError).

    Raises
    ------
    InputError
        Naming ``source``, the line number and the limit.
    """
    readline = getattr(handle, "readline", None)
    if readline is None:  # an iterable of lines already in memory (tests, generators)
        for number, line in enumerate(handle, start=1):
            _check_line(line, source, number, max_chars)
            yield line
        return
    number = 0
    while True:
        line = readline(max_chars + 1)
        if not line:
            return
        number += 1
        _check_line(line, source, number, max_chars)
        yield line


def _check_line(line: str, source: str, number: int, max_chars: int) -> None:
    if len(line) > max_chars and len(line.rstrip("\r\n")) > max_chars:
        raise InputError(source, f"line {number}", None,
                         f"longer than {max_chars:,} characters: lines are read up to that")


_KEY_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"\s*:')


def count_key_tokens(text: str) -> int:
    """How many object keys the JSON ``text`` writes (at least: a string holding ``":`` may
    add one), for a parser that keeps the last of two equal keys silently."""
    return len(_KEY_TOKEN.findall(text))


def count_keys(data: Any) -> int:
    """How many keys the decoded objects of ``data`` hold, all levels."""
    if isinstance(data, dict):
        return len(data) + sum(count_keys(v) for v in data.values())
    if isinstance(data, list):
        return sum(count_keys(v) for v in data)
    return 0
