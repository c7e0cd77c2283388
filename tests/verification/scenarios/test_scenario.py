"""The scenario format (specs/formats.md §scenario): parsing, defaults, the conveniences,
every class of bad input, and agreement between the loader and specs/scenario.schema.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from scenario_cases import BAD, Bad, base, write

from dynmem.model.vocabulary import (
    DEFAULT_BUFFER_PERCENT,
    DEFAULT_MAXIMUM_MIB,
    DEFAULT_WEIGHT,
    MAX_BUFFER_PERCENT,
    MAX_MAXIMUM_MIB,
    MAX_WEIGHT,
    MIN_BUFFER_PERCENT,
    MIN_STARTUP_MIB,
    MIN_WEIGHT,
)
from dynmem.reference.events import EVENT_TYPES, Configure, Create, Demand, Start, Stop
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.errors import InputError
from dynmem.verification.scenarios.scenario import (
    DEFAULT_SETTLE_STEPS,
    EXPECT_FIELDS,
    GUEST_FIELD,
    GUEST_WORDS,
    SETTINGS_FIELDS,
    TOP_LEVEL_FIELDS,
    Settle,
    load_scenario,
    parse_scenario,
)
from dynmem.verification.scenarios.summary import FINAL_VM_FIELDS
from dynmem.verification.suite.scenario_checks import list_builtin

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "specs" / "scenario.schema.json"


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def _builtin_data() -> list[tuple[str, Any]]:
    return [(f.name, json.loads(f.read_text(encoding="utf-8"))) for f in list_builtin()]


class TestParse:
    def test_issue_example_with_defaults(self) -> None:
        """VMs listed are created off; omitted settings take the defaults of specs/domain.md."""
        s = parse_scenario(base(), "scenario.json")
        assert s.host == HostSettings(16384, 1024)
        assert s.vms[0] == ("web", VmSettings(True, 2048, 8192, 20, 5000, True))
        db = s.vms[1][1]
        assert (db.dynamic, db.startup_mib) == (False, 4096)
        assert (db.maximum_mib, db.buffer_pct, db.weight, db.dm_capable) == (
            DEFAULT_MAXIMUM_MIB, DEFAULT_BUFFER_PERCENT, DEFAULT_WEIGHT, True)
        assert s.events[:3] == (Start("web"), Demand("web", 3000), Settle(DEFAULT_SETTLE_STEPS))
        assert s.events[4] == Stop("web")
        assert s.expect is None
        state = s.initial_state()
        assert state.free_mib == 16384 - 1024
        assert all(not vm.running for vm in state.vms)

    def test_configure_merges_onto_settings_so_far(self) -> None:
        """A flat configure changes only what it names, on top of earlier configures."""
        data = base()
        data["events"] = [{"kind": "configure", "vm": "web", "buffer_pct": 50},
                          {"kind": "configure", "vm": "web", "weight": 100}]
        s = parse_scenario(data, "x.json")
        assert s.events[0] == Configure("web", VmSettings(True, 2048, 8192, 50, 5000, True))
        assert s.events[1] == Configure("web", VmSettings(True, 2048, 8192, 50, 100, True))

    def test_configure_settings_form_replaces_all(self) -> None:
        """The nested form is a full replacement: omitted settings take their defaults."""
        data = base()
        data["events"] = [{"kind": "configure", "vm": "web", "settings": {"weight": 7}}]
        event = parse_scenario(data, "x.json").events[0]
        assert event == Configure("web", VmSettings(weight=7))

    def test_create_flat_and_nested(self) -> None:
        """R-CREATE: flat settings beside ``vm`` or nested in ``settings``; later events may
        name the new VM, and a configure merges onto its settings."""
        data = base()
        data["events"] = [
            {"kind": "create", "vm": "c1", "dynamic": True, "startup_mib": 1024},
            {"kind": "create", "vm": "c2", "settings": {"startup_mib": 64}},
            {"kind": "configure", "vm": "c1", "maximum_mib": 2048},
            {"kind": "start", "vm": "c2"},
        ]
        s = parse_scenario(data, "x.json")
        assert s.events[0] == Create("c1", VmSettings(dynamic=True, startup_mib=1024))
        assert s.events[1] == Create("c2", VmSettings(startup_mib=64))
        assert s.events[2] == Configure("c1", VmSettings(dynamic=True, startup_mib=1024,
                                                         maximum_mib=2048))

    def test_delete_then_create_again(self) -> None:
        """A name is free again after a delete; the new VM starts from defaults."""
        data = base()
        data["events"] = [{"kind": "delete", "vm": "db"}, {"kind": "create", "vm": "db"},
                          {"kind": "configure", "vm": "db", "weight": 1}]
        s = parse_scenario(data, "x.json")
        assert s.events[2] == Configure("db", VmSettings(weight=1))

    def test_every_reference_kind_is_accepted(self) -> None:
        """Every kind of EVENT_TYPES can be written in a scenario."""
        data = base()
        middle = []
        for kind, cls in EVENT_TYPES.items():
            if kind in ("create", "configure", "delete"):
                continue
            names = {f.name for f in attrs.fields(cls)}
            event: dict[str, Any] = {"kind": kind, **({"vm": "web"} if "vm" in names else {})}
            event.update({f.name: 2 for f in attrs.fields(cls)
                          if f.name != "vm" and f.default is attrs.NOTHING})
            middle.append(event)
        data["events"] = [{"kind": "create", "vm": "x"},
                          {"kind": "configure", "vm": "x", "weight": 1},
                          *middle, {"kind": "delete", "vm": "x"}]
        s = parse_scenario(data, "x.json")
        assert {e.KIND for e in s.events} == set(EVENT_TYPES)

    def test_utf8_bom_and_schema_key_are_accepted(self, tmp_path: Path) -> None:
        """Editors may add a BOM or a ``$schema`` key; neither is an error."""
        data = base()
        data["$schema"] = "../specs/scenario.schema.json"
        path = tmp_path / "s.json"
        path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data).encode())
        assert load_scenario(path).vms[0][0] == "web"


class TestBadInput:
    @pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
    def test_error_names_file_path_value_and_rule(self, case: Bad, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        """Every class of bad input is an InputError ``file: path = value: rule``."""
        monkeypatch.chdir(tmp_path)
        write(tmp_path, case.content)
        with pytest.raises(InputError) as info:
            load_scenario("scenario.json")
        err = info.value
        assert err.source == "scenario.json"
        assert err.path == (case.path or "")
        assert case.rule in err.rule
        if case.path is not None:  # a long value is echoed cut: its first 80 characters
            shown = repr(case.value) if len(repr(case.value)) <= 80 else repr(case.value)[:80]
            assert str(err).startswith(f"scenario.json: {case.path} = {shown}")
        else:
            assert str(err).startswith("scenario.json: ")

    def test_the_issue_example_message_exactly(self, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
        """The message of issue 2's example, character for character."""
        monkeypatch.chdir(tmp_path)
        data = base()
        data["vms"] += [{"name": "a"}, {"name": "b", "buffer_pct": 4}]
        write(tmp_path, data)
        with pytest.raises(InputError) as info:
            load_scenario("scenario.json")
        assert str(info.value) == "scenario.json: vms[3].buffer_pct = 4: must be 5..2000"

    def test_missing_file(self, tmp_path: Path) -> None:
        """An unreadable file names the file and the OS reason."""
        with pytest.raises(InputError, match=r"nope\.json: cannot read the file: No such file"):
            load_scenario(tmp_path / "nope.json")

    def test_directory(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="cannot read the file: Is a directory"):
            load_scenario(tmp_path)

    def test_not_utf8(self, tmp_path: Path) -> None:
        path = tmp_path / "latin1.json"
        path.write_bytes(b'{"host": "\xe9"}')
        with pytest.raises(InputError, match=r"not UTF-8 text \(byte 0xe9 at offset 10\)"):
            load_scenario(path)

    def test_nothing_is_fixed_silently(self) -> None:
        """A value the reference would refuse is reported, not clamped or defaulted."""
        data = base()
        data["vms"][0]["maximum_mib"] = 70000
        with pytest.raises(InputError) as info:
            parse_scenario(data, "s.json")
        assert info.value.value == 70000


