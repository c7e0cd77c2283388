"""Derived quantities of the model, defined once over the operator layer.

These are the model's own definitions (the spec), deliberately independent of the
reference's properties of the same name, so a wrong reference formula is caught.
"""

from __future__ import annotations

from typing import Any

from dynmem.model.ops import Ops, Term
from dynmem.model.shapes import HostLike, VmLike
from dynmem.model.vocabulary import ACCEPTED_VERSIONS, Power, TxnKind


def assigned(vm: VmLike) -> Term:
    """Host memory backing the VM: visible minus ballooned (specs/domain.md §1.3)."""
    return vm.visible_mib - vm.ballooned_mib


def in_flight(ops: Ops, vm: VmLike) -> Term:
    """Memory taken from free for a hot-add or unballoon that has not been answered."""
    granting = ops.Or(vm.txn == TxnKind.HOT_ADD, vm.txn == TxnKind.UNBALLOON)
    return ops.If(granting, vm.txn_mib, 0)


def owned(ops: Ops, vm: VmLike) -> Term:
    """Everything the VM owns or is promised: assigned plus in flight."""
    return assigned(vm) + in_flight(ops, vm)


def outstanding_balloon(ops: Ops, vm: VmLike) -> Term:
    """Balloon pages requested and not yet received (0 without a balloon in flight)."""
    return ops.If(vm.txn == TxnKind.BALLOON, vm.txn_mib - vm.txn_done_mib, 0)


def is_accepted_version(ops: Ops, host: HostLike, version: Term) -> Term:
    """Whether ``host``'s profile accepts protocol ``version`` (specs/protocol.md §1.1)."""
    accepted: Term = False  # a profile out of range accepts nothing
    for profile, versions in reversed(ACCEPTED_VERSIONS.items()):
        accepted = ops.If(host.profile == profile, ops.Or(*[version == v for v in versions]),
                          accepted)
    return accepted


def is_running(vm: VmLike) -> Term:
    return vm.power == Power.RUNNING


def total_owned(ops: Ops, state: Any) -> Term:
    """Σ owned over the VMs of ``state``."""
    return ops.total(state.vms, lambda vm: owned(ops, vm))
