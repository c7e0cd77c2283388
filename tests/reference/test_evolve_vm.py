"""``evolve_vm`` (reference/state.py): the cheap update every ``process_*`` uses must build
the same value as ``attrs.evolve`` and still run every TypeOK validator (STYLE rule 6)."""

from __future__ import annotations

import attrs
import pytest

from dynmem.model.vocabulary import Channel, Power, TxnKind
from dynmem.reference.settings import VmSettings
from dynmem.reference.state import Vm, evolve_vm

VM = Vm("a", VmSettings(dynamic=True, startup_mib=512, maximum_mib=1024),
        power=Power.RUNNING, visible_mib=512, channel=Channel.READY)


@pytest.mark.parametrize("changes", [
    {},
    {"demand_mib": 700},
    {"txn": TxnKind.BALLOON, "txn_mib": 64, "txn_done_mib": 0},
    {"settings": VmSettings(), "name": "b", "hot_add_enabled": False},
    {field.name: getattr(Vm("z", VmSettings(), power=Power.RUNNING, visible_mib=2,
                            has_report=True, report_mib=4), field.name)
     for field in attrs.fields(Vm)},
])
def test_same_value_as_attrs_evolve(changes: dict[str, object]) -> None:
    """R-*: every field, changed or not (the frame), equals what ``attrs.evolve`` gives."""
    assert evolve_vm(VM, **changes) == attrs.evolve(VM, **changes)


def test_validators_still_run() -> None:
    """INV-TYPE: a negative amount or a non-bool flag is refused, as by the constructor."""
    with pytest.raises(ValueError, match="ballooned_mib"):
        evolve_vm(VM, ballooned_mib=-2)
    with pytest.raises(TypeError, match="has_report"):
        evolve_vm(VM, has_report=1)


def test_unknown_field_is_an_error() -> None:
    """INV-TYPE: a misspelt field is an error, never silently ignored."""
    with pytest.raises(TypeError, match="visible"):
        evolve_vm(VM, visible=4)
