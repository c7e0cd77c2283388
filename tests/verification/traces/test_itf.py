"""ITF traces (specs/formats/itf.md): exact round-trip, Quint's MBT shape, strict reading."""

from __future__ import annotations

import copy
import doctest
import json
import os
from pathlib import Path
from typing import Any

import attrs
import pytest
import trace_cases
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynmem.model.invariants import Violation
from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.environment import enabled_events
from dynmem.reference.events import (
    EVENT_TYPES,
    BalancerTick,
    CapabilitiesReport,
    Create,
    Demand,
    HotAddRequest,
    QuietPeriodEnd,
    Start,
    VersionRequest,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, Vm, initial_state
from dynmem.verification.errors import InputError
from dynmem.verification.traces import itf
from dynmem.verification.traces.itf import (
    ACTION_TAKEN,
    NONDET_PICKS,
    OPTIONAL_PICK_NAMES,
    PICK_NAMES,
    decode_itf,
    read_checked_itf,
    read_itf,
    trace_from_itf,
    trace_to_itf,
    write_itf,
)
from dynmem.verification.traces.trace import Finding, Trace, TraceStep, run_events


def roundtrip(trace: Trace) -> Trace:
    """Through JSON text too, so nothing survives only as a Python object."""
    return decode_itf(json.loads(json.dumps(trace_to_itf(trace))), "t.itf.json")


def test_doctests() -> None:
    """The module's examples run."""
    assert doctest.testmod(itf).failed == 0


# --- round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(trace_cases.ALL))
def test_roundtrip_real_traces(name: str, tmp_path: Path) -> None:
    """Scenario traces (refused events, settles, planted bugs) read back exactly, by file too;
    reading re-checks them: every claimed finding is confirmed, and a planted bug's steps
    (which the reference does not take) are found as TRACE-STEP on top."""
    trace = trace_cases.ALL[name]()
    assert roundtrip(trace) == trace
    path = tmp_path / f"{name}.itf.json"
    write_itf(trace, path)
    got, check = read_checked_itf(path)
    assert not check.unconfirmed
    assert attrs.evolve(got, findings=trace.findings) == trace
    if name.startswith("planted"):
        assert set(trace.findings) < set(got.findings)
        assert {f.invariant for f in check.unclaimed} == {"TRACE-STEP"}
    else:
        assert got == trace


def test_planted_bug_trace_keeps_its_verdict() -> None:
    """A violating trace (planted overcommit, INV-PHYSICAL) keeps findings and status."""
    trace = trace_cases.planted_overcommit()
    assert {f.invariant for f in trace.findings} == {"INV-PHYSICAL", "AUX-FREE"}
    doc = trace_to_itf(trace)
    assert doc["#meta"]["status"] == "violation"
    assert doc["#meta"]["findings"][0]["step"] == {"#bigint": "4"}
    assert roundtrip(trace).findings == trace.findings


def test_roundtrip_odd_values() -> None:
    """States no step builds (CTI-like: out-of-range enum, negative free, bad settings) and
    refused events with out-of-range values still round-trip exactly."""
    bad = VmSettings(dynamic=True, startup_mib=7, maximum_mib=3, buffer_pct=1, weight=-4)
    odd = Vm("x", bad, power=Power.RUNNING, visible_mib=10, ballooned_mib=12, channel=7,
             txn=TxnKind.BALLOON, txn_mib=4, txn_done_mib=2, has_report=True, report_mib=9)
    start = DmState(HostSettings(100, 200), -50, (odd, Vm("y", VmSettings())))
    steps = (
        TraceStep(Demand("x", -5), start, "demand must be >= 0, got -5"),
        TraceStep(Create("z", bad), start, "invalid settings"),
        TraceStep(BalancerTick(), start, None, (HotAddRequest("y", 2),)),
    )
    notes = (("seed", 12345678901234567890), ("ratio", 0.25), ("tags", ("a", 1, None)),
             ("nested", {"k": [1, {"m": True}], "t": (2.5,)}), ("empty", ""))
    trace = Trace(start, steps, (Finding(0, Violation("INV-TYPE", "c", "x", "m")),
                                 Finding(3, Violation("AUX-FREE", "free >= 0", None, "m2"))),
                  "bmc", notes)
    back = roundtrip(trace)
    assert back == trace
    assert back.initial.vms[0].channel == 7
    assert isinstance(back.notes[2][1], tuple) and isinstance(back.notes[3][1]["k"], list)


json_leaf = (st.none() | st.booleans() | st.integers(-10**40 + 1, 10**40 - 1)
             | st.text(max_size=5) | st.floats(allow_nan=False, allow_infinity=False))
note_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(st.text(max_size=4).filter(lambda k: not k.startswith("#")), inner,
                      max_size=3),
    max_leaves=8,
)
DEMANDS = (0, 300, 1500, 5000)


