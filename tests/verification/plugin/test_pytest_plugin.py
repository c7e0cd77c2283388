"""The pytest plugin (issue 16): a user's own repository checks its IUT with dynmem.

The README's example test file is copied into a temporary repository with the Node example
IUT (it passes: the oracle and every conformance vector) and run against a planted-bug IUT
(it fails with the readable trace); markers, options and calls set the oracle's settings.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from dynmem.verification.oracle.vectors import collect_cases, needs_alignment, needs_lifecycle

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
README = (ROOT / "README.md").read_text(encoding="utf-8")
NODE = shutil.which("node")


def readme_example() -> str:
    """The example test file of the README (the python block that uses the fixtures)."""
    blocks = re.findall(r"```python\n(.*?)\n```", README, flags=re.DOTALL)
    (example,) = [b for b in blocks if "def test_conformance(dynmem_vector)" in b]
    return example + "\n"


def make_user_repo(pytester: pytest.Pytester) -> None:
    """A user's repository: the README's test file beside the Node example IUT."""
    pytester.makepyfile(test_my_balancer=readme_example())
    shutil.copy(EXAMPLES / "iut_node" / "iut.js", pytester.path / "iut.js")


@pytest.mark.skipif(NODE is None, reason="node is not installed (the example IUT is Node.js)")
def test_the_readme_example_passes_on_the_node_iut(pytester: pytest.Pytester) -> None:
    """The oracle and all conformance vectors pass on a correct IUT of another language."""
    make_user_repo(pytester)
    # --dynmem-vms 1 keeps CI short: the default presets (2vm, 2vm-reclaim) cost the Node IUT
    # about a CPU minute more (README), and the same exhaustive code is tested on 2vm in
    # tests/verification/conformance.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--dynmem-seed", "3",
                                           "--dynmem-vms", "1")
    # the node IUT does not follow the guest's alignment (no Rule P1c): those cases skip
    aligned = [c.name for c in collect_cases() if needs_alignment(c)]
    assert aligned
    result.assert_outcomes(passed=1 + len(vector_names()) - len(aligned), skipped=len(aligned))


def test_the_readme_example_fails_on_a_buggy_iut(pytester: pytest.Pytester,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A planted bug fails the user's test with a readable trace and no traceback: a shortest
    one from the exhaustive phase by default, a shrunk one from the random phase alone."""
    make_user_repo(pytester)
    buggy = EXAMPLES / "buggy_iuts" / "starts_without_free.py"
    monkeypatch.setenv("MY_IUT", f"{sys.executable} {buggy}")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--dynmem-seed", "4",
                                           "--dynmem-lifecycle",
                                           "-k", "refines or start_without_free")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    # The exhaustive phase passes 1vm+lifecycle and stops in 2vm+lifecycle at a shortest
    # trace: a VM arrives by migration, then a start that does not fit runs anyway.
    assert "conforms on every reachable state of preset 1vm+lifecycle" in out
    assert "verdict: FAIL, invariant broken" in out
    assert "example: 2 events, not shrunk" in out
    assert "step 1: hi arrives by migration" in out and "step 2: start lo" in out
    assert "INV-PHYSICAL [reserve + owned <= physical]" in out
    assert "conformance vector start_without_free_memory_waits_then_fails" in out
    assert "Traceback" not in out and "site-packages" not in out

    # 50 replays to shrink (the default 1000 take two CPU minutes over the pipe: 592 replays
    # shrink the failure to 10 events, a start that does not fit running anyway; measured)
    random_only = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--dynmem-seed", "4",
                                                "--dynmem-vms", "0", "-k", "refines",
                                                "--dynmem-shrink-replays", "50")
    random_only.assert_outcomes(failed=1)
    out = random_only.stdout.str()
    assert "exhaustive phase" not in out
    assert "verdict: FAIL, invariant broken" in out and "seed 4" in out
    assert "then 50 shrink runs" in out and "example: 82 events, shrunk" in out
    steps = [line for line in out.splitlines() if line.startswith("step ")]
    assert "start vm" in steps[-1], steps
    assert "Traceback" not in out and "site-packages" not in out


def vector_names() -> list[str]:
    return [case.name for case in collect_cases() if not needs_lifecycle(case)]


SETTINGS_PROBE = """
import pytest
from dynmem.verification.oracle import ReferencePolicy, ReferenceSystem

def test_defaults_and_options(dynmem_oracle):
    run = dynmem_oracle(ReferenceSystem(), top_up=0)
    assert (run.kind, run.mode, run.result.examples, run.result.seed) == (
        "system", "refinement", 4, 11)
    assert [p["preset"] for p in run.result.phases] == ["1vm"]  # --dynmem-vms 1

@pytest.mark.dynmem(kind="policy", mode="lockstep", examples=3, top_up=0)
def test_marker_over_options(dynmem_oracle):
    run = dynmem_oracle(ReferencePolicy())
    assert (run.kind, run.mode, run.result.examples) == ("policy", "lockstep", 3)

@pytest.mark.dynmem(examples=3, vms=0)
def test_call_over_marker(dynmem_oracle):
    run = dynmem_oracle(ReferenceSystem(), examples=2, vms=1, top_up=0)
    assert (run.result.examples, [p["preset"] for p in run.result.phases]) == (2, ["1vm"])

@pytest.mark.dynmem(examples=0)
def test_bad_marker_value(dynmem_oracle):
    dynmem_oracle(ReferenceSystem())

@pytest.mark.dynmem(exampels=5)
def test_misspelt_setting(dynmem_oracle):
    dynmem_oracle(ReferenceSystem())

def test_a_policy_iut_skips_the_vectors(dynmem_vector):
    dynmem_vector.check(ReferencePolicy())
"""


def test_settings_come_from_options_marker_and_call(pytester: pytest.Pytester) -> None:
    """Defaults < ``--dynmem-*`` options < marker < call; bad settings are one clear error.
    (``top_up=0`` and the 1-VM preset: the top-up and the larger presets' cells, some 15 CPU
    s per run, show nothing about settings.)"""
    pytester.makepyfile(test_settings=SETTINGS_PROBE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--dynmem-examples", "4",
                                "--dynmem-seed", "11", "--dynmem-vms", "1", "-k", "not vectors")
    result.assert_outcomes(passed=3, failed=2)
    out = result.stdout.str()
    assert "dynmem setting examples=0: must be an integer >= 1" in out
    assert "unknown dynmem setting 'exampels'" in out


def test_vectors_are_parametrised_and_skip_a_policy_iut(pytester: pytest.Pytester) -> None:
    """One test per conformance case, named after it; a policy IUT cannot run them."""
    pytester.makepyfile(test_settings=SETTINGS_PROBE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "vectors", "-rs")
    result.assert_outcomes(skipped=len(vector_names()))
    assert "conformance vectors drive system IUTs" in result.stdout.str()
    collected = pytester.runpytest("-p", "no:cacheprovider", "-k", "vectors",
                                   "--collect-only", "-q").stdout.str()
    assert all(f"[{name}]" in collected for name in vector_names())


def test_options_and_marker_are_documented(pytester: pytest.Pytester) -> None:
    """``pytest --help`` shows the options and ``--markers`` the marker."""
    helped = pytester.runpytest("--help").stdout.str()
    assert all(f"--dynmem-{name}" in helped
               for name in ("kind", "mode", "examples", "seed", "vms", "lifecycle",
                            "shrink-replays"))
    assert "@pytest.mark.dynmem(kind=" in pytester.runpytest("--markers").stdout.str()
