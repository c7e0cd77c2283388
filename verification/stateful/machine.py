"""Hypothesis stateful tests: a ``RuleBasedStateMachine`` that drives the reference.

One rule per event kind. Admin rules take VM names from the ``vms`` bundle (created,
reconfigured, started, stopped, deleted); guest and host message rules draw whole events from
the current state (``verification/stateful/strategies.py``) and are enabled by the reference's own
guards: ``reference.environment.enabled_events`` for guest messages and the balancer tick,
``reference.step.check_request`` for explicit DM requests. Misbehaving guests send
duplicate, unsolicited, oversized or malformed answers, or fall silent; admins stop VMs in the
middle of a transaction.

After every step, ``every_step_checks`` checks R-REJECT (a rejected event leaves the state
unchanged), refinement (each accepted step against the model's transition,
``dynmem.model.concrete_steps.is_allowed``) and
every invariant of the registry through its concrete form
(``verification.traces.trace.check_transition``, cached per VM value as in the explorer). The rule
``deliver_until_settled`` checks the progress properties (PROG-*, specs/invariants.md §3)
from the current state.

A failing run prints as a runnable program (Hypothesis), and the final, shrunk failure is
written as an ITF trace and a text trace (``verification/traces/itf.py``, ``text.py``); their
paths are in the failure's notes.

Profiles: ``ci`` (fast, derandomized, no database) and ``thorough``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import attrs
from hypothesis import HealthCheck, Phase, event, note, settings, target
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.invariants import INVARIANTS, Invariant, Violation
from dynmem.model.vocabulary import (
    DEFAULT_HOT_ADD_ALIGN_MIB,
    MEMORY_UNIT_MIB,
    Channel,
    HostProfile,
    Power,
    TxnKind,
)
from dynmem.reference.conventions import GUEST_OS_LINUX
from dynmem.reference.environment import (
    STUCK_AFTER_TICKS,
    GuestProfile,
    compute_honest_message,
    compute_next_word,
    enabled_events,
)
from dynmem.reference.events import (
    LIFECYCLE_EVENTS,
    BalancerTick,
    BalloonRequest,
    Configure,
    Create,
    Delete,
    DmRequest,
    Event,
    HotAddRequest,
    MigrateIn,
    Restore,
    Start,
    StartAdmit,
    Stop,
    UnballoonRequest,
)
from dynmem.reference.policy import compute_plan, is_balanced
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import DmState, initial_state
from dynmem.reference.step import Plan, Step, StepResult, check_request, step
from dynmem.verification.atomic import write_atomic
from dynmem.verification.codec import event_to_json
from dynmem.verification.properties.coverage import Coverage, get_pairs
from dynmem.verification.properties.invariants import InvariantCache
from dynmem.verification.properties.progress import (
    check_fixed_point,
    check_squeeze_order,
    describe_unsettled,
    settle_fairly,
)
from dynmem.verification.stateful import strategies as dms
from dynmem.verification.traces import render_text
from dynmem.verification.traces.itf import write_itf
from dynmem.verification.traces.trace import Finding, Trace, record

MAX_VMS = 3
_EARLY = (Channel.NEGOTIATING, Channel.CAPS, Channel.QUIET)
SETTLE_STEPS = 2_000

# ci: no target phase (hill climbing on coverage costs more than it finds in a short run).
settings.register_profile(
    "ci", max_examples=150, stateful_step_count=100, derandomize=True, database=None,
    deadline=None, print_blob=False,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large])
settings.register_profile(
    "thorough", max_examples=3_000, stateful_step_count=120, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large])


def get_settings(profile: str, **overrides: Any) -> settings:
    """The registered ``profile`` (``ci`` or ``thorough``) with ``overrides``."""
    return settings(settings.get_profile(profile), **overrides)


def _wire(event: Event) -> str:
    """``event`` as its JSON line (specs/formats.md): how failures name events to people."""
    return json.dumps(event_to_json(event))

class StatefulFailure(AssertionError):
    """A stateful run broke an invariant, a progress property or refinement; ``trace`` is
    the checked trace of the run up to the failure."""

    def __init__(self, message: str, trace: Trace) -> None:
        super().__init__(message)
        self.trace = trace


class DmMachine(RuleBasedStateMachine):
    """Drives the reference (or a planted bug: ``step_fn``/``plan``) through lifecycles."""

    step_fn: ClassVar[Step] = staticmethod(step)
    plan: ClassVar[Plan] = staticmethod(compute_plan)
    label: ClassVar[str] = "reference"
    # The profile of every host drawn (not drawn itself: the draws, and so the examples a
    # seed gives, stay those of before); ``dynmem fuzz --host-profile`` sets it.
    host_profile: ClassVar[HostProfile] = HostProfile.QEMU
    # The host's watchdog in fair runs (``settle``'s ``stuck_after``): None, no watchdog; the
    # HibernatingMachine's guests include one that never answers (specs/lifecycle.md §1).
    watchdog: ClassVar[int | None] = None
    check_refinement: ClassVar[bool] = True
    failure_dir: ClassVar[Path | None] = None
    registry: ClassVar[tuple[Invariant, ...]] = INVARIANTS
    coverage: ClassVar[Coverage] = Coverage()
    last_failure: ClassVar[Trace | None] = None
    first_failure_seconds: ClassVar[float | None] = None
    first_failure_example: ClassVar[int | None] = None
    started: ClassVar[float] = 0.0
    steps_taken: ClassVar[int] = 0
    examples_started: ClassVar[int] = 0

    vms = Bundle("vms")

    def __init__(self) -> None:
        super().__init__()
        type(self).examples_started += 1
        self.initial: DmState = DmState(HostSettings(1024, 0), 1024)
        self.state: DmState = self.initial
        self.results: list[tuple[Event, StepResult]] = []
        self.checked = 0  # steps already checked by every_step_checks
        self.silent: set[str] = set()
        # Guests that say only what their profile says (HibernatingMachine); others answer.
        self.profiles: dict[str, GuestProfile] = {}
        self.pairs: set[tuple[str, str]] = set()
        self._enabled_for: DmState | None = None
        self._enabled: dict[str, list[Event]] = {}
        self.lifecycle_on = False
        self.block_sizes: tuple[int, ...] = (DEFAULT_HOT_ADD_ALIGN_MIB,)
        self._lifecycle_for: DmState | None = None
        self._lifecycle: list[Event] = []
        self.is_allowed = is_allowed if self.check_refinement else None

    # --- driving the reference ---------------------------------------------------------------

    def apply(self, ev: Event) -> StepResult:
        """Step ``ev`` with the machine's step function, record it and count coverage."""
        pre = self.state
        result = type(self).step_fn(pre, ev)
        self.results.append((ev, result))
        type(self).steps_taken += 1
        self.state = result.state
        self.coverage.record(pre, ev, result.reason, result.sent)
        if result.accepted:
            self.pairs.update(get_pairs(pre, ev, result.sent))
        if isinstance(ev, Stop | Start) and result.accepted:
            self.silent.discard(ev.vm)
        if isinstance(ev, Delete | Configure) and result.accepted and ev.vm in self.profiles:
            vm = result.state.get_vm(ev.vm)  # a profile goes with its guest's OS family
            if vm is None or vm.settings.guest_os != GUEST_OS_LINUX:
                del self.profiles[ev.vm]
        return result

    def enabled(self, kind: str) -> list[Event]:
        """The ``kind`` events the reference accepts now (guests not silent)."""
        if self._enabled_for is not self.state:
            self._enabled_for = self.state
            self._enabled = {}
            for e in enabled_events(self.state, (), False, type(self).plan,
                                    profiles=self.profiles):
                if getattr(e, "vm", None) not in self.silent:
                    self._enabled.setdefault(e.KIND, []).append(e)
        return self._enabled.get(kind, [])

    def names(self, kind: str) -> list[str]:
        return sorted({getattr(e, "vm", "") for e in self.enabled(kind)})

    def running(self) -> list[str]:
        return [vm.name for vm in self.state.vms if vm.running]

    def stopped(self) -> list[str]:
        return [vm.name for vm in self.state.vms if not vm.running]

    def fail(self, message: str, extra: tuple[Violation, ...] = ()) -> None:
        """Raise a :class:`StatefulFailure` with the run's trace (written out when final)."""
        trace = record(self.initial, self.results, source="stateful",
                       notes=(("machine", self.label),))
        if extra:
            trace = Trace(trace.initial, trace.steps, trace.findings + tuple(
                Finding(len(trace.steps), v) for v in extra), trace.source, trace.notes)
        cls = type(self)
        cls.last_failure = trace
        if cls.first_failure_seconds is None:
            cls.first_failure_seconds = time.perf_counter() - cls.started
            cls.first_failure_example = cls.examples_started
        _report(trace, type(self).failure_dir)
        raise StatefulFailure(message, trace)

    # --- admin -------------------------------------------------------------------------------

    @initialize(target=vms, host=dms.host_settings(), vms=dms.vm_fleets(),
                lifecycle=st.booleans(), blocks=dms.block_size_sets(),
                slack=dms.host_slacks())
    def host(self, host: HostSettings, vms: tuple[tuple[str, VmSettings], ...],
             lifecycle: bool = False,
             blocks: tuple[int, ...] = (DEFAULT_HOT_ADD_ALIGN_MIB,),
             slack: int | None = None) -> Any:
        """A host with a few VMs created (more may come and go through the admin rules);
        in half of the runs the lifecycle events (specs/lifecycle.md) happen too. Not in
        every run: a restart, reset, save or migration ends a transaction in flight, and with
        their nine rules always on (as the flag, read by no rule, once left them) an answer
        to a balloon was drawn 0 to 2 times in 200 examples. ``blocks`` are the memory
        block sizes its honest guests advertise (``dms.block_size_sets``); with a ``slack``
        the host is fitted to the fleet (``dms.fitted_host``)."""
        self.lifecycle_on = lifecycle
        self.block_sizes = blocks
        host = dms.fitted_host(host, [settings for _, settings in vms], slack)
        self.initial = initial_state(attrs.evolve(host, profile=type(self).host_profile))
        self.state = self.initial
        created = [name for name, settings in vms
                   if self.apply(Create(name, settings)).accepted]
        return multiple(*created)

    @precondition(lambda self: len(self.state.vms) < MAX_VMS)
    @rule(target=vms, name=dms.vm_names(), settings=dms.vm_settings())
    def create(self, name: str, settings: VmSettings) -> Any:
        accepted = self.apply(Create(name, settings)).accepted
        return name if accepted else multiple()

    @precondition(lambda self: self.stopped())
    @rule(vm=vms, settings=dms.vm_settings())
    def configure(self, vm: str, settings: VmSettings) -> None:
        self.apply(Configure(vm, settings))

    @precondition(lambda self: self.stopped())
    @rule(target=vms, vm=consumes(vms))
    def delete(self, vm: str) -> Any:
        return multiple() if self.apply(Delete(vm)).accepted else vm

    @precondition(lambda self: self.stopped())
    @rule(vm=vms)
    def start(self, vm: str) -> None:
        self.apply(Start(vm))

    def honest_messages(self) -> list[Event]:
        """The next message of each running guest that behaves (specs/protocol.md §3), as
        its profile says; for a guest that never answers, the host's watchdog
        (``compute_next_word``)."""
        return [m for vm in self.state.vms if vm.running and vm.name not in self.silent
                for m in (compute_next_word(vm, self.profiles.get(vm.name)),)
                if m is not None]

    @precondition(lambda self: self.honest_messages())
    @rule(ev=dms.listed_events(lambda m: m.honest_messages()),
          align=dms.block_sizes(lambda m: m.block_sizes))
    def honest_guest(self, ev: Event, align: int) -> None:
        """A guest that behaves takes its next step: the whole handshake up to READY, or a
        status report or an answer; then the balancer's tick if it has work. The protocol's
        path (handshake, report, tick, request, answer) is five rules among some twenty: a
        stop or a reset usually came first (in 200 ci examples, 2 ticks and 0 answers to a
        balloon were drawn, and planted bugs in the answers went uncaught). Its capabilities
        report advertises the hot-add alignment ``align`` (its memory block size,
        R-HOT-ADD-ALIGN), one of the example's ``block_sizes``."""
        self.drive_guest(ev, lambda e: dms.with_block_size(e, align))

    def drive_guest(self, ev: Event, advertise: Callable[[Event], Event]) -> None:
        """Send ``ev`` as ``advertise`` makes it, then the rest of the handshake to READY
        (each message through ``advertise``), then the balancer's tick if it has work."""
        name: str = getattr(ev, "vm", "")  # every guest message names its VM
        while self.apply(advertise(ev)).accepted:
            vm = self.state.get_vm(name)
            nxt = (compute_honest_message(vm, self.profiles.get(name))
                   if vm is not None and vm.channel in _EARLY else None)
            if nxt is None:
                break
            ev = nxt
        if self.enabled("balancer_tick"):
            self.apply(BalancerTick())

    @precondition(lambda self: self.running())
    @rule(vm=st.one_of(vms, dms.busy_first(lambda m: m.view_running())))
    def stop(self, vm: str) -> None:
        """Stop a VM (from the bundle, or one in the middle of a transaction)."""
        self.apply(Stop(vm))

    def lifecycle_events(self) -> list[Event]:
        """The lifecycle events the reference accepts now (specs/lifecycle.md), and a restore
        or an admission tried whatever free memory is (so a bug that skips its guard shows)."""
        if not self.lifecycle_on:
            return []
        if self._lifecycle_for is self.state:
            return self._lifecycle
        events = [e for e in enabled_events(self.state, (), False, type(self).plan,
                                            lifecycle=True, profiles=self.profiles)
                  if isinstance(e, LIFECYCLE_EVENTS)]
        tried: list[Event] = [Restore(vm.name) if vm.power == Power.SAVED else StartAdmit(vm.name)
                              for vm in self.state.vms
                              if vm.power in (Power.SAVED, Power.STARTING)]
        self._lifecycle_for = self.state
        self._lifecycle = events + [e for e in tried if e not in events]
        return self._lifecycle

    def lifecycle_of(self, kind: str) -> list[Event]:
        """The lifecycle events of ``kind`` to try now (``lifecycle_events``)."""
        return [e for e in self.lifecycle_events() if kind == e.KIND]

    @precondition(lambda self: self.lifecycle_of("start_admit"))
    @rule(ev=dms.listed_events(lambda m: m.lifecycle_of("start_admit")))
    def start_admit(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.lifecycle_of("start_abort"))
    @rule(ev=dms.listed_events(lambda m: m.lifecycle_of("start_abort")))
    def start_abort(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.lifecycle_of("guest_restart"))
    @rule(ev=dms.listed_events(lambda m: m.lifecycle_of("guest_restart")))
    def guest_restart(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.lifecycle_of("channel_reset"))
    @rule(ev=dms.listed_events(lambda m: m.lifecycle_of("channel_reset")))
    def channel_reset(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.lifecycle_of("stuck_timeout"))
    @rule(ev=dms.listed_events(lambda m: m.lifecycle_of("stuck_timeout")))
    def stuck_timeout(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.lifecycle_of("save"))
    @rule(ev=dms.listed_events(lambda m: m.lifecycle_of("save")))
    def save(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.lifecycle_of("restore"))
    @rule(ev=dms.listed_events(lambda m: m.lifecycle_of("restore")))
    def restore(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.lifecycle_of("migrate_out"))
    @rule(ev=dms.listed_events(lambda m: m.lifecycle_of("migrate_out")))
    def migrate_out(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.lifecycle_of("migrate_in"))
    @rule(ev=dms.listed_events(lambda m: m.lifecycle_of("migrate_in")))
    def migrate_in(self, ev: Event) -> None:
        self.apply(ev)

    # --- workload and guests -----------------------------------------------------------------

    def view(self, kind: str) -> tuple[DmState, list[str]]:
        """The state and the VMs whose guest may send a ``kind`` message now."""
        return self.state, self.names(kind)

    def view_running(self) -> tuple[DmState, list[str]]:
        return self.state, self.running()

    def view_all(self) -> tuple[DmState, list[str]]:
        return self.state, [vm.name for vm in self.state.vms]

    @precondition(lambda self: self.running())
    @rule(ev=dms.demand_events(lambda m: m.view_running()))
    def demand(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.enabled("version_request"))
    @rule(ev=dms.version_requests(lambda m: m.view("version_request")))
    def version_request(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.enabled("capabilities_report"))
    @rule(ev=dms.capabilities_reports(lambda m: m.view("capabilities_report")))
    def capabilities_report(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.enabled("quiet_period_end"))
    @rule(ev=dms.quiet_period_ends(lambda m: m.view("quiet_period_end")))
    def quiet_period_end(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.enabled("status_report"))
    @rule(ev=dms.status_reports(lambda m: m.view("status_report")))
    def status_report(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.enabled("balloon_response"))
    @rule(ev=dms.responses(lambda m: m.view("balloon_response"), TxnKind.BALLOON))
    def balloon_response(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.enabled("unballoon_response"))
    @rule(ev=dms.responses(lambda m: m.view("unballoon_response"), TxnKind.UNBALLOON))
    def unballoon_response(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.enabled("hot_add_response"))
    @rule(ev=dms.responses(lambda m: m.view("hot_add_response"), TxnKind.HOT_ADD))
    def hot_add_response(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.state.vms)
    @rule(ev=dms.unsolicited_messages(lambda m: m.view_all()))
    def unsolicited_message(self, ev: Event) -> None:
        """A duplicate, unsolicited, out-of-order or malformed guest message."""
        self.apply(ev)

    @precondition(lambda self: self.busy_guests())
    @rule(vm=vms)
    def silence_guest(self, vm: str) -> None:
        """A guest with a transaction in flight stops answering for good (until its VM
        restarts): the host must not wait on memory it never receives."""
        if vm in self.busy_guests():
            self.silent.add(vm)

    def busy_guests(self) -> list[str]:
        return [vm.name for vm in self.state.vms
                if vm.txn != TxnKind.NONE and vm.name not in self.silent]

    # --- host: explicit requests and the balancer --------------------------------------------

    def allows(self, kind: type[DmRequest]) -> bool:
        """Whether the guards (``check_request``) allow some ``kind`` request now, or a VM
        is where a guard must refuse one: a transaction in flight (R-REQUEST-2) or a channel
        still negotiating or in its quiet period (INV-ONE-TXN)."""
        return bool(self.busy_guests()) or any(
            vm.channel in _EARLY or check_request(self.state, kind(vm.name, MEMORY_UNIT_MIB))
            is None for vm in self.state.vms if vm.running)

    @precondition(lambda self: self.allows(BalloonRequest))
    @rule(ev=dms.dm_requests(lambda m: m.view_running(), BalloonRequest))
    def balloon_request(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.allows(UnballoonRequest))
    @rule(ev=dms.dm_requests(lambda m: m.view_running(), UnballoonRequest))
    def unballoon_request(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.allows(HotAddRequest))
    @rule(ev=dms.dm_requests(lambda m: m.view_running(), HotAddRequest))
    def hot_add_request(self, ev: Event) -> None:
        self.apply(ev)

    @precondition(lambda self: self.enabled("balancer_tick"))
    @rule()
    def balancer_tick(self) -> None:
        self.apply(BalancerTick())

    # --- progress ----------------------------------------------------------------------------

    @precondition(lambda self: self.running())
    @rule()
    def deliver_until_settled(self) -> None:
        """Fair delivery of honest messages and ticks (demand constant) until a fixed point:
        PROG-FIXED-POINT; then PROG-NO-STARVATION and PROG-WEIGHT-ORDER if no guest is
        silent."""
        cls = type(self)
        run = settle_fairly(self.state, SETTLE_STEPS, cls.step_fn, cls.plan, self.silent,
                            self.profiles, cls.watchdog)
        for ev, result in run.steps:
            self.results.append((ev, result))
            cls.coverage.record(self.state, ev, result.reason, result.sent)
            if result.accepted:
                self.pairs.update(get_pairs(self.state, ev, result.sent))
            cls.steps_taken += 1
            self.state = result.state
        if not run.converged:
            self.fail("PROG-FIXED-POINT: the run does not settle", (describe_unsettled(run),))
        if not self.silent:
            broken = tuple(check_fixed_point(self.state))
            if broken:
                self.fail(f"{broken[0].invariant}: {broken[0].message}", broken)

    # --- checks after every step ------------------------------------------------------------

    def new_steps(self) -> list[tuple[DmState, Event, StepResult]]:
        """The steps since the checks last ran: (state before, event, result)."""
        start, self.checked = self.checked, len(self.results)
        pre = self.initial if start == 0 else self.results[start - 1][1].state
        out = []
        for ev, result in self.results[start:]:
            out.append((pre, ev, result))
            pre = result.state
        return out

    @invariant()
    def every_step_checks(self) -> None:
        """After every rule, on each new step: R-REJECT (a rejected event returns the same
        state), refinement (the model allows every accepted step), every invariant of the
        registry (its concrete form, through ``check_transition``) and, on a tick,
        PROG-RECLAIM-ORDER (``check_squeeze_order``).

        One ``@invariant`` method, not one per registry entry: Hypothesis's fixed cost per
        invariant method was a third of the run time. Violations still name their entry.
        """
        for pre, ev, result in self.new_steps():
            if not result.accepted:
                if result.state is not pre:
                    self.fail(f"R-REJECT: {_wire(ev)} was rejected ({result.reason}) but "
                              "changed the state")
                continue
            if self.is_allowed is not None:
                why = self.is_allowed(pre, ev, result.state, result.sent)
                if why is not None:
                    self.fail(f"refinement: the model does not allow {_wire(ev)}: {why}")
            broken = _get_checker(self.registry).check_transition(pre, ev, result.state)
            if result.sent:  # a tick's plan: the order it squeezes VMs in
                broken = broken + check_squeeze_order(pre, result.sent)
            if broken:
                self.fail(f"{broken[0].invariant} ({broken[0].clause}): {broken[0].message}",
                          tuple(v for v in broken if v.invariant.startswith("PROG-")))

    def teardown(self) -> None:
        """Steer towards new coverage pairs; count event kinds for the statistics."""
        try:
            current_build_context()
        except InvalidArgument:  # a replayed program, outside Hypothesis
            return
        target(float(len(self.pairs)), label="distinct coverage pairs in the run")
        for kind in sorted({ev.KIND for ev, result in self.results if result.accepted}):
            event(f"accepted {kind}")


