"""An open-addressing hash table of int64 keys on numpy arrays: the batch search's table of
the states met (verification/explore/batch.py), looked up and filled a whole batch of keys
at a time."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["KeyTable"]

Array = Any  # numpy arrays (numpy's stubs are not used by the project's mypy settings)

_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing


class KeyTable:
    """An open-addressing hash table (linear probing) from int64 keys >= 0 to int32 ids.

    Examples
    --------
    >>> t = KeyTable(2)
    >>> t.insert(np.array([5, 9, 1 << 40]), np.array([0, 1, 2]))
    >>> t.lookup(np.array([9, 7, 1 << 40, 5])).tolist()
    [1, -1, 2, 0]
    """

    def __init__(self, bits: int = 16) -> None:
        self.size = 0
        self._allocate(bits)

    def _allocate(self, bits: int) -> None:
        self.bits = bits
        self.mask = (1 << bits) - 1
        self.keys = np.full(1 << bits, -1, np.int64)
        self.vals = np.zeros(1 << bits, np.int32)

    def _hash(self, q: Array) -> Array:
        return ((q.view(np.uint64) * _MULT) >> np.uint64(64 - self.bits)).astype(np.int64)

    def lookup(self, q: Array) -> Array:
        """The id of each key of ``q``, -1 where it is not in the table."""
        out = np.full(len(q), -1, np.int32)
        pos = np.arange(len(q))
        idx = self._hash(q)
        keys = self.keys
        while len(pos):
            found = keys[idx]
            hit = found == q
            out[pos[hit]] = self.vals[idx[hit]]
            more = ~hit & (found != -1)
            pos, q, idx = pos[more], q[more], (idx[more] + 1) & self.mask
        return out

    def insert(self, q: Array, ids: Array) -> None:
        """Add the keys ``q`` (distinct, not in the table) with their ``ids``."""
        if 2 * (self.size + len(q)) > len(self.keys):
            old_keys, old_vals = self.keys, self.vals
            used = old_keys != -1
            bits = self.bits
            while 2 * (self.size + len(q)) > (1 << bits):
                bits += 1
            self._allocate(bits)
            self.size = 0
            self.insert(old_keys[used], old_vals[used])
        self.size += len(q)
        ids = np.asarray(ids, np.int32)
        idx = self._hash(q)
        keys, vals = self.keys, self.vals
        while len(q):
            empty = np.flatnonzero(keys[idx] == -1)
            # of the keys that reach the same empty slot, the first takes it
            slots, first = np.unique(idx[empty], return_index=True)
            winners = empty[first]
            keys[slots] = q[winners]
            vals[slots] = ids[winners]
            rest = np.ones(len(q), bool)
            rest[winners] = False
            q, ids, idx = q[rest], ids[rest], (idx[rest] + 1) & self.mask
