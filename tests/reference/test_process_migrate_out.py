"""R-MIGRATE-OUT: a departing VM returns everything it owns (process_migrate_out)."""

from __future__ import annotations

from dm_builders import (
    accept,
    balloon_in_flight,
    grown,
    hot_add_in_flight,
    make,
    reject,
    static,
    unballoon_in_flight,
)

from dynmem.reference.events import MigrateOut
from dynmem.reference.state import Vm

ALL_FREE = 7168


def test_migrate_out_returns_everything() -> None:
    """R-MIGRATE-OUT: every transaction kind in flight returns with the rest; the VM is off."""
    for state in (grown(), balloon_in_flight(), unballoon_in_flight(), hot_add_in_flight()):
        after = accept(state, MigrateOut("a"))
        assert after.free_mib == ALL_FREE
        assert after.vms[0] == Vm(name="a", settings=state.vms[0].settings)


def test_migrate_out_needs_a_running_vm() -> None:
    """R-MIGRATE-OUT: an off VM is not here to leave."""
    assert reject(make(("s", static())), MigrateOut("s")) == "s is not running"