_CHECKERS: dict[int, tuple[tuple[Invariant, ...], InvariantCache]] = {}


def _get_checker(registry: tuple[Invariant, ...]) -> InvariantCache:
    """The explorer's cached checks for ``registry`` (the same verdicts as
    ``check_transition``, verified by test_explore.py::TestInvariantCache), shared by every
    example of a campaign: runs revisit the same VM values."""
    # Keyed by identity: hashing the registry's clauses costs more than the check saves.
    entry = _CHECKERS.get(id(registry))
    if entry is None or entry[0] is not registry:
        entry = _CHECKERS[id(registry)] = (registry, InvariantCache(registry))
    return entry[1]


def _report(trace: Trace, directory: Path | None) -> None:
    """On Hypothesis's final (shrunk) run, or outside Hypothesis (a replayed program), write
    the ITF and text traces and attach the text trace and their paths to the failure."""
    try:
        context = current_build_context()
    except InvalidArgument:  # not inside a Hypothesis run
        context = None
    if context is not None and not context.is_final:
        return
    text = render_text(trace)
    folder = directory or Path(tempfile.gettempdir()) / "dynmem-failures"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"stateful-{dict(trace.notes).get('machine', 'run')}"
    write_trace_files(trace, stem, text)
    if context is not None:
        note(text)
        note(f"trace written to {stem}.itf.json and {stem}.txt")


