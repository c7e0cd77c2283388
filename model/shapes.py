"""The shapes the model's definitions read: a VM, its settings, the host; concrete or symbolic.

Guards, updates, invariant clauses and quantities are written once and read two ways, so what
they receive is "a symbolic or a concrete VM": a reference ``Vm`` (Python values) or a model
``SymVm`` (Z3 terms), which share their field names. These protocols name that shape for the
type checker; every field is a :data:`~dynmem.model.ops.Term` (a Python value or a Z3 term).
A model slot (:class:`SlotLike`) is a VM that may be absent (``exists``).
"""

from __future__ import annotations

from typing import Protocol

from dynmem.model.ops import Term


class SettingsLike(Protocol):
    """A VM's memory settings (reference ``VmSettings`` or model ``SymSettings``)."""

    @property
    def dynamic(self) -> Term: ...
    @property
    def startup_mib(self) -> Term: ...
    @property
    def maximum_mib(self) -> Term: ...
    @property
    def buffer_pct(self) -> Term: ...
    @property
    def weight(self) -> Term: ...
    @property
    def dm_capable(self) -> Term: ...


class VmLike(Protocol):
    """A symbolic or a concrete VM (reference ``Vm`` or model ``SymVm``)."""

    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> SettingsLike: ...
    @property
    def power(self) -> Term: ...
    @property
    def visible_mib(self) -> Term: ...
    @property
    def ballooned_mib(self) -> Term: ...
    @property
    def demand_mib(self) -> Term: ...
    @property
    def has_report(self) -> Term: ...
    @property
    def report_mib(self) -> Term: ...
    @property
    def channel(self) -> Term: ...
    @property
    def protocol_version(self) -> Term: ...
    @property
    def cap_balloon(self) -> Term: ...
    @property
    def cap_hot_add(self) -> Term: ...
    @property
    def hot_add_enabled(self) -> Term: ...
    @property
    def txn(self) -> Term: ...
    @property
    def txn_mib(self) -> Term: ...
    @property
    def txn_done_mib(self) -> Term: ...


class SlotLike(VmLike, Protocol):
    """A VM slot of the model: a VM that may be absent (``exists``: before Create, after
    Delete). A reference VM is seen as a slot that exists."""

    @property
    def exists(self) -> Term: ...


class HostLike(Protocol):
    """The host's constants (reference ``HostSettings`` or model ``SymHost``)."""

    @property
    def physical_mib(self) -> Term: ...
    @property
    def reserve_mib(self) -> Term: ...
