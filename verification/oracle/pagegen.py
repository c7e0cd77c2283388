"""What the oracle sends a page-level IUT (specs/formats/oracle.md §9.6): small hosts, ticks
with targets, and guests that list pages the way a broken or malicious one would.

A guest answers a balloon with ranges that are honest, repeated (the same 2 MiB twice),
overlapping, outside its RAM (beyond it, or inside a hot-add region not added), smaller than
2 MiB (4 KiB, 1020 KiB, 1 MiB: the Linux guest's fallback) or empty; it answers a hot-add in
full, a page short, with nothing, or with a transient failure. The harness also sends host
requests of its own, honest and not (a page listed twice, pages not ballooned, sub-unit
amounts, regions overlapping RAM or misaligned), and answers to nothing (a guest answering
twice); the IUT must refuse exactly what the page rules refuse.

In the random phase the guest also answers as the honest Linux guest does under
fragmentation (its 4 KiB fallback: up to 510 scattered single pages), which the IUT must
credit exactly (R-PG-CREDIT).

``page_menu`` is the finite menu the exhaustive phase tries in every state, picked by name
from the shared page menu (verification/pagemenu.py, which the page explorer picks from
too); ``draw_page_event`` draws from a wider one for the random phase. Both are pure functions
of the state (and of the seeded ``random.Random`` given), so a run is repeatable.
"""

from __future__ import annotations

import random

import attrs

