"""Derived quantities of the model, defined once over the operator layer.

These are the model's own definitions (the spec), deliberately independent of the
reference's properties of the same name, so a wrong reference formula is caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dynmem.model.ops import Ops, Term
from dynmem.model.shapes import HostLike, VmLike
from dynmem.model.vocabulary import (
    ACCEPTED_VERSIONS,
    ADVERTISED_ALIGNMENTS_MIB,
    HOT_ADD_ALIGNMENTS_MIB,
    MEMORY_UNIT_MIB,
    Power,
    TxnKind,
)


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


def get_credited(ops: Ops, amount: Term) -> Term:
    """What the host credits of a guest's answer of ``amount``, before clamping: in MiB whole
    2 MiB units, in pages every page (R-PG-CREDIT; model/units.py)."""
    return amount if ops.units.exact else amount - amount % ops.units.unit


def get_charged(ops: Ops, added: Term) -> Term:
    """What a hot-add that added ``added`` charges the VM: in pages its last 2 MiB unit
    whole, the tail stranded (the region was handed out in units: R-PG-HOT-ADD-CREDIT); in
    MiB, where ``added`` is whole units, exactly that."""
    if not ops.units.exact:
        return added
    tail = added % ops.units.unit  # one remainder in the term: Z3 decides it faster than two
    return ops.If(tail == 0, added, added - tail + ops.units.unit)


def is_accepted_version(ops: Ops, host: HostLike, version: Term) -> Term:
    """Whether ``host``'s profile accepts protocol ``version`` (specs/protocol.md §1.1)."""
    accepted: Term = False  # a profile out of range accepts nothing
    for profile, versions in reversed(ACCEPTED_VERSIONS.items()):
        accepted = ops.If(host.profile == profile, ops.Or(*[version == v for v in versions]),
                          accepted)
    return accepted


def is_advertised_alignment(ops: Ops, mib: Term) -> Term:
    """Whether ``mib`` is an alignment a capabilities report can carry: 2^k MiB, k < 16."""
    return ops.Or(*[mib == a for a in ADVERTISED_ALIGNMENTS_MIB])


def get_hot_add_alignment(ops: Ops, advertised: Term) -> Term:
    """The alignment the host keeps for an advertised one: at least the 2 MiB unit."""
    return ops.Max(advertised, MEMORY_UNIT_MIB)


def is_aligned(ops: Ops, mib: Term, align: Term) -> Term:
    """Whether ``mib`` is a multiple of the kept alignment ``align`` (R-HOT-ADD-ALIGN).

    An alignment that is no power of two from 2 MiB to 32 GiB aligns nothing. The remainder
    is by the variable alignment, which Z3's nonlinear arithmetic decides quickly once the
    alignment is one of fifteen values; one disjunct per alignment, each a remainder by a
    constant (linear), made symbolic BMC give up at depth 1 (200 M rlimit units)."""
    valid = ops.Or(*[align == a for a in HOT_ADD_ALIGNMENTS_MIB])
    # the alignment is kept in MiB, as the guest advertised it; amounts may be in pages
    per_mib = ops.units.per_mib
    scaled = align if per_mib == 1 else align * per_mib
    # a remainder by 1 where the alignment is not valid: never a division by zero
    return ops.And(valid, mib % ops.If(valid, scaled, 1) == 0)


def is_running(vm: VmLike) -> Term:
    return vm.power == Power.RUNNING


def get_top_weight(ops: Ops, vms: Sequence[Any]) -> Term:
    """The highest weight among the VMs that run or wait to start (0 if none): a VM of lower
    weight may be squeezed for one of them (R-RECLAIM-ORDER)."""
    top: Term = 0
    for vm in vms:
        # a symbolic slot or a concrete view says whether it holds a VM; a reference Vm does
        present = getattr(vm, "exists", True)
        live = ops.And(present, ops.Or(vm.power == Power.RUNNING, vm.power == Power.STARTING))
        top = ops.Max(top, ops.If(live, vm.settings.weight, 0))
    return top


def is_start_waiting(ops: Ops, vms: Sequence[Any]) -> Term:
    """Whether a start waits for reclaim (P-RECLAIM) among ``vms``."""
    return ops.Or(*[ops.And(getattr(vm, "exists", True), vm.power == Power.STARTING)
                    for vm in vms])


def get_linux_floor_x32(ops: Ops, total_mib: Term) -> Term:
    """32 times an upper bound of a Linux guest's balloon floor for ``total_mib`` of RAM
    (specs/protocol.md §3.2: 8 + t/2 below 128 MiB, 40 + t/4 below 512, 104 + t/8 below
    2048, 232 + t/16 below 8192, 488 + t/32 above), scaled so it stays linear and integral:
    the guest's floor rounds each division down, so it is at most this over 32. In pages
    the MiB constants (thresholds and the fixed part) scale; the slopes do not."""
    t, m = total_mib, ops.units.of_mib
    return ops.If(t < m(128), m(256) + 16 * t,
                  ops.If(t < m(512), m(1280) + 8 * t,
                         ops.If(t < m(2048), m(3328) + 4 * t,
                                ops.If(t < m(8192), m(7424) + 2 * t, m(15616) + t))))


def is_squeeze(ops: Ops, vm: VmLike, mib: Term) -> Term:
    """Whether ballooning ``mib`` leaves ``vm`` below the demand its last report shows, read
    the way that shows the least: as a Linux report (minus the ballooned pages and the
    balloon floor), which never exceeds the Windows reading (the report itself). Left below
    its demand, the VM is below any target of the policy (demand plus buffer, clamped to
    startup..maximum: policy.md P-TARGET), so this is a squeeze (R-RECLAIM-ORDER); the model
    has no target (it has no guest OS and no policy), and this bound needs neither."""
    left = assigned(vm) - mib
    return 32 * left + get_linux_floor_x32(ops, assigned(vm)) < 32 * (vm.report_mib
                                                                      - vm.ballooned_mib)


def total_owned(ops: Ops, state: Any) -> Term:
    """Σ owned over the VMs of ``state``."""
    return ops.total(state.vms, lambda vm: owned(ops, vm))
