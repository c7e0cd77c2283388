"""Simulating scenarios: the fixed points DOMAIN.md §4 implies, settle expansion and
non-convergence, expectations, the built-in scenarios and planted bugs being caught.

Expected numbers are worked out by hand from specs/policy.md (P-TARGET: target =
clamp(ceil_to_2(demand x (100 + buffer) / 100), startup, maximum)), not taken from a run.
"""

from __future__ import annotations

import doctest
import importlib
from typing import Any

import attrs
import pytest

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import BalancerTick, BalloonRequest, Start, StartAbort, Stop
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, make_step, process_stop
from dynmem.verification.scenarios.expectations import check_expectations
from dynmem.verification.scenarios.scenario import Scenario, parse_scenario
from dynmem.verification.scenarios.simulate import Simulation, simulate
from dynmem.verification.scenarios.summary import summarize_state
from dynmem.verification.suite.scenario_checks import check_builtin, list_builtin, load_builtin


def _scenario(host: tuple[int, int], vms: list[dict[str, Any]], events: list[dict[str, Any]],
              expect: dict[str, Any] | None = None) -> Scenario:
    data: dict[str, Any] = {"host": {"physical_mib": host[0], "reserve_mib": host[1]},
                            "vms": vms, "events": events}
    if expect is not None:
        data["expect"] = expect
    return parse_scenario(data, "test.json")


def _run(*args: Any, **kwargs: Any) -> Simulation:
    return simulate(_scenario(*args, **kwargs))


def _vm(sim: Simulation, name: str) -> dict[str, Any]:
    vms: dict[str, Any] = summarize_state(sim.trace.final)["vms"]
    return dict(vms[name])


def _dyn(name: str, **settings: Any) -> dict[str, Any]:
    return {"name": name, "dynamic": True, **settings}


def _grow(name: str, demand: int) -> list[dict[str, Any]]:
    return [{"kind": "start", "vm": name}, {"kind": "demand", "vm": name, "mib": demand},
            {"kind": "settle"}]


