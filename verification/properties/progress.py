"""The conditional progress properties (specs/invariants.md §3), checked on reference states.

``check_fixed_point`` checks a fixed point (no transaction in flight, the policy plans
nothing) for PROG-NO-STARVATION and PROG-WEIGHT-ORDER; ``settle_fairly`` delivers honest
messages and ticks round-robin (R-SETTLE) with some guests possibly silent, and reports
PROG-FIXED-POINT when the run does not settle. The explorer checks the same properties on
its whole graph (every interleaving, not only round-robin).

"Short" is defined here from the spec (policy.md P-TARGET and the growth room), not through
the policy's own helpers, so a policy that miscomputes its shortfall is still caught.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from dynmem.model.invariants import Violation
from dynmem.model.vocabulary import MEMORY_UNIT_MIB, Channel, TxnKind
from dynmem.reference.conventions import (
    GUEST_OS_LINUX,
    compute_linux_balloon_allowance,
    compute_reported_demand,
)
from dynmem.reference.environment import (
    Profiles,
    Settled,
    compute_next_word,
    settle,
)
from dynmem.reference.events import BalloonRequest, Event
from dynmem.reference.policy import compute_plan, is_waiting_start
from dynmem.reference.state import (
    DmState,
    Vm,
    compute_align_down,
    compute_floor_to_unit,
    compute_target,
)
from dynmem.reference.step import Plan, Step, step

PROG_FIXED_POINT = "PROG-FIXED-POINT"
PROG_NO_STARVATION = "PROG-NO-STARVATION"
PROG_WEIGHT_ORDER = "PROG-WEIGHT-ORDER"
PROG_RECLAIM_ORDER = "PROG-RECLAIM-ORDER"
# Judged on whole runs or graphs; PROG-RECLAIM-ORDER is judged on each tick.
GRAPH_PROPERTIES = frozenset((PROG_FIXED_POINT, PROG_NO_STARVATION, PROG_WEIGHT_ORDER))


def is_managed(vm: Vm) -> bool:
    """Whether the balancer manages ``vm``: running, dynamic, READY, reported and not stuck
    (policy.md, P-STUCK)."""
    return (vm.running and vm.settings.dynamic and vm.channel == Channel.READY
            and vm.has_report and not vm.stuck)


def get_spec_target(vm: Vm) -> int:
    """``vm``'s target from the demand its last report says, read per its convention
    (policy.md P-DEMAND, P-TARGET)."""
    demand = compute_reported_demand(vm.report_mib, vm.settings.guest_os, vm.ballooned_mib,
                                     vm.assigned_mib)
    return compute_target(demand, vm.settings)


def get_giveable(vm: Vm) -> int:
    """What a balloon can take from ``vm``: its assigned memory above startup, and a Linux
    guest gives no more than it has above its balloon floor (protocol.md §3.2)."""
    spare = vm.assigned_mib - vm.settings.startup_mib
    if vm.settings.guest_os != GUEST_OS_LINUX:
        return spare
    demand = compute_reported_demand(vm.report_mib, vm.settings.guest_os, vm.ballooned_mib,
                                     vm.assigned_mib)
    return min(spare, compute_linux_balloon_allowance(demand, vm.assigned_mib))


def get_need(vm: Vm) -> int:
    """What ``vm`` lacks of its target and could still receive (0 if nothing).

    Growth room: its ballooned pages, plus room below maximum while hot-add is possible.
    What the ballooned pages do not cover comes by hot-add in whole units of the guest's
    alignment (R-HOT-ADD-ALIGN): a VM short by less than one unit lacks nothing it could get.
    """
    target = get_spec_target(vm)
    room = vm.ballooned_mib
    if vm.cap_hot_add and vm.hot_add_enabled:
        room += max(0, vm.settings.maximum_mib - vm.visible_mib)
    wanted = max(0, min(target - vm.owned_mib, room))
    by_unballoon = min(wanted, vm.ballooned_mib)
    return by_unballoon + compute_align_down(wanted - by_unballoon, vm.hot_add_align_mib)


def get_grant_unit(vm: Vm) -> int:
    """The least free memory that lets ``vm`` grow: one 2 MiB unit while it has ballooned
    pages to take back, else one unit of its guest's hot-add alignment."""
    return MEMORY_UNIT_MIB if vm.ballooned_mib > 0 else vm.hot_add_align_mib


def is_fixed_point(state: DmState, plan: Plan = compute_plan,
                   profiles: Profiles | None = None) -> bool:
    """No honest guest message is pending, no watchdog is due on a guest that never
    answers (``compute_next_word``; guests of ``profiles``) and the policy plans nothing."""
    named = profiles or {}
    return (all(compute_next_word(vm, named.get(vm.name), state.free_mib) is None
                for vm in state.vms)
            and not plan(state))


def get_held_free(managed: Sequence[Vm], free_mib: int) -> dict[str, int]:
    """Per VM, the free memory that VMs served before it hold: in weight order (weight
    descending, then name: policy.md), a short VM that free memory cannot give one grant
    unit (a hot-add unit of its guest's alignment) holds what there is until the unit is
    complete (P-GRANT), so that memory is not free for a lighter VM. With 2 MiB units
    nothing is ever held."""
    held: dict[str, int] = {}
    taken = 0
    for vm in sorted(managed, key=lambda v: (-v.settings.weight, v.name)):
        held[vm.name] = taken
        need, left = get_need(vm), free_mib - taken
        if need >= MEMORY_UNIT_MIB and left < get_grant_unit(vm):
            taken += compute_floor_to_unit(min(need, max(0, left)))
    return held


