"""The outcome of the exhaustive phase and the sentence that says what it covered."""

from __future__ import annotations

import attrs

from dynmem.verification.oracle.judge import CaseResult


@attrs.frozen
class ConformanceResult:
    """What the exhaustive phase asked and found on one preset.

    ``states`` and ``transitions`` are those of the IUT's own graph (a system's accepted
    steps, a policy's exploration with its plans); ``requests`` the distinct questions
    asked ((state, events) questions for a system, views for a policy); ``probes`` and
    ``follow_ups`` how many of them were probes and follow-ups, whose successors are not
    explored; ``views`` the plans judged (a policy). ``complete`` is False when a failure
    stopped the search early.
    """

    preset: str
    kind: str
    mode: str
    states: int
    transitions: int
    requests: int
    complete: bool
    failure: CaseResult | None = None
    probes: int = 0
    follow_ups: int = 0
    views: int = 0
    progress_checked: bool = False
    seconds: float = 0.0  # wall clock of the IUT phase, for the rate only (never a verdict)

    @property
    def ok(self) -> bool:
        return self.failure is None and self.complete

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def scope(self) -> str:
        """The covered scope in words, e.g. "every reachable state of preset 2vm (...)"."""
        what = (f"{self.states:,} states, {self.transitions:,} transitions, "
                f"{self.requests:,} requests")
        if self.kind == "policy":
            what += f", {self.views:,} plans judged"
            if self.progress_checked:
                what += ", progress checked on the whole graph"
        where = "every reachable state" if self.complete else "the states reached"
        return f"{where} of preset {self.preset} ({what})"

    def verdict(self) -> str:
        """One line: conforms on the scope, or where the search stopped."""
        if self.ok:
            return f"conforms on {self.scope()}"
        if self.failure is not None:
            return f"fails: stopped at the first divergence after {self.scope()}"
        return f"incomplete: {self.scope()}"
