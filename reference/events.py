"""One immutable class per event kind (specs/events.md).

Every class has ``KIND``, its spelling in scenario files and traces (snake case of the class
name), ``SPEC``, the id of its rule in specs/events.md, and ``SHORT``, its column heading in
the ``dynmem prove`` table (at most 4 letters). A kind that ``describe_event``
(verification/traces) has no case for says itself in a trace by ``WORDS``, a format string
over its fields (``"{vm} naps"``). ``EVENT_TYPES`` maps kinds to classes;
tests/test_event_kinds.py checks that every other piece of a kind (model action, processor,
words in a trace, stateful rule, coverage) exists, naming the file to edit when one is missing.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB
from dynmem.reference.settings import VmSettings


@attrs.frozen
class Create:
    """Admin creates a VM, off, with ``settings`` (R-CREATE)."""

    KIND: ClassVar[str] = "create"
    SPEC: ClassVar[str] = "R-CREATE"
    SHORT: ClassVar[str] = "crt"
    vm: str
    settings: VmSettings


@attrs.frozen
class Configure:
    """Admin replaces a VM's settings; allowed only while it is off (R-CONFIGURE)."""

    KIND: ClassVar[str] = "configure"
    SPEC: ClassVar[str] = "R-CONFIGURE"
    SHORT: ClassVar[str] = "cfg"
    vm: str
    settings: VmSettings


@attrs.frozen
class Delete:
    """Admin deletes a VM that is off (R-DELETE)."""

    KIND: ClassVar[str] = "delete"
    SPEC: ClassVar[str] = "R-DELETE"
    SHORT: ClassVar[str] = "del"
    vm: str


@attrs.frozen
class Start:
    """Admin starts a VM; fails without startup memory free (R-START)."""

    KIND: ClassVar[str] = "start"
    SPEC: ClassVar[str] = "R-START"
    SHORT: ClassVar[str] = "sta"
    vm: str


@attrs.frozen
class Stop:
    """Admin stops a VM; everything it owns returns to the host (R-STOP)."""

    KIND: ClassVar[str] = "stop"
    SPEC: ClassVar[str] = "R-STOP"
    SHORT: ClassVar[str] = "stp"
    vm: str


@attrs.frozen
class Demand:
    """The guest's workload changes its committed memory to ``mib`` (R-DEMAND)."""

    KIND: ClassVar[str] = "demand"
    SPEC: ClassVar[str] = "R-DEMAND"
    SHORT: ClassVar[str] = "dem"
    vm: str
    mib: int


@attrs.frozen
class VersionRequest:
    """Guest proposes a protocol ``version``; the host accepts those of its profile (R-VERSION)."""

    KIND: ClassVar[str] = "version_request"
    SPEC: ClassVar[str] = "R-VERSION"
    SHORT: ClassVar[str] = "ver"
    vm: str
    version: int
    last_attempt: bool = False


@attrs.frozen
class CapabilitiesReport:
    """Guest reports what it can do: balloon, hot-add, and the alignment of a hot-add in MiB,
    2^k for k < 16 (the wire's 4-bit log2; Linux: its memory block size) (R-CAPS)."""

    KIND: ClassVar[str] = "capabilities_report"
    SPEC: ClassVar[str] = "R-CAPS"
    SHORT: ClassVar[str] = "cap"
    vm: str
    balloon: bool = True
    hot_add: bool = True
    align_mib: int = DEFAULT_HOT_ADD_ALIGN_MIB


@attrs.frozen
class QuietPeriodEnd:
    """The post-connect quiet period of a VM is over (R-QUIET)."""

    KIND: ClassVar[str] = "quiet_period_end"
    SPEC: ClassVar[str] = "R-QUIET"
    SHORT: ClassVar[str] = "qui"
    vm: str


@attrs.frozen
class StatusReport:
    """Guest reports its committed memory; only the latest counts (R-STATUS)."""

    KIND: ClassVar[str] = "status_report"
    SPEC: ClassVar[str] = "R-STATUS"
    SHORT: ClassVar[str] = "sts"
    vm: str
    committed_mib: int


