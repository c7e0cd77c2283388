"""Planted bugs that only a proof in pages can see (issue 15, specs/proofs.md §7).

Each is a host that counts one side of its ledger page for page and the other in whole
2 MiB units: the bug a host makes when it moves from MiB to pages half-way. In MiB every
answer is credited in whole units already, so the edit changes nothing there and
``dynmem prove`` passes; in pages (``dynmem prove --unit page --mutant NAME``) the proof
finds the counterexample to induction. Model-level only: the reference counts in MiB.
"""

from __future__ import annotations

from typing import Any

from dynmem.model.actions import Action, HostView
from dynmem.model.ops import Ops, Term
from dynmem.model.quantities import get_credited
from dynmem.verification.mutants.model_edits import ModelMutant, replace_action, swap_update

__all__ = ["UNIT_MUTANTS"]


def _balloon_frees_whole_units(action: Action) -> Action:
    # BUG: the guest's pages are counted ballooned page for page, but free gets only the
    # whole 2 MiB units of its answer (clamped alike): a sub-2 MiB answer's pages are lost
    original = action.update

    def update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
        units = p.mib - p.mib % ops.units.unit
        freed = ops.Min(get_credited(ops, units), vm.txn_mib - vm.txn_done_mib)
        return {**original(ops, h, vm, p), "free_mib": h.free_mib + freed}

    return swap_update(action, update)


def _hot_add_returns_stranded_tail(action: Action) -> Action:
    # BUG: a partial hot-add charges its last 2 MiB unit whole (R-PG-HOT-ADD-CREDIT) but
    # gives back to free every page not added, the stranded tail too: it is counted twice
    original = action.update

    def update(ops: Ops, h: HostView, vm: Any, p: Any) -> dict[str, Term]:
        added = ops.If(p.success, ops.Min(get_credited(ops, p.mib), vm.txn_mib), 0)
        return {**original(ops, h, vm, p), "free_mib": h.free_mib + vm.txn_mib - added}

    return swap_update(action, update)


UNIT_MUTANTS: dict[str, ModelMutant] = {m.name: m for m in (
    ModelMutant(
        "balloon_frees_whole_units",
        "BalloonResponse counts the guest's pages ballooned page for page but adds only "
        "their whole 2 MiB units to free: the pages of a sub-2 MiB answer are lost",
        "INV-CONSERVATION",
        lambda actions: replace_action(actions, "BalloonResponse", _balloon_frees_whole_units)),
    ModelMutant(
        "hot_add_returns_stranded_tail",
        "HotAddResponse charges a partial hot-add's last 2 MiB unit whole but returns every "
        "page not added to free, the stranded tail too: those pages are counted twice",
        "INV-CONSERVATION",
        lambda actions: replace_action(actions, "HotAddResponse",
                                       _hot_add_returns_stranded_tail)),
)}
