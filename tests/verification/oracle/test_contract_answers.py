"""The answers of specs/formats/oracle.md §8, each pinned: what outside teams had to guess
while writing an implementation from specs/ alone (issue 12, item 7)."""

from __future__ import annotations

from dm_builders import dyn, make, ready, settled
from oracle_helpers import load_example

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.events import Start, Stop
from dynmem.reference.policy import compute_plan
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import Vm
from dynmem.reference.step import step
from dynmem.verification.codec import state_from_json
from dynmem.verification.oracle.generate import allowed_requests, get_default_source
from dynmem.verification.oracle.iut import InProcessIut
from dynmem.verification.oracle.observation import view_of, view_to_json
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.search import search


def test_omitted_runtime_fields_take_the_off_defaults() -> None:
    """§8.1: a reset VM given only its name is off, owns nothing, has no channel, caps,
    report or transaction, and may hot-add; omitted settings take their defaults."""
    state = state_from_json({"host": {"physical_mib": 4096, "reserve_mib": 512},
                             "free_mib": 3584, "vms": [{"name": "a"}]}, "test")
    (vm,) = state.vms
    assert vm == Vm("a", VmSettings())
    assert (vm.power, vm.channel, vm.txn) == (Power.OFF, Channel.NONE, TxnKind.NONE)
    assert (vm.visible_mib, vm.ballooned_mib, vm.demand_mib, vm.report_mib) == (0, 0, 0, 0)
    assert (vm.has_report, vm.cap_balloon, vm.cap_hot_add, vm.hot_add_enabled) == \
        (False, False, False, True)
    assert (vm.protocol_version, vm.txn_mib, vm.txn_done_mib) == (0, 0, 0)
    assert state_from_json({"host": {"physical_mib": 64, "reserve_mib": 32}, "free_mib": 32},
                           "test").vms == ()


def test_donors_then_by_name_ascending() -> None:
    """§8.2: among donors of equal weight the name comes first in ascending (code point)
    order, whatever the VM order: ``a`` gives before ``b`` although ``b`` was created first."""
    state = make(("hi", dyn(1024, 8192, weight=8000)), ("b", dyn(weight=2000)),
                 ("a", dyn(weight=2000)))
    state = settled(ready(state, "b", report=2500))
    state = settled(ready(state, "a", report=2500))
    state = ready(state, "hi", report=5000)
    donors = [r.vm for r in compute_plan(state) if r.KIND == "balloon_request"]
    assert donors == ["a", "b"]


def test_start_keeps_a_kept_report_and_stop_clears_it() -> None:
    """§8.3: start does not touch ``has_report``; only a reset state can hold an off VM
    with a report (stop clears it, so no reachable state does)."""
    running = ready(make(("a", dyn())), "a", report=1500)
    stopped = step(running, Stop("a")).state
    assert not stopped.vms[0].has_report
    odd = stopped.with_vm(Vm("a", dyn(), has_report=True, report_mib=1500))
    started = step(odd, Start("a")).state
    assert started.vms[0].has_report and started.vms[0].report_mib == 1500


def test_the_view_always_carries_every_settings_field() -> None:
    """§8.4: the policy view names all six settings fields, also for a VM whose settings
    were given with fields omitted."""
    state = state_from_json({"host": {"physical_mib": 4096, "reserve_mib": 512},
                             "free_mib": 3584, "vms": [{"name": "a", "settings": {}}]}, "test")
    (vm,) = view_to_json(view_of(state))["vms"]
    assert set(vm["settings"]) == {"dynamic", "startup_mib", "maximum_mib", "buffer_pct",
                                   "weight", "dm_capable"}


def test_the_generator_sends_allowed_dm_request_events() -> None:
    """§8.5: the random phase sends DM request events the guards allow (and the IUT must
    accept), not only refused ones."""
    state = ready(make(("a", dyn())), "a", report=500)
    allowed = allowed_requests(state)
    assert allowed and all(step(state, e).accepted for e in allowed)
    # 400 examples: since a start without memory waits for reclaim the generated runs differ
    # (measured: seed 1 reaches the cell within 400, not 200; seeds 2 and 3 within 200)
    result = search(InProcessIut(ReferenceSystem()), "system", "refinement",
                    get_default_source("system"), 400, seed=1)
    assert ("hot_add_request", "READY", "NONE", "accepted") in result.cells


def test_examples_means_complete_examples_and_shrinking_is_counted() -> None:
    """§8.6-8.7: ``--examples N`` runs exactly N complete examples unless one fails first;
    shrink replays are counted apart and bounded by a count, so two runs give the same
    verdict, count and shrunk trace."""
    iut = load_example("buggy_iuts/partial_hot_add_leak.py").make_iut()
    runs = [search(InProcessIut(iut), "system", "refinement", get_default_source("system"),
                   300, seed=4, is_allowed=is_allowed, shrink_replays=60)
            for _ in range(2)]
    first, second = runs
    assert first.failure is not None and second.failure is not None
    assert (first.examples, first.shrink_runs, first.failure.events) == \
        (second.examples, second.shrink_runs, second.failure.events)
    assert first.shrink_runs <= 60 + 1
    passing = search(InProcessIut(ReferenceSystem()), "system", "refinement",
                     get_default_source("system"), 37, seed=4)
    assert passing.failure is None and passing.examples == 37
