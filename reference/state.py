"""The reference state: immutable values for the host's ledger, each VM and its DM channel.

A VM keeps its runtime flat (no nested transaction object) so that the same field names
exist on the Z3 side of the model and hashing for exploration stays cheap. Derived
quantities (assigned, in-flight, guest paging, pressure) are ``get_*``/``compute_*``
functions, never stored (specs/domain.md §1.3).
"""

from __future__ import annotations

import operator
from typing import Any

import attrs

from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB, Channel, Power, TxnKind
from dynmem.reference.settings import HostSettings, VmSettings


def _bool(instance: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    """TypeOK for a flag, as ``instance_of(bool)`` says it (a plain function: it runs five
    times for every VM value a step builds)."""
    if value.__class__ is not bool:
        raise TypeError(f"'{attribute.name}' must be {bool!r} (got {value!r} that is a "
                        f"{value.__class__!r}).", attribute, bool, value)


def _nonneg(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    """TypeOK for an amount: an int >= 0 (one call instead of ``instance_of`` + ``ge``)."""
    if not isinstance(value, int):
        raise TypeError(f"'{attribute.name}' must be {int!r} (got {value!r} that is a "
                        f"{value.__class__!r}).", attribute, int, value)
    if value < 0:
        raise ValueError(f"'{attribute.name}' must be >= 0: {value}")


@attrs.frozen(cache_hash=True)  # states are hashed many times when explored
class Vm:
    """One VM: its name, settings and runtime (specs/domain.md §1.3)."""

    name: str
    settings: VmSettings
    power: Power = Power.OFF
    visible_mib: int = attrs.field(default=0, validator=_nonneg)
    ballooned_mib: int = attrs.field(default=0, validator=_nonneg)
    demand_mib: int = attrs.field(default=0, validator=_nonneg)
    # The last status report the host received (committed MiB); has_report is False until one.
    has_report: bool = attrs.field(default=False, validator=_bool)
    report_mib: int = attrs.field(default=0, validator=_nonneg)
    channel: Channel = Channel.NONE
    protocol_version: int = attrs.field(default=0, validator=_nonneg)
    cap_balloon: bool = attrs.field(default=False, validator=_bool)
    cap_hot_add: bool = attrs.field(default=False, validator=_bool)
    # A partial or permanently failed hot-add disables hot-add until the VM restarts.
    hot_add_enabled: bool = attrs.field(default=True, validator=_bool)
    txn: TxnKind = TxnKind.NONE
    txn_mib: int = attrs.field(default=0, validator=_nonneg)  # amount requested
    txn_done_mib: int = attrs.field(default=0, validator=_nonneg)  # balloon pages received
    # The host's watchdog gave up waiting on the transaction in flight (R-STUCK): the policy
    # neither counts its outstanding balloon as incoming nor manages the VM until it answers.
    stuck: bool = attrs.field(default=False, validator=_bool)
    # A saved VM's memory image (its assigned memory when saved); 0 unless power is SAVED or
    # a restore waits for reclaim (STARTING, specs/lifecycle.md §4.7).
    saved_mib: int = attrs.field(default=0, validator=_nonneg)
    # The hot-add alignment the guest advertised in its capabilities report, at least the
    # 2 MiB unit (R-HOT-ADD-ALIGN); 2 MiB before a report and in a new session.
    hot_add_align_mib: int = attrs.field(default=DEFAULT_HOT_ADD_ALIGN_MIB, validator=_nonneg)

    @property
    def boot_mib(self) -> int:
        """What the VM needs free to run: its image for a restore (R-RESTORE, a waiting one
        included), else its startup (R-START)."""
        return self.saved_mib if self.saved_mib > 0 else self.settings.startup_mib

    @property
    def assigned_mib(self) -> int:
        """Host memory backing the VM: visible minus ballooned."""
        return self.visible_mib - self.ballooned_mib

    @property
    def in_flight_mib(self) -> int:
        """Memory taken from free for a hot-add or unballoon not yet answered."""
        return self.txn_mib if self.txn in (TxnKind.HOT_ADD, TxnKind.UNBALLOON) else 0

    @property
    def owned_mib(self) -> int:
        """Everything the VM owns or is promised: assigned plus in flight."""
        return self.assigned_mib + self.in_flight_mib

    @property
    def guest_paged_mib(self) -> int:
        """Memory the guest pages to its own page file: demand above assigned."""
        return max(0, self.demand_mib - self.assigned_mib)

    @property
    def running(self) -> bool:
        return self.power == Power.RUNNING


_VM_FIELDS = tuple(field.name for field in attrs.fields(Vm))
_VM_FIELD_INDEX = {name: index for index, name in enumerate(_VM_FIELDS)}
_get_vm_fields = operator.attrgetter(*_VM_FIELDS)


def evolve_vm(vm: Vm, **changes: Any) -> Vm:
    """``vm`` with the named fields changed: ``attrs.evolve`` at about half the cost.

    Builds the new value through the constructor, so every validator still runs; an unknown
    field name is a ``TypeError`` as with ``attrs.evolve``. Steps use it on every update.

    Examples
    --------
    >>> from dynmem.reference.settings import VmSettings
    >>> evolve_vm(Vm("a", VmSettings()), demand_mib=64).demand_mib
    64
    """
    values = list(_get_vm_fields(vm))
    for name, value in changes.items():
        index = _VM_FIELD_INDEX.get(name)
        if index is None:
            raise TypeError(f"Vm has no field {name!r}")
        values[index] = value
    return Vm(*values)


@attrs.frozen(cache_hash=True)
class DmState:
    """The whole system: host settings, the host's free-memory ledger and the VMs in order.

    ``free_mib`` is the balancer's own ledger of free memory (what a real VSP keeps);
    INV-CONSERVATION checks it against the sum of what VMs own.
    """

    host: HostSettings
    free_mib: int
    vms: tuple[Vm, ...] = ()

    def get_vm(self, name: str) -> Vm | None:
        """The VM called ``name``, or None."""
        for vm in self.vms:
            if vm.name == name:
                return vm
        return None

    def with_vm(self, vm: Vm, free_mib: int | None = None) -> DmState:
        """This state with the VM of the same name replaced by ``vm`` (and, if given, the
        host's free memory set to ``free_mib``)."""
        # The constructor directly (not attrs.evolve): this runs on every step.
        name = vm.name
        return DmState(self.host, self.free_mib if free_mib is None else free_mib,
                       tuple(vm if v.name == name else v for v in self.vms))


def initial_state(host: HostSettings, vms: tuple[tuple[str, VmSettings], ...] = ()) -> DmState:
    """A host with every listed VM created and off; all memory above the reserve is free.

    Examples
    --------
    >>> s = initial_state(HostSettings(physical_mib=8192, reserve_mib=1024))
    >>> s.free_mib
    7168
    """
    return DmState(
        host=host,
        free_mib=host.physical_mib - host.reserve_mib,
        vms=tuple(Vm(name=name, settings=settings) for name, settings in vms),
    )


def compute_pressure(demand_mib: int, assigned_mib: int) -> int:
    """Pressure = demand / assigned × 100, rounded down; 0 when nothing is assigned.

    Examples
    --------
    >>> compute_pressure(1000, 1200)
    83
    """
    return demand_mib * 100 // assigned_mib if assigned_mib > 0 else 0


def compute_ceil_to_unit(mib: int) -> int:
    """Round ``mib`` up to the next multiple of 2 MiB."""
    return mib + (mib % 2)


def compute_floor_to_unit(mib: int) -> int:
    """Round ``mib`` down to a multiple of 2 MiB."""
    return mib - (mib % 2)


def compute_align_down(mib: int, align_mib: int) -> int:
    """Round ``mib`` down to a multiple of ``align_mib`` (a hot-add, R-HOT-ADD-ALIGN).

    Examples
    --------
    >>> compute_align_down(1344, 128), compute_align_down(100, 128), compute_align_down(6, 2)
    (1280, 0, 6)
    """
    return mib - mib % align_mib


def compute_target(report_mib: int, settings: VmSettings) -> int:
    """The balancer's target: demand plus buffer, clamped to [startup, maximum] (P-TARGET).

    Examples
    --------
    >>> compute_target(1000, VmSettings(dynamic=True, startup_mib=512, maximum_mib=4096))
    1200
    >>> compute_target(4000, VmSettings(dynamic=True, startup_mib=1024, maximum_mib=4096))
    4096
    """
    wanted = compute_ceil_to_unit(-(-report_mib * (100 + settings.buffer_pct) // 100))
    return max(settings.startup_mib, min(settings.maximum_mib, wanted))
