"""R-LOCAL as the engines use it: did a step change at most one VM and free memory?

An event that names one VM reads only that VM, free memory and the host settings, and
changes at most that VM and free memory (R-LOCAL, specs/events.md). The explorer's memo and
the walk's reuse a step's result on every state with the same (VM value, free memory); a
step that changes anything else (a delete, a planted bug that edits other VMs) is stepped
again on every state instead. tests/verification/explore/test_locality.py checks what a
step reads.
"""

from __future__ import annotations

from dynmem.model.actions import BY_KIND
from dynmem.model.dependence import is_free_blind
from dynmem.reference.events import EVENT_TYPES, BalancerTick, Configure, Create, Delete
from dynmem.reference.state import DmState

MULTI_VM = (BalancerTick, Create, Configure, Delete)
# Single-VM kinds whose steps neither read nor write free memory: their model actions do not
# (derived from the action's guards, update and frame: model/dependence.py), and the
# reference's processors agree on random states (tests/verification/oracle/test_vm_step.py).
# The check-trace oracle and the walk key such a step without free memory.
FREE_BLIND = frozenset(kind for kind, action in BY_KIND.items()
                       if is_free_blind(action) and EVENT_TYPES[kind] not in MULTI_VM)


def is_slot_change(pre: DmState, index: int, post: DmState) -> bool:
    """Whether ``post`` is ``pre`` with at most VM ``index`` and free memory changed."""
    before, after = pre.vms, post.vms
    if post.host != pre.host or len(after) != len(before):
        return False
    if after[index].name != before[index].name:
        return False
    # tuple comparison is ``a is b or a == b`` element by element, in C
    return before[:index] == after[:index] and before[index + 1:] == after[index + 1:]
