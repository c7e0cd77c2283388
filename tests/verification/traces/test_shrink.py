"""Trace minimisation (verification/traces/shrink.py, ``dynmem shrink``) for every trace source.

Each shrunk trace is checked by replaying it: it must still violate the same invariant, and
be no longer than the known minimum of its planted bug.
"""

from __future__ import annotations

import doctest
import random
from pathlib import Path

import attrs
import pytest
import report_cases as rc
import trace_cases as tc

from dynmem.model.invariants import check_state
from dynmem.reference.events import Demand, Start, Stop
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import initial_state
from dynmem.reference.step import Step
from dynmem.verification.cli.main import main
from dynmem.verification.errors import InputError
from dynmem.verification.traces import shrink as shrink_module
from dynmem.verification.traces.itf import read_itf, write_itf
from dynmem.verification.traces.shrink import ShrinkResult, ddmin, shrink_trace
from dynmem.verification.traces.trace import Trace, record


def _replays(result: ShrinkResult, step_fn: Step) -> None:
    """The shrunk trace is real: its events, replayed, give its states and its verdict."""
    trace = result.trace
    again = record(trace.initial, shrink_module.replay(
        (trace.initial, tuple(s.event for s in trace.steps)), step_fn))
    assert again.steps == trace.steps and again.findings == trace.findings
    assert result.invariant in {f.invariant for f in trace.findings}
    assert all(s.rejected is None for s in trace.steps)  # refused events were removed


