"""Run a scenario through the reference and check every invariant after every step.

Each ``settle`` is expanded into the concrete events it delivered, so the trace holds only
reference events and replays with ``step`` alone. A settle that runs out of steps is a finding
(the system does not reach a fixed point, DOMAIN.md §4): it is recorded in ``Trace.notes`` and
makes the simulation not ok.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs

from dynmem.reference.environment import STUCK_AFTER_TICKS, settle
from dynmem.reference.events import Event
from dynmem.reference.policy import compute_plan
from dynmem.reference.step import Plan, Step, StepResult, step
from dynmem.verification.scenarios.scenario import Scenario, Settle
from dynmem.verification.traces.trace import Trace, record


@attrs.frozen
class SettleRun:
    """One ``settle`` of a scenario: where it sits in the trace and whether it converged."""

    event: int  # index of the settle in the scenario's events
    first_step: int  # trace step (1-based) of its first delivered event
    steps: int
    max_steps: int
    converged: bool
    cycle_start: int | None = None  # the settle's own step where an oscillation's loop begins

    def describe(self) -> str:
        """One line for people, e.g. for the non-convergence finding."""
        last = self.first_step + self.steps - 1
        if self.converged and not self.steps:
            return f"settle events[{self.event}] converged at once (nothing to deliver)"
        if self.converged:
            return (f"settle events[{self.event}] converged after {self.steps} steps "
                    f"(trace steps {self.first_step}..{last})")
        if self.cycle_start is not None:
            loop = self.first_step + self.cycle_start
            return (f"settle events[{self.event}] did not converge: it oscillates, the state "
                    f"before trace step {loop} comes back after step {last} "
                    f"(trace steps {self.first_step}..{last})")
        return (f"settle events[{self.event}] did not converge: no fixed point within "
                f"max_steps={self.max_steps} (trace steps {self.first_step}..{last})")


@attrs.frozen
class Simulation:
    """A scenario's checked trace, which scenario event each trace step came from, and the
    settles it ran."""

    scenario: Scenario
    trace: Trace
    origins: tuple[int, ...]  # origins[i] = scenario event index of trace step i + 1
    settles: tuple[SettleRun, ...]

    @property
    def converged(self) -> bool:
        return all(run.converged for run in self.settles)

    @property
    def ok(self) -> bool:
        """No invariant violated and every settle converged."""
        return self.trace.ok and self.converged


def simulate(scenario: Scenario, step_fn: Step = step, plan: Plan = compute_plan,
             on_progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Run ``scenario`` from its initial state; ``step_fn``/``plan`` default to the reference's.

    Parameters
    ----------
    scenario
        A validated scenario (see :func:`~dynmem.verification.scenarios.scenario.load_scenario`).
    step_fn, plan
        The transition function and balancer policy (planted bugs pass their own).
    on_progress
        Told ``(scenario events done, steps so far)`` after each scenario event (a settle
        is one event of many steps).

    Returns
    -------
    Simulation
        The trace, with every invariant checked after every step.

    Examples
    --------
    >>> from dynmem.verification.scenarios.scenario import parse_scenario
    >>> s = parse_scenario({"host": {"physical_mib": 4096, "reserve_mib": 1024},
    ...                     "vms": [{"name": "a", "startup_mib": 4096}],
    ...                     "events": [{"kind": "start", "vm": "a"}]}, "x.json")
    >>> run = simulate(s)
    >>> run.ok, run.trace.steps[0].state.vms[0].power.name  # it waits for reclaim
    (True, 'STARTING')
    """
    initial = scenario.initial_state()
    origins: list[int] = []
    runs: list[SettleRun] = []

    def results() -> Iterator[tuple[Event, StepResult]]:
        """The steps, computed as ``record`` checks them (progress then covers both)."""
        state = initial
        for index, event in enumerate(scenario.events):
            if isinstance(event, Settle):
                # Scenarios run the host's watchdog (R-STUCK) and each guest's profile.
                settled = settle(state, event.max_steps, step_fn, plan,
                                 profiles=dict(scenario.profiles),
                                 stuck_after=STUCK_AFTER_TICKS)
                runs.append(SettleRun(index, len(origins) + 1, len(settled.steps),
                                      event.max_steps, settled.converged, settled.cycle_start))
                new = list(settled.steps)
            else:
                new = [(event, step_fn(state, event))]
            yield from new
            origins.extend([index] * len(new))
            if new:
                state = new[-1][1].state
            if on_progress is not None:
                on_progress(index + 1, len(origins))

    trace = record(initial, results(), "simulate")
    trace = attrs.evolve(trace, notes=_notes(scenario, runs))
    return Simulation(scenario, trace, tuple(origins), tuple(runs))


def _notes(scenario: Scenario, runs: list[SettleRun]) -> tuple[tuple[str, Any], ...]:
    notes: list[tuple[str, Any]] = [("scenario", scenario.source),
                                    ("converged", all(r.converged for r in runs))]
    if scenario.profiles:  # the guests settle ran (the host knows only their guest_os)
        notes.append(("guests", ", ".join(f"{name} {profile.value}"
                                          for name, profile in scenario.profiles)))
    stuck = [run.describe() for run in runs if not run.converged]
    if stuck:
        notes.append(("not_converged", tuple(stuck)))
    return tuple(notes)
