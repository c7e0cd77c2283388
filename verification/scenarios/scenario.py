"""Scenario files (specs/formats.md §scenario): read, validate everything up front, never fix.

A scenario is a host, the VMs created (off) before the first event, a list of events and an
optional ``expect`` block. Events are the reference's kinds (``reference.events.EVENT_TYPES``)
plus two conveniences: ``settle`` (run honest guests and the balancer to a fixed point) and the
flat forms of ``create``/``configure`` (settings fields beside ``vm``; a ``configure`` names
only what changes). Every problem is an :class:`InputError` naming the file, the field path
and the value, found before anything runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from dynmem.reference.environment import PROFILE_GUEST_OS, GuestProfile
from dynmem.reference.events import EVENT_TYPES, Configure, Create, Delete, Event
from dynmem.reference.settings import HostSettings, VmSettings, check_vm_settings
from dynmem.reference.state import DmState, initial_state
from dynmem.verification.codec import (
    check_keys,
    event_from_json,
    expect_object,
    field_kind,
    host_from_json,
    join_path,
    load_json,
    read_text,
    read_value,
    suggest,
)
from dynmem.verification.errors import InputError
from dynmem.verification.scenarios.summary import FINAL_VM_FIELDS, FINAL_VM_WORDS

DEFAULT_SETTLE_STEPS = 10_000
MAX_SETTLE_STEPS = 1_000_000
SETTLE_KIND = "settle"
TOP_LEVEL_FIELDS = ["$schema", "description", "host", "vms", "events", "expect"]
SETTINGS_FIELDS = [f.name for f in attrs.fields(VmSettings)]
_SETTINGS_KINDS = {f.name: field_kind(f) for f in attrs.fields(VmSettings)}
EXPECT_FIELDS = ["converged", "rejected", "final"]
GUEST_FIELD = "guest"  # a VM entry's guest profile (specs/lifecycle.md §1), not a setting
GUEST_WORDS = [p.value for p in GuestProfile]
GUEST_OS_FIELD = "guest_os"  # the setting a profile fixes


@attrs.frozen
class Settle:
    """Deliver honest guest messages and tick the balancer until nothing more happens
    (specs/events.md §5); ``max_steps`` bounds it, and running out is a finding."""

    KIND: ClassVar[str] = SETTLE_KIND
    max_steps: int = DEFAULT_SETTLE_STEPS


ScenarioEvent = Event | Settle


@attrs.frozen
class ExpectedRejection:
    """Scenario event ``event`` (index into ``events``) is rejected with ``reason`` in its text."""

    event: int
    reason: str


@attrs.frozen
class Expectation:
    """What a scenario claims about its own run; ``None`` fields are not checked.

    ``rejected`` (when given) is the exact list of scenario events that get rejected.
    ``final_vms`` maps VM names to a subset of :data:`FINAL_VM_FIELDS`.
    """

    converged: bool | None = None
    rejected: tuple[ExpectedRejection, ...] | None = None
    final_free_mib: int | None = None
    final_vms: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()


@attrs.frozen
class Scenario:
    """A validated scenario: ``events`` are concrete reference events and ``Settle`` markers."""

    source: str
    host: HostSettings
    vms: tuple[tuple[str, VmSettings], ...]
    events: tuple[ScenarioEvent, ...]
    expect: Expectation | None = None
    description: str = ""
    # VM name -> guest profile, for the VMs whose entry names one (others run ``windows``)
    profiles: tuple[tuple[str, GuestProfile], ...] = ()

    def initial_state(self) -> DmState:
        """The host with every listed VM created and off."""
        return initial_state(self.host, self.vms)


# --- reading the file ----------------------------------------------------------------------


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate the scenario file at ``path``.

    Parameters
    ----------
    path
        The file; its name as given is the ``source`` in every error message.

    Returns
    -------
    Scenario
        Ready to simulate; nothing in it was guessed or fixed.

    Raises
    ------
    InputError
        The file cannot be read, is too large, is not JSON (within the reader's bounds:
        verification/codec.py ``load_json``), or breaks a rule of the format.
    """
    source = os.fspath(path)
    return parse_scenario(parse_json(read_text(source), source), source)


