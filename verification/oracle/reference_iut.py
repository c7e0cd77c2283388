"""The reference itself as an IUT: a system that steps the reference, a policy that plans
with it. They pass every mode by construction and are the base of the planted-bug examples
(``examples/buggy_iuts/``): replace a processor with ``make_step`` or the plan function.
"""

from __future__ import annotations

from dynmem.model.vocabulary import HostProfile
from dynmem.reference.events import DmRequest, Event
from dynmem.reference.policy import compute_plan
from dynmem.reference.state import DmState
from dynmem.reference.step import Plan, Step, step
from dynmem.verification.oracle.iut import Hello, Kind, Mode, Observed
from dynmem.verification.oracle.observation import observe


class ReferenceSystem:
    """A :class:`~dynmem.verification.oracle.iut.SystemIut` that is the reference (or a variant).

    Parameters
    ----------
    step_fn : Step
        The transition function; ``reference.step.make_step(...)`` builds variants.
    name : str
        Shown in reports.
    host_profile : HostProfile
        The host it says it is in its hello (which versions it accepts); the harness then
        resets it to hosts of that profile.
    hot_add_alignment : bool
        Whether its hello says it follows the guest's hot-add alignment (Rule P1c); the
        harness then sends reports advertising 4 and 128 MiB too.
    """

    def __init__(self, step_fn: Step = step, name: str = "dynmem reference",
                 host_profile: HostProfile = HostProfile.QEMU,
                 hot_add_alignment: bool = False) -> None:
        self.step_fn, self.name, self.host_profile = step_fn, name, host_profile
        self.hot_add_alignment = hot_add_alignment
        self.state: DmState | None = None

    def hello(self, kind: Kind, mode: Mode) -> Hello:
        return Hello(name=self.name, kinds=("system",), host_profile=self.host_profile,
                     hot_add_alignment=self.hot_add_alignment)

    def reset(self, state: DmState) -> None:
        self.state = state

    def event(self, step: int, event: Event) -> Observed:
        assert self.state is not None, "reset first"
        result = self.step_fn(self.state, event)
        self.state = result.state
        return Observed(observe(result.state), result.sent, result.reason)


class ReferencePolicy:
    """A :class:`~dynmem.verification.oracle.iut.PolicyIut` planning with ``plan``."""

    def __init__(self, plan: Plan = compute_plan, name: str = "dynmem reference policy") -> None:
        self.plan_fn, self.name = plan, name

    def hello(self, kind: Kind, mode: Mode) -> Hello:
        return Hello(name=self.name, kinds=("policy",))

    def reset(self, state: DmState) -> None:
        return None

    def plan(self, step: int, view: DmState) -> tuple[DmRequest, ...]:
        return self.plan_fn(view)
