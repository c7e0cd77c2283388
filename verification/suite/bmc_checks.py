"""The ``bmc`` section of ``dynmem verify``: bounded model checking at CI size.

Three checks, each a pass/fail verdict with the counterexample traces attached:

* the real model breaks no invariant on any path of up to ``depth`` steps (MINIMAL preset);
* non-vacuity: every action fires, and changes the state, from a reachable state;
* every model-level planted bug is caught, its shortest trace replayed by the
  reference-level bug of the same name (a mismatch or a miss fails the check).

To run it in ``dynmem verify``, add ``"bmc_checks"`` to ``suite.SECTIONS`` (about 20 s).
"""

from __future__ import annotations

from functools import partial

import attrs

from dynmem.model.invariants import BY_ID
from dynmem.model.params import MINIMAL
from dynmem.reference.step import step
from dynmem.verification.mutants.models import list_variants
from dynmem.verification.suite.checks import (
    DEFAULT_BUDGETS,
    Budgets,
    Check,
    Verdict,
    report_progress,
)
from dynmem.verification.symbolic.bmc import Counterexample, Mismatch, NoViolation, check_bmc
from dynmem.verification.symbolic.scope import small_scope
from dynmem.verification.symbolic.witness import (
    CROWDED_WITNESSES,
    find_crowded_witnesses,
    find_witnesses,
)
from dynmem.verification.traces import ASCII_MARKS, describe_finding
from dynmem.verification.traces.trace import Trace

SECTION = "bmc"
WITNESS_DEPTH = 10  # a balloon response needs 8 steps from power-on, an unballoon 10
MUTANT_DEPTH = 8


def check_model_clean(n_vms: int = MINIMAL.n_vms, depth: int = MINIMAL.bmc_depth,
                      rlimit: int = MINIMAL.rlimit) -> Verdict:
    """The real model: no violation up to ``depth`` steps (bounded, not a proof)."""
    def progress(done: int, verdict: str, seconds: float) -> None:
        report_progress(done + 1, depth + 1, f"depths; depth {done}: {verdict}")

    outcome = check_bmc(small_scope(n_vms), depth, rlimit=rlimit, progress=progress)
    if isinstance(outcome, NoViolation):
        return Verdict(True, f"no violation up to depth {depth}, N={n_vms} "
                             f"(bounded, not a proof)")
    if isinstance(outcome, Counterexample):
        return Verdict(False, f"VIOLATION after {outcome.depth} steps",
                       tuple(describe_finding(f, ASCII_MARKS) for f in outcome.trace.findings),
                       (outcome.trace,))
    if isinstance(outcome, Mismatch):
        traces = (outcome.replayed,) + ((outcome.trace,) if outcome.trace else ())
        return Verdict(False, "model/reference mismatch", (outcome.reason,), traces)
    return Verdict(False, "unknown", (outcome.reason,))


def check_witnesses(n_vms: int = 1, depth: int = WITNESS_DEPTH,
                    rlimit: int = MINIMAL.rlimit) -> Verdict:
    """Every action has a reachability witness within ``depth`` steps."""
    def progress(done: int, verdict: str, seconds: float) -> None:
        report_progress(done + 1, depth + 1, f"depths; depth {done}")

    run = find_witnesses(small_scope(n_vms), depth, rlimit=rlimit, progress=progress)
    crowded = [n for n in run.missing if n in CROWDED_WITNESSES]
    if crowded and run.problem is None:  # e.g. StartAdmit needs a host too full to start
        more = find_crowded_witnesses(crowded, rlimit=rlimit)
        run = attrs.evolve(run, witnesses=run.witnesses + more.witnesses,
                           missing=tuple(n for n in run.missing if n not in crowded)
                           + more.missing, problem=more.problem)
    if run.ok:
        deepest = max(w.step for w in run.witnesses)
        return Verdict(True, f"{len(run.witnesses)} actions fire (deepest witness "
                             f"{deepest} steps)")
    details = [f"no witness within {depth} steps: {name}" for name in run.missing]
    details += [run.problem] if run.problem else []
    return Verdict(False, f"{len(run.missing)} actions without a witness", tuple(details))


def check_mutants(n_vms: int = MINIMAL.n_vms, depth: int = MUTANT_DEPTH,
                  rlimit: int = MINIMAL.rlimit) -> Verdict:
    """Each model-level mutant: caught, and its trace reproduced in its reference bug."""
    problems: list[str] = []
    traces: list[Trace] = []
    variants = [v for v in list_variants() if v.model is not None]
    for index, v in enumerate(variants):
        assert v.model is not None
        report_progress(index, len(variants), f"mutants; {v.name}")
        scope = small_scope(n_vms, v.host_profile)  # a version bug shows on its host only
        outcome = check_bmc(scope, depth, v.model.apply(), [BY_ID[v.invariant]],
                            v.step or step, rlimit=rlimit,
                            notes=(("mutant", v.name),))
        if isinstance(outcome, Counterexample):
            continue
        reason = getattr(outcome, "reason", f"not caught within {depth} steps")
        problems.append(f"{v.name}: {outcome.status}: {reason}")
        traces += [t for t in (getattr(outcome, "trace", None),) if t is not None]
    if problems:
        return Verdict(False, f"{len(problems)} of {len(variants)} mutants not caught and "
                              f"reproduced", tuple(problems), tuple(traces))
    return Verdict(True, f"{len(variants)} mutants caught and reproduced (N={n_vms})")


def checks(budgets: Budgets = DEFAULT_BUDGETS) -> list[Check]:
    """The three BMC checks of ``dynmem verify``, each Z3 check within ``budgets.rlimit``."""
    rlimit = budgets.rlimit
    return [Check("model has no violation", SECTION, partial(check_model_clean, rlimit=rlimit)),
            Check("every action has a witness", SECTION, partial(check_witnesses, rlimit=rlimit)),
            Check("every mutant is caught", SECTION, partial(check_mutants, rlimit=rlimit))]
