"""R-CONFIGURE: changing a VM's settings (process_configure)."""

from __future__ import annotations

from dm_builders import accept, dyn, make, ready, reject, static

from dynmem.model.vocabulary import Channel
from dynmem.reference.events import Configure, Start, Stop
from dynmem.reference.settings import VmSettings


def test_configure_replaces_the_settings_of_an_off_vm() -> None:
    """R-CONFIGURE: an off VM takes the new settings; nothing else changes."""
    before = make(("a", static(1024)), ("b", static()))
    after = accept(before, Configure("a", dyn(startup=2048, maximum=8192, weight=9000)))
    assert after.vms[0].settings == dyn(startup=2048, maximum=8192, weight=9000)
    assert after.vms[1] == before.vms[1]
    assert after.free_mib == before.free_mib


def test_configure_static_to_dynamic_takes_effect_at_the_next_start() -> None:
    """R-CONFIGURE: a VM made dynamic while off opens a DM channel when it starts."""
    state = accept(make(("a", static())), Configure("a", dyn()), Start("a"))
    assert state.vms[0].channel == Channel.NEGOTIATING


def test_configure_is_refused_while_running() -> None:
    """R-CONFIGURE: profile 2008R2SP1 changes no memory setting while the VM runs."""
    state = ready(make(("a", dyn())), "a", report=1000)
    reason = reject(state, Configure("a", dyn(buffer=50)))
    assert "running" in reason


def test_configure_is_allowed_again_after_stop() -> None:
    """R-CONFIGURE: after a stop the VM is off and its settings may change."""
    state = accept(ready(make(("a", dyn())), "a"), Stop("a"), Configure("a", dyn(buffer=50)))
    assert state.vms[0].settings.buffer_pct == 50


def test_configure_rejects_invalid_settings() -> None:
    """R-CONFIGURE: the new settings must be in range (INV-CONFIG); the old ones stay."""
    state = make(("a", dyn()))
    reason = reject(state, Configure("a", VmSettings(buffer_pct=4)))
    assert "buffer_pct = 4" in reason


def test_configure_rejects_an_unknown_vm() -> None:
    """R-CONFIGURE: the VM must exist."""
    assert "no VM named 'zz'" in reject(make(("a", dyn())), Configure("zz", dyn()))
