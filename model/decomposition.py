"""The per-VM decomposition behind the any-N proof (specs/proofs.md §3).

Every action acts on one VM slot and the host's free-memory ledger. So a step is checked on
ONE concrete slot (standing for any slot k) plus an abstract rest: a single integer
``rest_owned`` = Σ_{j≠k} owned_j. Host clauses see the VMs only through Σ owned, which is
``owned_k + rest_owned``; VM clauses and two-state clauses see only their own slot.

The rest enters host clauses as :class:`RestSummary`, a pseudo-VM that carries exactly the
fields ``owned`` reads (visible = rest_owned, nothing ballooned or in flight). It has no
settings, channel or power, so a host clause that reads anything else of the VMs fails
loudly here (AttributeError) instead of silently giving a wrong proof.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import attrs
import z3

from dynmem.model.state import SymHost, SymVm, make_host, make_vm
from dynmem.model.vocabulary import Power, TxnKind


@attrs.frozen
class RestSummary:
    """All VMs but the distinguished one, as far as host clauses may see them: Σ owned."""

    name: str
    exists: Any
    visible_mib: Any
    ballooned_mib: Any
    txn: Any
    txn_mib: Any


def make_rest(owned: Any) -> RestSummary:
    """The rest of the VMs owning ``owned`` MiB in total (a Z3 term or a Python int)."""
    if isinstance(owned, z3.ExprRef):
        return RestSummary("rest", z3.BoolVal(True), owned, z3.IntVal(0), z3.IntVal(0),
                           z3.IntVal(0))
    return RestSummary("rest", True, owned, 0, 0, 0)


def make_rest_top(top_weight: Any, start_waits: Any) -> Any:
    """The rest of the VMs as a step clause sees them (INV-RECLAIM-ORDER): one VM of their
    highest live weight, ``top_weight``, waiting to start if ``start_waits`` (else running),
    that no step changes and no tick balloons."""
    power = z3.If(start_waits, z3.IntVal(Power.STARTING), z3.IntVal(Power.RUNNING))
    return SimpleNamespace(name="rest", exists=z3.BoolVal(True), power=power,
                           settings=SimpleNamespace(weight=top_weight), txn=z3.IntVal(TxnKind.NONE),
                           txn_mib=z3.IntVal(0), visible_mib=z3.IntVal(0),
                           ballooned_mib=z3.IntVal(0), report_mib=z3.IntVal(0))


@attrs.frozen
class SlotState:
    """One slot and the host: what guards, updates and VM clauses may see (no ``rest``)."""

    host: Any
    free_mib: Any
    vms: tuple[Any, ...]


@attrs.frozen
class HostClauseView:
    """What host clauses see: the host, free, and the VMs as (slot, rest summary)."""

    host: Any
    free_mib: Any
    vms: tuple[Any, ...]


@attrs.frozen
class AnyNState:
    """A symbolic state of the decomposition: the distinguished slot, the rest, the host."""

    host: SymHost
    free_mib: Any
    slot: SymVm
    rest_owned: Any

    @property
    def slot_state(self) -> SlotState:
        return SlotState(self.host, self.free_mib, (self.slot,))

    @property
    def host_view(self) -> HostClauseView:
        return HostClauseView(self.host, self.free_mib, (self.slot, make_rest(self.rest_owned)))


def make_any_n_state(suffix: str, host: SymHost | None = None) -> AnyNState:
    """Fresh constants for the distinguished slot (named ``vm0``), the rest and free."""
    shared = host or make_host()
    return AnyNState(host=shared, free_mib=z3.Int(f"host.free_mib{suffix}"),
                     slot=make_vm(0, suffix), rest_owned=z3.Int(f"rest.owned_mib{suffix}"))