def write_trace_files(trace: Trace, stem: Path, text: str | None = None) -> None:
    """Write ``stem``.itf.json and ``stem``.txt atomically."""

    write_itf(trace, f"{stem}.itf.json")
    body = text if text is not None else render_text(trace)
    write_atomic(f"{stem}.txt", body)


class ReclaimSteeredMachine(DmMachine):
    """The machine with three more rules, for the thorough profile: a start or a restore
    into a full host beside a grown VM, a save of a grown VM, each then a tick; and a guest
    that behaves but advertises hot-add without balloon. Rules of their own class, so the
    ``ci`` machine's rules, and with them its derandomized runs, stay exactly as they were."""

    def starts_for_reclaim(self) -> list[Event]:
        """Starts, and restores, that must wait for reclaim while a managed VM holds memory
        above its startup (P-RECLAIM decides whom to squeeze; a restore waits for its image,
        specs/lifecycle.md §4.7)."""
        if not any(
                is_balanced(vm) and vm.assigned_mib > vm.settings.startup_mib
                for vm in self.state.vms):
            return []
        free = self.state.free_mib
        return [Start(vm.name) if vm.power == Power.OFF else Restore(vm.name)
                for vm in self.state.vms
                if (vm.power == Power.OFF and vm.settings.startup_mib > free)
                or (vm.power == Power.SAVED and vm.saved_mib > free)]

    @precondition(lambda self: self.starts_for_reclaim())
    @rule(ev=dms.listed_events(lambda m: m.starts_for_reclaim()))
    def start_for_reclaim(self, ev: Event) -> None:
        """A start into a full host beside a grown VM, then the balancer: the path where a
        reclaim that squeezes the wrong VM shows (PROG-RECLAIM-ORDER)."""
        self.apply(ev)
        if self.enabled("balancer_tick"):
            self.apply(BalancerTick())

    def balloonless_handshakes(self) -> list[Event]:
        """The first message of each running guest at the start of its handshake that
        behaves (``honest_messages``): the guest may then advertise hot-add alone."""
        return [m for m in self.honest_messages()
                if (vm := self.state.get_vm(getattr(m, "vm", ""))) is not None
                and vm.channel == Channel.NEGOTIATING]

    @precondition(lambda self: self.balloonless_handshakes())
    @rule(ev=dms.listed_events(lambda m: m.balloonless_handshakes()),
          align=dms.block_sizes(lambda m: m.block_sizes))
    def balloonless_guest(self, ev: Event, align: int) -> None:
        """A guest that behaves but cannot balloon (a Linux guest whose pages are not 4 KiB,
        ../shared/domain-facts.md §3.3) negotiates to READY: its
        capabilities report advertises hot-add alone. Grown by hot-add, it is the donor
        the policy must never balloon (INV-ADVERTISED); the honest handshake of the ``ci``
        machine always advertises balloon, and a capabilities report of the random rule
        is rarely drawn in the handshake's short CAPS state."""
        self.drive_guest(ev, lambda e: dms.without_balloon(dms.with_block_size(e, align)))

    def saves_of_grown(self) -> list[Event]:
        """Saves the lifecycle allows now of VMs above their startup: their image is larger
        than a start, so restoring it may wait for reclaim (specs/lifecycle.md §4.7)."""
        return [e for e in self.lifecycle_of("save")
                if (vm := self.state.get_vm(getattr(e, "vm", ""))) is not None
                and vm.assigned_mib > vm.settings.startup_mib]

    @precondition(lambda self: self.saves_of_grown())
    @rule(ev=dms.listed_events(lambda m: m.saves_of_grown()))
    def save_grown(self, ev: Event) -> None:
        """Save a grown VM, then the balancer: the memory the save frees goes to the others,
        and the restore that ``start_for_reclaim`` then tries must wait for its image."""
        self.apply(ev)
        if self.enabled("balancer_tick"):
            self.apply(BalancerTick())