def _start() -> DmState:
    vms = (("a", VmSettings(dynamic=True, startup_mib=512, maximum_mib=4096, weight=7000)),
           ("b", VmSettings(dynamic=True, startup_mib=1024, maximum_mib=8192)),
           ("c", VmSettings(startup_mib=1024)))
    return initial_state(HostSettings(6144, 1024), vms)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), adversarial=st.booleans(),
       notes=st.lists(st.tuples(st.text(max_size=6), note_values), max_size=3))
def test_roundtrip_random_runs(data: st.DataObject, adversarial: bool,
                               notes: list[tuple[str, Any]]) -> None:
    """Any run of events drawn from ``enabled_events`` (honest or adversarial guests) with
    any JSON-like notes round-trips exactly."""
    state, events = _start(), []
    for _ in range(data.draw(st.integers(0, 25), label="length")):
        choices = enabled_events(state, DEMANDS, adversarial)
        if not choices:
            break
        event = data.draw(st.sampled_from(choices))
        events.append(event)
        state = run_events(state, [event]).final
    trace = run_events(_start(), events)
    trace = Trace(trace.initial, trace.steps, trace.findings, "stateful", tuple(notes))
    assert roundtrip(trace) == trace


# --- the shape Quint and Apalache tools expect -------------------------------------------------


