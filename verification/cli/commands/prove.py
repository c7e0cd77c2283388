"""``dynmem prove [--vms N] [--any-n] [--unit mib|page] [--mutant NAME] [--rlimit N]
[--jobs J] [--support] [--json]``, and ``dynmem prove --pages [--vms 1|2] [--mutant NAME]``
(the page layer's host rules over page bits: ``prove_pages``).

Proves every invariant of the registry inductive for the model (verification/symbolic/inductive.py):
a table of invariant × action (proved / CTI / unknown) with times, then every failure in
detail (a counterexample to induction is rendered like any trace), then the proof-support
summary. Without ``--vms``/``--any-n`` both the MINIMAL preset's N and the any-N
decomposition run. ``--unit page`` counts every amount in 4 KiB pages and credits answers page
for page (model/units.py); ``--mutant`` proves a model with a planted bug (model_edits.py,
unit_edits.py), which must fail. Exit 0 only if every obligation is proved; 1 on a CTI or an unknown
(an exhausted ``--rlimit`` budget included); 2 on bad usage. Progress goes to stderr
(quiet with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from dynmem.model.params import MAX_RLIMIT, MINIMAL
from dynmem.model.units import MIB, UNITS, Units
from dynmem.reference.events import EVENT_TYPES
from dynmem.verification.cli import options
from dynmem.verification.cli.commands.prove_pages import PAGE_HELP, run_pages
from dynmem.verification.cli.progress import Board, Phase
from dynmem.verification.cli.workers import open_mapper
from dynmem.verification.codec import event_to_json
from dynmem.verification.errors import InputError
from dynmem.verification.mutants.model_edits import MODEL_MUTANTS, ModelMutant
from dynmem.verification.mutants.pages import ALL_PAGE_MUTANTS
from dynmem.verification.mutants.unit_edits import UNIT_MUTANTS
from dynmem.verification.symbolic.inductive import check_inductive
from dynmem.verification.symbolic.obligations import (
    CounterexampleToInduction,
    Model,
    Outcome,
    ProofRun,
    Proved,
    Unknown,
)
from dynmem.verification.symbolic.support import Support, compute_support
from dynmem.verification.symbolic.triage import render_triage_runs
from dynmem.verification.tasks import serial_map
from dynmem.verification.traces import render_text

MAX_VMS = 512
# Column headings of the table, one per model action: the event class's SHORT (an action
# without an event class, in a planted-bug model, falls back to 4 letters).
SHORT = {cls.__name__: cls.SHORT for cls in EVENT_TYPES.values()}
CELL = {"proved": "ok", "cti": "CTI", "unknown": "??"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "prove",
        help="prove every invariant inductive with Z3 (CTIs and unknowns fail)",
        description="Prove that every invariant holds initially and is preserved by every "
                    "model action (Z3 induction). Exit 0 only if everything is proved; 1 on "
                    "a counterexample to induction or an unknown; 2 on bad usage.",
    )
    options.add_vms(parser, None, f"{MINIMAL.n_vms}, the MINIMAL preset, and --any-n")
    parser.add_argument("--any-n", action="store_true",
                        help="prove for every number of VMs (per-VM decomposition)")
    options.add_rlimit(parser, MINIMAL.rlimit, "obligation")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), metavar="J",
                        help="solver processes (default: 2, or 1 on a single core; "
                             "--workers/--scheduler replace them)")
    options.add_cluster(parser, "the obligation groups")
    parser.add_argument("--support", action="store_true",
                        help="list every obligation's unsat core (what its proof used)")
    options.add_json(parser)
    parser.add_argument("--triage", action="store_true",
                        help="after the table, search each CTI's pre-state by BMC: real bug "
                             "or invariant too weak (verification/symbolic/triage.py)")
    parser.add_argument("--unit", choices=sorted(UNITS), default=MIB.name,
                        help="count runtime memory in MiB (the amount level, answers credited "
                             "in whole 2 MiB units) or in 4 KiB pages (answers credited page "
                             "for page, a partial hot-add's last unit charged whole: "
                             "specs/proofs.md §7); default: mib")
    options.add_pages(parser, PAGE_HELP)
    options.add_mutant(parser, "prove the model with (with --pages: check, in place of the "
                               "honest rule it replaces,)")
    parser.set_defaults(handler=run)


def _check_usage(args: argparse.Namespace) -> None:
    if args.vms is not None and not 1 <= args.vms <= MAX_VMS:
        raise InputError("command line", "--vms", args.vms, f"must be 1..{MAX_VMS}")
    if not 1 <= args.rlimit <= MAX_RLIMIT:
        raise InputError("command line", "--rlimit", args.rlimit,
                         f"must be 1..{MAX_RLIMIT} (Z3 work units per obligation)")
    if args.jobs < 1:
        raise InputError("command line", "--jobs", args.jobs, "must be >= 1")


def get_sizes(args: argparse.Namespace) -> list[int | None]:
    """The runs asked for: N slots and/or any N (both by default)."""
    if args.vms is None and not args.any_n:
        return [MINIMAL.n_vms, None]
    return ([args.vms] if args.vms is not None else []) + ([None] if args.any_n else [])


def get_model_mutant(name: str) -> ModelMutant:
    """The planted model bug ``name``: a model-level variant, or a bug only pages show."""
    found = MODEL_MUTANTS.get(name) or UNIT_MUTANTS.get(name)
    if found is None and name in {m.name for m in ALL_PAGE_MUTANTS}:
        raise InputError("command line", "--mutant", name,
                         "is a page bug: it applies only with --pages")
    if found is None:
        known = ", ".join(sorted({*MODEL_MUTANTS, *UNIT_MUTANTS}))
        raise InputError("command line", "--mutant", name,
                         f"is no model-level planted bug; known: {known} (page bugs: with "
                         f"--pages; dynmem mutants lists them all)")
    return found


def get_model(args: argparse.Namespace) -> Model:
    """The model the command proves: its unit, and its planted bug if ``--mutant``."""
    units: Units = UNITS[args.unit]
    if args.mutant is None:
        return Model(units=units)
    return Model(actions=get_model_mutant(args.mutant).apply(), units=units)


def run(args: argparse.Namespace) -> int:
    """Prove; print the table (or JSON); 0 if everything is proved, else 1."""
    if args.pages:
        if args.unit != MIB.name:
            raise InputError("command line", "--unit", args.unit,
                             "does not apply with --pages (the page layer counts pages)")
        return run_pages(args)
    if args.triage and args.unit != MIB.name:
        raise InputError("command line", "--unit", args.unit,
                         "does not apply with --triage (its BMC search counts in MiB)")
    _check_usage(args)
    model = get_model(args)
    runs = []
    board = Board()
    with open_mapper(args, board, "prove") as mapper:
        for n_vms in get_sizes(args):
            scope = "any N" if n_vms is None else f"N={n_vms}"

            def line(done: int, total: int | None, text: str, scope: str = scope) -> str:
                return f"[{scope} {done}/{total}] {text}"

            with board.phase(f"prove {scope}", None, line) as phase:
                def progress(done: int, total: int, outcome: Outcome,
                             phase: Phase = phase) -> None:
                    # a CTI or an unknown is a line of a log at once
                    phase.update(done, f"{outcome.obligation.label}: {outcome.status}", total,
                                 keep=outcome.status != "proved")

                runs.append(check_inductive(n_vms, model, args.rlimit, args.jobs,
                                            progress=progress,
                                            mapper=None if mapper is serial_map else mapper))
    board.stop()
    ok = all(r.ok for r in runs)
    support = compute_support(runs, model)
    if args.json:
        json.dump(runs_to_json(runs, support, ok, model.units, args.mutant), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        described = describe_model(model.units, args.mutant)
        sys.stdout.write("\n".join(render_runs(runs, support, args.support, described))
                         + "\n")
        if args.triage:
            sys.stdout.write(render_triage_runs((o for r in runs for o in r.outcomes), model,
                                                rlimit=args.rlimit))
    count = sum(len(r.outcomes) for r in runs)
    board.finish(f"prove: {'PROVED' if ok else 'NOT PROVED'}, {count} obligations")
    return 0 if ok else 1


# --- text ------------------------------------------------------------------------------------


def _cell(outcomes: list[Outcome]) -> str:
    if not outcomes:
        return "-"
    for status in ("cti", "unknown"):
        if any(o.status == status for o in outcomes):
            return CELL[status]
    return CELL["proved"]


def render_table(run: ProofRun) -> list[str]:
    """Invariant × (init, action) cells, a time column per invariant and a time row."""
    columns = ["init", *dict.fromkeys(o.obligation.action for o in run.outcomes
                                      if o.obligation.action is not None)]
    heads = [c if c == "init" else SHORT.get(c, c[:4].lower()) for c in columns]
    rows = list(dict.fromkeys(o.obligation.invariant for o in run.outcomes
                              if o.obligation.kind == "consecution"))
    width = max(len(r) for r in [*rows, "INVARIANT"])

    def select(inv: str | None, column: str) -> list[Outcome]:
        return [o for o in run.outcomes if o.obligation.kind != "lemma"
                and (inv is None or o.obligation.invariant == inv)
                and (o.obligation.action or "init") == column]

    lines = ["INVARIANT".ljust(width) + " " + " ".join(h.rjust(4) for h in heads) + "    TIME"]
    for inv in rows:
        cells = [_cell(select(inv, c)).rjust(4) for c in columns]
        seconds = sum(o.seconds for o in run.outcomes if o.obligation.invariant == inv)
        lines.append(inv.ljust(width) + " " + " ".join(cells) + f" {seconds:6.2f}s")
    times = [f"{sum(o.seconds for o in select(None, c)):.1f}".rjust(4) for c in columns]
    lines.append("time (s)".ljust(width) + " " + " ".join(times))
    for o in run.outcomes:
        if o.obligation.kind == "lemma":
            lines.append(f"{o.obligation.label}: {o.status} ({o.seconds:.2f} s)")
    return lines


def _failure(outcome: Outcome) -> list[str]:
    if isinstance(outcome, Unknown):
        return [f"UNKNOWN {outcome.obligation.label}: {outcome.reason}"]
    assert isinstance(outcome, CounterexampleToInduction)
    lines = [f"CTI {outcome.message}"]
    if outcome.trace is not None:
        return lines + ["    " + line for line in render_text(outcome.trace).splitlines()]
    raw = dict(outcome.raw)
    if "amounts" in raw and "event" in raw:  # in pages: the reference cannot render it
        return lines + ["    " + line for line in render_page_cti(raw)]
    lines.append("    (a state breaks TypeOK or the rest cannot be shown as VMs: raw values)")
    return lines + [f"    {key}: {value!r}" for key, value in outcome.raw]


def _pages(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return str(value)
    mib = f"{value // 256} MiB" if value % 256 == 0 else f"{value / 256:.3f} MiB"
    return f"{value} page{'' if value == 1 else 's'} ({mib})"


def _flat(state: dict[str, Any]) -> dict[str, Any]:
    """A raw state's fields as ``name`` (host) and ``vm.name`` (each VM)."""
    flat = {k: v for k, v in state.items() if k != "vms"}
    for vm, fields in state.get("vms", {}).items():
        flat.update({f"{vm}.{k}": v for k, v in fields.items()})
    return flat


