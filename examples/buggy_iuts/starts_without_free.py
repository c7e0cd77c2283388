"""Planted bug: a system that starts a VM without checking that its startup memory is free.

The 16th 2 GiB VM on a 32 GiB host starts anyway; the host's free ledger goes negative and
the VMs own more than the host has (INV-PHYSICAL, AUX-FREE).
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import Channel, Power
from dynmem.reference.events import Start
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, make_step
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl


def start_unchecked(state: DmState, event: Start) -> StepResult:
    vm = state.get_vm(event.vm)
    if vm is None or vm.running:
        return StepResult(state, f"{event.vm} cannot start")
    # The bug: no "free >= startup" guard (R-START).
    opens = vm.settings.dynamic and vm.settings.dm_capable
    started = attrs.evolve(vm, power=Power.RUNNING, visible_mib=vm.settings.startup_mib,
                           ballooned_mib=0, demand_mib=0, hot_add_enabled=True,
                           channel=Channel.NEGOTIATING if opens else Channel.NONE)
    return StepResult(attrs.evolve(state.with_vm(started),
                                   free_mib=state.free_mib - vm.settings.startup_mib))


def make_iut() -> ReferenceSystem:
    return ReferenceSystem(make_step({Start: start_unchecked}), name="starts without free memory")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
