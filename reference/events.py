"""One immutable class per event kind (specs/events.md).

Every class has ``KIND``, its spelling in scenario files and traces (snake case of the class
name), and ``SPEC``, the id of its rule in specs/events.md. ``EVENT_TYPES`` maps kinds to
classes; a test checks that specs/, the model and the reference agree on the list.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from dynmem.reference.settings import VmSettings


@attrs.frozen
class Create:
    """Admin creates a VM, off, with ``settings`` (R-CREATE)."""

    KIND: ClassVar[str] = "create"
    SPEC: ClassVar[str] = "R-CREATE"
    vm: str
    settings: VmSettings


@attrs.frozen
class Configure:
    """Admin replaces a VM's settings; allowed only while it is off (R-CONFIGURE)."""

    KIND: ClassVar[str] = "configure"
    SPEC: ClassVar[str] = "R-CONFIGURE"
    vm: str
    settings: VmSettings


@attrs.frozen
class Delete:
    """Admin deletes a VM that is off (R-DELETE)."""

    KIND: ClassVar[str] = "delete"
    SPEC: ClassVar[str] = "R-DELETE"
    vm: str


@attrs.frozen
class Start:
    """Admin starts a VM; fails without startup memory free (R-START)."""

    KIND: ClassVar[str] = "start"
    SPEC: ClassVar[str] = "R-START"
    vm: str


@attrs.frozen
class Stop:
    """Admin stops a VM; everything it owns returns to the host (R-STOP)."""

    KIND: ClassVar[str] = "stop"
    SPEC: ClassVar[str] = "R-STOP"
    vm: str


@attrs.frozen
class Demand:
    """The guest's workload changes its committed memory to ``mib`` (R-DEMAND)."""

    KIND: ClassVar[str] = "demand"
    SPEC: ClassVar[str] = "R-DEMAND"
    vm: str
    mib: int


@attrs.frozen
class VersionRequest:
    """Guest proposes a protocol ``version``; the host accepts 0.3, 1.0, 2.0 (R-VERSION)."""

    KIND: ClassVar[str] = "version_request"
    SPEC: ClassVar[str] = "R-VERSION"
    vm: str
    version: int
    last_attempt: bool = False


@attrs.frozen
class CapabilitiesReport:
    """Guest reports what it can do: balloon, hot-add (R-CAPS)."""

    KIND: ClassVar[str] = "capabilities_report"
    SPEC: ClassVar[str] = "R-CAPS"
    vm: str
    balloon: bool = True
    hot_add: bool = True


@attrs.frozen
class QuietPeriodEnd:
    """The post-connect quiet period of a VM is over (R-QUIET)."""

    KIND: ClassVar[str] = "quiet_period_end"
    SPEC: ClassVar[str] = "R-QUIET"
    vm: str


@attrs.frozen
class StatusReport:
    """Guest reports its committed memory; only the latest counts (R-STATUS)."""

    KIND: ClassVar[str] = "status_report"
    SPEC: ClassVar[str] = "R-STATUS"
    vm: str
    committed_mib: int


@attrs.frozen
class BalloonRequest:
    """Host asks the guest to balloon ``mib`` out (R-BALLOON-REQUEST)."""

    KIND: ClassVar[str] = "balloon_request"
    SPEC: ClassVar[str] = "R-BALLOON-REQUEST"
    vm: str
    mib: int


@attrs.frozen
class BalloonResponse:
    """Guest hands back ``mib``; ``more_pages`` False ends the transaction (R-BALLOON-RESPONSE)."""

    KIND: ClassVar[str] = "balloon_response"
    SPEC: ClassVar[str] = "R-BALLOON-RESPONSE"
    vm: str
    mib: int
    more_pages: bool = False


@attrs.frozen
class UnballoonRequest:
    """Host returns ``mib`` of ballooned pages to the guest (R-UNBALLOON-REQUEST)."""

    KIND: ClassVar[str] = "unballoon_request"
    SPEC: ClassVar[str] = "R-UNBALLOON-REQUEST"
    vm: str
    mib: int


@attrs.frozen
class UnballoonResponse:
    """Guest acknowledges the unballoon (R-UNBALLOON-RESPONSE)."""

    KIND: ClassVar[str] = "unballoon_response"
    SPEC: ClassVar[str] = "R-UNBALLOON-RESPONSE"
    vm: str


@attrs.frozen
class HotAddRequest:
    """Host hot-adds ``mib`` to the guest (R-HOT-ADD-REQUEST)."""

    KIND: ClassVar[str] = "hot_add_request"
    SPEC: ClassVar[str] = "R-HOT-ADD-REQUEST"
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
    vm: str
    mib: int
    success: bool = True


@attrs.frozen
class BalancerTick:
    """The balancer runs its policy and sends the requests it plans (R-TICK)."""

    KIND: ClassVar[str] = "balancer_tick"
    SPEC: ClassVar[str] = "R-TICK"


DmRequest = BalloonRequest | UnballoonRequest | HotAddRequest

Event = (
    Create | Configure | Delete | Start | Stop | Demand
    | VersionRequest | CapabilitiesReport | QuietPeriodEnd | StatusReport
    | BalloonRequest | BalloonResponse | UnballoonRequest | UnballoonResponse
    | HotAddRequest | HotAddResponse | BalancerTick
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.KIND: cls
    for cls in (
        Create, Configure, Delete, Start, Stop, Demand,
        VersionRequest, CapabilitiesReport, QuietPeriodEnd, StatusReport,
        BalloonRequest, BalloonResponse, UnballoonRequest, UnballoonResponse,
        HotAddRequest, HotAddResponse, BalancerTick,
    )
}