# --- the JSON Schema ----------------------------------------------------------------------


# Rules a JSON Schema cannot state (names across events, cross-field ranges, indices).
_SEMANTIC_ONLY = {
    "vm-after-delete", "vm-before-create", "unknown-vm", "restart-unknown-vm", "duplicate-vm",
    "create-existing",
    "maximum-below-startup", "configure-startup-above-kept-maximum", "reserve-above-physical",
    "expect-bad-index", "expect-unknown-vm",
}
_STRUCTURAL = [c for c in BAD if isinstance(c.content, dict) and c.id not in _SEMANTIC_ONLY]


def _kind_fields(schema: dict[str, Any], kind: str) -> set[str]:
    """Every property name one event kind may have, over all its forms in the schema."""
    node = schema["$defs"][f"event_{kind}"]
    forms = node.get("oneOf", [node])
    names: set[str] = set()
    for form in forms:
        names |= set(form["properties"])
        if any(ref == {"$ref": "#/$defs/settings_fields"} for ref in form.get("allOf", [])):
            names |= set(schema["$defs"]["settings_fields"]["properties"])
    return names


def _required(schema: dict[str, Any], kind: str) -> set[str]:
    node = schema["$defs"][f"event_{kind}"]
    forms = node.get("oneOf", [node])
    return set.intersection(*(set(form.get("required", [])) for form in forms))