def _numbers(value: Any, path: str = "") -> list[str]:
    """Paths of bare JSON numbers (ITF wants every integer as #bigint)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float):
        return [path]
    items = value.items() if isinstance(value, dict) else enumerate(value)
    return [p for k, v in items for p in _numbers(v, f"{path}/{k}")]


def test_itf_shape() -> None:
    """#meta, vars, states with #meta.index; ints only as #bigint; Quint MBT variables with
    an Option per pick; state 0 is ``init``; events replay from action name and picks."""
    trace = trace_cases.weight_contention()
    doc = trace_to_itf(trace)
    assert doc["#meta"]["format"] == "ITF" and doc["#meta"]["status"] == "ok"
    assert doc["vars"] == list(itf.VARS)
    assert [n for n in _numbers(doc) if not n.endswith("/#meta/index")] == []
    for i, state in enumerate(doc["states"]):
        assert state["#meta"] == {"index": i}
        assert set(state) == {"#meta", *itf.VARS}
        picks = state[NONDET_PICKS]
        assert sorted(picks) == sorted(PICK_NAMES)
        assert all(p["tag"] in ("Some", "None") for p in picks.values())
    assert doc["states"][0][ACTION_TAKEN] == "init"
    tick = next(s for s in doc["states"] if s[ACTION_TAKEN] == "balancer_tick")
    assert tick["dynmem::sent"] and tick["dynmem::rejected"] == itf.NONE
    demand = next(s for s in doc["states"] if s[ACTION_TAKEN] == "demand")
    assert demand[NONDET_PICKS]["mib"] == {"tag": "Some", "value": {"#bigint": "4000"}}
    assert demand[NONDET_PICKS]["vm"] == {"tag": "Some", "value": "lo"}
    assert demand[NONDET_PICKS]["settings"] == {"tag": "None", "value": {"#tup": []}}
    vms = dict(doc["states"][-1]["vms"]["#map"])
    assert vms["hi"]["visible_mib"] == {"#bigint": "4800"} and vms["hi"]["power"] == "running"


def test_every_event_kind_has_picks() -> None:
    """PICK_NAMES covers every field of every event kind (a new field is a new pick), the
    optional ones (written only when not their default) apart."""
    fields = {f.name for cls in EVENT_TYPES.values() for f in attrs.fields(cls)}
    assert set(PICK_NAMES) | set(OPTIONAL_PICK_NAMES) == fields
    assert not set(PICK_NAMES) & set(OPTIONAL_PICK_NAMES)


def test_alignment_is_written_only_when_advertised(tmp_path: Any) -> None:
    """R-HOT-ADD-ALIGN in ITF: a report of 128 MiB and the VM's alignment round-trip; a
    report of the default 2 MiB writes neither field (traces of before keep their bytes)."""
    for align, written in ((128, True), (2, False)):
        s0 = initial_state(HostSettings(4096, 512), (("a", VmSettings(dynamic=True)),))
        trace = run_events(s0, [Start("a"), VersionRequest("a", 0x20000),
                                CapabilitiesReport("a", True, True, align), QuietPeriodEnd("a")])
        path = tmp_path / f"a{align}.itf.json"
        write_itf(trace, str(path))
        text = path.read_text()
        assert ('"align_mib"' in text) == written and ('"hot_add_align_mib"' in text) == written
        back = read_itf(str(path))
        assert back.steps[-1].state.vms[0].hot_add_align_mib == align


# --- writing -------------------------------------------------------------------------------------


def test_write_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    """Overwriting goes through a temp file in the same directory and os.replace."""
    path = tmp_path / "t.itf.json"
    path.write_text("old")
    write_itf(trace_cases.static_host_full(), path)
    assert read_itf(path) == trace_cases.static_host_full()
    assert [p.name for p in tmp_path.iterdir()] == ["t.itf.json"]


def test_write_to_missing_directory_creates_it(tmp_path: Path) -> None:
    """Missing folders of an output path are created (specs/formats.md §5)."""
    target = tmp_path / "nope" / "t.itf.json"
    write_itf(trace_cases.static_host_full(), target)
    assert read_itf(target) == trace_cases.static_host_full()


def test_write_under_a_file_is_input_error(tmp_path: Path) -> None:
    """An output path under a file is bad input, named in the message."""
    (tmp_path / "nope").write_text("x")
    with pytest.raises(InputError, match="nope/t.itf.json: cannot write"):
        write_itf(trace_cases.static_host_full(), tmp_path / "nope" / "t.itf.json")


# --- strict reading ------------------------------------------------------------------------------

BASE = trace_to_itf(trace_cases.lifecycle())


def _set(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


DELETE = object()
S1 = ["states", 4]  # start web
BAD = [
    (S1 + ["free_mib"], 5120, "states[4].free_mib = 5120: integers are written"),
    (S1 + ["free_mib"], {"#bigint": "51x"}, "states[4].free_mib = "),
    (S1 + [ACTION_TAKEN], "strat", "did you mean 'start'"),
    (S1 + [NONDET_PICKS, "vm"], itf.NONE, "states[4].mbt::nondetPicks.vm = "),
    (S1 + [NONDET_PICKS, "mib"], {"tag": "Some", "value": {"#bigint": "3"}},
     "must be None: start has no field 'mib'"),
    (S1 + [NONDET_PICKS, "vm"], {"tag": "Some", "value": 3}, "nondetPicks.vm.value = 3"),
    (S1 + [NONDET_PICKS, "vm"], {"tag": "Maybe", "value": "web"}, 'must be {"tag": "Some"'),
    (S1 + ["vms", "#map", 1, 1, "visible_mib"], {"#bigint": "-2"},
     "states[4].vms.#map[1][1].visible_mib = -2: must be >= 0"),
    (S1 + ["vms", "#map", 1, 1, "power"], "runing", "did you mean 'running'"),
    (S1 + ["vms", "#map", 1, 0], "web", "states[4].vms.#map[1][0] = 'web': duplicate VM name"),
    (S1 + ["vms", "#map", 1, 1, "colour"], "red", "states[4].vms.#map[1][1].colour"),
    (S1 + ["host"], DELETE, "states[4].host = None: is required"),
    (S1 + ["vms", "#map", 0, 1, "txn_mib"], DELETE,
     "states[4].vms.#map[0][1].txn_mib = None: is required"),
    (S1 + ["vms", "#map", 0, 1, "settings", "weight"], DELETE,
     "states[4].vms.#map[0][1].settings.weight = None: is required"),
    (S1 + [NONDET_PICKS, "success"], DELETE, "states[4].mbt::nondetPicks.success = None: is"),
    (S1 + ["extra"], 1, "states[4].extra = 1: unknown field"),
    (S1 + ["#meta"], {"index": 7}, "states[4].#meta = {'index': 7}"),
    (S1 + ["dynmem::sent"], [{"kind": "start", "vm": "web"}],
     "states[4].dynmem::sent[0].kind = 'start': must be a DM request"),
    (S1 + ["dynmem::rejected"], {"tag": "Some", "value": True},
     "states[4].dynmem::rejected.value = True: must be a string"),
    (["states", 0, ACTION_TAKEN], "start", "the initial state's action must be 'init'"),
    (["states", 0, "dynmem::sent"], [{"kind": "hot_add_request", "vm": "web",
                                      "mib": {"#bigint": "2"}}], "the initial state has no"),
    (["states"], [], "states = []: must hold at least the initial state"),
    (["vars"], ["host"], "vars = ['host']: must list exactly"),
    (["loop"], {"#bigint": "0"}, "loop = "),
    (["#meta", "status"], "violation", "#meta.status = 'violation': must be ok"),
    (["#meta", "format"], "TLA", "#meta.format"),
    (["#meta", "dynmem-format"], {"#bigint": "2"}, "this dynmem reads version 1"),
    (["#meta", "source"], DELETE, "#meta.source = None: is required"),
    (["#meta", "findings"], [{"step": {"#bigint": "99"}, "invariant": "I", "clause": "c",
                              "vm": itf.NONE, "message": "m"}],
     "#meta.findings[0].step = 99: must be a step of the trace, 0..31"),
    (["#meta", "notes", "#map"], [["k", 3]], "#meta.notes.#map[0][1] = 3: integers"),
]


@pytest.mark.parametrize(("path", "value", "expected"), BAD,
                         ids=[".".join(map(str, p)) for p, _, _ in BAD])
def test_bad_itf_is_input_error_with_path(path: list[Any], value: Any, expected: str) -> None:
    """Each broken field gives one InputError naming the file, the JSON path and the value."""
    with pytest.raises(InputError) as err:
        trace_from_itf(_set(BASE, path, value), "t.itf.json")
    message = str(err.value)
    assert message.startswith("t.itf.json: ")
    assert expected in message


def test_base_document_reads() -> None:
    """The unbroken document the cases above start from reads fine (the cases are real)."""
    assert trace_from_itf(copy.deepcopy(BASE), "t.itf.json") == trace_cases.lifecycle()


@pytest.mark.parametrize(("text", "expected"), [
    ("{", "malformed JSON at line 1, column 2: Expecting property name enclosed in double "
          "quotes"),
    ("[1, 2]", "(document) = [1, 2]: must be a JSON object (an ITF trace)"),
    ('{"#meta": NaN}', "unreadable JSON: NaN is not a JSON value"),
    (b"\xff\xfe", "not UTF-8 text (byte 0xff at offset 0)"),
])
def test_bad_files(tmp_path: Path, text: str | bytes, expected: str) -> None:
    """Files that are not JSON, or not an object, are InputErrors naming the file."""
    path = tmp_path / "t.itf.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(InputError) as err:
        read_itf(path)
    assert str(err.value) == f"{path}: {expected}"


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is an InputError, not a traceback."""
    with pytest.raises(InputError, match="cannot read the file: No such file"):
        read_itf(tmp_path / "missing.itf.json")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        out += [p for k, v in value.items() for p in _paths(v, (*prefix, k))]
    elif isinstance(value, list):
        out += [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))]
    return out


