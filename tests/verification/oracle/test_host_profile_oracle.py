"""The host profile in the oracle (Rule P1a): an IUT names the host it implements in its
hello, the harness checks it on hosts of that profile, and an IUT that names none is the
default ``qemu`` host of before (every protocol version)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from oracle_helpers import EXAMPLES, PYTHON, load_example

from dynmem.model.vocabulary import HostProfile
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import initial_state
from dynmem.verification.cli.main import main
from dynmem.verification.codec import state_to_json
from dynmem.verification.errors import InputError
from dynmem.verification.oracle import ReferenceSystem, check_iut
from dynmem.verification.oracle.judge import NOT_ALLOWED
from dynmem.verification.oracle.wire import _serve_one, hello_from_json

HELLO = {"type": "hello", "protocol": 1, "name": "x", "capabilities": {"kinds": ["system"]}}


def test_a_hello_without_a_profile_is_the_default_host() -> None:
    """Rule P1a: IUTs of before say nothing and are checked as before (qemu)."""
    assert hello_from_json(HELLO).host_profile == HostProfile.QEMU
    hello = hello_from_json({**HELLO, "host_profile": "2008r2sp1"})
    assert hello.host_profile == HostProfile.WS2008R2SP1


def test_an_unknown_profile_in_hello_names_the_field_and_value() -> None:
    """A misbehaving IUT's hello: one line naming the field, the value and the known names."""
    with pytest.raises(InputError) as err:
        hello_from_json({**HELLO, "host_profile": "2008r2"})
    text = str(err.value)
    assert "host_profile = '2008r2'" in text and "did you mean '2008r2sp1'" in text


def test_a_served_iut_says_its_profile_and_reads_it_in_reset() -> None:
    """serve_jsonl's hello answer names a profile other than qemu; a reset state's host
    carries ``profile`` only then, so IUTs of before read the states they always read."""
    iut = ReferenceSystem(host_profile=HostProfile.WS2008R2SP1)
    answer = _serve_one(iut, {"type": "hello", "protocol": 1, "kind": "system",
                              "mode": "refinement"})
    assert answer is not None and answer["host_profile"] == "2008r2sp1"
    plain = _serve_one(ReferenceSystem(), {"type": "hello", "protocol": 1, "kind": "system",
                                           "mode": "refinement"})
    assert plain is not None and "host_profile" not in plain
    host = HostSettings(4096, 1024, HostProfile.WS2008R2SP1)
    assert state_to_json(initial_state(host))["host"]["profile"] == "2008r2sp1"
    assert "profile" not in state_to_json(initial_state(HostSettings(4096, 1024)))["host"]


def test_a_correct_2008r2sp1_host_passes() -> None:
    """The reference on 2008 R2 SP1 hosts (it refuses 2.0 and 1.0) conforms."""
    run = check_iut(ReferenceSystem(host_profile=HostProfile.WS2008R2SP1), examples=20, seed=1)
    assert run.ok, run.report


def test_a_2008r2sp1_host_accepting_2_0_is_caught(tmp_path: Path) -> None:
    """examples/buggy_iuts/win7_host_accepts_win10.py: the exhaustive phase of preset
    1vm@2008r2sp1 finds it in 3 events (start, 2.0 accepted where it must be refused, the
    guest's next proposal refused where the model accepts it): not-allowed."""
    out = tmp_path / "out"
    code = main(["oracle", "--iut", f"{PYTHON} {EXAMPLES}/buggy_iuts/win7_host_accepts_win10.py",
                 "--exhaustive", "--vms", "1", "--out", str(out)])
    report = json.loads((out / "report.json").read_text())
    assert code == 1 and report["class"] == NOT_ALLOWED, report
    assert report["steps"] == 3 and report["event"]["kind"] == "version_request"
    assert [p["preset"] for p in report["phases"]] == ["1vm@2008r2sp1"]
    assert "profile 2008r2sp1" in (out / "report.txt").read_text()


def test_the_buggy_host_is_caught_in_process_too() -> None:
    """The random phase catches it too, in the first examples."""
    run = check_iut(load_example("buggy_iuts/win7_host_accepts_win10.py").make_iut(),
                    examples=50, seed=1)
    assert not run.ok
