#!/usr/bin/env python3
"""Write the sample host logs of examples/ (what ``dynmem check-trace`` reads).

    python3 examples/make_sample_logs.py [OUT_DIR]     (default: examples/)

``sample_host.log.jsonl``: 300 logged events of a well-behaved host with three dynamic VMs
(the reference with honest guests, periodic balancer ticks, a random-walk workload);
``check-trace`` passes it. ``sample_host_overcommit.log.jsonl``: the same host whose
software forgets to check free memory when starting a VM (the planted bug
``start_without_free_memory``); ``check-trace`` names the first line that breaks an
invariant. Both are deterministic (fixed seeds), so running this again gives the same files.
"""

import sys
from pathlib import Path

from dynmem.reference.events import Start
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import initial_state
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.oracle.loggen import log_initial, simulate_log
from dynmem.verification.oracle.logwriter import format_log
from dynmem.verification.oracle.reference_iut import ReferenceSystem


def overcommit_entries():
    """A 4 GiB host whose buggy start lets two 2 GiB VMs in (one too many)."""
    host = initial_state(HostSettings(4096, 1024),
                         tuple((f"vm{i}", VmSettings(startup_mib=2048)) for i in range(2)))
    iut = ReferenceSystem(get_mutant("start_without_free_memory").reference_step)
    iut.reset(host)
    entries = [(event, iut.event(index + 1, event))
               for index, event in enumerate((Start("vm0"), Start("vm1")))]
    return host, entries


def main(out: Path) -> int:
    initial = log_initial(3)
    good = format_log(initial, simulate_log(initial, 300, seed=7), "examples/make_sample_logs.py")
    (out / "sample_host.log.jsonl").write_text("\n".join(good) + "\n", encoding="utf-8")
    host, entries = overcommit_entries()
    bad = format_log(host, entries, "examples/make_sample_logs.py (start_without_free_memory)")
    (out / "sample_host_overcommit.log.jsonl").write_text("\n".join(bad) + "\n",
                                                           encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
