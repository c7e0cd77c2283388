#!/usr/bin/env python3
"""A QEMU-style hv-balloon host speaking dynmem's page-level wire (specs/formats/oracle.md §9).

Written from the description of QEMU's hw/hyperv/hv-balloon.c in domain-facts §3.4, not from
dynmem's page reference (standard library only, no dynmem import):

- the removed-page tree: a page the guest returns twice, or lists twice, is counted once
  (QEMU's ``dupcount``); pages outside the guest's RAM are not counted (QEMU clamps its
  removed total to ``total_ram``); the count is clamped to what is pending (``balloon_diff``);
- one transaction per VM at a time; a balloon request asks ``min(diff, 585728)`` pages;
- to grow, unballoon first (popping the lowest ranges of the removed tree), hot-add only when
  nothing is ballooned; a hot-add region starts aligned above the address space handed out
  and its size is aligned down to the alignment the guest advertised (``hot_add_align_mib``
  in the reset state: Linux advertises its memory block size, 128 MiB), or to
  ``--align-mib`` where that is larger; nothing left after aligning means no hot-add. Its
  hello says so (``"hot_add_alignment": true``, Rule P1c), so the harness's guests
  advertise 4 and 128 MiB too;
- a partial hot-add marks the rest of the range unusable (no hot-add until restart).

Where dynmem's amount level asks more of a host than QEMU does, this host follows dynmem:
requests move whole 2 MiB units, never go below startup or above maximum, and the balancer
is offered ballooned memory in whole units per transaction (the pages of a balloon short of
a whole unit stay in the removed tree but are not unballooned, and are not counted as free
for the balancer's requests: specs/pages.md §5's hidden pages).

    dynmem oracle --iut "python3 examples/qemu_host/hv_balloon_host.py"
    dynmem oracle --iut "python3 examples/qemu_host/hv_balloon_host.py --credit-duplicates"

``--credit-duplicates`` is the planted bug of issue 15: it credits each listed range on its
own, so a guest that lists the same 2 MiB twice is credited 4 MiB (caught: PINV-ONCE).
``--ignore-guest-alignment`` is another: it aligns hot-adds to 2 MiB whatever the guest
advertised (caught: the page reference refuses its hot-add, R-HOT-ADD-ALIGN).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

PAGES_PER_MIB = 256
UNIT = 512  # pages in 2 MiB
BALLOON_CHUNK = 585_728  # pages one balloon request asks at most (HR_CHUNK_PAGES)
CAPS_MIB = {"balloon": 2288, "unballoon": 2048, "hot_add": 2048}

Intervals = list[tuple[int, int]]  # sorted, disjoint, non-adjacent half-open page intervals


def merge(pairs: list[tuple[int, int]]) -> Intervals:
    out: Intervals = []
    for start, end in sorted(p for p in pairs if p[0] < p[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def size(pages: Intervals) -> int:
    return sum(end - start for start, end in pages)


def intersect(a: Intervals, b: Intervals) -> Intervals:
    return merge([(max(s, t), min(e, f)) for s, e in a for t, f in b])


def subtract(a: Intervals, b: Intervals) -> Intervals:
    out = []
    for start, end in a:
        pieces = [(start, end)]
        for t, f in b:
            pieces = [p for s, e in pieces for p in ((s, min(e, t)), (max(s, f), e))
                      if p[0] < p[1]]
        out += pieces
    return merge(out)


def lowest(pages: Intervals, count: int) -> Intervals:
    out = []
    for start, end in pages:
        if count <= 0:
            break
        out.append((start, min(end, start + count)))
        count -= out[-1][1] - start
    return out


def from_wire(ranges: list[dict[str, int]]) -> Intervals:
    return merge([(r["start"], r["start"] + r["count"]) for r in ranges])


def to_wire(pages: Intervals) -> list[dict[str, int]]:
    return [{"start": start, "count": end - start} for start, end in pages]


class Vm:
    """One VM as the host keeps it (QEMU's per-device state, in dynmem's field names)."""

    def __init__(self, data: dict[str, Any]) -> None:
        settings = data.get("settings", {})
        self.name: str = data["name"]
        self.dynamic = settings.get("dynamic", False)
        self.startup = settings.get("startup_mib", 512) * PAGES_PER_MIB
        self.maximum = settings.get("maximum_mib", 65536) * PAGES_PER_MIB
        self.regions = from_wire(data.get("regions", []))
        self.ram = from_wire(data.get("ram", []))
        self.stranded = data.get("stranded_pages", 0)
        self.removed = from_wire(data.get("ballooned", []))  # the removed-page tree
        self.removed_ctr = data.get("ballooned_count", 0)
        self.unoffered = data.get("residue_pages", 0)  # sub-unit pages of finished balloons
        self.hot_add_usable = data.get("hot_add_enabled", True)
        self.short_by_part = data.get("short_by_part_of_unit", False)
        self.txn: str = data.get("txn", "none")
        self.txn_pages = data.get("txn_pages", 0)
        self.txn_done = data.get("txn_done_pages", 0)
        self.txn_ranges = from_wire(data.get("txn_ranges", []))
        # the alignment its guest advertised (MiB; the reset state says it when not 2)
        self.align_mib = data.get("hot_add_align_mib", 2)

    @property
    def charged(self) -> int:
        return size(self.ram) + self.stranded

    @property
    def assigned(self) -> int:
        return self.charged - size(self.removed)

    @property
    def hidden(self) -> int:
        """Removed pages not offered to the balancer (short of a whole unit)."""
        return self.unoffered + (self.txn_done % UNIT if self.txn == "balloon" else 0)

    @property
    def offered(self) -> int:
        """Ballooned pages the balancer counts: whole units of each transaction."""
        return size(self.removed) - self.hidden

    def observe(self) -> dict[str, Any]:
        return {"name": self.name, "regions": to_wire(self.regions), "ram": to_wire(self.ram),
                "stranded_pages": self.stranded, "ballooned": to_wire(self.removed),
                "ballooned_count": self.removed_ctr, "hot_add_enabled": self.hot_add_usable,
                "txn": self.txn, "txn_pages": self.txn_pages,
                "txn_done_pages": self.txn_done, "txn_ranges": to_wire(self.txn_ranges)}


class Host:
    def __init__(self, align_mib: int, credit_duplicates: bool,
                 ignore_guest_alignment: bool = False) -> None:
        self.floor_align_mib = align_mib
        self.credit_duplicates = credit_duplicates
        self.ignore_guest_alignment = ignore_guest_alignment

    def alignment(self, vm: Vm) -> int:
        """Pages a hot-add of ``vm`` is aligned to: what its guest advertised (QEMU's
        ``HOT_ADD_SETUP``), or the host's own floor where that is larger."""
        guest = 2 if self.ignore_guest_alignment else vm.align_mib
        return max(guest, self.floor_align_mib) * PAGES_PER_MIB
        self.free = 0
        self.vms: dict[str, Vm] = {}

    def reset(self, state: dict[str, Any]) -> None:
        self.free = state["free_pages"]
        self.vms = {vm["name"]: Vm(vm) for vm in state.get("vms", [])}

    def balancer_free(self) -> int:
        return self.free - sum(vm.hidden for vm in self.vms.values())

    # requests: None = sent, else the reason it may not be sent

    def _common(self, vm: Vm | None, pages: int, kind: str) -> str | None:
        if vm is None:
            return "no such VM"
        if not vm.dynamic:
            return "static VM"
        if vm.txn != "none":
            return "a transaction is in flight"
        if pages <= 0 or pages % UNIT:
            return "not whole 2 MiB units"
        if pages > CAPS_MIB[kind] * PAGES_PER_MIB:
            return "above the protocol cap"
        return None

    def balloon(self, vm: Vm | None, pages: int) -> str | None:
        why = self._common(vm, pages, "balloon")
        if why or vm is None:
            return why
        # dynmem's floor: never below startup, in pages and in whole units offered
        if pages > vm.assigned - vm.startup or pages > vm.charged - vm.offered - vm.startup:
            return "below startup"
        vm.txn, vm.txn_pages, vm.txn_done = "balloon", pages, 0
        return None

    def unballoon(self, vm: Vm | None, ranges: list[dict[str, int]]) -> str | None:
        listed = from_wire(ranges)
        pages = sum(r["count"] for r in ranges)
        if vm is None:
            return "no such VM"
        if pages % UNIT:
            return "not whole 2 MiB units"
        why = self._common(vm, pages, "unballoon")
        if why:
            return why
        if pages > self.balancer_free() // UNIT * UNIT or pages > vm.offered // UNIT * UNIT:
            return "more than is free or ballooned"
        if size(listed) != pages or subtract(listed, vm.removed):
            return "pages listed twice or not ballooned"
        vm.txn, vm.txn_pages, vm.txn_done, vm.txn_ranges = "unballoon", pages, 0, listed
        self.free -= pages
        return None

    def hot_add(self, vm: Vm | None, region: dict[str, int]) -> str | None:
        start, count = region["start"], region["count"]
        if vm is None:
            return "no such VM"
        if start % UNIT or count % UNIT:
            return "region not whole, aligned 2 MiB units"
        guest = UNIT if self.ignore_guest_alignment else vm.align_mib * PAGES_PER_MIB
        if start % guest or count % guest:  # QEMU asserts the range is aligned
            return "region not aligned to the guest's hot-add alignment"
        why = self._common(vm, count, "hot_add")
        if why:
            return why
        if count > self.balancer_free() // UNIT * UNIT:
            return "not enough free memory"
        if not (vm.hot_add_usable or vm.short_by_part) or vm.offered >= UNIT:
            return "hot-add unusable, or memory still ballooned"
        if vm.charged + count > vm.maximum:
            return "above maximum"
        if not vm.hot_add_usable or intersect([(start, start + count)], vm.regions):
            return "range unusable or overlapping"
        vm.txn, vm.txn_pages, vm.txn_done = "hot_add", count, 0
        vm.txn_ranges = [(start, start + count)]
        self.free -= count
        return None

    # guest messages

    def balloon_response(self, vm: Vm, ranges: list[dict[str, int]], more: bool) -> None:
        pending = vm.txn_pages - vm.txn_done
        if self.credit_duplicates:  # the bug: each range credited on its own
            new = [subtract(intersect(from_wire([r]), vm.ram), vm.removed) for r in ranges]
            counted = min(sum(size(n) for n in new), pending)
            got = lowest(merge([p for n in new for p in n]), counted)
        else:  # dedup (dupcount), clamp to RAM, clamp to what is pending
            got = lowest(subtract(intersect(from_wire(ranges), vm.ram), vm.removed), pending)
            counted = size(got)
        vm.removed = merge(vm.removed + got)
        vm.removed_ctr += counted
        vm.txn_done += counted
        self.free += counted
        if not more or vm.txn_done >= vm.txn_pages:
            vm.unoffered += vm.txn_done % UNIT
            vm.txn, vm.txn_pages, vm.txn_done = "none", 0, 0

    def unballoon_response(self, vm: Vm) -> None:
        vm.removed = subtract(vm.removed, vm.txn_ranges)
        vm.removed_ctr -= vm.txn_pages
        vm.txn, vm.txn_pages, vm.txn_ranges = "none", 0, []

    def hot_add_response(self, vm: Vm, pages: int, success: bool) -> None:
        added = min(pages, vm.txn_pages) if success else 0
        charged = -(-added // UNIT) * UNIT  # the tail of the last unit stays charged
        start = vm.txn_ranges[0][0]
        partial = success and added < vm.txn_pages
        if success:
            vm.regions = merge(vm.regions + vm.txn_ranges)
        vm.ram = merge(vm.ram + [(start, start + added)])
        vm.stranded += charged - added
        vm.short_by_part = vm.short_by_part or (partial and charged == vm.txn_pages)
        vm.hot_add_usable = vm.hot_add_usable and not partial
        self.free += vm.txn_pages - charged
        vm.txn, vm.txn_pages, vm.txn_ranges = "none", 0, []

    # the balancer: targets in, at most one request per idle VM out

    def tick(self, targets: dict[str, int]) -> list[dict[str, Any]]:
        sent = []
        for name, mib in targets.items():
            vm = self.vms.get(name)
            if vm is None or vm.txn != "none" or not vm.dynamic:
                continue
            target = min(max(mib * PAGES_PER_MIB, vm.startup), vm.maximum)
            if target < vm.assigned:
                room = min(vm.assigned, vm.charged - vm.offered) - vm.startup
                pages = min(vm.assigned - target, BALLOON_CHUNK, room) // UNIT * UNIT
                if pages > 0 and self.balloon(vm, pages) is None:
                    sent.append({"kind": "balloon_request", "vm": name, "pages": pages})
            elif target > vm.assigned:
                want = target - vm.assigned
                back = min(want, vm.offered, self.balancer_free()) // UNIT * UNIT
                if back > 0:
                    ranges = to_wire(lowest(vm.removed, back))
                    if self.unballoon(vm, ranges) is None:
                        sent.append({"kind": "unballoon_request", "vm": name, "ranges": ranges})
                    continue
                top = max((end for _, end in vm.regions), default=0)
                align = self.alignment(vm)
                start = -(-top // align) * align
                count = min(want, vm.maximum - vm.charged, self.balancer_free(),
                            CAPS_MIB["hot_add"] * PAGES_PER_MIB) // align * align
                region = {"start": start, "count": count}
                if count > 0 and self.hot_add(vm, region) is None:
                    sent.append({"kind": "hot_add_request", "vm": name, "region": region})
        return sent

    def event(self, event: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        kind = event["kind"]
        if kind == "balancer_tick":
            return self.tick(event.get("targets", {})), None
        vm = self.vms.get(event["vm"])
        if kind == "balloon_request":
            return [], self.balloon(vm, event["pages"])
        if kind == "unballoon_request":
            return [], self.unballoon(vm, event["ranges"])
        if kind == "hot_add_request":
            return [], self.hot_add(vm, event["region"])
        wanted = {"balloon_response": "balloon", "unballoon_response": "unballoon",
                  "hot_add_response": "hot_add"}[kind]
        if vm is None or vm.txn != wanted:
            return [], "no such transaction in flight"  # QEMU: warn_report and drop
        if kind == "balloon_response":
            self.balloon_response(vm, event["ranges"], event.get("more_pages", False))
        elif kind == "unballoon_response":
            self.unballoon_response(vm)
        else:
            self.hot_add_response(vm, event["pages"], event.get("success", True))
        return [], None

    def observe(self) -> dict[str, Any]:
        return {"free_pages": self.free, "vms": [vm.observe() for vm in self.vms.values()]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--align-mib", type=int, default=2,
                        help="align hot-adds to at least this many MiB, a power of two (the "
                             "host's own floor; default 2: the guest's advertised alignment)")
    parser.add_argument("--credit-duplicates", action="store_true",
                        help="the planted bug: credit a page listed twice twice")
    parser.add_argument("--ignore-guest-alignment", action="store_true",
                        help="the planted bug: align hot-adds to 2 MiB whatever the guest "
                             "advertised")
    args = parser.parse_args()
    host = Host(args.align_mib, args.credit_duplicates, args.ignore_guest_alignment)
    name = "qemu-style hv-balloon host" + (" (credits duplicates)"
                                           if args.credit_duplicates else "") + (
        " (ignores the guest's alignment)" if args.ignore_guest_alignment else "")
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        kind = request.get("type")
        if kind == "bye":
            break
        if kind == "hello":
            answer: dict[str, Any] = {"type": "hello", "protocol": 1, "name": name,
                                      "capabilities": {"kinds": ["system"]}, "wire": 2,
                                      "hot_add_alignment": True}
        elif kind == "reset":
            host.reset(request["state"])
            answer = {"type": "ready"}
        elif kind == "event":
            sent, rejected = host.event(request["event"])
            answer = {"type": "observed", "observed": host.observe(), "sent": sent,
                      "rejected": rejected}
        else:
            answer = {"type": "error", "message": f"unknown request type {kind!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