def render_page_cti(raw: dict[str, Any]) -> list[str]:
    """A counterexample to induction in pages: the event, then every field it changed, the
    amounts in pages and MiB (the fields keep their ``_mib`` names)."""
    before, after = _flat(raw["pre"]), _flat(raw["post"])
    lines = [f"(amounts in 4 KiB pages; fields named *_mib hold pages here) {raw['event']}",
             "  changed:"]
    for name in after:
        old, new = before.get(name), after[name]
        if old == new:
            continue
        amount = name.endswith("_mib")
        lines.append(f"    {name}: {_pages(old) if amount else old} -> "
                     f"{_pages(new) if amount else new}")
    lines.append("  before: " + ", ".join(f"{k}={v}" for k, v in before.items()))
    return lines


def render_support(support: Support, runs: list[ProofRun], every: bool) -> list[str]:
    """The proof-support summary (unused premises), and every core when ``every``."""
    lines = [f"proof support ({support.proofs} proofs, unsat cores):",
             "  invariant clauses no proof used: " + (", ".join(support.unused_clauses)
                                                     or "none"),
             "  guards no proof used: " + (", ".join(support.unused_guards) or "none")]
    if every:
        lines.append("  uses per premise: " + ", ".join(f"{k} ×{n}" for k, n in support.uses))
        for run in runs:
            lines += [f"  {o.obligation.label}: {', '.join(o.core) or '(nothing)'}"
                      for o in run.outcomes if isinstance(o, Proved)]
    return lines


