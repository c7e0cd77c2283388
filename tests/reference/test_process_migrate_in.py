"""R-MIGRATE-IN: an arriving VM needs its current memory free (process_migrate_in)."""

from __future__ import annotations

import pytest
from dm_builders import accept, dyn, make, reject, static

from dynmem.model.vocabulary import Channel, Power
from dynmem.reference.events import MigrateIn, Start


def test_arrival_owns_exactly_its_amount() -> None:
    """R-MIGRATE-IN: visible = mib, a new DM session, free drops by mib."""
    after = accept(make(("a", dyn(maximum=4096))), MigrateIn("a", 3072))
    vm = after.vms[0]
    assert (vm.power, vm.owned_mib, vm.channel) == (Power.RUNNING, 3072, Channel.NEGOTIATING)
    assert after.free_mib == 7168 - 3072


@pytest.mark.parametrize(("settings", "mib", "reason"), [
    (dyn(maximum=4096), 5000, "arriving memory 5000 MiB outside a's startup..maximum "
                              "1024..4096 MiB"),
    (dyn(maximum=4096), 513, "arriving memory must be a multiple of 2 MiB, got 513"),
    (static(2048), 3072, "a has no DM-capable guest: it arrives with startup 2048 MiB, "
                         "not 3072"),
    (dyn(dm_capable=False), 2048, "a has no DM-capable guest: it arrives with startup "
                                  "1024 MiB, not 2048"),
])
def test_arrival_fits_the_settings(settings: object, mib: int, reason: str) -> None:
    """R-MIGRATE-IN: the amount fits; without DM a VM arrives at exactly startup."""
    assert reject(make(("a", settings)), MigrateIn("a", mib)) == reason  # type: ignore[arg-type]


def test_arrival_needs_free_memory() -> None:
    """R-MIGRATE-IN: no overcommit."""
    state = accept(make(("s", static(6144)), ("a", dyn(maximum=4096))), Start("s"))
    assert reject(state, MigrateIn("a", 2048)) == (
        "not enough memory for a to arrive: 2048 MiB > free 1024 MiB")


def test_arrival_needs_an_off_vm() -> None:
    """R-MIGRATE-IN: a running VM is already here."""
    state = accept(make(("a", dyn())), MigrateIn("a", 1024))
    assert reject(state, MigrateIn("a", 1024)) == "a is running, not off"