class TestFixedPoints:
    @pytest.mark.parametrize(("demand", "buffer", "target"), [
        (3000, 20, 3600),  # 3000 x 1.2
        (1000, 50, 1500),
        (1001, 100, 2002),
        (333, 33, 444),  # 442.89 -> 443 -> next multiple of 2
        (2000, 5, 2100),
    ])
    def test_target_from_demand_and_buffer(self, demand: int, buffer: int,
                                           target: int) -> None:
        """P-TARGET: a lone VM settles at ceil_to_2(demand x (100 + buffer) / 100)."""
        sim = _run((16384, 1024), [_dyn("a", startup_mib=64, buffer_pct=buffer)],
                   _grow("a", demand))
        vm = _vm(sim, "a")
        assert sim.ok
        assert (vm["assigned_mib"], vm["target_mib"]) == (target, target)
        assert sim.trace.final.free_mib == 16384 - 1024 - target

    def test_floor_at_startup(self) -> None:
        """P-TARGET / INV-FLOOR: small demand leaves a VM at its startup, never below."""
        sim = _run((16384, 1024), [_dyn("a", startup_mib=2048)], _grow("a", 100))
        assert _vm(sim, "a")["assigned_mib"] == 2048

    def test_ceiling_at_maximum(self) -> None:
        """P-TARGET / INV-CEILING: demand above maximum stops at maximum; the guest pages."""
        sim = _run((65536, 1024), [_dyn("a", startup_mib=1024, maximum_mib=4096,
                                        buffer_pct=50)], _grow("a", 6000))
        vm = _vm(sim, "a")
        assert (vm["assigned_mib"], vm["visible_mib"], vm["guest_paged_mib"]) == (
            4096, 4096, 6000 - 4096)

    def test_drop_in_demand_balloons_back_to_target(self) -> None:
        """P-GIVE-BACK: after a drop, the VM is ballooned down to its new target."""
        sim = _run((16384, 1024), [_dyn("a", startup_mib=1024, buffer_pct=50)],
                   [*_grow("a", 3000), {"kind": "demand", "vm": "a", "mib": 1000},
                    {"kind": "settle"}])
        vm = _vm(sim, "a")
        assert (vm["assigned_mib"], vm["visible_mib"], vm["ballooned_mib"]) == (
            1500, 4500, 3000)

    @pytest.mark.parametrize("lo_first", [False, True])
    def test_hi_lo_example_exactly(self, lo_first: bool) -> None:
        """DOMAIN.md §4: 7168 MiB for VMs, hi 8000 / lo 2000, startup 1024, buffer 20, both
        demanding 4000 -> hi 4800, lo 2368, free 0, whichever asks first."""
        vms = [_dyn("hi", startup_mib=1024, weight=8000),
               _dyn("lo", startup_mib=1024, weight=2000)]
        order = ["lo", "hi"] if lo_first else ["hi", "lo"]
        events: list[dict[str, Any]] = [{"kind": "start", "vm": "hi"},
                                        {"kind": "start", "vm": "lo"}]
        for name in order:
            events += [{"kind": "demand", "vm": name, "mib": 4000}, {"kind": "settle"}]
        sim = _run((8192, 1024), vms, events)
        assert sim.ok
        assert (_vm(sim, "hi")["assigned_mib"], _vm(sim, "lo")["assigned_mib"]) == (4800, 2368)
        assert sim.trace.final.free_mib == 0

    def test_weight_order_with_three_vms(self) -> None:
        """P-GRANT: free memory goes by weight; the middle VM gets the rest, the lowest
        stays at startup (it has nothing above startup to give)."""
        vms = [_dyn("low", startup_mib=1024, weight=1000),
               _dyn("mid", startup_mib=1024, weight=5000),
               _dyn("top", startup_mib=1024, weight=9000)]
        events = [{"kind": "start", "vm": v["name"]} for v in vms]
        events += [{"kind": "demand", "vm": v["name"], "mib": 4000} for v in vms]
        sim = _run((8192, 1024), vms, [*events, {"kind": "settle"}])
        # 7168 - 3 x 1024 = 4096 free: top takes 3776 to reach 4800, mid the last 320.
        assert [_vm(sim, n)["assigned_mib"] for n in ("top", "mid", "low")] == [4800, 1344, 1024]
        assert sim.trace.final.free_mib == 0

    def test_no_start_without_free_memory_or_reclaim(self) -> None:
        """R-START: with free 0 after contention, a start of a VM that no lower weight can
        make room for fails (R-START-ABORT) and nothing is overcommitted."""
        vms = [_dyn("hi", startup_mib=1024, weight=8000),
               _dyn("lo", startup_mib=1024, weight=2000),
               {"name": "late", "startup_mib": 512, "weight": 2000}]
        events = [*_grow("hi", 4000), *_grow("lo", 4000), {"kind": "start", "vm": "late"},
                  {"kind": "settle"}]
        sim = _run((8192, 1024), vms, events)
        assert sim.trace.steps[-1].event == StartAbort("late")
        assert sim.trace.final.free_mib == 0
        assert _vm(sim, "late")["power"] == "off"
        assert sim.ok

    def test_start_reclaims_from_lower_weights(self) -> None:
        """P-RECLAIM: the same start at a higher weight than lo waits, lo gives 512 MiB back
        (never below its startup), and the start completes; hi is never squeezed."""
        vms = [_dyn("hi", startup_mib=1024, weight=8000),
               _dyn("lo", startup_mib=1024, weight=2000), {"name": "late", "startup_mib": 512}]
        events = [*_grow("hi", 4000), *_grow("lo", 4000), {"kind": "start", "vm": "late"},
                  {"kind": "settle"}]
        sim = _run((8192, 1024), vms, events)
        assert [_vm(sim, n)["assigned_mib"] for n in ("hi", "lo", "late")] == [4800, 1856, 512]
        assert _vm(sim, "late")["power"] == "running"
        assert sim.ok

    def test_stop_returns_everything(self) -> None:
        """R-STOP: after stopping every VM (work in flight included) free is physical -
        reserve again."""
        vms = [_dyn("a", startup_mib=1024), _dyn("b", startup_mib=1024)]
        events = [*_grow("a", 3000), *_grow("b", 3000),
                  {"kind": "demand", "vm": "a", "mib": 6000},
                  {"kind": "status_report", "vm": "a", "committed_mib": 6000},
                  {"kind": "balancer_tick"},  # a hot-add is now in flight
                  {"kind": "stop", "vm": "a"}, {"kind": "stop", "vm": "b"}]
        sim = _run((16384, 1024), vms, events)
        assert any(s.sent for s in sim.trace.steps[-3:])
        assert sim.trace.final.free_mib == 16384 - 1024
        assert all(vm["assigned_mib"] == 0 for vm in
                   summarize_state(sim.trace.final)["vms"].values())