def parse_json(text: str, source: str) -> Any:
    """``text`` as JSON; malformed JSON, duplicate keys and values beyond the reader's
    bounds are errors with their position (the codec's one reader)."""
    return load_json(text, source)


# --- the scenario ---------------------------------------------------------------------------


def parse_scenario(data: Any, source: str) -> Scenario:
    """Validate already-decoded JSON ``data`` as a scenario; errors name ``source``.

    Examples
    --------
    >>> s = parse_scenario({"host": {"physical_mib": 4096, "reserve_mib": 1024},
    ...                     "vms": [{"name": "a", "startup_mib": 1024}],
    ...                     "events": [{"kind": "start", "vm": "a"}, {"kind": "settle"}]},
    ...                    "example.json")
    >>> [e.KIND for e in s.events]
    ['start', 'settle']
    """
    if not isinstance(data, Mapping):
        raise InputError(source, "", None,
                         f"the top level must be a JSON object, not {_json_type(data)}")
    check_keys(data, TOP_LEVEL_FIELDS, source, "")
    description = read_value(data, "description", str, source, "", "")
    read_value(data, "$schema", str, source, "", "")
    if "host" not in data:
        raise InputError(source, "host", None, "is required")
    host = host_from_json(data["host"], source, "host")
    vm_items = read_value(data, "vms", list, source, "", [])
    vms = _parse_vms(vm_items, source)
    profiles = _parse_profiles(vm_items, source)
    known = _Names(source, dict(vms), {})
    raw_events = read_value(data, "events", list, source, "")
    events = tuple(_parse_event(e, join_path("events", i), known)
                   for i, e in enumerate(raw_events))
    expect = None
    if "expect" in data:
        expect = _parse_expect(data["expect"], source, len(events), known)
    return Scenario(source, host, tuple(vms), events, expect, description, profiles)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _parse_vms(items: list[Any], source: str) -> list[tuple[str, VmSettings]]:
    vms: list[tuple[str, VmSettings]] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        path = join_path("vms", index)
        obj = expect_object(item, source, path)
        check_keys(obj, ["name", GUEST_FIELD, *SETTINGS_FIELDS], source, path)
        name = _read_name(obj, "name", source, path)
        if name in first_index:
            raise InputError(source, join_path(path, "name"), name,
                             f"duplicate VM name (also vms[{first_index[name]}])")
        first_index[name] = index
        settings = _settings(obj, VmSettings(), source, path)
        profile = _read_profile(obj, source, path)
        if profile is not None:
            settings = _with_profile_os(settings, profile, obj, source, path)
        vms.append((name, settings))
    return vms


def _read_profile(obj: Mapping[str, Any], source: str, path: str) -> GuestProfile | None:
    """The guest profile a VM entry names, or None; an unknown word is an error."""
    if GUEST_FIELD not in obj:
        return None
    word = read_value(obj, GUEST_FIELD, str, source, path)
    if word not in GUEST_WORDS:
        raise InputError(source, join_path(path, GUEST_FIELD), word,
                         f"must be one of {', '.join(GUEST_WORDS)}{suggest(word, GUEST_WORDS)}")
    return GuestProfile(word)


def _with_profile_os(settings: VmSettings, profile: GuestProfile, obj: Mapping[str, Any],
                     source: str, path: str) -> VmSettings:
    """The VM's ``guest_os`` is its profile's OS family (specs/lifecycle.md §1): the host
    knows its guest's integration components. An entry that says otherwise is an error."""
    family = PROFILE_GUEST_OS[profile]
    if GUEST_OS_FIELD in obj and obj[GUEST_OS_FIELD] != family:
        raise InputError(source, join_path(path, GUEST_OS_FIELD), obj[GUEST_OS_FIELD],
                         f"a {profile.value!r} guest runs {family!r} integration "
                         f"components: leave guest_os out or make it {family!r}")
    return attrs.evolve(settings, guest_os=family)


def _parse_profiles(items: list[Any], source: str) -> tuple[tuple[str, GuestProfile], ...]:
    """The guest profile of each VM entry that names one (entries are already checked)."""
    out = []
    for index, obj in enumerate(items):
        profile = _read_profile(obj, source, join_path("vms", index))
        if profile is not None:
            out.append((obj["name"], profile))
    return tuple(out)


