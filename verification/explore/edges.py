"""The edges of a batch of states in the one-state search's order (explore/batch.py).

A state's edges come in segments: the enabled steps of slots 0..k-1, the balancer tick, the
extra steps of slots 0..k-1, the lifecycle creates (``_Search.expand``'s order). A segment is
either a memo entry's steps, whose successor keys are the source's key plus each step's delta
(taken on arrays), or stepped in Python, whose edges were recorded in order. Given how many
edges each segment has, ``lay_out_edges`` puts both kinds in one edge array, states in batch
order and segments in that order within a state, so edge ``j`` is the one-state search's
``j``-th edge of the batch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = ["BatchEdges", "PythonSegments", "lay_out_edges"]

Array = Any  # numpy arrays (numpy's stubs are not used by the project's mypy settings)


class PythonSegments(NamedTuple):
    """The segments stepped in Python, in edge order: per segment its state's row, its
    column and its number of edges; per edge its successor's key, kind and progress flag."""

    rows: list[int]
    ids: list[int]
    counts: list[int]
    keys: list[int]
    kinds: list[int]
    progress: list[bool]


class BatchEdges(NamedTuple):
    """A batch's edges in the one-state search's order."""

    key: Array  # the successor's key (not yet canonical)
    kind: Array  # int8 event kind
    progress: Array  # bool: a progress step
    event: Array  # >= 0: memo step ``event``; < 0: Python edge ``-1 - event``
    pos: Array  # the row of the edge's source in the batch
    offsets: Array  # rows x segments: the segment's first edge
    python_dest: Array  # per Python edge, its index here


def lay_out_edges(keys: Array, counts: Array, present: Array, ent: Array, slow: Array,
                  steps: tuple[Array, Array, Array, Array],
                  python: PythonSegments) -> BatchEdges:
    """The edges of the states ``keys`` (rows) with ``counts`` edges per segment (rows x
    2k + 2, Python segments' counts included). ``present``, ``ent``: per row and slot, a VM
    there and its memo entry; ``slow`` (rows x k x 2): the slot's enabled and extra steps
    were stepped in Python. ``steps``: the memo's flat tables, per entry and list its first
    step, per step its key delta, kind and progress flag.

    >>> memo = (np.array([[0, 2]]), np.array([10, 20, 30]), np.array([1, 1, 2], np.int8),
    ...         np.array([True, True, False]))
    >>> counts = np.array([[2, 1, 1, 0]])  # enabled: 2, tick: 1 (Python), extra: 1, creates
    >>> python = PythonSegments([0], [1], [1], [555], [7], [True])
    >>> e = lay_out_edges(np.array([100]), counts, np.array([[True]]), np.array([[0]]),
    ...                   np.zeros((1, 1, 2), bool), memo, python)
    >>> e.key.tolist(), e.kind.tolist(), e.event.tolist(), e.python_dest.tolist()
    ([110, 120, 555, 130], [1, 1, 7, 2], [0, 1, -1, 2], [2])
    """
    e_start, s_delta, s_kind, s_prog = steps
    n, k = ent.shape
    flat_counts = counts.ravel()
    offsets = (np.cumsum(flat_counts) - flat_counts).reshape(counts.shape)
    n_edges = int(flat_counts.sum())
    e_key = np.zeros(n_edges, np.int64)
    e_kind = np.zeros(n_edges, np.int8)
    e_prog = np.zeros(n_edges, bool)
    e_event = np.zeros(n_edges, np.int64)
    # the memo's segments, one cell per (row, list, slot): each cell's steps in a run
    seg_cols = [*range(k), *range(k + 1, 2 * k + 1)]
    ent_cols = np.concatenate([ent, ent], 1)
    fast = np.concatenate([~slow[:, :, 0], ~slow[:, :, 1]], 1) & np.concatenate(
        [present, present], 1)
    which = np.repeat(np.array([0, 1]), k)
    lens = np.where(fast, counts[:, seg_cols], 0).ravel()
    total = int(lens.sum())
    if total:
        starts = np.where(fast, e_start[np.maximum(ent_cols, 0), which], 0).ravel()
        dests = offsets[:, seg_cols].ravel()
        cell = np.repeat(np.arange(len(lens)), lens)
        within = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
        step = starts[cell] + within
        dest = dests[cell] + within
        e_key[dest] = keys[cell // (2 * k)] + s_delta[step]
        e_kind[dest] = s_kind[step]
        e_prog[dest] = s_prog[step]
        e_event[dest] = step
    # the Python segments' edges, recorded in edge order
    n_python = len(python.keys)
    if n_python:
        py_lens = np.array(python.counts, np.int64)
        dest = (np.repeat(offsets[python.rows, python.ids], py_lens) + np.arange(n_python)
                - np.repeat(np.cumsum(py_lens) - py_lens, py_lens))
        e_key[dest] = np.array(python.keys, np.int64)
        e_kind[dest] = np.array(python.kinds, np.int8)
        e_prog[dest] = np.array(python.progress, bool)
        e_event[dest] = -1 - np.arange(n_python)
        python_dest = dest
    else:
        python_dest = np.zeros(0, np.int64)
    e_pos = np.repeat(np.arange(n), counts.sum(1))
    return BatchEdges(e_key, e_kind, e_prog, e_event, e_pos, offsets, python_dest)