class TestSettle:
    def test_settle_is_expanded_into_concrete_events(self) -> None:
        """The trace holds the events a settle delivered, each mapped to its settle."""
        sim = _run((16384, 1024), [_dyn("a", startup_mib=1024)], _grow("a", 1000))
        assert len(sim.settles) == 1
        run = sim.settles[0]
        assert run.converged and run.first_step == 3 and run.steps == len(sim.trace.steps) - 2
        assert sim.origins == (0, 1) + (2,) * run.steps
        assert any(isinstance(s.event, BalancerTick) for s in sim.trace.steps)
        assert dict(sim.trace.notes)["converged"] is True

    def test_step_bound_turns_into_a_finding(self) -> None:
        """A settle that runs out of steps is a finding naming the settle and its bound."""
        sim = _run((16384, 1024), [_dyn("a", startup_mib=1024)],
                   [{"kind": "start", "vm": "a"}, {"kind": "settle", "max_steps": 2}])
        assert not sim.converged and not sim.ok
        assert sim.trace.ok  # no invariant is broken: the finding is non-convergence
        notes = dict(sim.trace.notes)
        assert notes["converged"] is False
        assert notes["not_converged"] == (
            "settle events[1] did not converge: no fixed point within max_steps=2 "
            "(trace steps 2..3)",)

    def test_oscillating_policy_never_converges(self) -> None:
        """A planted policy that always has something to send never settles: the settle
        stops where the run comes back to an earlier round's state (an oscillation), well
        before its bound, and the simulation is not ok (the check can fail)."""
        scenario = _scenario((16384, 1024), [_dyn("a", startup_mib=1024)],
                             [{"kind": "start", "vm": "a"}, {"kind": "settle", "max_steps": 200}])

        def restless(state: DmState) -> tuple[Any, ...]:
            return (BalloonRequest("a", 2),)

        def idle_tick(state: DmState, event: BalancerTick) -> StepResult:
            return StepResult(state=state)

        sim = simulate(scenario, make_step({BalancerTick: idle_tick}), restless)
        assert not sim.converged and not sim.ok
        run = sim.settles[0]
        assert run.cycle_start is not None and run.steps < 200
        assert "oscillates" in run.describe()

    def test_a_long_settle_stops_at_its_bound(self) -> None:
        """A settle that is still making progress at ``max_steps`` is reported at its bound."""
        scenario = _scenario((16384, 1024), [_dyn("a", startup_mib=1024)],
                             [{"kind": "start", "vm": "a"}, {"kind": "demand", "vm": "a",
                                                              "mib": 9000},
                              {"kind": "settle", "max_steps": 3}])
        sim = simulate(scenario)
        run = sim.settles[0]
        assert not sim.ok and run.cycle_start is None and run.steps == 3
        assert "no fixed point within max_steps=3" in run.describe()


class TestPlantedBugsAreCaught:
    def test_stop_that_keeps_memory_breaks_conservation(self) -> None:
        """A stop that forgets to return memory breaks INV-CONSERVATION at that step."""
        def leaky_stop(state: DmState, event: Stop) -> StepResult:
            result = process_stop(state, event)
            return attrs.evolve(result, state=attrs.evolve(result.state,
                                                           free_mib=state.free_mib))

        scenario = _scenario((16384, 1024), [_dyn("a", startup_mib=1024)],
                             [*_grow("a", 1000), {"kind": "stop", "vm": "a"}])
        sim = simulate(scenario, make_step({Stop: leaky_stop}))
        assert not sim.ok
        stop_step = len(sim.trace.steps)
        assert {f.invariant for f in sim.trace.findings} == {"INV-CONSERVATION"}
        assert {f.step for f in sim.trace.findings} == {stop_step}

    def test_unguarded_balloon_request_is_caught(self) -> None:
        """Without the R-BALLOON-REQUEST guard, a policy asking below startup is caught at
        the tick that sends it (AUX-TXN: a balloon must keep the floor)."""
        def unguarded(state: DmState, request: BalloonRequest) -> StepResult:
            vm = state.get_vm(request.vm)
            assert vm is not None
            nxt = attrs.evolve(vm, txn=TxnKind.BALLOON, txn_mib=request.mib, txn_done_mib=0)
            return StepResult(state=state.with_vm(nxt))

        def greedy(state: DmState) -> tuple[Any, ...]:
            vm = state.get_vm("a")
            if vm is None or vm.txn or vm.ballooned_mib or not vm.has_report:
                return ()
            return (BalloonRequest("a", vm.assigned_mib - 2),)

        scenario = _scenario((16384, 1024), [_dyn("a", startup_mib=1024)],
                             [*_grow("a", 3000)[:2], {"kind": "settle", "max_steps": 50}])
        sim = simulate(scenario, make_step({BalloonRequest: unguarded}, greedy), greedy)
        assert not sim.ok
        first = sim.trace.findings[0]
        assert first.invariant == "AUX-TXN"
        assert isinstance(sim.trace.steps[first.step - 1].event, BalancerTick)