def _read_name(obj: Mapping[str, Any], key: str, source: str, path: str) -> str:
    name: str = read_value(obj, key, str, source, path)
    if not name.strip():
        raise InputError(source, join_path(path, key), name, "must be a non-empty name")
    return name


def _settings(obj: Mapping[str, Any], base: VmSettings, source: str, path: str) -> VmSettings:
    """``base`` with the settings fields present in ``obj`` replaced, then range-checked."""
    given = {key: read_value(obj, key, _SETTINGS_KINDS[key], source, path)
             for key in SETTINGS_FIELDS if key in obj}
    settings = attrs.evolve(base, **given)
    for problem in check_vm_settings(settings):
        rule = problem.rule
        if problem.field not in given:
            rule += " (this value is the VM's current setting, kept by this event)"
        raise InputError(source, join_path(path, problem.field), problem.value, rule)
    return settings


@attrs.define
class _Names:
    """The VMs that exist at each point of the scenario text, with their settings so far."""

    source: str
    settings: dict[str, VmSettings]
    deleted_at: dict[str, str]

    def require(self, name: str, path: str) -> VmSettings:
        if name in self.settings:
            return self.settings[name]
        known = sorted(self.settings)
        where = join_path(path, "vm")
        if name in self.deleted_at:
            raise InputError(self.source, where, name,
                             f"no VM of that name at this point: deleted by "
                             f"{self.deleted_at[name]}")
        listing = ", ".join(known) if known else "none"
        raise InputError(self.source, where, name,
                         f"no VM of that name at this point of the scenario"
                         f"{suggest(name, known)}; VMs: {listing}")


def _parse_event(data: Any, path: str, known: _Names) -> ScenarioEvent:
    source = known.source
    obj = expect_object(data, source, path)
    kind = read_value(obj, "kind", str, source, path)
    kinds = sorted([*EVENT_TYPES, SETTLE_KIND])
    if kind not in kinds:
        raise InputError(source, join_path(path, "kind"), kind,
                         f"unknown event kind{suggest(kind, kinds)}; known: "
                         + ", ".join(kinds))
    if kind == SETTLE_KIND:
        return _parse_settle(obj, source, path)
    if kind == Create.KIND:
        return _parse_create(obj, path, known)
    if kind == Configure.KIND:
        return _parse_configure(obj, path, known)
    event = event_from_json(obj, source, path)
    name = getattr(event, "vm", None)
    if name is not None:
        known.require(name, path)
    if isinstance(event, Delete):
        del known.settings[event.vm]
        known.deleted_at[event.vm] = path
    return event


def _parse_settle(obj: Mapping[str, Any], source: str, path: str) -> Settle:
    check_keys(obj, ["kind", "max_steps"], source, path)
    bound = read_value(obj, "max_steps", int, source, path, DEFAULT_SETTLE_STEPS)
    if not 1 <= bound <= MAX_SETTLE_STEPS:
        raise InputError(source, join_path(path, "max_steps"), bound,
                         f"must be 1..{MAX_SETTLE_STEPS}")
    return Settle(bound)


def _settings_form(obj: Mapping[str, Any], source: str, path: str) -> bool:
    """Whether ``obj`` uses the nested ``settings`` form (not mixed with flat fields)."""
    if "settings" not in obj:
        return False
    for key in SETTINGS_FIELDS:
        if key in obj:
            raise InputError(source, join_path(path, key), obj[key],
                             "give settings either flat or inside 'settings', not both")
    return True


def _parse_create(obj: Mapping[str, Any], path: str, known: _Names) -> Create:
    source = known.source
    if _settings_form(obj, source, path):
        event = event_from_json(obj, source, path)
        assert isinstance(event, Create)
    else:
        check_keys(obj, ["kind", "vm", *SETTINGS_FIELDS], source, path)
        name = _read_name(obj, "vm", source, path)
        event = Create(name, _settings(obj, VmSettings(), source, path))
    if event.vm in known.settings:
        raise InputError(source, join_path(path, "vm"), event.vm,
                         "a VM of that name already exists at this point of the scenario")
    known.settings[event.vm] = event.settings
    known.deleted_at.pop(event.vm, None)
    return event


