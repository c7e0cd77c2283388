"""Generate a Hyper-V host's evidence as Windows writes it: a PDH CSV counter log (the
"Hyper-V Dynamic Memory VM" and "Balancer" counters, as ``relog -f csv`` writes them) and a
settings snapshot (``Get-VMMemory`` objects plus a ``Get-VMHost`` object, as
``ConvertTo-Json`` writes them).

The host follows the model: each VM's physical memory moves toward demand plus buffer,
clamped to [startup, maximum], in 2 MiB units, never above what the host has free; memory
grows by unballoon first and hot-add for the rest, shrinks by balloon; the Added/Removed
counters count those moves. Written row by row (constant memory). ``--break`` plants one
impossible sample for tests: ``floor`` (a VM below its startup), ``jump`` (Physical Memory
jumps with no Added Memory), ``physical`` (the VMs hold more than the host has).

    python benchmarks/gen_host_series.py --vms 16 --seconds 86400 --out day.csv \
        --settings day-settings.json
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import random
import sys

MIB = 1024 * 1024
VM_COUNTERS = ("Physical Memory", "Guest Visible Physical Memory", "Current Pressure",
               "Average Pressure", "Added Memory", "Removed Memory", "Memory Add Operations",
               "Memory Remove Operations")


def _settings(n: int, rng: random.Random, broken: str | None) -> list[dict[str, int]]:
    out = []
    for i in range(n):
        startup = rng.choice((512, 1024, 2048))
        planted = broken in ("physical", "jump") and i == n - 1  # room to break one clause
        top = 65536 if planted else startup * rng.choice((2, 4, 8))
        out.append({"startup": startup, "maximum": top,
                    "buffer": rng.choice((10, 20, 50)), "priority": rng.choice((30, 50, 80)),
                    "demand": startup * rng.randint(40, 180) // 100, "index": i})
    return out


def _snapshot(vms: list[dict[str, int]], names: list[str], physical: int) -> list[object]:
    objects: list[object] = [{"VMName": name, "DynamicMemoryEnabled": True,
                              "Startup": vm["startup"] * MIB, "Minimum": vm["startup"] * MIB,
                              "Maximum": vm["maximum"] * MIB, "Buffer": vm["buffer"],
                              "Priority": vm["priority"]}
                             for name, vm in zip(names, vms, strict=True)]
    objects.append({"Name": "HOST", "MemoryCapacity": physical * MIB})
    return objects


def _ceil2(x: int) -> int:
    return x + x % 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=86400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--physical-mib", type=int, default=65536)
    parser.add_argument("--reserve-mib", type=int, default=2048)
    parser.add_argument("--break", dest="broken", choices=("floor", "jump", "physical"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--settings", help="also write the Get-VMMemory/Get-VMHost snapshot")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    vms = _settings(args.vms, rng, args.broken)
    names = [f"vm{i:02d}" for i in range(args.vms)]
    if args.settings:
        with open(args.settings, "w", encoding="utf-8") as handle:
            json.dump(_snapshot(vms, names, args.physical_mib), handle, indent=2)
    room = args.physical_mib - args.reserve_mib
    assigned = [vm["startup"] for vm in vms]
    visible = list(assigned)
    added = [0] * args.vms
    removed = [0] * args.vms
    adds = [0] * args.vms
    removes = [0] * args.vms
    with open(args.out, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        header = ["(PDH-CSV 4.0) (Coordinated Universal Time)(0)"]
        for name in names:
            header += [f"\\\\HOST\\Hyper-V Dynamic Memory VM({name})\\{c}" for c in VM_COUNTERS]
        header += ["\\\\HOST\\Hyper-V Dynamic Memory Balancer(System)\\Available Memory",
                   "\\\\HOST\\Hyper-V Dynamic Memory Balancer(System)\\Average Pressure"]
        out.writerow(header)
        start = datetime.datetime(2026, 1, 5, 0, 0, 0)
        for second in range(args.seconds):
            row = [(start + datetime.timedelta(seconds=second)).strftime("%m/%d/%Y %H:%M:%S")
                   + ".000"]
            pressures = []
            for i, vm in enumerate(vms):
                if rng.random() < 0.05:
                    step = rng.randint(-vm["startup"] // 16, vm["startup"] // 16)
                    cap = vm["maximum"] * (5 if i % 5 == 0 else 3) // 4  # a few hungry VMs
                    vm["demand"] = max(64, min(cap, vm["demand"] + step))
                want = _ceil2(-(-vm["demand"] * (100 + vm["buffer"]) // 100))
                target = max(vm["startup"], min(vm["maximum"], want))
                free = room - sum(assigned)
                delta = max(-256, min(256, target - assigned[i], free))
                delta = max(delta, vm["startup"] - assigned[i])
                delta -= delta % 2
                if delta > 0:
                    unballoon = min(delta, visible[i] - assigned[i])
                    visible[i] += delta - unballoon
                    added[i] += delta
                    adds[i] += 1
                elif delta < 0:
                    removed[i] -= delta
                    removes[i] += 1
                assigned[i] += delta
                if args.broken and second == args.seconds // 2 and i == len(vms) - 1:
                    _plant(args.broken, vm, i, room, assigned, visible, added, removed)
                pressure = vm["demand"] * 100 // assigned[i]
                pressures.append(pressure)
                row += [str(assigned[i]), str(visible[i]), str(pressure), str(pressure),
                        str(added[i]), str(removed[i]), str(adds[i]), str(removes[i])]
            available = max(0, room - sum(assigned))
            row += [str(available), str(sum(pressures) // len(pressures))]
            out.writerow(row)
    return 0


def _plant(kind: str, vm: dict[str, int], i: int, room: int, assigned: list[int],
           visible: list[int], added: list[int], removed: list[int]) -> None:
    """Make VM ``i`` (the last, after the others moved) impossible for the model in one
    clause only; the series goes on from the planted state, counters consistent."""
    if kind == "floor":  # ballooned below startup: only INV-FLOOR breaks
        low = vm["startup"] // 2 - (vm["startup"] // 2) % 2
        removed[i] += assigned[i] - low
        assigned[i] = low
    elif kind == "jump":  # hot-added 1000 MiB the Added Memory counter never saw
        assigned[i] += 1000
        visible[i] += 1000
    else:  # grows past what the host has: only INV-PHYSICAL breaks
        grow = room - sum(assigned) + 512
        assigned[i] += grow
        visible[i] += grow
        added[i] += grow


if __name__ == "__main__":
    sys.exit(main())
