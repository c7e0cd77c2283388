"""Every message of specs/formats/oracle.md has a JSON Schema, and what dynmem writes and
reads matches them: protocol messages both ways, logs, reports and vectors."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from oracle_helpers import connect, two_vm_host

from dynmem.reference.events import BalancerTick
from dynmem.verification.cli.main import main
from dynmem.verification.oracle.loggen import log_initial, simulate_log
from dynmem.verification.oracle.logwriter import format_log
from dynmem.verification.oracle.observation import view_to_json
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")
from schema_helpers import SCHEMAS, validate  # noqa: E402 - needs jsonschema


def test_every_schema_is_valid_draft_2020_12() -> None:
    """Each schema file is itself a valid JSON Schema."""
    names = sorted(p.name for p in SCHEMAS.glob("*.json"))
    assert len(names) >= 20
    for name in names:
        jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text()))


def _conversation(iut: Any, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stdin = io.StringIO("".join(json.dumps(r) + "\n" for r in requests))
    stdout = io.StringIO()
    serve_jsonl(iut, stdin, stdout)
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_system_protocol_messages_match_their_schemas() -> None:
    """hello/reset/event/bye requests and hello/ready/observed answers validate."""
    from dynmem.verification.codec import event_to_json, state_to_json

    events = connect("hi", 3000) + [BalancerTick()]
    requests = [{"type": "hello", "protocol": 1, "kind": "system", "mode": "lockstep"},
                {"type": "reset", "state": state_to_json(two_vm_host())}]
    requests += [{"type": "event", "step": i, "event": event_to_json(e)}
                 for i, e in enumerate(events, start=1)]
    requests.append({"type": "bye"})
    for request in requests:
        validate(f"{request['type']}-request.schema.json", request)
    answers = _conversation(ReferenceSystem(), requests)
    assert len(answers) == len(requests) - 1
    validate("hello-answer.schema.json", answers[0])
    validate("ready-answer.schema.json", answers[1])
    for answer in answers[2:]:
        validate("observed-answer.schema.json", answer)
    assert answers[-1]["sent"], "the tick sent a request"


def test_policy_protocol_messages_match_their_schemas() -> None:
    """plan requests carry a view (no demand); plan answers validate."""
    from dynmem.reference.step import step

    state = two_vm_host()
    for event in connect("hi", 3000):
        state = step(state, event).state
    request = {"type": "plan", "step": 7, "view": view_to_json(state)}
    validate("plan-request.schema.json", request)
    assert "demand_mib" not in request["view"]["vms"][0]
    answers = _conversation(ReferencePolicy(), [request])
    validate("plan-answer.schema.json", answers[0])
    assert answers[0]["requests"]
    validate("error-answer.schema.json", _conversation(ReferencePolicy(), [{"type": "x"}])[0])


def test_log_lines_match_their_schemas() -> None:
    """A log written by format_log validates line by line."""
    lines = list(format_log(log_initial(2), simulate_log(log_initial(2), 200, seed=4)))
    validate("log-header.schema.json", json.loads(lines[0]))
    for line in lines[1:]:
        validate("log-entry.schema.json", json.loads(line))


def test_report_and_vectors_match_their_schemas(tmp_path: Path) -> None:
    """report.json of a failing run and every vector file validate."""
    from oracle_helpers import EXAMPLES, PYTHON

    out = tmp_path / "out"
    main(["oracle", "--iut", f"{PYTHON} {EXAMPLES}/buggy_iuts/starts_without_free.py",
          "--examples", "100", "--seed", "3", "--shrink-replays", "300", "--out", str(out)])
    validate("report.schema.json", json.loads((out / "report.json").read_text()))
    vectors = tmp_path / "vectors"
    main(["vectors", str(vectors)])
    validate("vector-index.schema.json", json.loads((vectors / "index.json").read_text()))
    for case in (p for p in vectors.iterdir() if p.is_dir()):
        meta = json.loads((case / "meta.json").read_text())
        validate("vector-meta.schema.json", meta)
        validate("state.schema.json", json.loads((case / "pre.json").read_text()))
        lines = (case / "events.ndjson").read_text().splitlines()
        validate("vector-header.schema.json", json.loads(lines[0]))
        for line in lines[1:]:
            validate("event.schema.json", json.loads(line))
        if meta["kind"] == "exact":
            validate("state.schema.json", json.loads((case / "post.json").read_text()))
            for line in (case / "steps.ndjson").read_text().splitlines():
                validate("vector-step.schema.json", json.loads(line))
        if meta["kind"] == "refinement":
            validate("vector-checks.schema.json", json.loads((case / "checks.json").read_text()))


def test_page_vectors_match_their_schemas(tmp_path: Path) -> None:
    """Every file of ``dynmem vectors OUT --pages`` (oracle.md §9.8) validates: the index and
    header with ``"wire": 2``, each meta by the page meta schema, page states, page events
    and each step as a page-level observation."""
    vectors = tmp_path / "pages"
    assert main(["vectors", str(vectors), "--pages"]) == 0
    validate("vector-index.schema.json", json.loads((vectors / "index.json").read_text()))
    cases = [p for p in vectors.iterdir() if p.is_dir()]
    assert len(cases) >= 13
    for case in cases:
        meta = json.loads((case / "meta.json").read_text())
        validate("page-vector-meta.schema.json", meta)
        validate("page-state.schema.json", json.loads((case / "pre.json").read_text()))
        header, *events = (case / "events.ndjson").read_text().splitlines()
        validate("vector-header.schema.json", json.loads(header))
        for line in events:
            validate("page-event.schema.json", json.loads(line))
        if meta["kind"] == "exact":
            for line in (case / "steps.ndjson").read_text().splitlines():
                validate("page-observed-answer.schema.json", {"type": "observed",
                                                              **json.loads(line)})
    with pytest.raises(jsonschema.ValidationError):  # an amount-level meta is not a page one
        validate("page-vector-meta.schema.json", {**meta, "wire": 1})


@pytest.mark.parametrize("bad", [
    {"free_mib": 1},
    {"free_mib": 1, "vms": [{"name": "a"}]},
    {"free_mib": 1, "vms": [], "extra": 1},
])
def test_schema_and_decoder_agree_on_bad_observations(bad: dict[str, Any]) -> None:
    """What the schema rejects, the harness's decoder rejects too (with a field path)."""
    from dynmem.verification.errors import InputError
    from dynmem.verification.oracle.observation import observation_from_json

    with pytest.raises(jsonschema.ValidationError):
        validate("observation.schema.json", bad)
    with pytest.raises(InputError):
        observation_from_json(bad, "test")
