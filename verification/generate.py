"""Event sequences for the oracle, drawn choice by choice so Hypothesis can shrink them.

An :class:`EventSource` draws an initial state, then the next event from the *current*
harness state (the IUT's own state in refinement mode, since its policy may differ). The
default, :class:`EnabledEvents`, is built on ``reference.environment.enabled_events``:
besides those it offers
events the reference refuses (which the IUT must refuse too). Swap in another source (e.g. the
stateful machine's strategies) by passing any object with the same two methods.

Choices are ordered so that shrinking (towards smaller draws) gives simpler examples: fewer
steps, ticks and honest guest messages before arbitrary ones, small hosts, few VMs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import attrs
from hypothesis import strategies as st

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.environment import compute_honest_message, enabled_events
from dynmem.reference.events import (
    BalancerTick,
    Configure,
    Create,
    Delete,
    Demand,
    Event,
    Start,
    UnballoonResponse,
)
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state

Draw = Callable[[st.SearchStrategy[Any]], Any]
T = TypeVar("T")


class EventSource(Protocol):
    """Where examples come from: an initial state, then one event at a time."""

    def initial(self, draw: Draw) -> DmState:
        """Draw an initial state (every VM off)."""
        ...

    def next_event(self, draw: Draw, state: DmState, index: int) -> Event | None:
        """Draw the event at ``index`` (0-based) from ``state``, or None to stop."""
        ...


_DEMANDS = (0, 600, 1000, 1800, 3000, 4200, 7000)


def _pick(draw: Draw, options: Sequence[T]) -> T:
    """One of ``options`` (a fresh ``sampled_from`` per draw would be slow)."""
    return options[draw(st.integers(0, len(options) - 1))]


def _build_settings() -> st.SearchStrategy[VmSettings]:
    @st.composite
    def build(draw: Draw) -> VmSettings:
        startup = draw(st.sampled_from((512, 1024, 2048, 3072)))
        return VmSettings(
            dynamic=not draw(st.booleans()) or draw(st.booleans()),  # dynamic 3 times in 4
            startup_mib=startup,
            maximum_mib=startup + draw(st.sampled_from((4096, 0, 1024, 16384))),
            buffer_pct=draw(st.sampled_from((20, 5, 100))),
            weight=draw(st.sampled_from((5000, 2000, 8000))),
            dm_capable=draw(st.integers(0, 7)) != 7,
        )
    return build()


_SETTINGS = _build_settings()


def _refused(state: DmState) -> list[Event]:
    """Events the reference refuses here, which an IUT must refuse too: starting without
    enough free memory, a guest answering a request that is not in flight."""
    out: list[Event] = []
    for vm in state.vms:
        if not vm.running and state.free_mib < vm.settings.startup_mib:
            out.append(Start(vm.name))
        if vm.running and vm.txn == TxnKind.NONE:
            out.append(UnballoonResponse(vm.name))
    return out


@attrs.frozen
class EnabledEvents:
    """The default source: small hosts, 1-3 VMs, events from ``enabled_events``.

    ``adversarial`` adds misbehaving guests (oversized answers, lying reports);
    ``admin`` adds create/configure/delete of VMs.
    """

    max_steps: int = 60
    adversarial: bool = True
    admin: bool = True
    max_vms: int = 3

    def initial(self, draw: Draw) -> DmState:
        physical = draw(st.sampled_from((4096, 8192, 16384)))
        reserve = draw(st.sampled_from((1024, 512)))
        count = draw(st.sampled_from((2, 1, 3)[: self.max_vms]))
        vms = tuple((f"vm{i}", draw(_SETTINGS)) for i in range(count))
        return initial_state(HostSettings(physical, reserve), vms)

    def next_event(self, draw: Draw, state: DmState, index: int) -> Event | None:
        if index >= self.max_steps or (index > 0 and draw(st.integers(0, 39)) == 0):
            return None
        choice = draw(st.integers(0, 9))
        if choice <= 2:
            return BalancerTick()
        running = [vm for vm in state.vms if vm.running]
        if choice <= 6:
            # Progress: admins start VMs, guests and timers do the honest next thing.
            # (A start without enough free memory is refused: the IUT must refuse it too.)
            progress: list[Event] = [Start(vm.name) for vm in state.vms if not vm.running]
            progress += [m for m in map(compute_honest_message, running) if m is not None]
            if progress:
                return _pick(draw, progress)
        if choice <= 8 and running:
            vm = _pick(draw, running)
            return Demand(vm.name, _pick(draw, _DEMANDS))
        options = enabled_events(state, _DEMANDS, self.adversarial, plan=lambda s: ())
        options.append(BalancerTick())
        if self.adversarial:
            options += _refused(state)
        if self.admin:
            options += self._admin(draw, state)
        return _pick(draw, options)

    def _admin(self, draw: Draw, state: DmState) -> list[Event]:
        out: list[Event] = []
        if len(state.vms) < self.max_vms + 1 and draw(st.integers(0, 3)) == 3:
            names = {vm.name for vm in state.vms}
            name = next(f"vm{i}" for i in range(len(names) + 1) if f"vm{i}" not in names)
            out.append(Create(name, draw(_SETTINGS)))
        for vm in state.vms:
            if not vm.running and draw(st.integers(0, 3)) == 3:
                out += [Configure(vm.name, draw(_SETTINGS)), Delete(vm.name)]
        return out
