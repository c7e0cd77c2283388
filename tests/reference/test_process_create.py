"""R-CREATE: creating a VM (process_create)."""

from __future__ import annotations

import pytest
from dm_builders import accept, dyn, make, reject, static

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.events import Create
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import Vm


def test_create_adds_an_off_vm_owning_nothing() -> None:
    """R-CREATE: a new VM is appended, off, with no memory, channel or transaction."""
    before = make(("a", static()))
    after = accept(before, Create("b", dyn(startup=512, maximum=2048)))
    assert [vm.name for vm in after.vms] == ["a", "b"]
    vm = after.vms[1]
    assert vm == Vm(name="b", settings=dyn(startup=512, maximum=2048))
    assert (vm.power, vm.visible_mib, vm.ballooned_mib, vm.channel, vm.txn) == (
        Power.OFF, 0, 0, Channel.NONE, TxnKind.NONE)
    assert after.free_mib == before.free_mib == 7168


def test_create_with_default_settings_is_static() -> None:
    """R-CREATE: omitted settings take the defaults (static, startup 512, weight 5000)."""
    vm = accept(make(), Create("d", VmSettings())).vms[0]
    assert (vm.settings.dynamic, vm.settings.startup_mib, vm.settings.maximum_mib,
            vm.settings.buffer_pct, vm.settings.weight) == (False, 512, 65536, 20, 5000)


def test_create_rejects_a_duplicate_name() -> None:
    """R-CREATE: VM names are unique; a second VM of the same name is refused."""
    state = make(("a", static()))
    assert "already exists" in reject(state, Create("a", dyn()))


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (VmSettings(startup_mib=30), "startup_mib"),
        (VmSettings(startup_mib=1025, maximum_mib=2048), "startup_mib"),
        (VmSettings(startup_mib=2048, maximum_mib=1024), "maximum_mib"),
        (VmSettings(maximum_mib=65538), "maximum_mib"),
        (VmSettings(startup_mib=1024, maximum_mib=2049), "maximum_mib"),
        (VmSettings(buffer_pct=4), "buffer_pct"),
        (VmSettings(buffer_pct=2001), "buffer_pct"),
        (VmSettings(weight=-1), "weight"),
        (VmSettings(weight=10001), "weight"),
    ],
)
def test_create_rejects_out_of_range_settings(settings: VmSettings, field: str) -> None:
    """R-CREATE: settings outside the 2008R2SP1 ranges (INV-CONFIG) are refused by name."""
    reason = reject(make(), Create("bad", settings))
    assert reason.startswith("invalid settings: ")
    assert field in reason


@pytest.mark.parametrize("settings", [
    VmSettings(startup_mib=32, maximum_mib=32, buffer_pct=5, weight=0),
    VmSettings(dynamic=True, startup_mib=65536, maximum_mib=65536, buffer_pct=2000,
               weight=10000),
])
def test_create_accepts_the_range_limits(settings: VmSettings) -> None:
    """R-CREATE: the limits of every range (32 MiB, 64 GiB, 5..2000 %, 0..10000) are valid."""
    assert accept(make(), Create("edge", settings)).vms[0].settings == settings
