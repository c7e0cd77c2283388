"""Shared helpers of the audit tests: run the command as the CLI would, write PDH logs."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

from dynmem.verification.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
HOSTS = ROOT / "examples" / "hosts"
MIB = 1024 * 1024
VM = "Hyper-V Dynamic Memory VM"


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``dynmem audit ARGV`` through the real command line: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["audit", *argv])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def write_pdh(path: Path, vms: list[str], rows: list[dict[str, list[str]]],
              counters: tuple[str, ...] = ("Physical Memory", "Guest Visible Physical Memory",
                                           "Added Memory", "Removed Memory",
                                           "Current Pressure"),
              first: str = "(PDH-CSV 4.0) (Coordinated Universal Time)(0)") -> Path:
    """A PDH CSV log: one row per dict ``{vm: [value per counter]}``, one second apart."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        out.writerow([first] + [f"\\\\HOST\\{VM}({vm})\\{c}" for vm in vms for c in counters])
        for i, row in enumerate(rows):
            cells = [f"01/05/2026 00:{i // 60:02d}:{i % 60:02d}.000"]
            for vm in vms:
                cells += row[vm]
            out.writerow(cells)
    return path


def settings(path: Path, vms: dict[str, tuple[bool, int, int]],
             physical_mib: int | None = None) -> Path:
    """A Get-VMMemory (+ Get-VMHost) snapshot: ``{vm: (dynamic, startup, maximum)}``."""
    import json

    objects: list[object] = [{"VMName": vm, "DynamicMemoryEnabled": dyn,
                              "Startup": s * MIB, "Minimum": s * MIB, "Maximum": m * MIB,
                              "Buffer": 20, "Priority": 50}
                             for vm, (dyn, s, m) in vms.items()]
    if physical_mib is not None:
        objects.append({"Name": "HOST", "MemoryCapacity": physical_mib * MIB})
    path.write_text(json.dumps(objects), encoding="utf-8")
    return path