def _parse_configure(obj: Mapping[str, Any], path: str, known: _Names) -> Configure:
    source = known.source
    if _settings_form(obj, source, path):
        event = event_from_json(obj, source, path)
        assert isinstance(event, Configure)
        known.require(event.vm, path)
    else:
        check_keys(obj, ["kind", "vm", *SETTINGS_FIELDS], source, path)
        name = read_value(obj, "vm", str, source, path)
        current = known.require(name, path)
        if not any(key in obj for key in SETTINGS_FIELDS):
            raise InputError(source, path, None,
                             "a configure must name at least one setting to change: "
                             + ", ".join(SETTINGS_FIELDS))
        event = Configure(name, _settings(obj, current, source, path))
    known.settings[event.vm] = event.settings
    return event


# --- expectations ---------------------------------------------------------------------------


def _parse_expect(data: Any, source: str, n_events: int, known: _Names) -> Expectation:
    path = "expect"
    obj = expect_object(data, source, path)
    check_keys(obj, EXPECT_FIELDS, source, path)
    converged = read_value(obj, "converged", bool, source, path, None)
    rejected = None
    if "rejected" in obj:
        items = read_value(obj, "rejected", list, source, path)
        rejected = tuple(_parse_rejection(item, source, join_path("expect.rejected", i),
                                          n_events) for i, item in enumerate(items))
    free: int | None = None
    vms: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    if "final" in obj:
        free, vms = _parse_final(obj["final"], source, join_path(path, "final"), known)
    return Expectation(converged, rejected, free, vms)


def _parse_rejection(data: Any, source: str, path: str, n_events: int) -> ExpectedRejection:
    obj = expect_object(data, source, path)
    check_keys(obj, ["event", "reason"], source, path)
    index = read_value(obj, "event", int, source, path)
    if not 0 <= index < n_events:
        raise InputError(source, join_path(path, "event"), index,
                         f"must be the index of a scenario event, 0..{n_events - 1}")
    return ExpectedRejection(index, read_value(obj, "reason", str, source, path, ""))


def _parse_final(data: Any, source: str, path: str, known: _Names
                 ) -> tuple[int | None, tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]]:
    obj = expect_object(data, source, path)
    check_keys(obj, ["free_mib", "vms"], source, path)
    free = read_value(obj, "free_mib", int, source, path, None)
    if free is not None and free < 0:
        raise InputError(source, join_path(path, "free_mib"), free, "must be >= 0")
    vms_path = join_path(path, "vms")
    table = expect_object(obj.get("vms", {}), source, vms_path)
    vms = []
    for name, fields in table.items():
        if name not in known.settings:
            known_names = sorted(known.settings)
            raise InputError(source, join_path(vms_path, name), fields,
                             f"no VM of that name at the end of the scenario"
                             f"{suggest(name, known_names)}; VMs: "
                             + (", ".join(known_names) or "none"))
        vms.append((name, _parse_final_vm(fields, source, join_path(vms_path, name))))
    return free, tuple(vms)


def _parse_final_vm(data: Any, source: str, path: str) -> tuple[tuple[str, Any], ...]:
    obj = expect_object(data, source, path)
    check_keys(obj, list(FINAL_VM_FIELDS), source, path)
    out = []
    for key, value in obj.items():
        allowed = FINAL_VM_FIELDS[key]
        ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
        where = join_path(path, key)
        if not ok:
            words = " or ".join(_json_type_word(t) for t in allowed)
            raise InputError(source, where, value, f"must be {words}")
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise InputError(source, where, value, "must be >= 0")
        if key in FINAL_VM_WORDS and value not in FINAL_VM_WORDS[key]:
            raise InputError(source, where, value,
                             f"must be one of {', '.join(FINAL_VM_WORDS[key])}"
                             f"{suggest(value, list(FINAL_VM_WORDS[key]))}")
        out.append((key, value))
    return tuple(out)


def _json_type_word(kind: type) -> str:
    return {int: "an integer", str: "a string", bool: "true or false",
            type(None): "null"}[kind]