@initialize(target=DmMachine.vms, host=dms.host_settings(), vms=dms.mixed_fleets(),
            lifecycle=st.booleans(), blocks=dms.block_size_sets(), slack=dms.host_slacks())
def _mixed_host(self: DmMachine, host: HostSettings, vms: tuple[tuple[str, VmSettings], ...],
                lifecycle: bool = False,
                blocks: tuple[int, ...] = (DEFAULT_HOT_ADD_ALIGN_MIB,),
                slack: int | None = None) -> Any:
    """The starting fleet's guests are Windows or Linux (``guest_os``): every honest message
    the machine draws follows from the setting (specs/protocol.md §3.2)."""
    return DmMachine.host(self, host, vms, lifecycle, blocks, slack)


class HibernatingMachine(DmMachine):
    """The machine beside a guest that never answers: the last VM of the starting fleet runs
    a ``linux_hibernate`` guest (specs/lifecycle.md §1: balloon without hot-add, no answer to
    a balloon or an unballoon), the lifecycle events are always on (such a guest grows above
    its startup only by arriving at its maximum) and fair runs have the host's watchdog
    (``STUCK_AFTER_TICKS``). The fixed point is then judged with the silent guest present:
    PROG-NO-STARVATION and PROG-WEIGHT-ORDER hold beside it (P-STUCK). A class of its own, so
    the other machines' rules and derandomized runs stay exactly as they were."""

    watchdog: ClassVar[int | None] = STUCK_AFTER_TICKS

    def arrivals_at_maximum(self) -> list[Event]:
        """The hibernating guest's VM arriving at its maximum, when that fits: the one way
        it holds memory a balloon can ask for."""
        return [MigrateIn(vm.name, vm.settings.maximum_mib) for vm in self.state.vms
                if vm.name in self.profiles and vm.power == Power.OFF
                and vm.settings.dynamic and vm.settings.dm_capable
                and vm.settings.maximum_mib <= self.state.free_mib]

    @precondition(lambda self: self.arrivals_at_maximum())
    @rule(ev=dms.listed_events(lambda m: m.arrivals_at_maximum()))
    def arrive_at_maximum(self, ev: Event) -> None:
        self.apply(ev)


