"""The Linux guest's arithmetic (reference/conventions.py, specs/protocol.md §3.2) and the
policy's reading of its reports (specs/policy.md P-DEMAND)."""

from __future__ import annotations

import attrs
import pytest

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.conventions import (
    compute_balloon_floor,
    compute_linux_balloon_allowance,
    compute_linux_committed,
    compute_reported_demand,
)
from dynmem.reference.environment import (
    GuestProfile,
    compute_balloon_answer,
    compute_honest_message,
    compute_honest_report,
    get_profile,
)
from dynmem.reference.events import BalloonRequest, BalloonResponse, StatusReport
from dynmem.reference.policy import compute_plan, get_demand, get_spare, get_target
from dynmem.reference.settings import HostSettings, VmSettings, check_vm_settings
from dynmem.reference.state import DmState, Vm

LINUX = VmSettings(dynamic=True, startup_mib=1024, maximum_mib=8192, guest_os="linux")
WINDOWS = attrs.evolve(LINUX, guest_os="windows")


def ready(settings: VmSettings, visible: int, ballooned: int, demand: int,
          report: int | None = None) -> Vm:
    """A running, connected VM with the given ledger and (if given) last report."""
    return Vm("g", settings, power=Power.RUNNING, visible_mib=visible, ballooned_mib=ballooned,
              demand_mib=demand, has_report=report is not None, report_mib=report or 0,
              channel=Channel.READY, protocol_version=0x20000, cap_balloon=True,
              cap_hot_add=True)


class TestComputeBalloonFloor:
    @pytest.mark.parametrize(("total", "floor"), [(16, 16), (32, 24), (128, 72), (512, 168),
                                                  (2048, 360), (8192, 744), (32768, 1512)])
    def test_table_points(self, total: int, floor: int) -> None:
        """P-DEMAND reads the floor: the table points of hv_balloon.c's compute_balloon_floor."""
        assert compute_balloon_floor(total) == floor

    def test_continuous_and_rising(self) -> None:
        """P-DEMAND: the pieces meet at their borders; the floor never falls as RAM grows."""
        floors = [compute_balloon_floor(t) for t in range(0, 40000, 2)]
        assert floors == sorted(floors)
        for border in (128, 512, 2048, 8192):
            assert compute_balloon_floor(border) - compute_balloon_floor(border - 2) <= 1


class TestLinuxReport:
    def test_report_counts_ballooned_and_floor(self) -> None:
        """P-DEMAND: committed + ballooned + the floor of the RAM the guest has."""
        assert compute_linux_committed(1000, 2338, 1262) == 1000 + 2338 + 261

    def test_host_reads_the_demand_back(self) -> None:
        """P-DEMAND: the host subtracts what the guest added; a Windows report is as is."""
        report = compute_linux_committed(1000, 2338, 1262)
        assert compute_reported_demand(report, "linux", 2338, 1262) == 1000
        assert compute_reported_demand(report, "windows", 2338, 1262) == report
        assert compute_reported_demand(0, "linux", 2338, 1262) == 0  # a lie, not negative

    def test_honest_report_follows_the_profile(self) -> None:
        """R-SETTLE: a Linux guest's honest report is Linux's; profiles default to guest_os."""
        vm = ready(LINUX, 3600, 0, 3000, report=3000)
        assert get_profile({}, vm) == GuestProfile.LINUX
        assert compute_honest_report(vm) == 3457
        assert compute_honest_message(vm) == StatusReport("g", 3457)
        assert compute_honest_report(attrs.evolve(vm, settings=WINDOWS)) == 3000


class TestLinuxBalloonAnswer:
    def test_allowance_is_above_the_floor(self) -> None:
        """P-DEMAND: avail − floor, never negative, in whole 2 MiB units."""
        assert compute_linux_balloon_allowance(1000, 4800) == 4800 - 1000 - 532
        assert compute_linux_balloon_allowance(1000, 1262) == 0
        assert compute_linux_balloon_allowance(1001, 1264) == 0  # 1 MiB rounds down to 0

    def test_cut_request_ends_with_what_is_above_the_floor(self) -> None:
        """R-SETTLE: a request past the floor gets less; the last part says no more."""
        vm = attrs.evolve(ready(LINUX, 1458, 0, 1000), txn=TxnKind.BALLOON, txn_mib=400)
        assert compute_balloon_answer(vm) == BalloonResponse("g", 172, more_pages=False)
        windows = attrs.evolve(vm, settings=WINDOWS)  # pages itself down to startup
        assert compute_balloon_answer(windows) == BalloonResponse("g", 400, more_pages=False)

    def test_cut_is_computed_once_for_the_request(self) -> None:
        """R-SETTLE: after a first part the guest gives the rest of its first cut."""
        vm = attrs.evolve(ready(LINUX, 4800, 0, 1000), txn=TxnKind.BALLOON, txn_mib=3600)
        first = compute_balloon_answer(vm)
        assert first == BalloonResponse("g", 1020, more_pages=True)
        after = attrs.evolve(vm, ballooned_mib=2040, txn_done_mib=2040)
        assert compute_balloon_answer(after) == BalloonResponse("g", 1020, more_pages=True)
        last = attrs.evolve(vm, ballooned_mib=3060, txn_done_mib=3060)
        assert compute_balloon_answer(last) == BalloonResponse("g", 3268 - 3060, False)

    def test_at_floor_answer_is_empty(self) -> None:
        """R-SETTLE: nothing above the floor: the empty final part."""
        vm = attrs.evolve(ready(LINUX, 1262, 0, 1000), txn=TxnKind.BALLOON, txn_mib=62)
        assert compute_balloon_answer(vm) == BalloonResponse("g", 0, more_pages=False)


class TestPolicyReadsPerConvention:
    def test_target_without_ballooned_and_floor(self) -> None:
        """P-DEMAND: the Linux VM's target is its demand's, not its report's."""
        report = compute_linux_committed(1000, 0, 4800)
        vm = ready(LINUX, 4800, 0, 1000, report=report)
        assert (get_demand(vm), get_target(vm)) == (1000, 1200)
        assert get_target(attrs.evolve(vm, settings=WINDOWS)) == 1840  # 1532 × 1.2

    def test_give_back_stops_at_the_guest_floor(self) -> None:
        """P-GIVE-BACK: the host asks a Linux guest only what it will give."""
        vm = ready(LINUX, 3600, 2142, 1000, report=compute_linux_committed(1000, 2142, 1458))
        state = DmState(HostSettings(8192, 1024), 8192 - 1024 - 1458, (vm,))
        assert get_spare(vm) == 172
        assert compute_plan(state) == (BalloonRequest("g", 172),)
        at_floor = ready(LINUX, 3600, 2338, 1000,
                         report=compute_linux_committed(1000, 2338, 1262))
        assert compute_plan(attrs.evolve(state, vms=(at_floor,))) == ()


def test_guest_os_is_checked() -> None:
    """INV-CONFIG: only the known OS families are valid settings."""
    assert check_vm_settings(LINUX) == []
    (problem,) = check_vm_settings(attrs.evolve(LINUX, guest_os="bsd"))
    assert (problem.field, problem.value) == ("guest_os", "bsd")