@attrs.frozen
class BalloonRequest:
    """Host asks the guest to balloon ``mib`` out (R-BALLOON-REQUEST)."""

    KIND: ClassVar[str] = "balloon_request"
    SPEC: ClassVar[str] = "R-BALLOON-REQUEST"
    SHORT: ClassVar[str] = "b.rq"
    vm: str
    mib: int


@attrs.frozen
class BalloonResponse:
    """Guest hands back ``mib``; ``more_pages`` False ends the transaction (R-BALLOON-RESPONSE)."""

    KIND: ClassVar[str] = "balloon_response"
    SPEC: ClassVar[str] = "R-BALLOON-RESPONSE"
    SHORT: ClassVar[str] = "b.rs"
    vm: str
    mib: int
    more_pages: bool = False


@attrs.frozen
class UnballoonRequest:
    """Host returns ``mib`` of ballooned pages to the guest (R-UNBALLOON-REQUEST)."""

    KIND: ClassVar[str] = "unballoon_request"
    SPEC: ClassVar[str] = "R-UNBALLOON-REQUEST"
    SHORT: ClassVar[str] = "u.rq"
    vm: str
    mib: int


@attrs.frozen
class UnballoonResponse:
    """Guest acknowledges the unballoon (R-UNBALLOON-RESPONSE)."""

    KIND: ClassVar[str] = "unballoon_response"
    SPEC: ClassVar[str] = "R-UNBALLOON-RESPONSE"
    SHORT: ClassVar[str] = "u.rs"
    vm: str


@attrs.frozen
class HotAddRequest:
    """Host hot-adds ``mib`` to the guest (R-HOT-ADD-REQUEST)."""

    KIND: ClassVar[str] = "hot_add_request"
    SPEC: ClassVar[str] = "R-HOT-ADD-REQUEST"
    SHORT: ClassVar[str] = "h.rq"
    vm: str
    mib: int


@attrs.frozen
class HotAddResponse:
    """Guest reports ``mib`` added and the result flag (R-HOT-ADD-RESPONSE).

    Full success: ``mib`` = requested, success. Partial: 0 < ``mib`` < requested, success.
    Permanent failure: ``mib`` = 0, success. Transient failure: success False.
    """

    KIND: ClassVar[str] = "hot_add_response"
    SPEC: ClassVar[str] = "R-HOT-ADD-RESPONSE"
    SHORT: ClassVar[str] = "h.rs"
    vm: str
    mib: int
    success: bool = True


@attrs.frozen
class BalancerTick:
    """The balancer runs its policy and sends the requests it plans (R-TICK)."""

    KIND: ClassVar[str] = "balancer_tick"
    SPEC: ClassVar[str] = "R-TICK"
    SHORT: ClassVar[str] = "tick"


# --- the lifecycle of a running VM (specs/lifecycle.md) --------------------------------------


@attrs.frozen
class StartAdmit:
    """A start waiting for reclaim completes once its startup memory is free (R-START-ADMIT)."""

    KIND: ClassVar[str] = "start_admit"
    SPEC: ClassVar[str] = "R-START-ADMIT"
    SHORT: ClassVar[str] = "s.ad"
    WORDS: ClassVar[str] = "{vm}'s waiting start completes (startup memory is free)"
    vm: str


@attrs.frozen
class StartAbort:
    """A start waiting for reclaim gives up: reclaim could not free enough (R-START-ABORT)."""

    KIND: ClassVar[str] = "start_abort"
    SPEC: ClassVar[str] = "R-START-ABORT"
    SHORT: ClassVar[str] = "s.ab"
    WORDS: ClassVar[str] = "{vm}'s waiting start fails: reclaim could not free its startup"
    vm: str


@attrs.frozen
class GuestRestart:
    """The guest reboots (or the host resets the VM): it comes back at startup (R-RESTART)."""

    KIND: ClassVar[str] = "guest_restart"
    SPEC: ClassVar[str] = "R-RESTART"
    SHORT: ClassVar[str] = "rbt"
    WORDS: ClassVar[str] = "{vm}'s guest restarts (back at startup, new DM session)"
    vm: str


