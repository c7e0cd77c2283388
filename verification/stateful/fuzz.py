"""``run_fuzz``: one Hypothesis campaign of the stateful machine, as a result object.

The campaign runs ``verification.stateful.machine.DmMachine`` (or a planted bug's machine) under the
``ci`` or ``thorough`` profile, optionally with another number of examples and a seed, and
returns whether it passed, how much it did (examples, checked reference steps, coverage),
how long it took (and how long until the first failure), and the shrunk failing trace with
Hypothesis's runnable program.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from hypothesis import Phase
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import get_state_machine_test

from dynmem.model.vocabulary import HostProfile
from dynmem.verification.generation import fixed_generation
from dynmem.verification.mutants.catalogue import get_mutant
from dynmem.verification.properties.coverage import Coverage, Pair
from dynmem.verification.stateful.machine import (
    DmMachine,
    StatefulFailure,
    get_settings,
    machine_for,
)
from dynmem.verification.traces.trace import Trace

FuzzProgress = Callable[[int, int, float], None]


@attrs.frozen
class FuzzResult:
    """The outcome of one campaign.

    ``examples`` counts the test cases Hypothesis ran (generation and shrinking), ``steps``
    the reference steps checked; ``first_failure_seconds`` and ``first_failure_example`` say
    when the first failing example came (before shrinking); ``trace`` and ``program`` are
    the shrunk failure.
    """

    ok: bool
    profile: str
    mutant: str | None
    examples: int
    steps: int
    seconds: float
    first_failure_seconds: float | None
    first_failure_example: int | None
    message: str | None
    program: str | None
    trace: Trace | None
    refinement_checked: bool
    refinement_requested: bool
    coverage: Coverage = attrs.field(eq=False, repr=False)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        head = (f"fuzz {self.profile}{f' (mutant {self.mutant})' if self.mutant else ''}: "
                f"{self.examples} examples, {self.steps} steps, {self.seconds:.2f} s "
                f"({self.steps_per_second:,.0f} steps/s), {len(self.coverage.pairs)} "
                f"coverage pairs")
        if self.ok:
            return head + ": ok"
        # None when the campaign stopped outside a checked step (an engine or set-up error)
        after = ("" if self.first_failure_seconds is None
                 else f" after {self.first_failure_seconds:.2f} s")
        return head + f": FAILED{after}: {self.message}"

    def to_json(self, reachable: set[Pair] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.ok, "profile": self.profile, "mutant": self.mutant,
            "examples": self.examples, "steps": self.steps, "seconds": round(self.seconds, 3),
            "steps_per_second": round(self.steps_per_second),
            "first_failure_seconds": (None if self.first_failure_seconds is None
                                      else round(self.first_failure_seconds, 3)),
            "first_failure_example": self.first_failure_example,
            "message": self.message, "refinement_checked": self.refinement_checked,
            "coverage_pairs": len(self.coverage.pairs),
            "trace_steps": len(self.trace.steps) if self.trace is not None else None,
        }
        if reachable is not None:
            data["coverage_share"] = round(self.coverage.share_of(reachable), 3)
        return data


def _reporting(machine: type[DmMachine], on_progress: FuzzProgress | None,
               started: float) -> type[DmMachine]:
    """``machine`` that calls ``on_progress`` every 25 examples."""
    if on_progress is None:
        return machine

    def init(self: DmMachine) -> None:
        machine.__init__(self)
        n = type(self).examples_started
        if n % 25 == 0:
            on_progress(n, type(self).steps_taken, time.perf_counter() - started)

    return type(machine.__name__, (machine,), {"__init__": init})


# Hypothesis's own notes: how to replay inside a Hypothesis test and its search statistics.
# The user replays with ``dynmem fuzz --seed S`` and reads the runnable program; these would
# only point at internals.
HYPOTHESIS_NOTES = ("You can reproduce this", "@reproduce_failure", "@seed(",
                    "Highest target score", "Failing test case: <state machine>",
                    "Falsifying example")


def get_program(notes: list[str]) -> str:
    """The runnable program and our trace out of a failure's notes, without Hypothesis's own.

    Examples
    --------
    >>> get_program(["Failing test case: <state machine>", "state = DmMachine()",
    ...              "Highest target score: 25  (label='pairs')",
    ...              "You can reproduce this example by temporarily adding @seed(1)"])
    'state = DmMachine()'
    """
    kept = [note for note in notes if not note.lstrip().startswith(HYPOTHESIS_NOTES)]
    return "\n".join(kept).strip("\n")


def run_fuzz(profile: str = "ci", *, examples: int | None = None, mutant: str | None = None,
             seed: int | None = None, refinement: bool = True, shrink: bool = True,
             failure_dir: Path | None = None,
             on_progress: FuzzProgress | None = None,
             linux_guests: bool = False,
             host_profile: HostProfile | None = None,
             hibernate: bool = False) -> FuzzResult:
    """Run the stateful machine under ``profile`` and return what happened.

    Parameters
    ----------
    profile : {"ci", "thorough"}
        The settings profile.
    examples : int, optional
        Override the profile's ``max_examples``.
    mutant : str, optional
        A planted bug from ``verification.mutants.catalogue`` to run instead of the reference.
    seed : int, optional
        A seed for a reproducible randomised run (the ``ci`` profile is derandomized).
    refinement : bool
        Check every step against the model's transition (when the model exists).
    shrink : bool
        Shrink a failure to a minimal program (the usual); without, the first failing
        example is reported as found.
    failure_dir : Path, optional
        Where the shrunk failure's ITF and text traces go (default: the temp folder).
    on_progress : callable, optional
        Called with (examples, steps, seconds) every 25 examples.
    linux_guests : bool
        Start fleets of Windows and Linux guests (``guest_os`` drawn per VM); a planted bug
        that misreads Linux guests turns it on.
    host_profile : HostProfile, optional
        The profile of every host (default: the mutant's ``explore_profile``, or ``qemu``).
    hibernate : bool
        Run the ``HibernatingMachine``: the starting fleet's last guest never answers and fair
        runs have the host's watchdog; a planted bug only such a guest shows turns it on.
    """
    bug = get_mutant(mutant) if mutant else None
    steer = profile == "thorough"  # starts that wait for reclaim (DmMachine.start_for_reclaim)
    linux_guests = linux_guests or (bug is not None and bug.explore_linux)
    hibernate = hibernate or (bug is not None and bug.explore_hibernate)
    host = host_profile if host_profile is not None else (
        bug.explore_profile if bug is not None else HostProfile.QEMU)
    base = (machine_for(bug.reference_step, bug.plan, bug.name, refinement, steer,
                        linux_guests, host, hibernate) if bug
            else machine_for(refinement=refinement, reclaim_starts=steer,
                             linux_guests=linux_guests, host_profile=host,
                             hibernate=hibernate))
    base.failure_dir = failure_dir
    started = time.perf_counter()
    machine = _reporting(base, on_progress, started)
    machine.started = started
    overrides: dict[str, Any] = {}
    if examples is not None:
        overrides["max_examples"] = examples
    if seed is not None:
        overrides["derandomize"] = False
    if not shrink:
        overrides["phases"] = (Phase.explicit, Phase.reuse, Phase.generate)
    # Typed in newer Hypothesis releases, untyped in older ones: call it through Any so the
    # type check passes with both (no version-dependent ignore).
    make_test: Any = get_state_machine_test
    test = make_test(machine, settings=get_settings(profile, **overrides))
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    message = program = None
    try:
        with fixed_generation():  # the same inputs from the CLI, pytest or a notebook
            test()
    except StatefulFailure as err:
        message = str(err)
        program = get_program(getattr(err, "__notes__", []))
    except Exception as err:  # a crash of the step function is a finding too
        message = f"{type(err).__name__}: {err}"
        program = get_program(getattr(err, "__notes__", []))
    seconds = time.perf_counter() - started
    return FuzzResult(
        ok=message is None, profile=profile, mutant=mutant,
        examples=machine.examples_started, first_failure_example=machine.first_failure_example,
        steps=machine.steps_taken, seconds=seconds,
        first_failure_seconds=machine.first_failure_seconds, message=message,
        program=program, trace=machine.last_failure if message else None,
        refinement_checked=refinement,
        refinement_requested=refinement,
        coverage=machine.coverage)
