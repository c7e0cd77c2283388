"""A 2-worker local Dask cluster gives the serial run's verdicts and report (issue 16,
item 8): proof obligations (``check_inductive``, ``dynmem prove --workers``), walk swarms
(``run_swarm``, ``dynmem fuzz --engine walk --swarm``) and the oracle's seeds
(``run_seeds``, ``dynmem oracle --seeds``), for the model as written and for a weakened one
/ a planted bug, whose failures must come out the same too. Bad cluster
options are one-line errors (exit 2).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cli_errors import assert_usage_error
from oracle_helpers import EXAMPLES, PYTHON

from dynmem.model.invariants import INVARIANTS
from dynmem.verification.cli.main import main
from dynmem.verification.cluster import open_client, ordered_map
from dynmem.verification.explore.config import get_config
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.oracle.report import report_to_json
from dynmem.verification.oracle.seeds import SeedRun, run_seeds
from dynmem.verification.symbolic.inductive import check_inductive
from dynmem.verification.symbolic.obligations import Model, ProofRun
from dynmem.verification.tasks import serial_map
from dynmem.verification.walk.swarm import run_swarm

pytest.importorskip("distributed")

# An invariant too weak without AUX-TXN: its obligations have counterexamples to induction.
WEAKER = Model(invariants=tuple(i for i in INVARIANTS if i.id != "AUX-TXN"))
TIMES = ("seconds", "cpu_seconds", "wall_seconds", "steps_per_cpu_second")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two worker processes, one thread each (Z3 is not thread-safe): small and shared."""
    with open_client(workers=2) as c:
        yield c


def verdicts(run: ProofRun) -> list[tuple[Any, ...]]:
    """Every obligation and its verdict, in order. Not its time, nor what Z3 chose: an
    unsat core or a CTI's values depend on the history of the Z3 process that decided it,
    as with ``prove --jobs 2`` (a worker decides other groups before it than this process)."""
    return [(o.obligation, o.status) for o in run.outcomes]


def untimed(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: untimed(v) for k, v in data.items() if k not in TIMES}
    if isinstance(data, list):
        return [untimed(v) for v in data]
    return data


