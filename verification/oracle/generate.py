"""Event sequences for the oracle, drawn choice by choice so Hypothesis can shrink them.

An :class:`EventSource` draws an initial state, then the next event from the *current*
harness state (the IUT's own state in refinement mode, since its policy may differ). The
default, :class:`EnabledEvents`, is built on ``reference.environment.enabled_events``:
besides those it offers every kind of guest answer with a fair probability (a guest with a
transaction in flight answers often, with any of ``response_variants``: the newcomer's
partial hot-add bug went unseen when those were one choice among dozens), and events the
reference refuses, of every guard family (``refused_events``: the IUT must refuse them too,
Rule P3). Swap in another source (e.g. the stateful machine's strategies) by passing any
object with the same two methods.

Choices are ordered so that smaller draws give simpler examples: ticks and honest guest
messages before arbitrary ones, small hosts, few VMs. The exception is the stop draw, which
stops on its *largest* value: Hypothesis draws 0 very often while generating, which cut most
examples short; shorter examples come from ``search.shrink_case`` deleting events instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs
from hypothesis import strategies as st

from dynmem.model.vocabulary import VERSION_WIN10, Channel, HostProfile, Power, TxnKind
from dynmem.reference.conventions import GUEST_OS_NAMES
from dynmem.reference.environment import (
    PROFILE_GUEST_OS,
    GuestProfile,
    compute_aligned_reports,
    compute_honest_message,
    compute_honest_report,
    compute_next_word,
    enabled_events,
    enabled_vm_events,
)
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    CapabilitiesReport,
    ChannelReset,
    Configure,
    Create,
    Delete,
    Demand,
    Event,
    GuestRestart,
    HotAddRequest,
    HotAddResponse,
    MigrateIn,
    MigrateOut,
    QuietPeriodEnd,
    Restore,
    Save,
    Start,
    StartAbort,
    StartAdmit,
    StatusReport,
    Stop,
    StuckTimeout,
    UnballoonRequest,
    UnballoonResponse,
    VersionRequest,
)
from dynmem.reference.policy import compute_plan
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, Vm, initial_state
from dynmem.reference.step import step
from dynmem.verification.properties.cells import (
    AFTER_TRANSIENT,
    Cell,
    SituationTracker,
    get_cell,
    is_three_short,
)

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


_GHOST = "ghost"  # a VM name the generator never creates


# The per-state menus below are pure functions of the state, memoised per process: an
# example's states come again and again (Hypothesis's mutations and shrinks replay the
# prefixes of earlier examples; 5,260 of 6,504 menus of a 60-example run were asked before,
# measured 2026-12-04). They return tuples and mappings the callers only read.
_MENUS = 4096


@functools.lru_cache(maxsize=_MENUS)
def refused_events(state: DmState) -> tuple[Event, ...]:
    """Events the reference refuses here, which an IUT must refuse too (Rule P3), one per
    guard family: a VM that does not exist; admin events against the VM's power state
    (start without free memory or twice, configure/delete/create of a VM that runs or
    exists); guest messages from an off VM, on the wrong channel or answering a request
    not in flight; DM requests (harness-sent events, Rule P3) that break a guard. Only the
    events ``step`` really refuses are kept."""
    out: list[Event] = [Start(_GHOST), Stop(_GHOST), Delete(_GHOST),
                        StatusReport(_GHOST, 1000), BalloonRequest(_GHOST, 2)]
    for vm in state.vms:
        name = vm.name
        out += [Start(name), Stop(name), Create(name, vm.settings)]
        out += [Configure(name, vm.settings), Delete(name)] if vm.running else []
        out += [StatusReport(name, 1000), VersionRequest(name, VERSION_WIN10),
                CapabilitiesReport(name), QuietPeriodEnd(name), BalloonResponse(name, 2),
                HotAddResponse(name, 2), UnballoonResponse(name)]
        out += [BalloonRequest(name, 3), HotAddRequest(name, vm.settings.maximum_mib + 2),
                UnballoonRequest(name, vm.ballooned_mib + 2)]
        if vm.txn != TxnKind.NONE:
            out.append(BalloonRequest(name, 2))  # a second transaction (R-REQUEST-2)
    return tuple(event for event in out if not step(state, event).accepted)


def allowed_requests(state: DmState) -> list[Event]:
    """DM request events the guards allow here (Rule P3: the IUT must accept them), one of
    each kind per VM that can take it: balloon 2 MiB, unballoon up to 2 MiB, hot-add 2 MiB.
    An IUT that is too strict (refuses a valid request, e.g. after a transient hot-add
    failure) is caught only by these."""
    out: list[Event] = []
    for vm in state.vms:
        out += [BalloonRequest(vm.name, 2), HotAddRequest(vm.name, 2)]
        if vm.ballooned_mib >= 2:
            out.append(UnballoonRequest(vm.name, 2))
    return [event for event in out if step(state, event).accepted]


def early_reports(state: DmState) -> list[Event]:
    """Status reports of guests whose channel is not READY yet (CAPS or quiet period): the
    host keeps them (R-STATUS), and a policy must still not send before READY."""
    return [StatusReport(vm.name, compute_honest_report(vm)) for vm in state.vms
            if vm.running and vm.channel in (Channel.CAPS, Channel.QUIET)]


def crowd_events(state: DmState) -> list[Event]:
    """Events that make every connected VM short at once: its demand far above what it has,
    then its report. With three VMs that is the contention a policy must order by weight."""
    out: list[Event] = []
    for vm in state.vms:
        if not vm.running or vm.channel != Channel.READY:
            continue
        if vm.demand_mib <= vm.visible_mib:
            out.append(Demand(vm.name, vm.visible_mib + 4096))
        elif not vm.has_report or vm.report_mib != compute_honest_report(vm):
            out.append(StatusReport(vm.name, compute_honest_report(vm)))
    return out


_LIFECYCLE_KINDS = (Start, StartAdmit, StartAbort, GuestRestart, ChannelReset, StuckTimeout,
                    Save, Restore, MigrateOut, MigrateIn)


def lifecycle_events(state: DmState) -> list[Event]:
    """The lifecycle events (specs/lifecycle.md) the reference accepts here: starts (one that
    does not fit waits for reclaim), admits and aborts of waiting starts, restarts, channel
    resets, the stuck timer on a transaction in flight, save and restore, migration out and
    in (at startup and, with DM, at maximum)."""
    return [event for vm in state.vms
            for event in enabled_vm_events(vm, state.free_mib, lifecycle=True)
            if isinstance(event, _LIFECYCLE_KINDS)]


def refused_lifecycle_events(state: DmState) -> list[Event]:
    """Lifecycle events the reference refuses here, one per guard family, which an IUT must
    refuse too (Rule P3): a restore of a VM that is not saved or whose image does not fit in
    free memory, an admit of a start that does not wait or whose startup is not free, an
    abort of a start that does not wait, a save, restart, reset or migration out of a VM
    that does not run, a reset without a channel or whose ballooned pages do not fit, the
    stuck timer without a transaction, an arrival of a VM that exists elsewhere here or
    whose memory is odd, outside startup..maximum or not free."""
    out: list[Event] = [Save(_GHOST), Restore(_GHOST), GuestRestart(_GHOST),
                        MigrateIn(_GHOST, 512)]
    for vm in state.vms:
        name = vm.name
        out += [Restore(name), StartAdmit(name), StartAbort(name), Save(name),
                GuestRestart(name), ChannelReset(name), StuckTimeout(name), MigrateOut(name),
                MigrateIn(name, vm.settings.startup_mib),
                MigrateIn(name, vm.settings.startup_mib + 1),
                MigrateIn(name, vm.settings.maximum_mib + 2),
                MigrateIn(name, state.free_mib + 2 - state.free_mib % 2)]
    return [event for event in out if not step(state, event).accepted]


@functools.lru_cache(maxsize=_MENUS)
def cell_menu(state: DmState, adversarial: bool = True) -> Mapping[Cell, tuple[Event, ...]]:
    """The events offered here by their coverage cell (``properties.cells``): every answer
    variant, stop, allowed and refused DM request event, early report, refused admin or
    guest event, create, tick and demand. Drawing a cell first, then an event in it, makes
    each cell as likely as any other: drawn from the flat list, a cell with one event among
    dozens (a refused request on a CAPS channel, a stop while an unballoon is in flight) is
    met in a few examples of a thousand."""
    fresh = next(f"vm{i}" for i in range(len(state.vms) + 1)
                 if state.get_vm(f"vm{i}") is None)
    events: list[Event] = [BalancerTick(), *refused_events(state), *allowed_requests(state),
                           *early_reports(state)]
    events += enabled_events(state, _DEMANDS[:2], adversarial, plan=lambda s: ())
    for vm in state.vms:
        events += response_variants(vm, adversarial)
        if not vm.running:
            events += [Configure(vm.name, vm.settings), Delete(vm.name)]
    if state.vms:
        events.append(Create(fresh, state.vms[0].settings))
    groups: dict[Cell, list[Event]] = {}
    for event in events:
        result = step(state, event)
        cell = get_cell(state, event, result.accepted, result.sent)
        groups.setdefault(cell, []).append(event)
    return {cell: tuple(events) for cell, events in groups.items()}


THREE_SHORT = "three managed VMs short at once"  # a key of properties.cells.SITUATIONS
_DEPTH = {"NEGOTIATING": 1, "CAPS": 2, "QUIET": 3, "FAILED": 4, "READY": 4}


def get_depth(cell: Cell) -> int:
    """How far into a lifecycle ``cell`` lies: off, absent or host 0, then the channel's
    stage (READY 4), plus 1 with a transaction in flight."""
    _kind, channel, txn, _answer = cell
    return _DEPTH.get(channel, 0) + int(txn not in ("-", "NONE"))


# Hypothesis draws index 0 most: the rare families first, "none" last.
FOCUSES = ("answers", "stops", "requests", "early", "crowd", "none")


def response_variants(vm: Vm, adversarial: bool = True) -> list[Event]:
    """Every kind of answer the guest of ``vm`` may give to its transaction in flight.

    Hot-add (R-HOT-ADD-RESPONSE): full, partial, permanent failure (0 MiB, success),
    transient failure (success False) and, if ``adversarial``, oversized. Balloon
    (R-BALLOON-RESPONSE): the honest answer, a multi-part one (2 MiB, more pages), an empty
    final one ("at floor"), if ``adversarial`` oversized, and one that completes the request
    but still says more pages (the transaction ends all the same). Unballoon: the one answer.
    Empty when nothing is in flight. Every listed event is accepted by the reference.
    """
    name, asked = vm.name, vm.txn_mib
    out: list[Event] = []
    if vm.txn == TxnKind.HOT_ADD:
        out += [HotAddResponse(name, asked, True)]
        if asked > 2:
            half = asked // 2
            out.append(HotAddResponse(name, half - half % 2, True))  # partial
        out += [HotAddResponse(name, 0, True), HotAddResponse(name, 0, False)]
        if adversarial:
            out.append(HotAddResponse(name, 2 * asked + 2, True))
    elif vm.txn == TxnKind.BALLOON:
        out.append(compute_honest_message(vm) or BalloonResponse(name, 0))
        outstanding = vm.txn_mib - vm.txn_done_mib
        if outstanding > 2:
            out.append(BalloonResponse(name, 2, more_pages=True))  # one part of several
        out.append(BalloonResponse(name, 0, more_pages=False))  # empty final: "at floor"
        if adversarial:
            out.append(BalloonResponse(name, 2 * asked + 2, more_pages=False))
        if outstanding > 0:  # everything asked, yet "more pages" (the request still ends)
            out.append(BalloonResponse(name, outstanding, more_pages=True))
    elif vm.txn == TxnKind.UNBALLOON:
        out.append(UnballoonResponse(name))
    return out


def get_swing(vm: Vm) -> int:
    """A demand that moves ``vm``'s target across what it has: above its visible memory
    while it is small or has ballooned pages (a grant: unballoon, then hot-add), none once
    it has grown (a balloon). Fixed demand values rarely chain grow, shrink and grow again
    on one VM, the path where a policy must wait for an unballoon before it hot-adds."""
    if vm.ballooned_mib > 0 or vm.assigned_mib <= vm.settings.startup_mib:
        return vm.visible_mib + 512
    return 0


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
    # One example in ``lifecycles`` (0: none) is an honest lifecycle (see ``for_example``).
    lifecycles: int = 0
    varied_answers: bool = True  # guests also give partial, failed and empty answers
    swings: bool = False  # half the demand changes are ``get_swing``
    # Swarm testing: each example draws a focus from ``FOCUSES`` that makes one rare family
    # common (every kind of answer, stops mid-transaction, early reports, allowed DM request
    # events, several VMs short at once).
    swarm: bool = False
    focus: str = "none"
    # The lifecycle of specs/lifecycle.md (``dynmem oracle --lifecycle``): about one event in
    # ``vm_lifecycle`` (0: none, and nothing is drawn) is a lifecycle event, accepted or,
    # when ``adversarial``, one the guards refuse in a fifth of them.
    vm_lifecycle: int = 0
    # Linux guests (``dynmem oracle --linux``): each VM of the initial fleet runs a Windows or
    # a Linux guest (``guest_os``, drawn); off, nothing more is drawn.
    linux_guests: bool = False
    # The cells a "cells" example has drawn so far (its own: derived from its draws alone,
    # as Hypothesis requires); None in other examples.
    met: set[Cell] | None = attrs.field(default=None, eq=False)
    # What a "cells" example has met of the situations of issue 12 (its own draws again).
    seen: SituationTracker | None = attrs.field(default=None, eq=False)
    # Every host's profile: the IUT's (its hello); not drawn, so the examples of an IUT
    # that names none are those of before.
    host_profile: HostProfile = HostProfile.QEMU
    # Hot-add alignments a guest may advertise besides 2 MiB (R-HOT-ADD-ALIGN), for an IUT
    # whose hello says it follows them (Rule P1c); empty: nothing is drawn.
    alignments: tuple[int, ...] = ()
    # Guest profiles (``dynmem oracle --hibernate``): each VM of the initial fleet runs a
    # Windows, a Linux or a hibernating Linux guest (specs/lifecycle.md §1), drawn; a
    # hibernating guest reports balloon without hot-add and never answers a balloon or an
    # unballoon, and the host's watchdog (``StuckTimeout``) is its honest next step. Off,
    # nothing more is drawn. ``profiles`` are the example's own (filled by ``initial``).
    hibernate: bool = False
    profiles: dict[str, GuestProfile] | None = attrs.field(default=None, eq=False)

    def _profile(self, vm: Vm) -> GuestProfile | None:
        return self.profiles.get(vm.name) if self.profiles else None

    def _word(self, vm: Vm, free_mib: int | None = None) -> Event | None:
        """``vm``'s honest next step as its guest's profile says (``compute_next_word``)."""
        return compute_next_word(vm, self._profile(vm), free_mib)

    def _is_muted(self, state: DmState, event: Event) -> bool:
        """Whether ``event`` answers a balloon or an unballoon of a hibernating guest, which
        never answers them (every menu of answers, the cells' included)."""
        if not self.profiles or not isinstance(event, (BalloonResponse, UnballoonResponse)):
            return False
        vm = state.get_vm(event.vm)
        return vm is not None and self._profile(vm) == GuestProfile.LINUX_HIBERNATE

    def _answers(self, vm: Vm) -> list[Event]:
        """``response_variants`` of ``vm``, none from a guest that never answers."""
        if self._profile(vm) == GuestProfile.LINUX_HIBERNATE and vm.txn != TxnKind.HOT_ADD:
            return []
        return response_variants(vm, self.adversarial)

    def for_example(self, draw: Draw) -> EnabledEvents:
        """``_tune``; with ``hibernate``, with the example's own (empty) profiles."""
        tuned = self._tune(draw)
        return attrs.evolve(tuned, profiles={}) if self.hibernate else tuned

    def _tune(self, draw: Draw) -> EnabledEvents:
        """This source, or in one example of ``lifecycles`` an honest lifecycle (swarm
        testing): guests answer only honestly, nothing is refused on purpose, no admin
        events, and demand swings across what a VM has. Deep paths (grow, shrink, grow
        again on one VM) are then common there instead of being cut short by a failed
        hot-add or a reconfigured VM. Without ``lifecycles`` nothing is drawn, so the
        examples are exactly those of the plain source."""
        if self.lifecycles and draw(st.integers(0, self.lifecycles - 1)) == 0:
            return attrs.evolve(self, varied_answers=False, admin=False, adversarial=False,
                                swings=True)
        if self.swarm:
            # Three examples in ten go to the cells (a wide draw: Hypothesis spreads it
            # evenly, where a focus index is drawn very unevenly).
            focus = "cells" if draw(st.integers(0, 9)) < 3 else _pick(draw, FOCUSES)
            cells = focus == "cells"
            return attrs.evolve(self, focus=focus, met=set() if cells else None,
                                seen=SituationTracker() if cells else None)
        return self

    def initial(self, draw: Draw) -> DmState:
        physical = draw(st.sampled_from((4096, 8192, 16384)))
        reserve = draw(st.sampled_from((1024, 512)))
        count = draw(st.sampled_from((2, 1, 3)[: self.max_vms]))
        if self.focus in ("crowd", "cells"):
            count = self.max_vms  # contention needs every VM there is
        vms = tuple((f"vm{i}", draw(_SETTINGS)) for i in range(count))
        if self.linux_guests:
            vms = tuple((name, attrs.evolve(settings, guest_os=_pick(draw, GUEST_OS_NAMES)))
                        for name, settings in vms)
        if self.profiles is not None:
            drawn = [(name, settings, _pick(draw, _GUEST_PROFILES)) for name, settings in vms]
            self.profiles.clear()
            self.profiles.update((name, p) for name, _, p in drawn)
            vms = tuple((name, attrs.evolve(settings, guest_os=PROFILE_GUEST_OS[p]))
                        for name, settings, p in drawn)
        return initial_state(HostSettings(physical, reserve, self.host_profile), vms)

    def next_event(self, draw: Draw, state: DmState, index: int) -> Event | None:
        event = self._next_event(draw, state, index)
        if event is not None and self._is_muted(state, event):
            event = BalancerTick()  # a hibernating guest's answer is never sent
        if self.alignments and event is not None:
            # a guest's memory block size, drawn with each report that advertises hot-add
            event = _pick(draw, [event, *compute_aligned_reports([event], self.alignments)])
        if event is not None and self.seen is not None:
            self.seen.see(state, event, step(state, event).accepted)
        return event

    def _next_event(self, draw: Draw, state: DmState, index: int) -> Event | None:
        if index >= self.max_steps * (4 if self.focus == "cells" else 1):
            return None
        # A "cells" example runs four times the length: its cells lie deep in lifecycles.
        if index > 0 and self.focus != "cells" and draw(st.integers(0, 39)) == 39:
            return None
        running = [vm for vm in state.vms if vm.running]
        if self.vm_lifecycle and draw(st.integers(0, self.vm_lifecycle - 1)) == 0:
            event = self._lifecycle(draw, state)
            if event is not None:
                return event
        focused = self._focused(draw, state, running)
        if focused is not None:
            return focused
        # A guest with a transaction in flight answers often, with every kind of answer
        # (R-HOT-ADD-RESPONSE, R-BALLOON-RESPONSE): a bug in a rare branch (a partial
        # hot-add, an empty balloon answer) is then reached in a few hundred examples.
        # Unballoons have one answer and are left to the honest progress below, so that
        # ticks still fall while they are in flight (a hot-add planned then is refused).
        busy = [vm for vm in running if vm.txn in (TxnKind.BALLOON, TxnKind.HOT_ADD)]
        if self.profiles:
            busy = [vm for vm in busy if self._answers(vm)]
        if busy and self.varied_answers and draw(st.integers(0, 2)) == 2:
            return _pick(draw, self._answers(_pick(draw, busy)))
        # Without misbehaviour the last choices (refused events, any enabled event) are not
        # drawn: every step moves a lifecycle on.
        choice = draw(st.integers(0, 11 if self.adversarial else 8))
        if choice >= 10 and self.adversarial:
            # Half of these are starts that do not fit (they wait for reclaim, R-START, and
            # an IUT that starts them at once overcommits); the rest is spread over every
            # other guard.
            unfit = [Start(vm.name) for vm in state.vms
                     if not vm.running and vm.settings.startup_mib > state.free_mib]
            if unfit and draw(st.integers(0, 1)) == 0:
                return _pick(draw, unfit)
            return _pick(draw, refused_events(state))  # never empty: a ghost VM is refused
        if choice <= 2:
            return BalancerTick()
        if choice <= 6:
            # Progress: admins start VMs that fit, guests and timers do the honest next
            # thing (starts that do not fit are among the refused events above).
            progress: list[Event] = [Start(vm.name) for vm in state.vms
                                     if not vm.running
                                     and vm.settings.startup_mib <= state.free_mib]
            progress += [m for m in map(self._word, running) if m is not None]
            # a start that did not fit waits for reclaim: the host admits or fails it
            progress += [m for vm in state.vms if vm.power == Power.STARTING
                         for m in (compute_honest_message(vm, free_mib=state.free_mib),)
                         if m is not None]
            if progress:
                return self._vary(draw, state, _pick(draw, progress))
        if choice <= 8 and running:
            vm = _pick(draw, running)
            if self.swings and draw(st.integers(0, 1)) == 1:
                return Demand(vm.name, get_swing(vm))
            return Demand(vm.name, _pick(draw, _DEMANDS))
        options = enabled_events(state, _DEMANDS, self.adversarial, plan=lambda s: (),
                                 profiles=self.profiles)
        options.append(BalancerTick())
        if self.admin:
            options += self._admin(draw, state)
        return _pick(draw, options)

    def _lifecycle(self, draw: Draw, state: DmState) -> Event | None:
        """A lifecycle event: half the time, while a VM is saved or a start waits, its
        restore or admit whether its memory is free or not (the guards where an IUT
        overcommits), or the stuck timer of a transaction in flight; else one the reference
        accepts, or (adversarial, one in five) one it refuses."""
        guarded: list[Event] = [Restore(vm.name) if vm.power == Power.SAVED
                                else StartAdmit(vm.name) for vm in state.vms
                                if vm.power in (Power.SAVED, Power.STARTING)]
        guarded += [StuckTimeout(vm.name) for vm in state.vms  # the host's stuck timer
                    if vm.running and vm.txn != TxnKind.NONE and not vm.stuck]
        if guarded and draw(st.integers(0, 1)) == 0:
            return _pick(draw, guarded)
        if self.adversarial and draw(st.integers(0, 4)) == 4:
            options = refused_lifecycle_events(state)
        else:
            options = lifecycle_events(state)
        return _pick(draw, options) if options else None

    def _focused(self, draw: Draw, state: DmState, running: list[Vm]) -> Event | None:
        """The swarm focus's event, drawn first and often (Hypothesis favours 0): any answer
        to a transaction in flight, a stop of a VM with a transaction in flight, a valid DM
        request event, an early report, a crowd of short VMs, or any cell of
        ``cell_menu``, each as likely as the others."""
        options: list[Event]
        if self.focus == "answers":
            options = [e for vm in running for e in self._answers(vm)]
        elif self.focus == "stops":
            options = [Stop(vm.name) for vm in running if vm.txn != TxnKind.NONE]
        elif self.focus == "requests":
            options = allowed_requests(state)
        elif self.focus == "early":
            options = early_reports(state)
        elif self.focus == "crowd":
            options = crowd_events(state)
        elif self.focus == "cells":
            return self._new_cell(draw, state)
        else:
            return None
        if not options or draw(st.integers(0, 1)) != 0:
            return None
        return _pick(draw, options)

    def _new_cell(self, draw: Draw, state: DmState) -> Event | None:
        """Half the time an event of a cell this example has not drawn yet, of the deepest
        such cells here (``get_depth``: a transaction in flight on a READY channel first),
        so that refusals of off or absent VMs do not use up the example; while no
        transaction is in flight, often a tick that opens one. None when every cell here was
        drawn: the example's other choices then move its lifecycles on."""
        assert self.met is not None and self.seen is not None
        situation = self._situation(draw, state, self.seen)
        if situation is not None:
            return situation
        fresh = {cell: events for cell, events in cell_menu(state, self.adversarial).items()
                 if cell not in self.met}
        if not fresh or draw(st.integers(0, 1)) == 1:
            return None
        deepest = max(map(get_depth, fresh))
        if deepest < 5 and compute_plan(state) and draw(st.integers(0, 1)) == 0:
            return BalancerTick()  # opens transactions: the deepest cells lie behind them
        cell = _pick(draw, sorted(c for c in fresh if get_depth(c) == deepest))
        self.met.add(cell)
        return _pick(draw, fresh[cell])

    def _situation(self, draw: Draw, state: DmState, seen: SituationTracker) -> Event | None:
        """Often the next event toward a situation of issue 12 the example has not met and
        the cells do not name: a valid hot-add request after a transient failure, then
        three short VMs at a tick (a crowd of demands and reports first)."""
        if AFTER_TRANSIENT not in seen.hit:
            retry = [e for e in (HotAddRequest(n, 2) for n in sorted(seen.failed))
                     if step(state, e).accepted]
            if retry and draw(st.integers(0, 1)) == 0:
                return retry[0]
        if THREE_SHORT not in seen.hit and len(state.vms) >= 3:
            if is_three_short(state, BalancerTick(), True):
                return BalancerTick()
            # Connect every VM (start, negotiate), then crowd them: all short at once.
            ahead = [e for vm in state.vms for e in
                     ([Start(vm.name)] if vm.power == Power.OFF
                      and vm.settings.startup_mib <= state.free_mib
                      else [compute_honest_message(vm)] if vm.running
                      and vm.channel != Channel.READY else []) if e is not None]
            crowd = ahead or crowd_events(state)
            if crowd and draw(st.integers(0, 1)) == 0:
                return _pick(draw, crowd)
        return None

    def _vary(self, draw: Draw, state: DmState, event: Event) -> Event:
        """A guest's answer to its transaction: honest half the time, else any variant, so
        that partial, failed, empty and oversized answers are all drawn regularly."""
        if not self.varied_answers or not isinstance(event, (BalloonResponse, HotAddResponse)):
            return event
        vm = state.get_vm(event.vm)
        if vm is None or draw(st.integers(0, 1)) == 0:
            return event
        return _pick(draw, self._answers(vm) or [event])

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


_GUEST_PROFILES = tuple(GuestProfile)  # windows, linux, linux_hibernate

LIFECYCLE_SHARE = 4  # with --lifecycle, one event in about this many is a lifecycle event


# The alignments the oracle's guests advertise to an IUT that follows them (Rule P1c): a
# block the small VMs can add (4 MiB) and Linux's typical memory block (128 MiB).
ORACLE_ALIGNMENTS = (4, 128)


def get_default_source(kind: str, max_steps: int = 60, lifecycle: bool = False,
                       linux: bool = False,
                       host_profile: HostProfile = HostProfile.QEMU,
                       alignments: tuple[int, ...] = (),
                       hibernate: bool = False) -> EnabledEvents:
    """The source ``dynmem oracle`` uses for an IUT of ``kind``. A policy IUT is judged only
    on its plans, so what finds its bugs is reaching many planning situations: one example
    in three is an honest lifecycle. Measured over seeds 1-20 on
    examples/buggy_iuts/hot_add_during_unballoon.py at 100, 200 and 400 examples: caught 3
    and 7 of 20 times, and 6 of 10 at 400, without lifecycles; 12, 17 and 19 of 20 with.
    The other policy bug (ignores_maximum.py): 20 of 20 either way. A system IUT keeps the plain
    source: its bugs are in handling guest answers and refused events, which honest
    lifecycles draw less (a partial hot-add leak was caught 14 times in 20 instead of 16
    with one example in six honest). Both use swarm testing (``FOCUSES``): each example
    makes one rare family common, so stops mid-transaction, early reports and valid DM
    request events all occur in every run of 100 examples (the cells of issue 12).
    ``lifecycle`` (``dynmem oracle --lifecycle``) adds the events of specs/lifecycle.md,
    about one event in four (``LIFECYCLE_SHARE``); without it the examples are exactly
    those of before (nothing more is drawn). ``linux`` (``dynmem oracle --linux``) draws each
    starting VM's guest, Windows or Linux (specs/protocol.md §3.2). Every host has
    ``host_profile`` (the IUT's). ``alignments`` (an IUT whose hello says it follows the
    guest's hot-add alignment, Rule P1c) are drawn with every capabilities report that
    advertises hot-add, beside 2 MiB. ``hibernate`` (``dynmem oracle --hibernate``)
    draws each starting VM's guest profile, a hibernating guest among them
    (specs/lifecycle.md §1), and implies the lifecycle (only the watchdog ends the wait
    on such a guest)."""
    return EnabledEvents(max_steps=max_steps, lifecycles=3 if kind == "policy" else 0,
                         swarm=True,
                         vm_lifecycle=LIFECYCLE_SHARE if lifecycle or hibernate else 0,
                         linux_guests=linux, host_profile=host_profile,
                         alignments=alignments, hibernate=hibernate)