class TestExpectations:
    def _sim(self, expect: dict[str, Any]) -> Simulation:
        return _run((4096, 1024), [{"name": "a", "startup_mib": 4096}, {"name": "b"}],
                    [{"kind": "stop", "vm": "a"}, {"kind": "start", "vm": "b"}], expect)

    def test_met(self) -> None:
        expect = {"converged": True, "rejected": [{"event": 0, "reason": "not running"}],
                  "final": {"free_mib": 2560, "vms": {"a": {"power": "off"},
                                                      "b": {"assigned_mib": 512}}}}
        assert check_expectations(self._sim(expect)) == []

    def test_each_kind_of_miss_is_reported(self) -> None:
        expect = {"converged": False, "rejected": [{"event": 1, "reason": "x"}],
                  "final": {"free_mib": 1, "vms": {"b": {"power": "off", "target_mib": 5}}}}
        assert check_expectations(self._sim(expect)) == [
            "converged: expected false, got true",
            "events[1]: expected a rejection ('x'), but it was accepted",
            "events[0]: rejected unexpectedly: a is not running",
            "final free_mib: expected 1, got 2560",
            "final b.power: expected 'off', got 'running'",
            "final b.target_mib: expected 5, got None",
        ]

    def test_reason_mismatch(self) -> None:
        expect = {"rejected": [{"event": 0, "reason": "is running"}]}
        assert check_expectations(self._sim(expect)) == [
            "events[0]: expected a rejection containing 'is running', got 'a is not "
            "running'"]


class TestBuiltinScenarios:
    def test_there_are_builtins_with_expectations(self) -> None:
        """Every shipped scenario states its result (converged, rejections, final values)."""
        entries = list_builtin()
        names = {e.name for e in entries}
        assert {"static-host-16th-vm-fails.json", "weight-contention-hi-lo.json",
                "exchange-squeeze.json", "dynamic-startup-waste.json",
                "stop-returns-everything.json", "misbehaving-guest.json"} <= names
        for entry in entries:
            scenario = load_builtin(entry)
            assert scenario.expect is not None, entry.name
            assert scenario.expect.converged is True, entry.name
            assert scenario.expect.rejected is not None, entry.name
            assert scenario.expect.final_vms, entry.name
            assert scenario.description, entry.name

    @pytest.mark.parametrize("entry", list_builtin(), ids=lambda e: e.name)
    def test_builtin_passes(self, entry: Any) -> None:
        verdict = check_builtin(entry)
        assert verdict.ok, verdict.details

    def test_seed_static_host(self) -> None:
        """The seed: 15 static 2 GiB VMs start on 32 GiB with 2 GiB reserve, the 16th not."""
        entry = next(e for e in list_builtin() if e.name == "static-host-16th-vm-fails.json")
        sim = simulate(load_builtin(entry))
        assert not [s for s in sim.trace.steps if s.rejected]
        # the 16th start waits, and fails at once: nothing can be reclaimed from static VMs
        assert [s.event for s in sim.trace.steps[15:]] == [Start("vm16"), StartAbort("vm16")]
        assert sum(vm.running for vm in sim.trace.final.vms) == 15
        assert sim.trace.final.free_mib == 0

    def test_seed_squeeze_guest_pages_host_never(self) -> None:
        """The seed: under a squeeze the Exchange-like VM never goes below startup at any
        step, its guest pages, and memory leaves it only by balloon responses."""
        entry = next(e for e in list_builtin() if e.name == "exchange-squeeze.json")
        sim = simulate(load_builtin(entry))
        assert sim.ok
        states = [s.state.get_vm("exchange") for s in sim.trace.steps]
        running = [vm for vm in states if vm is not None and vm.running]
        assert min(vm.assigned_mib for vm in running) == 2048
        assert running[-1].guest_paged_mib == 6000 - 2048
        drops = [(prev.state.get_vm("exchange"), s) for prev, s in
                 zip(sim.trace.steps, sim.trace.steps[1:], strict=False)]
        for before, item in drops:
            after = item.state.get_vm("exchange")
            if before and after and before.running and after.assigned_mib < before.assigned_mib:
                assert item.event.KIND == "balloon_response"

    def test_broken_expectation_fails_the_check(self, tmp_path: Any) -> None:
        """A built-in whose expectation is wrong fails (the check can fail)."""
        entry = next(e for e in list_builtin() if e.name == "weight-contention-hi-lo.json")
        text = entry.read_text(encoding="utf-8").replace('"assigned_mib": 2368',
                                                         '"assigned_mib": 2370')
        broken = tmp_path / "broken.json"
        broken.write_text(text, encoding="utf-8")
        verdict = check_builtin(broken)  # a Path is a Traversable
        assert not verdict.ok
        assert verdict.details == ("expectation not met: final lo.assigned_mib: expected 2370, "
                                   "got 2368",)


@pytest.mark.parametrize("module", ["scenario", "simulate", "summary", "expectations"])
def test_docstring_examples_run(module: str) -> None:
    """The Examples sections of the scenario/simulate modules are true."""
    result = doctest.testmod(importlib.import_module(f"dynmem.verification.scenarios.{module}"))
    assert result.attempted > 0 and result.failed == 0