class TestSameAsSerial:
    @pytest.mark.parametrize("model", [Model(), WEAKER], ids=["model", "weaker"])
    def test_prove_one_vm(self, client: Any, model: Model) -> None:
        serial = check_inductive(1, model, jobs=1)
        spread = check_inductive(1, model, mapper=ordered_map(client))
        assert verdicts(spread) == verdicts(serial)
        assert spread.ok == serial.ok == (model is not WEAKER)
        assert (serial.count("cti") > 0) == (model is WEAKER)

    def test_walk_swarm_with_a_planted_bug(self, client: Any, tmp_path: Any) -> None:
        bug = get_mutant("stop_leaks_in_flight")
        runs = [run_swarm(get_config(2), campaigns=3, seed=0, episodes=40, depth=500,
                          step_fn=bug.reference_step, mutant=bug.name,
                          failure_dir=tmp_path / name, mapper=mapper)
                for name, mapper in (("serial", serial_map), ("spread", ordered_map(client)))]
        serial, spread = (untimed(r.to_json()) for r in runs)
        for result in (serial, spread):  # each wrote its failures in its own folder
            for campaign in result["campaigns"]:
                campaign.get("failure", {}).pop("files", None)
        assert spread == serial
        assert not runs[0].ok and runs[0].first_failure is not None

    def test_oracle_seeds_of_a_buggy_iut(self, client: Any) -> None:
        """Each seed's random phase against its own process of a buggy IUT: the merged
        report (the first failing seed's shrunk trace, every seed's line) is the serial one."""
        run = SeedRun(f"{PYTHON} {EXAMPLES / 'buggy_iuts' / 'starts_without_free.py'}",
                      "system", "refinement", examples=20, shrink_replays=20)
        reports = [report_to_json(run_seeds(run, [3, 1, 2], mapper), "system",
                                  "refinement", run.iut, "model")
                   for mapper in (serial_map, ordered_map(client))]
        assert reports[1] == reports[0]
        assert [line["seed"] for line in reports[0]["seeds"]] == [3, 1, 2]
        failing = [line["seed"] for line in reports[0]["seeds"] if line["verdict"] == "fail"]
        assert reports[0]["verdict"] == "fail" and reports[0]["seed"] == failing[0]

    def test_prove_on_a_running_scheduler(self, client: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
        """``--scheduler ADDRESS`` (here the address of this module's cluster) gives the
        serial verdicts too, and leaves the cluster running for its owner."""
        assert main(["prove", "--vms", "1", "--jobs", "1", "--json"]) == 0
        serial = json.loads(capsys.readouterr().out)
        assert main(["prove", "--vms", "1", "--scheduler", client.scheduler.address,
                     "--json"]) == 0
        out, err = capsys.readouterr()
        verdicts_of = [[(o["kind"], o["invariant"], o["action"], o["slot"], o["status"])
                        for o in doc["runs"][0]["obligations"]]
                       for doc in (serial, json.loads(out))]
        assert verdicts_of[0] == verdicts_of[1]
        assert "2 Dask workers ready" in err
        assert len(client.scheduler_info()["workers"]) == 2

    def test_results_merge_in_item_order(self, client: Any) -> None:
        """Items that end in reverse order still come back in the items' order; progress
        sees each once."""
        seen: list[int] = []
        assert ordered_map(client)(_slow_first, [3, 2, 1, 0],
                                   lambda i, r: seen.append(i)) == [3, 2, 1, 0]
        assert sorted(seen) == [0, 1, 2, 3]


def _slow_first(n: int) -> int:
    time.sleep(0.2 * n)  # the first item ends last (no assertion is on time)
    return n


class TestCommandLine:
    def test_prove_workers_gives_the_serial_json(self, capsys: pytest.CaptureFixture[str]
                                                  ) -> None:
        assert main(["prove", "--vms", "1", "--jobs", "1", "--json"]) == 0
        serial = json.loads(capsys.readouterr().out)
        assert main(["prove", "--vms", "1", "--workers", "2", "--json"]) == 0
        out, err = capsys.readouterr()
        spread = json.loads(out)
        for doc in (serial, spread):
            doc.pop("support")
            for ob in doc["runs"][0]["obligations"]:
                ob.pop("core", None)
        assert untimed(spread) == untimed(serial)
        count = len(serial["runs"][0]["obligations"])  # the model's, whatever it has grown to
        assert count > 500 and f"prove: PROVED, {count} obligations (" in err

    @pytest.mark.parametrize("argv, flag", [
        (["prove", "--vms", "1", "--scheduler", "nonsense"], "--scheduler"),
        (["prove", "--vms", "1", "--scheduler", "tcp://nosuchhost.invalid:8786"],
         "--scheduler"),
        (["prove", "--vms", "1", "--workers", "0"], "--workers"),
        (["fuzz", "--workers", "2"], "--workers"),
        (["fuzz", "--engine", "walk", "--swarm", "0"], "--swarm"),
        (["oracle", "--iut", "true", "--workers", "2"], "--seeds"),
        (["oracle", "--iut", "true", "--seeds", "1-3", "--exhaustive", "--workers", "2"],
         "--seeds"),
        (["oracle", "--iut", "true", "--seeds", "1-3", "--seed", "4"], "--seeds"),
        (["fuzz", "--swarm", "3"], "--swarm"),
    ])
    def test_bad_cluster_options(self, capsys: pytest.CaptureFixture[str], argv: list[str],
                                 flag: str) -> None:
        assert_usage_error(capsys, argv, flag)  # perhaps "starting ...", then the error line


def test_ctrl_c_closes_the_local_cluster() -> None:
    """Ctrl-C (SIGINT to the terminal's whole process group) during a swarm on a local
    cluster: exit 130 with the one interruption line, no traceback (not even distributed's
    own cancel race, ``client._CancelRace``), and the group is killed afterwards whatever
    happened. The child gets SIGINT at its default: pytest-xdist workers ignore it, and
    dynmem keeps an inherited SIG_IGN, as for a job a shell starts in the background."""
    command = [sys.executable, "-m", "dynmem", "fuzz", "--engine", "walk", "--swarm", "2",
               "--episodes", "1000000", "--workers", "2"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, start_new_session=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert run.stderr is not None
    lines = []
    try:
        for line in run.stderr:  # wait until the workers run the campaigns
            lines.append(line)
            if "Dask workers ready" in line:
                break
        os.killpg(run.pid, signal.SIGINT)
        err = "".join(lines) + run.stderr.read()
        assert run.wait() == 130, err
    finally:  # a failure here must not leave two workers spinning
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
    assert "Traceback" not in err and err.rstrip().endswith("dynmem: interrupted (Ctrl-C)")
