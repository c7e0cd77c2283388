"""The reference balancer policy (specs/policy.md): a pure function from state to requests.

One tick plans at most one request per VM, for VMs whose channel is READY, that have no
transaction in flight and have sent a status report:

1. give back (P-GIVE-BACK): a VM above its target is ballooned down to it;
2. grant (P-GRANT), by weight (high first, then name): unballoon first, then hot-add,
   limited by free memory. A busy VM that is still short keeps a claim on free memory, so a
   lower-weight VM cannot take what a higher one is waiting for (no oscillation);
3. contention (P-CONTENTION): for a VM still short when free memory is exhausted, balloon VMs
   of strictly lower weight, lowest first, never below their startup. Memory already on its
   way back (balloons in flight) is counted first, so nothing is squeezed twice.

A start waiting for reclaim (P-RECLAIM) claims its startup from free before any grant, and
squeezes strictly lower-weight VMs the same way. A stuck VM (R-STUCK) is not managed: its
outstanding balloon is not counted as incoming and it gets no request (P-STUCK).
"""

from __future__ import annotations

from dynmem.model.vocabulary import (
    BALLOON_REQUEST_CAP_MIB,
    HOT_ADD_REQUEST_CAP_MIB,
    UNBALLOON_REQUEST_CAP_MIB,
    Channel,
    Power,
    TxnKind,
)
from dynmem.reference.conventions import (
    GUEST_OS_LINUX,
    compute_linux_balloon_allowance,
    compute_reported_demand,
)
from dynmem.reference.events import (
    BalloonRequest,
    DmRequest,
    HotAddRequest,
    UnballoonRequest,
)
from dynmem.reference.state import (
    DmState,
    Vm,
    compute_align_down,
    compute_floor_to_unit,
    compute_target,
)


def is_balanced(vm: Vm) -> bool:
    """Whether the balancer manages ``vm``: running, dynamic, READY, reported, not stuck.

    A stuck VM (P-STUCK) is left alone until it answers: its balloon is not incoming memory.
    """
    return (vm.running and vm.settings.dynamic and vm.channel == Channel.READY
            and vm.has_report and not vm.stuck)


def is_waiting_start(vm: Vm) -> bool:
    """Whether ``vm`` is a start (or a restore) waiting for reclaim (P-RECLAIM); it needs
    ``vm.boot_mib``: its startup, or a restore's image."""
    return vm.power == Power.STARTING


def get_spare(vm: Vm) -> int:
    """What ballooning could take from ``vm`` at most: its assigned memory above startup,
    and for a Linux guest no more than it gives above its own balloon floor (P-DEMAND)."""
    spare = compute_floor_to_unit(max(0, vm.assigned_mib - vm.settings.startup_mib))
    if vm.settings.guest_os == GUEST_OS_LINUX:
        return min(spare, compute_linux_balloon_allowance(get_demand(vm), vm.assigned_mib))
    return spare


def get_reclaimable(state: DmState, starting: Vm) -> int:
    """Memory a start of ``starting`` could have: free plus what reclaim may take (P-RECLAIM).

    Reclaim takes only from managed, balloon-capable VMs of strictly lower weight, never below
    their startup; other waiting starts claim what they need first (startup, or a restore's
    image).
    """
    spare = sum(get_spare(vm) for vm in state.vms
                if is_balanced(vm) and vm.cap_balloon
                and vm.settings.weight < starting.settings.weight)
    waiting = sum(vm.boot_mib for vm in state.vms
                  if is_waiting_start(vm) and vm.name != starting.name)
    return state.free_mib + spare - waiting


def get_demand(vm: Vm) -> int:
    """The guest's own demand read out of ``vm``'s last report, per its convention (P-DEMAND).

    A Linux guest's report counts its ballooned pages and its balloon floor: the host
    subtracts both, or its target would include them and it would unballoon what it just
    ballooned.
    """
    return compute_reported_demand(vm.report_mib, vm.settings.guest_os, vm.ballooned_mib,
                                   vm.assigned_mib)


def get_target(vm: Vm) -> int:
    """``vm``'s target from the demand of its last report (specs/policy.md P-TARGET)."""
    return compute_target(get_demand(vm), vm.settings)


def get_growth_room(vm: Vm) -> int:
    """How much more ``vm`` can receive at all: its ballooned pages plus hot-add room."""
    unballoon = vm.txn_mib if vm.txn == TxnKind.UNBALLOON else 0
    room = vm.ballooned_mib - unballoon
    if vm.cap_hot_add and vm.hot_add_enabled:
        hot_add = vm.txn_mib if vm.txn == TxnKind.HOT_ADD else 0
        room += max(0, vm.settings.maximum_mib - vm.visible_mib - hot_add)
    return room