def check_fixed_point(state: DmState) -> list[Violation]:
    """PROG-NO-STARVATION and PROG-WEIGHT-ORDER at the fixed point ``state``."""
    managed = [vm for vm in state.vms if is_managed(vm) and vm.txn == TxnKind.NONE]
    # A start waiting for reclaim claims its startup (a restore its image) from free before
    # any grant (P-RECLAIM):
    # that memory is not free for a short VM.
    claimed = sum(vm.boot_mib for vm in state.vms if is_waiting_start(vm))
    unclaimed = state.free_mib - claimed
    found = []
    held = get_held_free(managed, unclaimed)
    for vm in managed:
        need = get_need(vm)
        if need < MEMORY_UNIT_MIB:
            continue
        if unclaimed - held[vm.name] >= get_grant_unit(vm):
            found.append(Violation(
                PROG_NO_STARVATION, "a short VM gets free memory", vm.name,
                f"{vm.name} is short {need} MiB (assigned {vm.assigned_mib}, target "
                f"{get_spec_target(vm)}) while {state.free_mib} MiB "
                f"is free at a fixed point"))
        for donor in managed:
            spare = get_giveable(donor)
            if (donor.settings.weight < vm.settings.weight and donor.cap_balloon
                    and spare >= MEMORY_UNIT_MIB):
                found.append(Violation(
                    PROG_WEIGHT_ORDER, "lower weight gives first", vm.name,
                    f"{vm.name} (weight {vm.settings.weight}) is short {need} MiB while "
                    f"{donor.name} (weight {donor.settings.weight}) keeps {spare} MiB it could "
                    f"give above its startup at a fixed point"))
    return found


def check_squeeze_order(state: DmState, sent: Sequence[Event]) -> list[Violation]:
    """PROG-RECLAIM-ORDER on a tick sent in ``state`` while a start waits for reclaim: a
    balloon request that takes a VM below its target squeezes it, and a VM is squeezed only
    for a waiting VM of strictly higher weight: a start waiting for reclaim (P-RECLAIM) or a
    managed VM that is short (P-CONTENTION). A balloon down to the target (P-GIVE-BACK) is
    no squeeze. Ticks without a waiting start are left to PROG-WEIGHT-ORDER and
    PROG-FIXED-POINT (a policy that balloons a VM at its target for nobody oscillates)."""
    if not any(is_waiting_start(vm) for vm in state.vms):
        return []
    waiting = [vm for vm in state.vms
               if is_waiting_start(vm) or (is_managed(vm) and get_need(vm) > 0)]
    found = []
    for request in sent:
        if not isinstance(request, BalloonRequest):
            continue
        vm = state.get_vm(request.vm)
        if vm is None:
            continue
        target = get_spec_target(vm)
        if vm.assigned_mib - request.mib >= target:
            continue
        if any(w.settings.weight > vm.settings.weight for w in waiting if w is not vm):
            continue
        found.append(Violation(
            PROG_RECLAIM_ORDER, "only strictly lower weights are squeezed", vm.name,
            f"{vm.name} (weight {vm.settings.weight}) is ballooned {request.mib} MiB from "
            f"assigned {vm.assigned_mib}, below its target {target}, while no start or "
            f"short VM of higher weight waits"
            + "".join(f"; {w.name} waits with weight {w.settings.weight}" for w in waiting
                      if w is not vm)))
    return found


# A fair run is ``reference.environment.settle`` (R-SETTLE): one definition of delivery.
FairRun = Settled


def settle_fairly(state: DmState, max_steps: int = 2_000, step_fn: Step = step,
                  plan: Plan = compute_plan, silent: Collection[str] = (),
                  profiles: Profiles | None = None,
                  stuck_after: int | None = None) -> FairRun:
    """Round-robin delivery with some guests possibly ``silent`` (never answering), guests
    of ``profiles`` speaking as their profile says, and the host's watchdog after
    ``stuck_after`` ticks (``settle``).

    ``converged`` is False when the run returns to an earlier round's state (an oscillation)
    or ``max_steps`` runs out first: PROG-FIXED-POINT does not hold for this run.
    """
    return settle(state, max_steps, step_fn, plan, silent, profiles, stuck_after)


def describe_unsettled(run: FairRun) -> Violation:
    """The PROG-FIXED-POINT violation of a run that did not settle."""
    if run.cycle_start is not None:
        loop = run.steps[run.cycle_start:]
        kinds = ", ".join(sorted({event.KIND for event, _ in loop}))
        return Violation(PROG_FIXED_POINT, "constant demand reaches a fixed point", None,
                         f"oscillation: with demand held constant the state after step "
                         f"{run.cycle_start} comes back after step {len(run.steps)}; the "
                         f"{len(loop)} steps in between ({kinds}) repeat forever")
    kinds = ", ".join(sorted({event.KIND for event, _ in run.steps[-20:]}))
    return Violation(PROG_FIXED_POINT, "constant demand reaches a fixed point", None,
                     f"no fixed point after {len(run.steps)} fair steps with demand held "
                     f"constant; the last steps keep doing {kinds}")