def describe_model(units: Units, mutant: str | None) -> str:
    """What is proved, in words: the unit, and the planted bug if any."""
    words = ("amounts in 4 KiB pages, answers credited page for page" if units.exact
             else "amounts in MiB, answers credited in whole 2 MiB units")
    return words + (f", planted bug {mutant}" if mutant else "")


def render_runs(runs: list[ProofRun], support: Support, every: bool,
                described: str = describe_model(MIB, None)) -> list[str]:
    lines: list[str] = []
    for run in runs:
        scope = "any number of VMs" if run.n_vms is None else f"N = {run.n_vms} VM slots"
        lines += [f"dynmem prove: {scope}; {described}", *render_table(run), ""]
        for outcome in run.outcomes:
            if outcome.status != "proved":
                lines += [*_failure(outcome), ""]
        lines.append(f"{len(run.outcomes)} obligations: {run.count('proved')} proved, "
                     f"{run.count('cti')} CTI, {run.count('unknown')} unknown "
                     f"({run.seconds:.2f} s)")
        lines.append("")
    lines += render_support(support, runs, every)
    ok = all(r.ok for r in runs)
    lines.append("")
    lines.append("PROVED: every invariant holds initially and is preserved by every action"
                 if ok else "NOT PROVED: see the counterexamples and unknowns above")
    lines.append("legend: " + ", ".join(f"{v} = {k}" for k, v in SHORT.items()))
    return lines