_PLANTED = trace_cases.planted_overcommit()
# Findings and notes too, so every part of the reader is corrupted somewhere.
SMALL = trace_to_itf(attrs.evolve(_PLANTED, notes=(("seed", 7), ("tags", ("a", [1.5, None])))))
SMALL_PATHS = [p for p in _paths(SMALL) if p]
any_json = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=2)
                        | st.dictionaries(st.sampled_from(["#bigint", "#map", "tag", "value",
                                                           "vm", "x"]), inner, max_size=2),
                        max_leaves=4)


@settings(max_examples=150, deadline=None)
@given(path=st.sampled_from(SMALL_PATHS), value=any_json)
def test_any_corruption_is_input_error_or_a_trace(path: tuple[Any, ...], value: Any) -> None:
    """Replacing any part of a valid document by any JSON value never gives a traceback."""
    try:
        result = trace_from_itf(_set(SMALL, list(path), value), "t.itf.json")
    except InputError as err:
        assert str(err).startswith("t.itf.json: ")
    else:
        assert isinstance(result, Trace)


def test_enum_words_are_lower_case() -> None:
    """Enumerations are strings (Quint/Apalache enums), e.g. channel "ready"."""
    doc = trace_to_itf(trace_cases.weight_contention())
    record = dict(doc["states"][-1]["vms"]["#map"])["hi"]
    assert (record["power"], record["channel"], record["txn"]) == ("running", "ready", "none")
    assert Channel.READY.name.lower() == "ready"


def test_written_file_has_ordinary_permissions(tmp_path: Path) -> None:
    """The temp file's private mode (0600) does not leak into the trace file."""
    path = tmp_path / "t.itf.json"
    old = os.umask(0o022)
    try:
        write_itf(trace_cases.static_host_full(), path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


BUILTIN = sorted((Path(itf.__file__).parents[1] / "scenarios").glob("*.json"))


@pytest.mark.parametrize("scenario", BUILTIN, ids=[p.stem for p in BUILTIN])
def test_builtin_scenarios_roundtrip(scenario: Path, tmp_path: Path) -> None:
    """Every shipped scenario's simulated trace (notes included) reads back exactly."""
    from dynmem.verification.scenarios.scenario import load_scenario
    from dynmem.verification.scenarios.simulate import simulate

    trace = simulate(load_scenario(str(scenario))).trace
    write_itf(trace, tmp_path / "t.itf.json")
    assert read_itf(tmp_path / "t.itf.json") == trace
