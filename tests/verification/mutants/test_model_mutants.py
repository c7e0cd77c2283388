"""The model-level planted bugs (verification/mutants/model_edits.py), each caught by BMC.

* every model mutant is caught by BMC at N <= 3 with a short trace that REPLAYS in the
  reference-level bug of the same name (verification/mutants/catalogue.py) and breaks the expected
  invariant there too;
* together they cover every invariant of DOMAIN.md §3; every catalogue bug but the policy
  one has a model-level twin, wired into the catalogue's ``model_variant``;
* the mutants are pure edits: the real model's actions are unchanged, and editing a guard
  or action that does not exist fails loudly;
* ``dynmem mutants`` lists them (name, invariant, levels, description).
"""

from __future__ import annotations

import json

import pytest

from dynmem.model.actions import ACTIONS, START
from dynmem.model.invariants import BY_ID
from dynmem.verification.cli.main import main
from dynmem.verification.mutants.catalogue import BY_NAME, MUTANTS
from dynmem.verification.mutants.model_edits import (
    MODEL_MUTANTS,
    NO_MODEL_VARIANT,
    drop_guard,
    get_action,
    get_model_mutant,
    replace_action,
)
from dynmem.verification.symbolic.bmc import Counterexample, check_bmc
from dynmem.verification.symbolic.scope import small_scope

DOMAIN_INVARIANTS = {"INV-FLOOR", "INV-CEILING", "INV-PHYSICAL", "INV-NO-HOST-PAGING",
                     "INV-CONSERVATION", "INV-STATIC", "INV-OFF", "INV-ONE-TXN", "INV-CONFIG"}
# The VM slots each mutant is checked with (N <= 3) and the longest trace accepted.
SLOTS = {name: 3 if name == "start_without_free_memory" else 2 for name in MODEL_MUTANTS}
MAX_DEPTH = 8


@pytest.mark.slow  # BMC of every model-level mutant (test_bmc.py keeps one in the fast run)
@pytest.mark.parametrize("name", list(MODEL_MUTANTS))
def test_caught_and_replayed_in_reference_mutant(name: str) -> None:
    """BMC finds the mutant's invariant broken within 8 steps; the shortest trace replays,
    step for step, in the reference-level bug and breaks the same invariant there."""
    mutant = MODEL_MUTANTS[name]
    reference_bug = BY_NAME[name]
    # on the host the bug needs (a version bug shows only on a host that refuses a version)
    outcome = check_bmc(small_scope(SLOTS[name], reference_bug.explore_profile), MAX_DEPTH,
                        mutant.apply(),
                        [BY_ID[mutant.invariant]], reference_bug.reference_step,
                        notes=(("mutant", name),))
    assert isinstance(outcome, Counterexample), outcome
    assert outcome.invariants == (mutant.invariant,)
    trace = outcome.trace
    assert len(trace.steps) == outcome.depth <= MAX_DEPTH
    assert all(step.rejected is None for step in trace.steps)
    assert mutant.invariant in {f.invariant for f in trace.findings if f.step == outcome.depth}
    # INV-RECLAIM-ORDER is the model's target-free reading of the PROG-RECLAIM-ORDER it breaks
    assert (mutant.reads or mutant.invariant) in reference_bug.breaks
    assert mutant.invariant in reference_bug.evidence


def test_every_domain_invariant_is_covered() -> None:
    """DOMAIN.md §3: at least 10 mutants, each of the nine invariants broken by one."""
    assert len(MODEL_MUTANTS) >= 10
    assert {m.invariant for m in MODEL_MUTANTS.values()} >= DOMAIN_INVARIANTS


def test_catalogue_is_wired() -> None:
    """Every catalogue bug has its model twin in ``model_variant``, except the documented
    policy-only ones; no model mutant lacks a catalogue entry."""
    for m in MUTANTS:
        if m.name in NO_MODEL_VARIANT:
            assert m.model_variant is None
        else:
            assert m.model_variant is MODEL_MUTANTS[m.name]
    assert set(MODEL_MUTANTS) <= set(BY_NAME)


def test_mutants_are_pure_edits() -> None:
    """Applying a mutant returns new actions and leaves the real model untouched; each
    mutant changes at least one action."""
    before = tuple(ACTIONS)
    for mutant in MODEL_MUTANTS.values():
        mutated = mutant.apply()
        assert [a.name for a in mutated] == [a.name for a in ACTIONS]
        assert any(a is not b for a, b in zip(mutated, ACTIONS, strict=True)), mutant.name
    assert tuple(ACTIONS) == before and all(a is b for a, b in zip(ACTIONS, before,
                                                                    strict=True))


def test_edits_of_missing_names_fail_loudly() -> None:
    """A renamed guard or action cannot silently turn a mutant into the real model."""
    with pytest.raises(ValueError, match="no guard 'nope'"):
        drop_guard(START, "nope")
    with pytest.raises(ValueError, match="no action named 'Nope'"):
        replace_action(ACTIONS, "Nope", lambda a: a)
    with pytest.raises(ValueError):
        get_action(ACTIONS, "Nope")
    with pytest.raises(KeyError, match="known: hot_add_ignores_reserve"):
        get_model_mutant("nope")


def test_dynmem_mutants_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mutants"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("NAME ") and "INVARIANT" in out
    assert "oscillating_policy: no model-level variant" in out
    assert "hot_add_returns_stranded_tail  breaks INV-CONSERVATION" in out  # only pages show it
    assert main(["mutants", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in doc["unit_mutants"]] == ["balloon_frees_whole_units",
                                                        "hot_add_returns_stranded_tail"]
    rows = {r["name"]: r for r in doc["mutants"]}
    assert set(rows) == {m.name for m in MUTANTS}
    assert rows["stop_keeps_transaction"] == {
        "name": "stop_keeps_transaction", "invariant": "INV-OFF",
        "breaks": ["INV-OFF", "INV-ONE-TXN"], "model": True, "reference": True,
        "description": BY_NAME["stop_keeps_transaction"].description, "note": None}
    assert rows["oscillating_policy"]["model"] is False
