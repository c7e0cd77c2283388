"""Scenario files for the tests: a valid base and one case per class of bad input.

Each bad case says what the error message must contain: the field path, the value as shown
(``repr``) and the rule. ``test_scenario.py`` checks them on the loader, ``test_cli.py`` on
``dynmem simulate`` (exit 2, message on stderr, no traceback).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

# The example of issue 2 (specs/formats.md §scenario), used as the valid base.
BASE: dict[str, Any] = {
    "host": {"physical_mib": 16384, "reserve_mib": 1024},
    "vms": [
        {"name": "web", "dynamic": True, "startup_mib": 2048, "maximum_mib": 8192,
         "buffer_pct": 20, "weight": 5000, "dm_capable": True},
        {"name": "db", "dynamic": False, "startup_mib": 4096},
    ],
    "events": [
        {"kind": "start", "vm": "web"},
        {"kind": "demand", "vm": "web", "mib": 3000},
        {"kind": "settle"},
        {"kind": "configure", "vm": "web", "buffer_pct": 50},
        {"kind": "stop", "vm": "web"},
    ],
}


def base() -> dict[str, Any]:
    """A fresh deep copy of :data:`BASE`."""
    return copy.deepcopy(BASE)


def write(folder: Path, data: Any, name: str = "scenario.json") -> Path:
    """Write ``data`` (a str is written as is) to ``folder/name``; return the path."""
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _edit(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = base()
    change(data)
    return data


def _four_vms(data: dict[str, Any]) -> None:
    data["vms"] += [{"name": "a"}, {"name": "b", "buffer_pct": 4}]


@attrs.frozen
class Bad:
    """A bad scenario and what its error names: ``path = value`` (None: no path) and rule."""

    id: str
    content: Any  # dict (JSON-encoded) or raw text
    path: str | None
    value: Any
    rule: str


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


def _append_event(event: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["events"].append(event)


def _expect(block: Any) -> Callable[[dict[str, Any]], None]:
    return _set(["expect"], block)


BAD: list[Bad] = [
    # malformed JSON, with line and column
    Bad("malformed-json", '{"host": {"physical_mib": 16384,\n  "reserve_mib": 1024,, }}',
        None, None, "malformed JSON at line 2, column 23: Expecting property name"),
    Bad("empty-file", "", None, None, "malformed JSON at line 1, column 1"),
    Bad("top-level-array", "[1, 2]", None, None,
        "the top level must be a JSON object, not an array"),
    Bad("nested-too-deeply", "[" * 100_000 + "]" * 100_000, None, None,
        "JSON nested more than 64 levels deep"),
    Bad("integer-too-long", '{"host": {"physical_mib": ' + "9" * 5000 + "}}",
        "host.physical_mib", "9" * 5000, "an integer of 5000 digits; at most 40 are read"),
    Bad("duplicate-key", '{"host": {"physical_mib": 16384, "reserve_mib": 1024, '
                         '"reserve_mib": 2048}, "events": []}',
        "host.reserve_mib", 2048, "given twice in the same object"),
    # missing and unknown fields
    Bad("missing-host", _edit(_delete(["host"])), "host", None, "is required"),
    Bad("missing-events", _edit(_delete(["events"])), "events", None, "is required"),
    Bad("missing-reserve", _edit(_delete(["host", "reserve_mib"])), "host.reserve_mib", None,
        "is required"),
    Bad("missing-vm-name", _edit(_delete(["vms", 1, "name"])), "vms[1].name", None,
        "is required"),
    Bad("missing-event-vm", _edit(_delete(["events", 0, "vm"])), "events[0].vm", None,
        "is required"),
    Bad("missing-kind", _edit(_delete(["events", 1, "kind"])), "events[1].kind", None,
        "is required"),
    Bad("missing-demand-mib", _edit(_delete(["events", 1, "mib"])), "events[1].mib", None,
        "is required"),
    Bad("unknown-top-field", _edit(_set(["evnets"], [])), "evnets", [],
        "unknown field (did you mean 'events'?)"),
    Bad("unknown-vm-field", _edit(_set(["vms", 0, "bufer_pct"], 30)), "vms[0].bufer_pct", 30,
        "unknown field (did you mean 'buffer_pct'?)"),
    Bad("unknown-host-field", _edit(_set(["host", "physical_gib"], 16)),
        "host.physical_gib", 16, "unknown field (did you mean 'physical_mib'?)"),
    Bad("unknown-event-field", _edit(_set(["events", 1, "mb"], 5)), "events[1].mb", 5,
        "unknown field (did you mean 'mib'?)"),
    # wrong types
    Bad("string-amount", _edit(_set(["vms", 0, "startup_mib"], "2048")),
        "vms[0].startup_mib", "2048", "must be an integer (MiB)"),
    Bad("float-amount", _edit(_set(["events", 1, "mib"], 3000.5)), "events[1].mib", 3000.5,
        "must be an integer (MiB)"),
    Bad("int-as-bool", _edit(_set(["vms", 0, "dynamic"], 1)), "vms[0].dynamic", 1,
        "must be true or false"),
    Bad("bool-as-int", _edit(_set(["vms", 0, "weight"], True)), "vms[0].weight", True,
        "must be an integer (MiB)"),
    Bad("vms-not-array", _edit(_set(["vms"], {"web": {}})), "vms", {"web": {}},
        "must be a JSON array"),
    Bad("host-not-object", _edit(_set(["host"], 16384)), "host", 16384,
        "must be a JSON object"),
    Bad("event-not-object", _edit(_set(["events", 2], "settle")), "events[2]", "settle",
        "must be a JSON object"),
    Bad("empty-name", _edit(_set(["vms", 1, "name"], " ")), "vms[1].name", " ",
        "must be a non-empty name"),
    # out-of-range values (the example message, exactly)
    Bad("buffer-too-low", _edit(_four_vms), "vms[3].buffer_pct", 4, "must be 5..2000"),
    Bad("buffer-too-high", _edit(_set(["vms", 0, "buffer_pct"], 2001)), "vms[0].buffer_pct",
        2001, "must be 5..2000"),
    Bad("weight-too-high", _edit(_set(["vms", 0, "weight"], 10001)), "vms[0].weight", 10001,
        "must be 0..10000"),
    Bad("startup-too-small", _edit(_set(["vms", 1, "startup_mib"], 16)), "vms[1].startup_mib",
        16, "must be >= 32 and a multiple of 2"),
    Bad("startup-odd", _edit(_set(["vms", 1, "startup_mib"], 4097)), "vms[1].startup_mib",
        4097, "must be >= 32 and a multiple of 2"),
    Bad("maximum-below-startup", _edit(_set(["vms", 0, "maximum_mib"], 1024)),
        "vms[0].maximum_mib", 1024, "must be a multiple of 2 in 2048..65536"),
    Bad("maximum-above-64gib", _edit(_set(["vms", 0, "maximum_mib"], 65538)),
        "vms[0].maximum_mib", 65538, "must be a multiple of 2 in 2048..65536"),
    Bad("reserve-above-physical", _edit(_set(["host", "reserve_mib"], 20000)),
        "host.reserve_mib", 20000, "must be <= physical_mib (16384)"),
    Bad("negative-reserve", _edit(_set(["host", "reserve_mib"], -1)), "host.reserve_mib", -1,
        "must be >= 0"),
    Bad("zero-physical", _edit(_set(["host", "physical_mib"], 0)), "host.physical_mib", 0,
        "must be > 0"),
    Bad("settle-bound-zero", _edit(_set(["events", 2, "max_steps"], 0)),
        "events[2].max_steps", 0, "must be 1..1000000"),
    # negative amounts
    Bad("negative-demand", _edit(_set(["events", 1, "mib"], -5)), "events[1].mib", -5,
        "must be >= 0"),
    Bad("negative-report", _edit(_append_event(
        {"kind": "status_report", "vm": "web", "committed_mib": -1})),
        "events[5].committed_mib", -1, "must be >= 0"),
    Bad("negative-balloon-answer", _edit(_append_event(
        {"kind": "balloon_response", "vm": "web", "mib": -2})),
        "events[5].mib", -2, "must be >= 0"),
    # unknown event kinds and VM names
    Bad("unknown-kind", _edit(_set(["events", 2, "kind"], "setle")), "events[2].kind",
        "setle", "unknown event kind (did you mean 'settle'?)"),
    Bad("unknown-vm", _edit(_set(["events", 1, "vm"], "wbe")), "events[1].vm", "wbe",
        "no VM of that name at this point of the scenario (did you mean 'web'?); VMs: db, web"),
    Bad("vm-after-delete", _edit(lambda d: d["events"].extend(
        [{"kind": "delete", "vm": "web"}, {"kind": "start", "vm": "web"}])),
        "events[6].vm", "web", "no VM of that name at this point: deleted by events[5]"),
    Bad("vm-before-create", _edit(lambda d: d["events"].extend(
        [{"kind": "start", "vm": "cache"}, {"kind": "create", "vm": "cache"}])),
        "events[5].vm", "cache", "no VM of that name at this point of the scenario"),
    # duplicate names
    Bad("duplicate-vm", _edit(_set(["vms", 1, "name"], "web")), "vms[1].name", "web",
        "duplicate VM name (also vms[0])"),
    Bad("create-existing", _edit(_append_event({"kind": "create", "vm": "db"})),
        "events[5].vm", "db", "a VM of that name already exists at this point of the scenario"),
    # the scenario conveniences
    Bad("configure-out-of-range", _edit(_set(["events", 3, "buffer_pct"], 4)),
        "events[3].buffer_pct", 4, "must be 5..2000"),
    Bad("configure-startup-above-kept-maximum", _edit(_set(["events", 3],
        {"kind": "configure", "vm": "web", "startup_mib": 10000})),
        "events[3].maximum_mib", 8192,
        "must be a multiple of 2 in 10000..65536 (startup_mib..64 GiB) (this value is the "
        "VM's current setting, kept by this event)"),
    Bad("configure-nothing", _edit(_set(["events", 3], {"kind": "configure", "vm": "web"})),
        "events[3]", None, "a configure must name at least one setting to change"),
    Bad("configure-mixed-forms", _edit(_set(["events", 3], {
        "kind": "configure", "vm": "web", "weight": 1, "settings": {"weight": 2}})),
        "events[3].weight", 1, "give settings either flat or inside 'settings', not both"),
    Bad("settle-unknown-field", _edit(_set(["events", 2, "steps"], 5)), "events[2].steps", 5,
        "unknown field (did you mean 'max_steps'?)"),
    Bad("create-out-of-range", _edit(_append_event(
        {"kind": "create", "vm": "c", "dynamic": True, "weight": -1})),
        "events[5].weight", -1, "must be 0..10000"),
    # expectations
    Bad("expect-unknown-field", _edit(_expect({"finale": {}})), "expect.finale", {},
        "unknown field (did you mean 'final'?)"),
    Bad("expect-bad-index", _edit(_expect({"rejected": [{"event": 9, "reason": "x"}]})),
        "expect.rejected[0].event", 9, "must be the index of a scenario event, 0..4"),
    Bad("expect-unknown-vm", _edit(_expect({"final": {"vms": {"wbe": {}}}})),
        "expect.final.vms.wbe", {}, "no VM of that name at the end of the scenario "
        "(did you mean 'web'?)"),
    Bad("expect-unknown-vm-field", _edit(_expect({"final": {"vms": {"web": {"asigned": 1}}}})),
        "expect.final.vms.web.asigned", 1, "unknown field (did you mean 'assigned_mib'?)"),
    Bad("expect-bad-power", _edit(_expect({"final": {"vms": {"web": {"power": "on"}}}})),
        "expect.final.vms.web.power", "on", "must be one of off, running"),
    Bad("expect-negative-free", _edit(_expect({"final": {"free_mib": -1}})),
        "expect.final.free_mib", -1, "must be >= 0"),
    # the lifecycle's new fields (specs/lifecycle.md): the guest profile and migrate_in's mib
    Bad("unknown-guest-profile", _edit(_set(["vms", 0, "guest"], "linux_hibernating")),
        "vms[0].guest", "linux_hibernating",
        "must be one of windows, linux, linux_hibernate (did you mean 'linux_hibernate'?)"),
    Bad("guest-not-a-string", _edit(_set(["vms", 0, "guest"], 3)), "vms[0].guest", 3,
        "must be a string"),
    Bad("migrate-in-without-mib", _edit(_append_event({"kind": "migrate_in", "vm": "db"})),
        "events[5].mib", None, "is required"),
    Bad("migrate-in-negative-mib", _edit(_append_event(
        {"kind": "migrate_in", "vm": "db", "mib": -4096})), "events[5].mib", -4096,
        "must be >= 0"),
    Bad("migrate-in-string-mib", _edit(_append_event(
        {"kind": "migrate_in", "vm": "db", "mib": "4096"})), "events[5].mib", "4096",
        "must be an integer (MiB)"),
    Bad("restart-unknown-vm", _edit(_append_event({"kind": "guest_restart", "vm": "dbb"})),
        "events[5].vm", "dbb",
        "no VM of that name at this point of the scenario (did you mean 'db'?); VMs: db, web"),
    Bad("save-extra-field", _edit(_append_event({"kind": "save", "vm": "web", "mib": 2})),
        "events[5].mib", 2, "unknown field; known: vm"),
    Bad("reset-vm-not-a-string", _edit(_append_event({"kind": "channel_reset", "vm": 7})),
        "events[5].vm", 7, "must be a string"),
]
