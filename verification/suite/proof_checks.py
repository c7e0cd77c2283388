"""The ``proofs`` section of ``dynmem verify`` (specs/proofs.md): induction and refinement.

Seven checks, a few seconds in total:
* the MINIMAL preset's N: every obligation proved (a CTI or an unknown fails);
* any number of VMs: the decomposition and its lemmas proved;
* both again with amounts in 4 KiB pages (model/units.py, specs/proofs.md §7), and the
  planted bugs only pages show (verification/mutants/unit_edits.py) caught there;
* refinement on random reference runs (every accepted step allowed by the model);
* refinement on Z3-chosen pre-states at N = 2 (every guard true, each guard false).
"""

from __future__ import annotations

from functools import partial

from dynmem.model.params import MINIMAL
from dynmem.model.units import MIB, PAGES, Units
from dynmem.verification.errors import SolverUnknown
from dynmem.verification.mutants.unit_edits import UNIT_MUTANTS
from dynmem.verification.suite.checks import (
    DEFAULT_BUDGETS,
    Budgets,
    Case,
    Check,
    Verdict,
    report_progress,
)
from dynmem.verification.symbolic.inductive import check_inductive
from dynmem.verification.symbolic.obligations import (
    CounterexampleToInduction,
    Model,
    Outcome,
    ProofRun,
)
from dynmem.verification.symbolic.refinement import check_run, check_sampled, random_steps
from dynmem.verification.traces import ASCII_MARKS, describe_finding

SECTION = "proofs"


def _proof_verdict(run: ProofRun) -> Verdict:
    details = []
    traces = []
    for outcome in run.outcomes:
        if isinstance(outcome, CounterexampleToInduction):
            details.append(f"CTI {outcome.message}")
            if outcome.trace is not None:
                traces.append(outcome.trace)
                details += [f"    {describe_finding(f, ASCII_MARKS)}"
                            for f in outcome.trace.findings]
        elif outcome.status == "unknown":
            details.append(f"UNKNOWN {outcome.obligation.label}: "
                           f"{getattr(outcome, 'reason', '')}")
    summary = (f"{len(run.outcomes)} obligations: {run.count('proved')} proved, "
               f"{run.count('cti')} CTI, {run.count('unknown')} unknown")
    return Verdict(run.ok, summary, tuple(details), tuple(traces),
                   tuple(_case(outcome) for outcome in run.outcomes))


def _case(outcome: Outcome) -> Case:
    """One obligation as a JUnit case: proved passes, a CTI fails, an unknown is an error."""
    label = outcome.obligation.label
    if isinstance(outcome, CounterexampleToInduction):
        return Case(label, "failed", outcome.seconds, outcome.message)
    if outcome.status == "unknown":
        return Case(label, "error", outcome.seconds,
                    f"unknown (not proved): {getattr(outcome, 'reason', '')}")
    return Case(label, "passed", outcome.seconds)


def _progress(done: int, total: int, outcome: Outcome) -> None:
    report_progress(done, total, f"obligations; {outcome.obligation.label}")


def check_induction(n_vms: int | None, rlimit: int = MINIMAL.rlimit,
                    units: Units = MIB) -> Verdict:
    """Every obligation for ``n_vms`` slots (None: any N) is proved within ``rlimit`` each,
    amounts counted in ``units``."""
    return _proof_verdict(check_inductive(n_vms, Model(units=units), rlimit=rlimit, jobs=1,
                                          progress=_progress))


def check_unit_mutants(rlimit: int = MINIMAL.rlimit) -> Verdict:
    """Each planted bug only pages show has a CTI on its invariant in pages, for any N."""
    details = []
    for mutant in UNIT_MUTANTS.values():
        model = Model(actions=mutant.apply(), units=PAGES)
        run = check_inductive(None, model, rlimit=rlimit, jobs=1)
        broken = sorted({o.obligation.invariant for o in run.outcomes if o.status == "cti"})
        unknown = [o for o in run.outcomes if o.status == "unknown"]
        if mutant.invariant not in broken or unknown:
            details.append(f"{mutant.name}: CTI on {broken or 'nothing'}, {len(unknown)} "
                           f"unknown; expected a CTI on {mutant.invariant}")
            details += [f"    UNKNOWN {o.obligation.label}: {getattr(o, 'reason', '')}"
                        for o in unknown[:1]]
    return Verdict(not details, f"{len(UNIT_MUTANTS) - len(details)} of {len(UNIT_MUTANTS)} "
                                f"planted page-count bugs caught in pages", tuple(details))


def check_random_refinement() -> Verdict:
    """Every accepted step of 30 seeded random runs is a model step."""
    steps = list(random_steps(seed=1, runs=30, steps=150))
    found = list(check_run(steps))
    details = tuple(f"{m.event!r}: {m.reason}" for m in found[:20])
    return Verdict(not found, f"{len(steps)} reference steps, {len(found)} not allowed by the "
                              f"model", details)


def check_sampled_refinement(rlimit: int = MINIMAL.rlimit) -> Verdict:
    """Z3-chosen pre-states at N = 2: the reference accepts and rejects as the model says."""
    try:
        checked, found = check_sampled(
            n_vms=MINIMAL.n_vms, per_case=3, rlimit=rlimit,
            on_action=lambda done, total, name: report_progress(done, total,
                                                                f"actions; {name}"))
    except SolverUnknown as err:
        return Verdict(False, "unknown: a Z3-chosen sample could not be decided", (str(err),))
    details = tuple(f"{m.event!r}: {m.reason}" for m in found[:20])
    return Verdict(not found, f"{checked} Z3-chosen steps, {len(found)} mismatches", details)


def checks(budgets: Budgets = DEFAULT_BUDGETS) -> list[Check]:
    """The proofs section's checks, in run order, each Z3 check within ``budgets.rlimit``."""
    rlimit = budgets.rlimit
    return [
        Check(f"induction N={MINIMAL.n_vms}", SECTION,
              partial(check_induction, MINIMAL.n_vms, rlimit)),
        Check("induction any N", SECTION, partial(check_induction, None, rlimit)),
        Check(f"induction in pages N={MINIMAL.n_vms}", SECTION,
              partial(check_induction, MINIMAL.n_vms, rlimit, PAGES)),
        Check("induction in pages any N", SECTION, partial(check_induction, None, rlimit, PAGES)),
        Check("page-count bugs caught in pages", SECTION, partial(check_unit_mutants, rlimit)),
        Check("refinement random runs", SECTION, check_random_refinement),
        Check("refinement Z3-chosen states", SECTION, partial(check_sampled_refinement, rlimit)),
    ]
