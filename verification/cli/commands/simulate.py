"""``dynmem simulate FILE [--json] [--out TRACE.itf.json] [--host-profile NAME]``: run one
scenario (specs/formats.md), on its host or on a host of another profile.

Prints the readable trace, or with ``--json`` exactly one JSON document on stdout. Exit 0 when
no invariant is violated, every settle converged and the scenario's ``expect`` block (if any)
holds; 1 otherwise (a finding); 2 on bad input. A rejected event, such as a start without
enough free memory, is a normal outcome and not a finding.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import attrs

from dynmem.verification.cli import options
from dynmem.verification.cli.progress import Board
from dynmem.verification.codec import event_to_json
from dynmem.verification.scenarios.expectations import check_expectations
from dynmem.verification.scenarios.scenario import load_scenario
from dynmem.verification.scenarios.simulate import Simulation, simulate
from dynmem.verification.scenarios.summary import summarize_state
from dynmem.verification.traces import render_text
from dynmem.verification.traces.itf import write_itf

# A scenario usually runs in well under a second: its progress and closing line show only
# when it runs longer than this (a user's long settle).
QUIET_S = 2.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run a scenario through the reference, checking every invariant at every step",
        description="Run a scenario file through the reference balancer and check every "
                    "invariant after every step. Exit 0: no violation; 1: a violation, a "
                    "settle that did not converge, or an unmet 'expect'; 2: bad input.",
    )
    parser.add_argument("file", metavar="FILE", help="scenario JSON file (specs/formats.md)")
    options.add_json(parser)
    options.add_trace_out(parser, "the trace too")
    options.add_host_profile(parser, "the scenario (in place of its host's profile)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Simulate ``args.file``; print the trace or the JSON document; write ITF if asked."""
    profile = options.read_host_profile(args.host_profile)
    scenario = load_scenario(args.file)
    if profile is not None:
        scenario = attrs.evolve(scenario, host=attrs.evolve(scenario.host, profile=profile))
    board = Board()
    total = len(scenario.events)
    with board.phase("simulate", total, _line, after=QUIET_S) as phase:
        simulation = simulate(scenario, on_progress=lambda done, steps: phase.update(
            done, f"{steps:,} steps"))
    board.stop()
    unmet = check_expectations(simulation)
    if args.out:
        write_itf(simulation.trace, args.out)
    ok = simulation.ok and not unmet
    if args.json:
        json.dump(simulation_to_json(simulation, unmet), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(simulation.trace))
        for line in _footer(simulation, unmet):
            print(line)
    board.finish(f"simulate: {'ok' if ok else 'FINDING'}, {len(simulation.trace.steps):,} "
                 f"steps", after=QUIET_S)
    return 0 if ok else 1


def _line(done: int, total: int | None, text: str) -> str:
    return f"dynmem simulate: {done:,} of {total:,} scenario events, {text}"


def _footer(simulation: Simulation, unmet: list[str]) -> list[str]:
    """What the trace renderer does not know: settles and the scenario's expectations."""
    lines = [("" if run.converged else "FINDING: ") + run.describe()
             for run in simulation.settles]
    if simulation.scenario.expect is not None:
        if unmet:
            lines += [f"expectation not met: {text}" for text in unmet]
        else:
            lines.append("expectations: all met")
    return lines


def simulation_to_json(simulation: Simulation, unmet: list[str]) -> dict[str, Any]:
    """The ``--json`` document (specs/formats.md §simulate-json); ``ok`` matches exit code 0."""
    trace = simulation.trace
    return {
        "ok": simulation.ok and not unmet,
        "scenario": simulation.scenario.source,
        "steps": len(trace.steps),
        "converged": simulation.converged,
        "violations": [
            {"step": f.step, "invariant": f.invariant, "clause": f.violation.clause,
             "vm": f.violation.vm, "message": f.violation.message}
            for f in trace.findings
        ],
        "rejected": [
            {"step": index, "scenario_event": origin, "event": event_to_json(item.event),
             "reason": item.rejected}
            for index, (origin, item) in enumerate(zip(simulation.origins, trace.steps,
                                                       strict=True), start=1)
            if item.rejected is not None
        ],
        "settles": [
            {"scenario_event": run.event, "first_step": run.first_step, "steps": run.steps,
             "max_steps": run.max_steps, "converged": run.converged}
            for run in simulation.settles
        ],
        "expectations": {"present": simulation.scenario.expect is not None, "unmet": unmet},
        "final": summarize_state(trace.final),
    }
