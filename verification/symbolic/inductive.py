"""Inductive invariant checking (specs/proofs.md): deciding the obligations with Z3.

The obligations and their three outcomes (Proved, CounterexampleToInduction, Unknown) are
in verification/symbolic/obligations.py; the encoding of a group of obligations (premises,
goals, decoder; the any-N decomposition; slicing) in verification/symbolic/encodings.py.

Obligations that share premises form a group (one action at one slot, or the initial
states): a FRESH ``z3.Solver`` per group, the premises asserted once (tracked by named
Bools for the unsat cores), then one ``check`` per invariant under its own goal literal.
Each check is bounded by a Z3 resource budget, ``rlimit`` (verification/symbolic/budget.py),
never by seconds, and each outcome records the units it used. An unknown (the budget ran out,
or Z3 gave up) FAILS the run; it is never shown as proved.
"""

from __future__ import annotations

import functools
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import z3

from dynmem.model.params import MINIMAL
from dynmem.verification.symbolic.budget import describe_unknown, new_solver, run_check
from dynmem.verification.symbolic.decode import value_of
from dynmem.verification.symbolic.encodings import encode
from dynmem.verification.symbolic.obligations import (
    REAL_MODEL,
    CounterexampleToInduction,
    Group,
    Model,
    Obligation,
    Outcome,
    ProofRun,
    Proved,
    Unknown,
    get_groups,
)
from dynmem.verification.tasks import Mapper


def _failing(goal: list[tuple[str, Any]], inv_id: str, m: z3.ModelRef) -> tuple[str, ...]:
    return tuple(f"{inv_id}: {name}" for name, term in goal if not value_of(m, term))


def check_group(group: Group, model: Model = REAL_MODEL, rlimit: int = MINIMAL.rlimit,
                sliced: bool = True) -> list[Outcome]:
    """Decide every obligation of ``group`` on one fresh solver (a check per invariant).

    Each check may use ``rlimit`` units of Z3 work. A sliced query that answers sat is
    re-decided on the full query, so a counterexample is never an artefact of slicing.
    """
    started = time.perf_counter()
    enc = encode(group, model, sliced)
    solver = new_solver(rlimit)
    labels = {}
    for i, (label, term) in enumerate(enc.premises):
        labels[f"p{i}"] = label
        solver.assert_and_track(term, z3.Bool(f"p{i}"))
    literals = {}
    for inv_id, goal in enc.goals.items():
        literals[inv_id] = z3.Bool(f"goal {inv_id}")
        solver.add(z3.Implies(literals[inv_id], z3.Not(z3.And(*[t for _, t in goal]))))
    share = (time.perf_counter() - started) / max(1, len(enc.goals))
    outcomes: list[Outcome] = []
    for ob in group.obligations:
        tick = time.perf_counter()
        result, used = run_check(solver, literals[ob.invariant])
        seconds = share + time.perf_counter() - tick
        if result == z3.unsat:
            core = tuple(sorted(labels[str(t)] for t in solver.unsat_core() if str(t) in labels))
            outcomes.append(Proved(ob, seconds, core, rlimit_used=used))
        elif result == z3.sat and sliced and group.n_vms is not None and group.slot is not None:
            full = attrs.evolve(group, invariants=(ob.invariant,))
            outcomes.append(check_group(full, model, rlimit, sliced=False)[0])
        elif result == z3.sat:
            m = solver.model()
            trace, raw = enc.decode(m)
            failed = _failing(enc.goals[ob.invariant], ob.invariant, m)
            outcomes.append(CounterexampleToInduction(ob, seconds, failed, trace, raw,
                                                      rlimit_used=used))
        else:
            reason = describe_unknown(solver, f"obligation '{ob.label}'", used, rlimit)
            outcomes.append(Unknown(ob, seconds, reason, rlimit_used=used))
    return outcomes


def check_obligation(ob: Obligation, model: Model = REAL_MODEL, rlimit: int = MINIMAL.rlimit,
                     sliced: bool = True) -> Outcome:
    """Decide one obligation: Proved, CounterexampleToInduction or Unknown.

    Examples
    --------
    >>> check_obligation(Obligation("initiation", "INV-PHYSICAL", n_vms=2)).status
    'proved'
    >>> check_obligation(Obligation("consecution", "INV-FLOOR", "BalloonResponse")).status
    'proved'
    """
    group = Group(ob.kind, (ob.invariant,), ob.action, ob.slot, ob.n_vms)
    return check_group(group, model, rlimit, sliced)[0]


# Worker state, set once per process by the pool initializer (fork: nothing is pickled).
_WORKER: dict[str, Any] = {}


def _init_worker(model: Model, rlimit: int, sliced: bool) -> None:
    # The pool ends its workers with SIGTERM when the run is over. A forked worker inherits
    # the CLI's SIGTERM handler (verification/cli/main.py), which made each of them print a
    # traceback on stderr; a worker just ends (the CLI's own process handles a real SIGTERM).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER.update(model=model, rlimit=rlimit, sliced=sliced)


def _solve(group: Group) -> list[Outcome]:
    return check_group(group, _WORKER["model"], _WORKER["rlimit"], _WORKER["sliced"])


def iter_outcomes(groups: Sequence[Group], model: Model = REAL_MODEL,
                  rlimit: int = MINIMAL.rlimit, jobs: int = 1,
                  sliced: bool = True) -> Iterator[list[Outcome]]:
    """Decide ``groups``, in ``jobs`` processes; yields each group's outcomes when done."""
    if jobs <= 1 or len(groups) < 4:
        for group in groups:
            yield check_group(group, model, rlimit, sliced)
        return
    ctx = multiprocessing.get_context("fork")
    chunk = max(1, min(8, len(groups) // (jobs * 8)))
    with ctx.Pool(jobs, _init_worker, (model, rlimit, sliced)) as pool:
        yield from pool.imap_unordered(_solve, groups, chunksize=chunk)


def check_inductive(n_vms: int | None, model: Model = REAL_MODEL,
                    rlimit: int = MINIMAL.rlimit, jobs: int = 1, sliced: bool = True,
                    progress: Callable[[int, int, Outcome], None] | None = None,
                    mapper: Mapper | None = None) -> ProofRun:
    """Decide every obligation for ``n_vms`` slots (None: any N) and collect the outcomes.

    ``progress(done, total, outcome)`` is called after each obligation. ``mapper``, if
    given, decides the groups instead of ``jobs`` local processes (Dask workers:
    ``cluster.ordered_map``); the outcomes are sorted into obligation order either way, so
    the run is the same. This is what ``dynmem prove`` runs; a counterexample to induction
    or an unknown makes ``ok`` false.

    Examples
    --------
    >>> run = check_inductive(None)  # every number of VMs (the per-VM decomposition)
    >>> run.ok, run.count("proved") == len(run.outcomes)
    (True, True)
    """
    groups = get_groups(n_vms, model)
    order = {ob: i for i, ob in enumerate(o for g in groups for o in g.obligations)}
    started = time.perf_counter()
    done: list[Outcome] = []

    def collect(outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            done.append(outcome)
            if progress is not None:
                progress(len(done), len(order), outcome)

    if mapper is not None:
        solve = functools.partial(check_group, model=model, rlimit=rlimit, sliced=sliced)
        mapper(solve, groups, lambda _, outcomes: collect(outcomes))
    else:
        for outcomes in iter_outcomes(groups, model, rlimit, jobs, sliced):
            collect(outcomes)
    done.sort(key=lambda o: order[o.obligation])
    return ProofRun(n_vms, tuple(done), time.perf_counter() - started)
