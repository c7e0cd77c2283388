"""The seed's worked examples (DOMAIN.md §5), run through the reference with every invariant.

The seed is the 2008 R2 SP1 article in ../shared/seeds/: a static host fills up, a dynamic VM
keeps its startup memory, and a squeezed hungry guest pages itself while the host never does.
"""

from __future__ import annotations

from dm_builders import accept, dyn, make, ready, settled, static

from dynmem.model.invariants import BY_ID, holds
from dynmem.model.ops import CONCRETE
from dynmem.model.vocabulary import Power
from dynmem.reference.environment import settle
from dynmem.reference.events import Demand, Start, StatusReport
from dynmem.reference.settings import HostSettings
from dynmem.reference.state import DmState, compute_pressure
from dynmem.verification.traces.trace import check_transition

SEED_HOST = HostSettings(physical_mib=32 * 1024, reserve_mib=2 * 1024)


def test_the_16th_static_2_gib_vm_does_not_start() -> None:
    """R-START: 32 GiB host, 2 GiB reserve: 15 static 2 GiB VMs start, the 16th fails."""
    names = [f"vm{i:02}" for i in range(1, 17)]
    state = make(*[(name, static(2048)) for name in names], host=SEED_HOST)
    state = accept(state, *[Start(name) for name in names[:15]])
    assert state.free_mib == 0
    assert all(vm.assigned_mib == 2048 for vm in state.vms[:15])
    # its start waits for reclaim, owning nothing, and fails: static VMs give nothing back
    waiting = accept(state, Start("vm16"))
    assert waiting.free_mib == 0 and waiting.vms[15].owned_mib == 0
    assert settled(waiting).vms[15].power == Power.OFF


def test_a_dynamic_vm_never_drops_below_startup() -> None:
    """INV-FLOOR: a VM using 1085 of its 2048 MiB startup keeps 2048; pressure shows waste."""
    state = make(("web", dyn(startup=2048, maximum=8192)), host=SEED_HOST)
    state = settled(ready(state, "web", report=1085))
    vm = state.vms[0]
    assert vm.assigned_mib == 2048
    assert compute_pressure(vm.demand_mib, vm.assigned_mib) == 52  # 1085 / 2048


def squeeze_start() -> DmState:
    """``exch`` (startup 2048, weight 2000) grown hungry; then ``sql`` (weight 9000) starts.

    10240 MiB for VMs: exch settles at 7200 MiB (demand 6000 + 20 %), its demand rises to
    9000, and sql, wanting 9600, starts and connects. Nothing has been rebalanced yet.
    """
    host = HostSettings(physical_mib=12 * 1024, reserve_mib=2 * 1024)
    vms = (("exch", dyn(startup=2048, maximum=65536, weight=2000)),
           ("sql", dyn(startup=1024, maximum=65536, weight=9000)))
    state = settled(ready(make(*vms, host=host), "exch", report=6000))
    assert state.vms[0].assigned_mib == 7200
    state = accept(state, Demand("exch", 9000), StatusReport("exch", 9000))
    return ready(state, "sql", report=8000)


def test_a_squeezed_vm_stays_at_or_above_startup_at_every_step() -> None:
    """INV-FLOOR: under a squeeze by a higher weight the VM is ballooned to startup, not below."""
    result = settle(squeeze_start(), max_steps=2000)
    assert result.converged
    lowest = min(outcome.state.vms[0].assigned_mib for _, outcome in result.steps)
    assert lowest == 2048  # it does reach its floor, and never goes below it
    exch, sql = result.steps[-1][1].state.vms
    assert (exch.assigned_mib, sql.assigned_mib) == (2048, 8192)


def test_the_guest_pages_the_host_never_does() -> None:
    """INV-NO-HOST-PAGING: the squeezed guest pages itself; every assigned MiB is host RAM."""
    state = squeeze_start()
    result = settle(state, max_steps=2000)
    assert result.converged
    shrinking = []
    for event, outcome in result.steps:
        assert check_transition(state, event, outcome.state) == []
        if outcome.state.vms[0].assigned_mib < state.vms[0].assigned_mib:
            shrinking.append(event.KIND)
        state = outcome.state
    # Memory left exch only through its balloon responses (INV-NO-HOST-PAGING's two-state part).
    assert shrinking and set(shrinking) == {"balloon_response"}
    exch = state.vms[0]
    assert exch.guest_paged_mib == 9000 - 2048  # the guest pages to its own page file
    assert exch.assigned_mib >= exch.settings.startup_mib
    for inv in ("INV-PHYSICAL", "INV-CONSERVATION", "INV-FLOOR"):
        assert holds(CONCRETE, BY_ID[inv], state)
    assert state.host.reserve_mib + sum(vm.owned_mib for vm in state.vms) == 12 * 1024