# --- JSON ------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "KIND"):
        return event_to_json(value)
    return value


def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    """One obligation: what it is, its status and time, and its core / CTI / reason."""
    ob = outcome.obligation
    data: dict[str, Any] = {"kind": ob.kind, "invariant": ob.invariant, "action": ob.action,
                            "slot": ob.slot, "status": outcome.status,
                            "seconds": round(outcome.seconds, 4)}
    if isinstance(outcome, Proved):
        data["core"] = list(outcome.core)
    elif isinstance(outcome, CounterexampleToInduction):
        data["message"] = outcome.message
        data["failed"] = list(outcome.failed)
        data["cti"] = {key: _plain(value) for key, value in outcome.raw}
    else:
        data["reason"] = outcome.reason
    return data


def runs_to_json(runs: list[ProofRun], support: Support, ok: bool,
                 units: Units = MIB, mutant: str | None = None) -> dict[str, Any]:
    return {
        "ok": ok,
        "unit": units.name,
        "mutant": mutant,
        "runs": [{"n_vms": r.n_vms, "ok": r.ok, "seconds": round(r.seconds, 3),
                  "proved": r.count("proved"), "cti": r.count("cti"),
                  "unknown": r.count("unknown"),
                  "obligations": [outcome_to_json(o) for o in r.outcomes]} for r in runs],
        "support": {"unused_clauses": list(support.unused_clauses),
                    "unused_guards": list(support.unused_guards),
                    "uses": dict(support.uses)},
    }