@initialize(target=DmMachine.vms, host=dms.host_settings(), vms=dms.vm_fleets(),
            blocks=dms.block_size_sets(), slack=dms.host_slacks())
def _hibernating_host(self: DmMachine, host: HostSettings,
                      vms: tuple[tuple[str, VmSettings], ...],
                      blocks: tuple[int, ...] = (DEFAULT_HOT_ADD_ALIGN_MIB,),
                      slack: int | None = None) -> Any:
    """The starting fleet's last VM runs a hibernating Linux guest; the lifecycle is on."""
    *rest, (name, settings) = vms
    self.profiles[name] = GuestProfile.LINUX_HIBERNATE
    fleet = (*rest, (name, attrs.evolve(settings, guest_os=GUEST_OS_LINUX)))
    return DmMachine.host(self, host, fleet, lifecycle=True, blocks=blocks, slack=slack)


def machine_for(step_fn: Step = step, plan: Plan | None = None, label: str = "reference",
                refinement: bool = True, reclaim_starts: bool = False,
                linux_guests: bool = False,
                host_profile: HostProfile = HostProfile.QEMU,
                hibernate: bool = False) -> type[DmMachine]:
    """A :class:`DmMachine` subclass driving ``step_fn`` with ``plan`` (a planted bug);
    ``reclaim_starts`` steers towards starts that wait for reclaim; ``linux_guests`` starts
    fleets of Windows and Linux guests (the initial rule replaced, the others the same);
    every host it draws has ``host_profile``; ``hibernate`` runs the
    :class:`HibernatingMachine` (a guest that never answers, the watchdog in fair runs)."""
    base = (HibernatingMachine if hibernate else ReclaimSteeredMachine if reclaim_starts
            else DmMachine)
    extra: dict[str, Any] = ({"host": _hibernating_host} if hibernate
                             else {"host": _mixed_host} if linux_guests else {})
    return type(f"DmMachine_{label}", (base,), {**extra,
        "host_profile": host_profile,
        "step_fn": staticmethod(step_fn), "plan": staticmethod(plan or compute_plan),
        "label": label, "check_refinement": refinement, "coverage": Coverage(),
        "last_failure": None, "steps_taken": 0, "first_failure_seconds": None,
        "first_failure_example": None, "examples_started": 0, "started": time.perf_counter(),
    })

