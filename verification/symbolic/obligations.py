"""Proof obligations and their outcomes (specs/proofs.md): what ``dynmem prove`` decides.

The inductive invariant IndInv is every state clause of the registry (layers type, safety
and aux). The obligations:

* initiation, per invariant: Init ⇒ inv;
* consecution, per (action × slot × invariant): IndInv ∧ guards ∧ post = update(pre) ⇒
  inv(post) ∧ inv's two-state clauses on (pre, post);
* lemmas: the facts the any-N decomposition and the tick encoding rest on (``LEMMAS``).

Each obligation has one of three outcomes: :class:`Proved` (with its unsat core: the
premises and guards the proof used), :class:`CounterexampleToInduction` (the state pair
decoded into reference values, as a ``Trace``) or :class:`Unknown` (budget ran out or solver
unknown: it FAILS the run and is never shown as proved). Obligations that share premises
form a :class:`Group`, decided on one solver (verification/symbolic/inductive.py); the
encodings of a group are in verification/symbolic/encodings.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs

from dynmem.model.actions import ACTIONS, Action
from dynmem.model.invariants import INVARIANTS, Clause, Invariant, is_state_clause
from dynmem.model.units import MIB, Units
from dynmem.verification.traces.trace import Trace

ObligationKind = Literal["initiation", "consecution", "lemma"]

LEMMAS: dict[str, str] = {
    "L-OWNED-NONNEG": "a VM that satisfies the VM clauses owns >= 0 MiB",
    "L-INIT-OWNED": "a VM in an initial state owns nothing",
    "L-PAIR-REFLEXIVE": "every two-state clause holds for a VM the step leaves unchanged",
    "L-TICK-OWNED": "a tick's choice for a VM adds to what it owns exactly what it takes "
                    "from free",
}
# The lemmas each encoding relies on (the concrete one: slicing and the tick's instances).
CONCRETE_LEMMAS = ("L-PAIR-REFLEXIVE", "L-TICK-OWNED")
ANY_N_LEMMAS = tuple(LEMMAS)


@attrs.frozen
class Model:
    """What is checked: the actions and the invariant registry (planted bugs swap them),
    and the unit amounts are counted in (model/units.py: MiB, or 4 KiB pages)."""

    actions: tuple[Action, ...] = ACTIONS
    invariants: tuple[Invariant, ...] = INVARIANTS
    units: Units = MIB

    def action(self, name: str) -> Action:
        return next(a for a in self.actions if a.name == name)

    def invariant(self, inv_id: str) -> Invariant:
        return next(i for i in self.invariants if i.id == inv_id)


REAL_MODEL = Model()  # the model as written (planted bugs pass another Model)


@attrs.frozen
class Obligation:
    """One proof obligation: kind, invariant (or lemma) id, action and slot.

    ``n_vms`` is the number of slots, or None for the any-N decomposition.
    """

    kind: ObligationKind
    invariant: str
    action: str | None = None
    slot: int | None = None
    n_vms: int | None = None

    @property
    def label(self) -> str:
        scope = "any N" if self.n_vms is None else f"N={self.n_vms}"
        if self.kind == "initiation":
            return f"initial states satisfy {self.invariant} ({scope})"
        if self.kind == "lemma":
            return f"lemma {self.invariant} ({scope})"
        where = "" if self.slot is None else f" at vm{self.slot}"
        return f"{self.action}{where} preserves {self.invariant} ({scope})"


@attrs.frozen
class Proved:
    """The obligation holds; ``core`` names the premises and guards the proof used."""

    obligation: Obligation
    seconds: float
    core: tuple[str, ...] = ()
    status: str = "proved"
    rlimit_used: int = 0  # Z3 work units the check used


@attrs.frozen
class CounterexampleToInduction:
    """A pre-state satisfying IndInv and a step the model allows that breaks the invariant.

    ``trace`` is the pre-state and the step as reference values (None when a state breaks
    TypeOK and cannot be a ``DmState``; ``raw`` always has the decoded values). ``failed``
    names the clauses of the invariant that are false after the step.
    """

    obligation: Obligation
    seconds: float
    failed: tuple[str, ...]
    trace: Trace | None
    raw: tuple[tuple[str, Any], ...]
    status: str = "cti"
    rlimit_used: int = 0

    @property
    def message(self) -> str:
        ob = self.obligation
        failed = "; ".join(self.failed)
        if ob.kind == "initiation":
            return f"an initial state breaks {ob.invariant} ({failed})"
        if ob.kind == "lemma":
            return f"lemma {ob.invariant} fails"
        where = "" if ob.slot is None else f" at vm{ob.slot}"
        return f"event {ob.action}{where} does not preserve {ob.invariant} ({failed})"


@attrs.frozen
class Unknown:
    """Z3 could not decide (budget exhausted or unknown): the run FAILS; never a proof."""

    obligation: Obligation
    seconds: float
    reason: str
    status: str = "unknown"
    rlimit_used: int = 0


Outcome = Proved | CounterexampleToInduction | Unknown


# --- obligations and groups ------------------------------------------------------------------


@attrs.frozen
class Group:
    """Obligations decided on one fresh solver: the same premises, one goal per invariant."""

    kind: ObligationKind
    invariants: tuple[str, ...]
    action: str | None = None
    slot: int | None = None
    n_vms: int | None = None

    @property
    def obligations(self) -> tuple[Obligation, ...]:
        return tuple(Obligation(self.kind, inv, self.action, self.slot, self.n_vms)
                     for inv in self.invariants)


def state_clauses(inv: Invariant) -> list[Clause]:
    return [c for c in inv.clauses if is_state_clause(c)]


def get_groups(n_vms: int | None, model: Model = REAL_MODEL) -> list[Group]:
    """Every obligation for ``n_vms`` slots (None: any N), grouped by shared premises."""
    if n_vms is not None and n_vms < 1:
        raise ValueError(f"n_vms must be >= 1, got {n_vms}")
    # a purely two-state invariant has nothing to check on a single (initial) state
    initial = tuple(inv.id for inv in model.invariants if state_clauses(inv))
    every = tuple(inv.id for inv in model.invariants)
    groups = [Group("initiation", initial, n_vms=n_vms)]
    for action in model.actions:
        slots: Sequence[int | None] = (
            [None] if action.scope == "all" or n_vms is None else range(n_vms))
        groups += [Group("consecution", every, action.name, slot, n_vms) for slot in slots]
    lemmas = ANY_N_LEMMAS if n_vms is None else CONCRETE_LEMMAS
    groups += [Group("lemma", (lemma,), n_vms=n_vms) for lemma in lemmas]
    return groups


def get_obligations(n_vms: int | None, model: Model = REAL_MODEL) -> list[Obligation]:
    """Every obligation for ``n_vms`` slots (None: the any-N decomposition and its lemmas)."""
    return [ob for group in get_groups(n_vms, model) for ob in group.obligations]


@attrs.frozen
class ProofRun:
    """Every outcome of one run, in obligation order, and the wall-clock time."""

    n_vms: int | None
    outcomes: tuple[Outcome, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        """True only if every obligation is proved (a CTI or an unknown fails the run)."""
        return bool(self.outcomes) and all(isinstance(o, Proved) for o in self.outcomes)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)