@attrs.frozen
class ChannelReset:
    """The DM channel closes and reopens while the VM runs; in-flight work drops
    (R-CHANNEL-RESET)."""

    KIND: ClassVar[str] = "channel_reset"
    SPEC: ClassVar[str] = "R-CHANNEL-RESET"
    SHORT: ClassVar[str] = "rst"
    WORDS: ClassVar[str] = (
        "{vm}'s DM channel resets (in-flight work dropped, ballooned pages regained)")
    vm: str


@attrs.frozen
class StuckTimeout:
    """The host's watchdog: the VM's transaction made no progress for K balancer ticks
    (R-STUCK)."""

    KIND: ClassVar[str] = "stuck_timeout"
    SPEC: ClassVar[str] = "R-STUCK"
    SHORT: ClassVar[str] = "stk"
    WORDS: ClassVar[str] = "host gives up waiting on {vm} (stuck: no progress for several ticks)"
    vm: str


@attrs.frozen
class Save:
    """Admin saves a running VM: its memory returns to the host, its image size is kept
    (R-SAVE)."""

    KIND: ClassVar[str] = "save"
    SPEC: ClassVar[str] = "R-SAVE"
    SHORT: ClassVar[str] = "sav"
    WORDS: ClassVar[str] = "save {vm} (its memory returns to the host)"
    vm: str


@attrs.frozen
class Restore:
    """Admin restores a saved VM; it needs its saved (current) memory free (R-RESTORE)."""

    KIND: ClassVar[str] = "restore"
    SPEC: ClassVar[str] = "R-RESTORE"
    SHORT: ClassVar[str] = "rsto"
    WORDS: ClassVar[str] = "restore {vm}"
    vm: str


@attrs.frozen
class MigrateOut:
    """A running VM live-migrates to another host; everything it owns returns
    (R-MIGRATE-OUT)."""

    KIND: ClassVar[str] = "migrate_out"
    SPEC: ClassVar[str] = "R-MIGRATE-OUT"
    SHORT: ClassVar[str] = "mout"
    WORDS: ClassVar[str] = "{vm} migrates to another host"
    vm: str


@attrs.frozen
class MigrateIn:
    """A VM arrives by live migration with ``mib`` of current memory (R-MIGRATE-IN)."""

    KIND: ClassVar[str] = "migrate_in"
    SPEC: ClassVar[str] = "R-MIGRATE-IN"
    SHORT: ClassVar[str] = "min"
    WORDS: ClassVar[str] = "{vm} arrives by migration with {mib} MiB"
    vm: str
    mib: int


DmRequest = BalloonRequest | UnballoonRequest | HotAddRequest

Event = (
    Create | Configure | Delete | Start | Stop | Demand
    | VersionRequest | CapabilitiesReport | QuietPeriodEnd | StatusReport
    | BalloonRequest | BalloonResponse | UnballoonRequest | UnballoonResponse
    | HotAddRequest | HotAddResponse | BalancerTick
    | StartAdmit | StartAbort | GuestRestart | ChannelReset | StuckTimeout
    | Save | Restore | MigrateOut | MigrateIn
)

# The lifecycle events (specs/lifecycle.md); explore presets of before keep without them.
LIFECYCLE_EVENTS: tuple[type[Event], ...] = (
    StartAdmit, StartAbort, GuestRestart, ChannelReset, StuckTimeout,
    Save, Restore, MigrateOut, MigrateIn,
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.KIND: cls
    for cls in (
        Create, Configure, Delete, Start, Stop, Demand,
        VersionRequest, CapabilitiesReport, QuietPeriodEnd, StatusReport,
        BalloonRequest, BalloonResponse, UnballoonRequest, UnballoonResponse,
        HotAddRequest, HotAddResponse, BalancerTick, *LIFECYCLE_EVENTS,
    )
}
