"""R-DELETE: deleting a VM (process_delete)."""

from __future__ import annotations

from dm_builders import accept, dyn, make, ready, reject, static

from dynmem.reference.events import Delete, Stop


def test_delete_removes_an_off_vm_and_keeps_the_others_in_order() -> None:
    """R-DELETE: an off VM is removed; free memory and the other VMs are unchanged."""
    before = make(("a", static()), ("b", dyn()), ("c", static()))
    after = accept(before, Delete("b"))
    assert [vm.name for vm in after.vms] == ["a", "c"]
    assert after.vms == (before.vms[0], before.vms[2])
    assert after.free_mib == before.free_mib


def test_delete_is_refused_while_running() -> None:
    """R-DELETE: only an off VM can be deleted."""
    state = ready(make(("a", dyn())), "a")
    assert "running" in reject(state, Delete("a"))


def test_delete_after_stop_returns_the_host_to_its_initial_free_memory() -> None:
    """R-DELETE: a stopped VM owns nothing, so deleting it frees nothing more (INV-OFF)."""
    state = accept(ready(make(("a", dyn())), "a", report=3000), Stop("a"), Delete("a"))
    assert state.vms == ()
    assert state.free_mib == 7168


def test_delete_rejects_an_unknown_vm() -> None:
    """R-DELETE: the VM must exist."""
    assert "no VM named 'x'" in reject(make(), Delete("x"))
