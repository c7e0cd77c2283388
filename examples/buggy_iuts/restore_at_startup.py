"""Planted bug: a system that restores a saved VM once its *startup* memory is free.

A saved VM's image is the memory it had when saved (R-SAVE), often far above startup; the
restore must wait for reclaim until that much is free (R-RESTORE). This host checks startup
instead, so a VM saved after it grew comes back while another VM holds the rest: the VMs own
more than the host has (INV-PHYSICAL, AUX-FREE). Only an IUT checked with ``dynmem oracle
--lifecycle`` meets a save and a restore.
"""

from __future__ import annotations

import attrs

from dynmem.model.vocabulary import Power
from dynmem.reference.events import Restore
from dynmem.reference.state import DmState
from dynmem.reference.step import StepResult, compute_booted, make_step
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl


def restore_at_startup(state: DmState, event: Restore) -> StepResult:
    vm = state.get_vm(event.vm)
    if vm is None or vm.power != Power.SAVED:
        return StepResult(state, f"{event.vm} is not saved")
    # The bug: "startup <= free" instead of "saved <= free" (R-RESTORE). Without startup
    # free the restore waits for reclaim, as the reference's does (lifecycle.md §4.7).
    if vm.settings.startup_mib > state.free_mib:
        return StepResult(state.with_vm(attrs.evolve(vm, power=Power.STARTING)))
    return StepResult(attrs.evolve(state.with_vm(compute_booted(vm, vm.saved_mib)),
                                   free_mib=state.free_mib - vm.saved_mib))


def make_iut() -> ReferenceSystem:
    return ReferenceSystem(make_step({Restore: restore_at_startup}),
                           name="restores at startup")


if __name__ == "__main__":
    raise SystemExit(serve_jsonl(make_iut()))
