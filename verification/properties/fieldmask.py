"""A VM's fields as bits: which fields a definition reads, which fields a step changed.

A clause or an action reads a known set of a VM's fields (``model.dependence``: derived from
the definition itself). Its verdict on a VM is then a function of those fields, so a VM
value that differs from one already judged only in fields a clause does not read has the
clause's verdict of that one; for a pair clause, a step that changes none of the fields it
reads has the verdict of a stutter, which holds (tests/verification/oracle/test_vm_step.py).
The checks below keep read sets and changes as bit masks over ``Vm``'s fields.
"""

from __future__ import annotations

import operator

import attrs

from dynmem.reference.state import Vm

__all__ = ["ALL_FIELDS", "VM_FIELDS", "get_changed", "get_mask"]

_FIELDS = tuple(field.name for field in attrs.fields(Vm))
_BITS = tuple(1 << i for i in range(len(_FIELDS)))
_BIT = dict(zip(_FIELDS, _BITS, strict=True))
ALL_FIELDS = (1 << len(_FIELDS)) - 1
VM_FIELDS = frozenset(_FIELDS)
_get_fields = operator.attrgetter(*_FIELDS)


def get_mask(reads: frozenset[str] | None) -> int:
    """The bits of ``reads`` (VM field names); every bit when the reads are unknown (None)
    or name something that is not a ``Vm`` field (then nothing may be skipped)."""
    if reads is None or not reads <= VM_FIELDS:
        return ALL_FIELDS
    return sum(_BIT[name] for name in reads)


def get_changed(before: Vm, after: Vm) -> int:
    """The bits of the fields in which ``after`` differs from ``before``.

    >>> from dynmem.reference.settings import VmSettings
    >>> from dynmem.reference.state import evolve_vm
    >>> a = Vm("a", VmSettings())
    >>> get_changed(a, evolve_vm(a, demand_mib=64)) == get_mask(frozenset({"demand_mib"}))
    True
    """
    mask = 0
    for bit, x, y in zip(_BITS, _get_fields(before), _get_fields(after), strict=True):
        if x is not y and x != y:
            mask |= bit
    return mask
