"""The per-VM decomposition's premise about host clauses (model/decomposition.py).

Host clauses must see the VMs only through Σ owned: evaluated on (one VM, the rest summary
owning Σ of the others) they must give the same verdict as on the whole state. Checked
concretely on every state of random reference runs, perturbed so that clauses also fail.
"""

from __future__ import annotations

import attrs
from model_runs import random_steps

from dynmem.model.decomposition import HostClauseView, make_rest
from dynmem.model.invariants import INVARIANTS
from dynmem.model.ops import CONCRETE
from dynmem.model.quantities import owned

HOST_CLAUSES = [c for inv in INVARIANTS for c in inv.clauses if c.scope == "host"]


def test_host_clauses_see_only_the_sum_of_owned() -> None:
    """For every VM k: clause(state) == clause(vm_k + rest summary), on real and broken states."""
    compared = failing = 0
    for pre, _, result in random_steps(seed=31, runs=15, steps=80):
        for state in (pre, attrs.evolve(pre, free_mib=pre.free_mib + 2)):
            for k, vm in enumerate(state.vms):
                rest = sum(owned(CONCRETE, v) for j, v in enumerate(state.vms) if j != k)
                view = HostClauseView(state.host, state.free_mib, (vm, make_rest(rest)))
                for clause in HOST_CLAUSES:
                    whole = clause.holds(CONCRETE, state)
                    assert clause.holds(CONCRETE, view) == whole, clause.name
                    compared += 1
                    failing += not whole
        assert result is not None
    assert compared > 1000 and failing > 100


def test_rest_summary_owns_exactly_its_amount() -> None:
    """The summary pseudo-VM owns what it stands for, and has no other VM fields."""
    rest = make_rest(1234)
    assert owned(CONCRETE, rest) == 1234
    assert not hasattr(rest, "settings") and not hasattr(rest, "demand_mib")