def get_shortfall(vm: Vm) -> int:
    """How much ``vm`` still needs and can receive, counting a grant in flight.

    A VM that cannot grow claims nothing, so it never starves others (P-GRANT). What its
    ballooned pages do not cover comes by hot-add, in whole units of the alignment its guest
    advertised (R-HOT-ADD-ALIGN): the rest of a unit is not claimed.
    """
    wanted = max(0, min(get_target(vm) - vm.owned_mib, get_growth_room(vm)))
    unballoon = vm.txn_mib if vm.txn == TxnKind.UNBALLOON else 0
    by_unballoon = min(wanted, vm.ballooned_mib - unballoon)
    return by_unballoon + compute_align_down(wanted - by_unballoon, vm.hot_add_align_mib)


def _by_weight_desc(vm: Vm) -> tuple[int, str]:
    return (-vm.settings.weight, vm.name)


def _by_weight_asc(vm: Vm) -> tuple[int, str]:
    return (vm.settings.weight, vm.name)


def compute_give_back(vms: list[Vm]) -> dict[str, int]:
    """P-GIVE-BACK: balloon each idle VM above its target down to it (a Linux guest no
    further than its balloon floor lets it give, P-DEMAND)."""
    plan = {}
    for vm in vms:
        if vm.txn == TxnKind.NONE and vm.cap_balloon:
            excess = min(compute_floor_to_unit(vm.assigned_mib - get_target(vm)), get_spare(vm))
            if excess > 0:
                plan[vm.name] = min(excess, BALLOON_REQUEST_CAP_MIB)
    return plan


def compute_grant(vm: Vm, free_mib: int) -> DmRequest | None:
    """P-GRANT: the one request that brings ``vm`` closest to its target from free memory."""
    give = compute_floor_to_unit(min(get_shortfall(vm), free_mib))
    if give <= 0:
        return None
    if vm.ballooned_mib > 0:
        return UnballoonRequest(vm.name, min(give, vm.ballooned_mib, UNBALLOON_REQUEST_CAP_MIB))
    if vm.cap_hot_add and vm.hot_add_enabled:
        room = compute_floor_to_unit(vm.settings.maximum_mib - vm.visible_mib)
        # R-HOT-ADD-ALIGN: aligned down to what the guest advertised; none if nothing is left
        amount = compute_align_down(min(give, room, HOT_ADD_REQUEST_CAP_MIB),
                                    vm.hot_add_align_mib)
        return HotAddRequest(vm.name, amount) if amount > 0 else None
    return None


def compute_plan(state: DmState) -> tuple[DmRequest, ...]:
    """The requests one BalancerTick sends, in order (specs/policy.md).

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings
    >>> compute_plan(DmState(host=HostSettings(4096, 512), free_mib=3584))
    ()
    """
    vms = [vm for vm in state.vms if is_balanced(vm)]
    give_back = compute_give_back(vms)
    requests: list[DmRequest] = [BalloonRequest(n, mib) for n, mib in give_back.items()]
    free = state.free_mib
    unmet: list[tuple[Vm, int]] = []
    # P-RECLAIM: a waiting start claims its startup (a waiting restore its image) before
    # anything grows.
    for vm in sorted(filter(is_waiting_start, state.vms), key=_by_weight_desc):
        claim = min(vm.boot_mib, free)
        free -= claim
        if vm.boot_mib > claim:
            unmet.append((vm, vm.boot_mib - claim))
    for vm in sorted(vms, key=_by_weight_desc):
        need = get_shortfall(vm)
        if need <= 0 or vm.name in give_back:
            continue
        # The VM claims its whole shortfall from free, even where one request is capped or
        # it is busy, so lower weights only get what is left (no give-and-take churn).
        claim = compute_floor_to_unit(min(need, free))
        grant = compute_grant(vm, free) if vm.txn == TxnKind.NONE else None
        if grant is not None:
            requests.append(grant)
        free -= claim
        if need > claim:
            unmet.append((vm, need - claim))
    requests += compute_contention(vms, unmet, set(give_back), give_back)
    return tuple(requests)


def compute_contention(
    vms: list[Vm], unmet: list[tuple[Vm, int]], busy: set[str], give_back: dict[str, int]
) -> list[DmRequest]:
    """P-CONTENTION: balloon strictly lower-weight VMs for the VMs still short."""
    incoming = sum(vm.txn_mib - vm.txn_done_mib for vm in vms if vm.txn == TxnKind.BALLOON)
    incoming += sum(give_back.values())
    planned: list[DmRequest] = []
    taken = set(busy)
    for short_vm, deficit in unmet:
        use = min(deficit, incoming)
        incoming -= use
        deficit -= use
        donors = sorted(
            (d for d in vms
             if d.settings.weight < short_vm.settings.weight and d.name not in taken
             and d.txn == TxnKind.NONE and d.cap_balloon),
            key=_by_weight_asc,
        )
        for donor in donors:
            if deficit <= 0:
                break
            amount = min(deficit, get_spare(donor), BALLOON_REQUEST_CAP_MIB)
            amount = compute_floor_to_unit(amount)
            if amount > 0:
                planned.append(BalloonRequest(donor.name, amount))
                taken.add(donor.name)
                deficit -= amount
    return planned