class TestSources:
    def test_simulate_padded_overcommit(self) -> None:
        """28 noisy steps, 4 VMs -> the known minimum: one start, one VM (INV-PHYSICAL)."""
        trace = rc.padded_overcommit()
        assert len(trace.steps) == 28 and trace.first_finding.invariant == "INV-PHYSICAL"
        result = shrink_trace(trace, rc.UNCHECKED_START)
        assert result.invariant == "INV-PHYSICAL" and result.complete
        assert len(result.trace.steps) <= 1 and len(result.trace.initial.vms) <= 1
        assert result.trace.initial.host.physical_mib < 8192  # sizes shrank too
        _replays(result, rc.UNCHECKED_START)

    def test_leaky_hot_add(self) -> None:
        """A partial hot-add leak: at most 6 steps (start, version, caps, quiet end, request,
        answer), one VM, the same invariant (INV-CONSERVATION)."""
        trace = rc.partial_hot_add_leak()
        result = shrink_trace(trace, tc.LEAKY_HOT_ADD_BUG)
        assert result.invariant == "INV-CONSERVATION"
        assert len(result.trace.steps) <= 6 and len(result.trace.initial.vms) == 1
        _replays(result, tc.LEAKY_HOT_ADD_BUG)

    def test_explore(self) -> None:
        """An exploration's shortest path still shrinks: fewer VMs, smaller sizes."""
        from dynmem.verification.explore.config import PRESETS
        from dynmem.verification.explore.explorer import explore
        from dynmem.verification.explore.traces import counterexample_trace

        x = explore(PRESETS[2], rc.BALLOON_TAKEN, stop_at_first=True, progress=False)
        trace = counterexample_trace(x, next(iter(x.counterexamples.values())))
        assert trace.source == "explore"
        result = shrink_trace(trace, rc.BALLOON_TAKEN)
        assert result.invariant == trace.first_finding.invariant
        assert len(result.trace.steps) <= len(trace.steps)
        assert len(result.trace.initial.vms) == 1 < len(trace.initial.vms)
        _replays(result, rc.BALLOON_TAKEN)

    def test_oracle(self) -> None:
        """An implementation's trace (states as it reported them) shrinks against a mutant of
        the reference with the same bug."""
        from dynmem.verification.oracle.iut import InProcessIut
        from dynmem.verification.oracle.judge import run_case
        from dynmem.verification.oracle.reference_iut import ReferenceSystem

        s0 = initial_state(HostSettings(8192, 2048), tuple(
            (f"vm{i}", VmSettings(startup_mib=2048)) for i in range(4)))
        events = [Demand("vm0", 1), *[Start(f"vm{i}") for i in range(4)], Stop("vm0")]
        case = run_case(InProcessIut(ReferenceSystem(rc.UNCHECKED_START)), "system",
                        "refinement", s0, events)
        assert case.trace.source == "oracle" and not case.trace.ok
        result = shrink_trace(case.trace, rc.UNCHECKED_START)
        assert len(result.trace.steps) == 1 and len(result.trace.initial.vms) == 1
        _replays(result, rc.UNCHECKED_START)

    def test_bmc(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A BMC counterexample of a model mutant: ``dynmem shrink`` takes the mutant from the
        trace's notes and replays with its reference-level twin."""
        from dynmem.verification.mutants.catalogue import get_mutant
        from dynmem.verification.symbolic.bmc import check_bmc
        from dynmem.verification.symbolic.scope import small_scope

        mutant = get_mutant("start_without_free_memory")
        outcome = check_bmc(small_scope(2), 3, actions=mutant.model_variant.apply(),
                            step_fn=mutant.reference_step,
                            notes=(("mutant", mutant.name),))
        trace = outcome.trace  # type: ignore[union-attr]
        assert trace.source == "bmc" and trace.first_finding.invariant == "INV-PHYSICAL"
        source, out = tmp_path / "bmc.itf.json", tmp_path / "small.itf.json"
        write_itf(trace, source)
        assert main(["shrink", str(source), "--out", str(out)]) == 0
        assert "replaying with mutant start_without_free_memory" in capsys.readouterr().err
        shrunk = read_itf(out)
        assert len(shrunk.steps) == 1 and len(shrunk.initial.vms) == 1
        assert shrunk.first_finding.invariant == "INV-PHYSICAL"

    def test_mid_run_start_state(self) -> None:
        """A trace that starts mid-run (a CTI, a prefix cut off): removing a VM gives what it
        owned back to the free ledger, so no new invariant breaks at the start."""
        full = rc.padded_overcommit()
        middle = full.state_at(20)
        assert check_state(middle) == [] and middle.get_vm("db").running
        trace = Trace(middle, full.steps[20:], tuple(
            attrs.evolve(f, step=f.step - 20) for f in full.findings))
        result = shrink_trace(trace, rc.UNCHECKED_START)
        start = result.trace.initial
        assert {v.invariant for v in check_state(start)} == set()
        assert len(result.trace.steps) == 1 and result.invariant == "INV-PHYSICAL"
        _replays(result, rc.UNCHECKED_START)


class TestRefusals:
    def test_nothing_to_shrink(self) -> None:
        with pytest.raises(InputError, match="re-checking the trace finds no violation"):
            shrink_trace(tc.weight_contention())

    def test_unknown_invariant(self) -> None:
        with pytest.raises(InputError, match="only registry invariants can be shrunk"):
            shrink_trace(tc.planted_overcommit(), invariant="PROG-FIXED-POINT")

    def test_not_reproduced(self) -> None:
        """A planted bug's trace replayed by the correct reference: said clearly, with where
        the replay leaves the trace and what to do."""
        with pytest.raises(InputError) as err:
            shrink_trace(tc.planted_overcommit(), source="t.itf.json")
        assert str(err.value) == (
            "t.itf.json: INV-PHYSICAL is not violated when the reference replays the trace's "
            "5 events; the replay leaves the recorded states at step 4 (start) (a planted "
            "bug's trace needs --mutant NAME; an implementation's trace, a mutant with the "
            "same bug)")

    def test_other_invariant_can_be_chosen(self) -> None:
        """``invariant=`` keeps another broken invariant than the first finding's."""
        result = shrink_trace(rc.off_with_transaction(), rc.STOP_KEEPS_TXN,
                              invariant="INV-ONE-TXN")
        assert result.invariant == "INV-ONE-TXN"
        assert "INV-ONE-TXN" in {f.invariant for f in result.trace.findings}

    def test_replay_budget(self) -> None:
        """With no replays left the search stops early but still returns a violating trace,
        says which flag raises the budget, and a budget gives the same result every time."""
        result = shrink_trace(rc.padded_overcommit(), rc.UNCHECKED_START, max_replays=0)
        assert "stopped by the replay budget, --max-replays raises it" in result.describe()
        assert not result.complete and not result.trace.ok
        runs = [shrink_trace(rc.padded_overcommit(), rc.UNCHECKED_START, max_replays=6)
                for _ in range(2)]
        assert runs[0].trace == runs[1].trace and runs[0].replays == 7
        full = shrink_trace(rc.padded_overcommit(), rc.UNCHECKED_START)
        assert full.complete and len(full.trace.steps) < len(runs[0].trace.steps)


class TestDdmin:
    def test_one_minimal(self) -> None:
        """On random sets of needed items, ddmin returns exactly them (the test is monotone)."""
        rng = random.Random(3)
        for _ in range(50):
            items = list(range(rng.randint(1, 40)))
            needed = set(rng.sample(items, rng.randint(1, min(4, len(items)))))
            assert set(ddmin(items, lambda xs, n=needed: n <= set(xs))) == needed

    def test_doctests(self) -> None:
        assert doctest.testmod(shrink_module).failed == 0


class TestCommand:
    def test_shrink_writes_a_smaller_trace(self, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
        """``dynmem shrink T --mutant NAME --out S``: exit 0, S reads back, still violates,
        progress on stderr, the shrunk trace on stdout."""
        source, out = tmp_path / "t.itf.json", tmp_path / "s.itf.json"
        write_itf(rc.padded_overcommit(), source)
        code = main(["shrink", str(source), "--mutant", "start_without_free_memory",
                     "--out", str(out)])
        stdout, stderr = capsys.readouterr()
        assert code == 0
        shrunk = read_itf(out)
        assert len(shrunk.steps) == 1 and shrunk.first_finding.invariant == "INV-PHYSICAL"
        assert dict(shrunk.notes)["mutant"] == "start_without_free_memory"
        assert "shrink: round 1:" in stderr and "keeping INV-PHYSICAL" in stderr
        assert stdout.startswith("dynmem trace from shrink: 1 step")

    def test_unknown_mutant_exits_2(self, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
        source = tmp_path / "t.itf.json"
        write_itf(rc.padded_overcommit(), source)
        assert main(["shrink", str(source), "--mutant", "nope"]) == 2
        assert "--mutant = 'nope': unknown mutant; known: " in capsys.readouterr().err

    def test_not_reproduced_exits_2(self, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
        source = tmp_path / "t.itf.json"
        write_itf(tc.planted_overcommit(), source)
        assert main(["shrink", str(source)]) == 2
        assert "is not violated when the reference replays" in capsys.readouterr().err

    def test_rejected_events_are_dropped(self) -> None:
        """Refused events (a second start of a running VM) are allowed while shrinking and
        absent from the result."""
        s0 = initial_state(HostSettings(4096, 1024), (("a", VmSettings(startup_mib=2048)),
                                                      ("b", VmSettings(startup_mib=2048))))
        events = [Start("a"), Start("a"), Demand("a", 5), Start("a"), Start("b")]
        trace = record(s0, shrink_module.replay((s0, tuple(events)), rc.UNCHECKED_START))
        assert sum(1 for s in trace.steps if s.rejected) == 2 and not trace.ok
        result = shrink_trace(trace, rc.UNCHECKED_START)
        _replays(result, rc.UNCHECKED_START)
