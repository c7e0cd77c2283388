"""``dynmem audit FILE...``: judge evidence from real hosts against the model, and advise.

Files: Hyper-V snapshots (``Get-VM``/``Get-VMMemory``/``Get-VMHost | ConvertTo-Json``), PDH
CSV counter logs and QEMU hv-balloon QMP transcripts (specs/audit.md). Exit 0: every sample
is explained by a run of the model; 1: a finding (a clause no run satisfies, a Z3 ``unknown``,
or the two checks disagreeing); 2: bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
from typing import Any

from dynmem.verification.audit.explain import DEFAULT_RLIMIT
from dynmem.verification.audit.report import render_text, summarize, write_html, write_plot
from dynmem.verification.audit.run import Options, run_audit
from dynmem.verification.audit.scenario import DEFAULT_PHASES, write_scenario
from dynmem.verification.cli import options
from dynmem.verification.cli.console import write_result
from dynmem.verification.cli.progress import Board
from dynmem.verification.errors import InputError
from dynmem.verification.traces.shrink import count


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be > 0")
    return value


def _non_negative(text: str) -> int:
    return 0 if text.strip() == "0" else _positive(text)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="judge real hosts' evidence (Hyper-V snapshots, PDH counters, QEMU QMP) "
             "against the model and give right-sizing advice",
        description="Read Hyper-V snapshots (Get-VM / Get-VMMemory / Get-VMHost | "
                    "ConvertTo-Json), PDH CSV counter logs (Export-Counter, relog -f csv) "
                    "and QEMU hv-balloon QMP transcripts; judge every sample against the "
                    "model's observable invariants (a sample is accepted when some run of "
                    "the model explains it, decided with Z3 over a window) and advise on "
                    "startup, maximum, buffer, weight and host capacity. Exit 0: explained; "
                    "1: a finding; 2: bad input.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="evidence files")
    parser.add_argument("--physical-mib", type=_positive, metavar="N",
                        help="the host's physical memory (default: Get-VMHost MemoryCapacity)")
    parser.add_argument("--reserve-mib", type=_non_negative, default=0, metavar="N",
                        help="memory the parent partition keeps (default 0)")
    parser.add_argument("--floor", choices=("startup", "minimum"), default="startup",
                        help="the floor judged: startup (2008R2SP1, default) or minimum (2012+)")
    options.add_window(parser, 8, "W", "samples per Z3 window", _positive)
    parser.add_argument("--z3-windows", type=_non_negative, default=20, metavar="N",
                        help="windows Z3 decides per file, besides --exact (default 20)")
    parser.add_argument("--exact", action="store_true",
                        help="decide every window with Z3 too (slow on long series)")
    options.add_rlimit(parser, DEFAULT_RLIMIT, "window", _positive)
    parser.add_argument("--vm-size-mib", type=_positive, default=2048, metavar="N",
                        help="size of the VMs counted by the 'more VMs' advice (default 2048)")
    parser.add_argument("--qmp-vm", metavar="NAME",
                        help="the VM of QMP transcripts (default: the file's stem)")
    options.add_json(parser)
    parser.add_argument("--scenario", metavar="OUT.json",
                        help="write a scenario of the observed VMs and demands")
    parser.add_argument("--phases", type=_positive, default=DEFAULT_PHASES, metavar="N",
                        help=f"demand phases in the scenario (default {DEFAULT_PHASES})")
    options.add_plot(parser, "the series as a PNG image", "FILE.png")
    options.add_html(parser, "the series drawn, the findings and the advice")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Audit ``args.files``; print the report; write the asked files; return the exit code."""
    options = Options(physical_mib=args.physical_mib, reserve_mib=args.reserve_mib,
                      floor=args.floor, window=args.window, z3_windows=args.z3_windows,
                      exact=args.exact, rlimit=args.rlimit, vm_size_mib=args.vm_size_mib,
                      qmp_vm=args.qmp_vm, keep_series=True)
    board = Board()

    def line(samples: int, total: int | None, text: str) -> str:
        return f"audit: {count(samples, 'sample')}, {text}"

    with board.phase("audit", None, line) as phase:
        def progress(path: str, samples: int, windows: int) -> None:
            phase.update(samples, f"{count(windows, 'Z3 window')} decided in {path}")

        result = run_audit(args.files, options, progress)
    board.stop()
    if args.scenario:
        if result.host.physical_mib is None:
            raise InputError(args.scenario, "", None, "a scenario needs the host's physical "
                             "memory: give --physical-mib or a Get-VMHost snapshot")
        write_scenario(result, args.scenario, args.phases)
    if args.plot:
        write_plot(result, args.plot)
    if args.html:
        write_html(result, args.html)
    write_result(args.json, lambda: summarize(result), lambda: render_text(result))
    samples = sum(stream.samples for stream in result.streams)
    windows = sum(len(stream.explanations) for stream in result.streams)
    board.finish(f"audit: {'ok' if result.ok else 'FINDING'}, {count(samples, 'sample')}, "
                 f"{count(windows, 'Z3 window')}")
    return 0 if result.ok else 1