from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB, TxnKind
from dynmem.reference.events import BalloonRequest, UnballoonResponse
from dynmem.reference.pages import (
    PAGES_PER_MIB,
    PAGES_PER_UNIT,
    PageBalloonResponse,
    PageHotAddResponse,
    PageRange,
    PageState,
    PageVm,
    initial_page_state,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.verification.oracle.pagewire import PageTick, WireEvent
from dynmem.verification.pagemenu import (
    address_top,
    balloon_answers,
    hot_add_answers,
    hot_add_requests,
    ram_top,
    unballoon_requests,
)

# Counts around 4 KiB, 1 MiB and the 2 MiB unit, where rounding bugs live.
COUNTS = (1, 255, 256, 511, 512, 513, 1024)


# The oracle's picks from the shared menu (verification/pagemenu.py), in its order.
BALLOON_PICKS = ("unit", "twice", "overlapping", "beyond", "page-more", "half", "empty",
                 "ballooned")
HOT_ADD_PICKS = ("full", "page-short", "none", "failed")
# The random phase's honest 4 KiB fallback answers (510 scattered pages, more to come or last)
FALLBACK_PICKS = ("fallback-more", "fallback")
UNBALLOON_PICKS = ("lowest", "twice", "beyond")
REGION_PICKS = ("top", "over-ram", "page-off")


def _free_ram(vm: PageVm) -> list[PageRange]:
    return list(vm.ram.difference(vm.ballooned).to_ranges())


def host_requests(vm: PageVm) -> list[WireEvent]:
    """Requests the harness asks the host to send: honest ones and ones the rules refuse."""
    return [BalloonRequest(vm.name, 2), BalloonRequest(vm.name, 1),
            *hot_add_requests(vm, REGION_PICKS, aligned_block=True),
            *unballoon_requests(vm, UNBALLOON_PICKS)]


def targets(state: PageState, vm: PageVm) -> list[PageTick]:
    """Ticks that want ``vm`` at its startup, 2 MiB below or above where it is, or its
    maximum."""
    now = vm.assigned_pages // PAGES_PER_MIB
    wants = sorted({vm.settings.startup_mib, max(0, now - 2), now + 2, vm.settings.maximum_mib})
    return [PageTick(((vm.name, mib),)) for mib in wants]


def page_menu(state: PageState) -> list[WireEvent]:
    """Every event the exhaustive phase tries in ``state``."""
    out: list[WireEvent] = []
    for vm in state.vms:
        out += targets(state, vm)
        if vm.txn == TxnKind.BALLOON:
            out += balloon_answers(vm, BALLOON_PICKS)
        elif vm.txn == TxnKind.UNBALLOON:
            out.append(UnballoonResponse(vm.name))
        elif vm.txn == TxnKind.HOT_ADD:
            out += hot_add_answers(vm, HOT_ADD_PICKS)
        else:
            out += host_requests(vm)
            out.append(UnballoonResponse(vm.name))  # an answer to nothing
    return out


def _adversarial_ranges(rng: random.Random, vm: PageVm) -> tuple[PageRange, ...]:
    """Up to 4 ranges: in RAM, straddling its end, beyond it, repeated or overlapping."""
    top, ram_end = address_top(vm), ram_top(vm)
    ranges: list[PageRange] = []
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(("in", "in", "free", "edge", "out", "again"))
        count = rng.choice(COUNTS) if rng.random() < 0.7 else rng.randint(0, 1100)
        if kind == "again" and ranges:
            prev = rng.choice(ranges)
            ranges.append(PageRange(prev.start + rng.randint(0, prev.count), count))
            continue
        free = _free_ram(vm)
        start = {"in": rng.randint(0, max(0, ram_end - 1)),
                 "free": rng.choice(free).start if free else 0,
                 "edge": max(0, ram_end - rng.randint(0, 600)),
                 "out": top + rng.randint(0, 4096)}.get(kind, 0)
        ranges.append(PageRange(start, count))
    return tuple(ranges)


def draw_page_event(rng: random.Random, state: PageState) -> WireEvent:
    """One event for the random phase: mostly ticks and the guests' answers."""
    vm = rng.choice(state.vms)
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(targets(state, vm))
    if vm.txn == TxnKind.BALLOON and roll < 0.85:
        kind = rng.random()
        if kind < 0.1:  # the honest Linux guest's 4 KiB fallback
            return rng.choice(balloon_answers(vm, FALLBACK_PICKS))
        if kind < 0.3:
            return rng.choice(balloon_answers(vm, BALLOON_PICKS))
        return PageBalloonResponse(vm.name, _adversarial_ranges(rng, vm), rng.random() < 0.4)
    if vm.txn == TxnKind.UNBALLOON and roll < 0.85:
        return UnballoonResponse(vm.name)
    if vm.txn == TxnKind.HOT_ADD and roll < 0.85:
        if rng.random() < 0.2:
            return PageHotAddResponse(vm.name, rng.choice((*COUNTS, vm.txn_pages + 1)))
        return rng.choice(hot_add_answers(vm, HOT_ADD_PICKS))
    return rng.choice([*host_requests(vm), UnballoonResponse(vm.name),
                       PageHotAddResponse(vm.name, 512),
                       PageBalloonResponse(vm.name, (PageRange(0, PAGES_PER_UNIT),))])


def draw_page_initial(rng: random.Random, alignments: tuple[int, ...] = ()) -> PageState:
    """A small host with one or two dynamic VMs, each at its startup or somewhat above; with
    ``alignments`` (an IUT of Rule P1c), each VM's guest advertised 2 MiB or one of them
    (drawn last, so the states without are those of before)."""
    vms = []
    for name in ("a", "b")[: rng.randint(1, 2)]:
        startup = rng.choice((32, 64, 128))
        maximum = startup + rng.choice((64, 128, 256))
        vms.append((name, VmSettings(dynamic=True, startup_mib=startup, maximum_mib=maximum)))
    ram = {name: settings.startup_mib + rng.choice((0, 0, 2, 32)) for name, settings in vms}
    used = sum(ram.values())
    host = HostSettings(physical_mib=used + 64 + rng.choice((0, 32, 512)), reserve_mib=64)
    state = initial_page_state(host, tuple(vms), ram)
    if alignments:
        state = attrs.evolve(state, vms=tuple(
            attrs.evolve(vm, hot_add_align_mib=rng.choice((DEFAULT_HOT_ADD_ALIGN_MIB,
                                                           *alignments)))
            for vm in state.vms))
    return state


def small_preset() -> PageState:
    """The exhaustive phase's preset: one VM at 64 MiB (startup 32, maximum 320) on a host
    with 288 MiB left: ballooning, unballooning and a hot-add aligned to 128 MiB (what Linux
    advertises) are all reachable."""
    host = HostSettings(physical_mib=416, reserve_mib=64)
    settings = VmSettings(dynamic=True, startup_mib=32, maximum_mib=320)
    return initial_page_state(host, (("a", settings),), {"a": 64})


def two_vm_preset() -> PageState:
    """The second preset: two such VMs at 64 MiB sharing 128 MiB free, so one VM's
    unballoon or hot-add competes with the other's for free memory."""
    host = HostSettings(physical_mib=256, reserve_mib=64)
    settings = VmSettings(dynamic=True, startup_mib=32, maximum_mib=320)
    return initial_page_state(host, (("a", settings), ("b", settings)), {"a": 64, "b": 64})


def aligned_preset() -> PageState:
    """The small preset with a guest that advertised 128 MiB blocks (Linux's memory block,
    R-HOT-ADD-ALIGN): the exhaustive phase's third preset for an IUT of Rule P1c."""
    state = small_preset()
    return attrs.evolve(state, vms=tuple(attrs.evolve(vm, hot_add_align_mib=128)
                                         for vm in state.vms))


# The exhaustive phase's presets for 1 and 2 VMs and how many events deep each is walked
# (one VM: 568 states for the page reference; two: 416).
PAGE_PRESETS = ((small_preset, 6), (two_vm_preset, 4))
ALIGNED_PRESET = (aligned_preset, 6)
