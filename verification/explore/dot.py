"""Graphviz DOT export of an explored state graph: the whole graph, or the part around a path.

Nodes are labelled with a compact state (``free 2 | hi R/HOT 34 | lo R 32``), edges with the
event kinds between the two states; a highlighted path (a counterexample or a cycle) is drawn
in red. Render with ``dot -Tsvg graph.dot > graph.svg``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from dynmem.model.vocabulary import Channel, TxnKind
from dynmem.reference.state import DmState
from dynmem.verification.atomic import write_atomic
from dynmem.verification.explore.graph import KINDS, Exploration

_CHANNEL = {Channel.NONE: "-", Channel.NEGOTIATING: "NEG", Channel.CAPS: "CAPS",
            Channel.QUIET: "QUIET", Channel.READY: "R", Channel.FAILED: "FAIL"}
_TXN = {TxnKind.NONE: "", TxnKind.BALLOON: "/BAL", TxnKind.UNBALLOON: "/UNB",
        TxnKind.HOT_ADD: "/HOT"}


def describe_state(state: DmState) -> str:
    """A one-line state for a node label.

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings
    >>> describe_state(DmState(HostSettings(64, 32), 32))
    'free 32'
    """
    parts = [f"free {state.free_mib}"]
    for vm in state.vms:
        if not vm.running:
            parts.append(f"{vm.name} off")
            continue
        txn = _TXN[vm.txn] + (f" {vm.txn_mib}" if vm.txn != TxnKind.NONE else "")
        parts.append(f"{vm.name} {_CHANNEL[vm.channel]}{txn} {vm.assigned_mib}"
                     f" d{vm.demand_mib}")
    return " | ".join(parts)


def get_neighbourhood(x: Exploration, path: Sequence[int], radius: int = 1) -> set[int]:
    """The states on ``path`` and those within ``radius`` edges of it (either direction)."""
    x.require_all_edges("the neighbourhood of a path")
    keep = set(path)
    frontier = set(path)
    adjacency: dict[int, set[int]] = {}
    for s, t in zip(x.edge_src, x.edge_dst, strict=True):
        adjacency.setdefault(s, set()).add(t)
        adjacency.setdefault(t, set()).add(s)
    for _ in range(radius):
        frontier = {n for f in frontier for n in adjacency.get(f, ())} - keep
        keep |= frontier
    return keep


def to_dot(x: Exploration, nodes: Iterable[int] | None = None,
           path: Sequence[int] = ()) -> str:
    """DOT text for the explored graph (or only ``nodes``), with ``path`` in red."""
    x.require_all_edges("a DOT drawing")
    shown = set(range(x.n_states)) if nodes is None else set(nodes)
    on_path = set(zip(path, path[1:], strict=False))
    lines = [f'digraph "{x.config.name}" {{', "  node [shape=box, fontsize=9];",
             "  edge [fontsize=8];"]
    for sid in sorted(shown):
        style = ", color=red, penwidth=2" if sid in path else ""
        style += ", style=bold" if sid == 0 else ""
        label = describe_state(x.states[sid]).replace('"', "'")
        lines.append(f'  s{sid} [label="{sid}: {label}"{style}];')
    kinds: dict[tuple[int, int], set[str]] = {}
    for s, t, k in zip(x.edge_src, x.edge_dst, x.edge_kind, strict=True):
        if s in shown and t in shown:
            kinds.setdefault((s, t), set()).add(KINDS[k])
    for (s, t), names in sorted(kinds.items()):
        style = ", color=red, penwidth=2" if (s, t) in on_path else ""
        lines.append(f'  s{s} -> s{t} [label="{", ".join(sorted(names))}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temp file in the same folder, then replace).

    Raises
    ------
    InputError
        When the file cannot be written.
    """
    write_atomic(path, text)
