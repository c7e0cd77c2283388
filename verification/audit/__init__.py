"""Evidence from real hosts: audit Hyper-V snapshots, PDH counter series and QEMU hv-balloon
QMP transcripts against the model, and give right-sizing advice (specs/audit.md). The
readers (:func:`read_snapshot`, :func:`iter_pdh`, :func:`iter_qmp`) turn each format into
:class:`Sample` values; :class:`Judge` decides the observable invariants sample by sample in
constant memory, :func:`check_window` decides with Z3 whether some run of the model explains
a window of samples (naming the clauses of the unsat core otherwise), :class:`Advisor` turns
the series into advice with its numbers, :func:`run_audit` does all of it for a list of files
and :func:`build_scenario` writes what was observed as a scenario for ``dynmem simulate``.
The command line is ``dynmem audit FILE...`` (verification/cli/commands/audit.py).
"""

from dynmem.verification.audit.advice import Advice, Advisor
from dynmem.verification.audit.explain import Explanation, check_window
from dynmem.verification.audit.judge import Finding, HostSpec, Judge
from dynmem.verification.audit.observations import HostObs, Sample, VmConfig, VmObs
from dynmem.verification.audit.pdh import iter_pdh
from dynmem.verification.audit.qmp import iter_qmp
from dynmem.verification.audit.run import AuditResult, Options, run_audit
from dynmem.verification.audit.scenario import build_scenario
from dynmem.verification.audit.snapshot import read_snapshot

__all__ = [
    "Advice", "Advisor", "AuditResult", "Explanation", "Finding", "HostObs", "HostSpec",
    "Judge", "Options", "Sample", "VmConfig", "VmObs", "build_scenario", "check_window",
    "iter_pdh", "iter_qmp", "read_snapshot", "run_audit",
]