class TestSchemaAgreesWithLoader:
    """Pure checks (no jsonschema needed): the schema and the loader name the same things."""

    def test_top_level_fields(self) -> None:
        schema = _schema()
        assert set(schema["properties"]) == set(TOP_LEVEL_FIELDS)
        assert set(schema["required"]) == {"host", "events"}
        assert schema["additionalProperties"] is False

    def test_event_kinds(self) -> None:
        """Kinds: EVENT_TYPES plus ``settle``, in the enum and as one branch each."""
        schema = _schema()
        kinds = set(EVENT_TYPES) | {"settle"}
        assert set(schema["$defs"]["event"]["properties"]["kind"]["enum"]) == kinds
        refs = {b["$ref"].rsplit("/", 1)[-1] for b in schema["$defs"]["event"]["oneOf"]}
        assert refs == {f"event_{k}" for k in kinds}

    @pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
    def test_event_fields(self, kind: str) -> None:
        """Each kind's fields are the attrs fields of its class (plus ``kind``); fields
        without a default are required."""
        schema, cls = _schema(), EVENT_TYPES[kind]
        if kind in ("create", "configure"):
            expected = {"kind", "vm", "settings", *SETTINGS_FIELDS}
            required = {"kind", "vm"}
        else:
            expected = {"kind"} | {f.name for f in attrs.fields(cls)}
            required = {"kind"} | {f.name for f in attrs.fields(cls)
                                   if f.default is attrs.NOTHING}
        assert _kind_fields(schema, kind) == expected
        assert _required(schema, kind) == required

    def test_settle_and_vm_entries(self) -> None:
        schema = _schema()
        assert _kind_fields(schema, "settle") == {"kind", "max_steps"}
        vm = schema["$defs"]["vm"]
        settings = schema["$defs"]["settings_fields"]["properties"]
        assert set(vm["properties"]) | set(settings) == {"name", GUEST_FIELD, *SETTINGS_FIELDS}
        assert vm["properties"][GUEST_FIELD]["enum"] == GUEST_WORDS
        assert set(schema["$defs"]["settings"]["properties"]) == set(SETTINGS_FIELDS)

    def test_settings_ranges_and_defaults(self) -> None:
        """The schema's ranges and defaults are the vocabulary's (specs/domain.md §1.2)."""
        props = _schema()["$defs"]["settings_fields"]["properties"]
        assert props["startup_mib"]["minimum"] == MIN_STARTUP_MIB
        assert props["maximum_mib"]["maximum"] == MAX_MAXIMUM_MIB
        assert (props["buffer_pct"]["minimum"], props["buffer_pct"]["maximum"]) == (
            MIN_BUFFER_PERCENT, MAX_BUFFER_PERCENT)
        assert (props["weight"]["minimum"], props["weight"]["maximum"]) == (
            MIN_WEIGHT, MAX_WEIGHT)
        defaults = VmSettings()
        for name in SETTINGS_FIELDS:
            assert props[name]["default"] == getattr(defaults, name), name

    def test_expect_fields(self) -> None:
        schema = _schema()
        expect = schema["$defs"]["expect"]
        assert set(expect["properties"]) == set(EXPECT_FIELDS)
        assert set(schema["$defs"]["final_vm"]["properties"]) == set(FINAL_VM_FIELDS)
        rejected = expect["properties"]["rejected"]["items"]["properties"]
        assert set(rejected) == {"event", "reason"}


class TestSchemaValidation:
    """With jsonschema installed: shipped scenarios are valid, structural bad input is not."""

    def test_every_shipped_scenario_is_valid(self) -> None:
        jsonschema = pytest.importorskip("jsonschema")
        validator = jsonschema.Draft202012Validator(_schema())
        jsonschema.Draft202012Validator.check_schema(_schema())
        shipped = _builtin_data()
        assert len(shipped) >= 8
        for name, data in shipped:
            errors = [e.message for e in validator.iter_errors(data)]
            assert not errors, (name, errors)
        assert not list(validator.iter_errors(base()))

    @pytest.mark.parametrize("case", _STRUCTURAL, ids=[c.id for c in _STRUCTURAL])
    def test_structural_bad_input_is_invalid_too(self, case: Bad) -> None:
        """What the schema can express, it rejects as the loader does."""
        jsonschema = pytest.importorskip("jsonschema")
        validator = jsonschema.Draft202012Validator(_schema())
        assert list(validator.iter_errors(case.content)), case.id
