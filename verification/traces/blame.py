"""Clause-level blame: which part of a failing invariant clause broke, with its values.

The registry (model/invariants.py) writes every clause once over the operator layer, and
each clause has an ``explain`` for its headline. Here the same clause is evaluated a third
way, besides ``CONCRETE`` and ``SYMBOLIC``: with ``EXPLAIN`` (verification/traces/traced.py), on
values that remember how they were computed. Walking the tree of a failing clause gives

* the conjunct that failed (``part 2 of 4``), one level deeper than the registry's clause,
* the conditions that made an implication apply (``when txn is balloon``),
* the failing comparison with the value of every sub-term, e.g.
  ``reserve 1024 + assigned 14000 (web 14000) + in-flight 2048 (web hot-add 2048) = 17072
  > physical 16384``.

Nothing here restates an invariant: the clauses and the derived quantities are evaluated as
they are written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from dynmem.model.invariants import BY_ID, Clause, Violation
from dynmem.reference.events import Event
from dynmem.verification.traces.trace import Finding, Trace
from dynmem.verification.traces.traced import (
    EXPLAIN,
    Traced,
    View,
    addends,
    describe_condition,
    lift,
    merge_sides,
    state_view,
)

# --- blame -------------------------------------------------------------------------------------


@attrs.frozen
class Reason:
    """One failing part of a clause: where it sits, what made it apply, and what failed."""

    part: tuple[str, ...]  # e.g. ("part 2 of 4",); empty for the clause itself
    given: tuple[str, ...]  # conditions of implications that held
    failed: str  # the failing comparison (or condition) with its values

    def describe(self) -> str:
        """``part 2 of 4, when txn is hot-add: visible 2048 + requested 7000 = 9048 > ...``"""
        lead = [", ".join(self.part)] if self.part else []
        lead += [f"when {'; '.join(self.given)}"] if self.given else []
        return f"{', '.join(lead)}: {self.failed}" if lead else self.failed


def _describe_given(t: Traced) -> str:
    """An implication's (true) condition; its conjuncts separated by commas."""
    if t.kind != "and":
        return describe_condition(t)
    return ", ".join(merge_sides([describe_condition(p) for p in t.parts], " and "))


def explain_failure(t: Traced, event: Event | None = None) -> list[Reason]:
    """The failing parts of the false clause term ``t`` (empty if ``t`` holds)."""
    return [] if t.value else _why(t, (), (), event)


def _why(t: Traced, given: tuple[str, ...], part: tuple[str, ...],
         event: Event | None) -> list[Reason]:
    if t.kind == "and":
        failing = [(i, p) for i, p in enumerate(t.parts, start=1) if not p.value]
        more = len(t.parts) > 1
        return [r for i, p in failing
                for r in _why(p, given, (*part, f"part {i} of {len(t.parts)}") if more else part,
                              event)]
    if t.kind == "implies":
        cond, body = t.parts
        return _why(body, (*given, _describe_given(cond)), part, event)
    if t.kind == "vm":
        return _why(t.parts[0], given, (*part, t.label), event)
    if t.kind == "if":  # only the branch taken failed; its condition is what selected it
        cond, then, other = t.parts
        return _why(then, (*given, describe_condition(cond)), part, event) if cond.value \
            else _why(other, given, part, event)
    if t.kind == "const" and event is not None:
        return [Reason(part, given, f"the event is {event.KIND}, which this part does not "
                                    "allow")]
    if t.kind == "or":
        return [Reason(part, given, "none holds: " + "; ".join(describe_condition(p, True)
                                                               for p in t.parts))]
    return [Reason(part, given, describe_condition(t, required=True))]


def evaluate_clause(clause: Clause, trace: Trace, finding: Finding) -> Traced | None:
    """The clause of ``finding`` evaluated with EXPLAIN on the trace's states (None when the
    finding names a VM or step the trace does not have)."""
    v = finding.violation
    post = trace.state_at(finding.step)
    if clause.scope == "host":
        return lift(clause.holds(EXPLAIN, state_view(post)))
    if clause.scope == "step":  # the step as a whole (a tick: INV-RECLAIM-ORDER)
        if finding.step == 0:
            return None
        event = trace.steps[finding.step - 1].event
        return lift(clause.holds(EXPLAIN, event, state_view(trace.state_at(finding.step - 1)),
                                 state_view(post)))
    vm = post.get_vm(v.vm) if v.vm is not None else None
    if clause.scope == "vm":
        if vm is None:
            return None
        return lift(clause.holds(EXPLAIN, state_view(post), View(vm, "")))
    if finding.step == 0 or vm is None:
        return None
    pre = trace.state_at(finding.step - 1)
    before = pre.get_vm(vm.name)
    if before is None:
        return None
    event = trace.steps[finding.step - 1].event
    return lift(clause.holds(EXPLAIN, event, View(before, "before "), View(vm, "after ")))


def find_clause(violation: Violation) -> Clause | None:
    """The registry clause a violation names, or None (e.g. a progress property)."""
    inv = BY_ID.get(violation.invariant)
    if inv is None:
        return None
    return next((c for c in inv.clauses if c.name == violation.clause), None)


def blame(trace: Trace, finding: Finding) -> list[Reason]:
    """Why ``finding``'s clause fails on the trace's states, one level below the clause.

    Returns no reasons for a violation that is not a registry clause (progress properties,
    oracle divergences), or whose clause holds on the recorded states (a finding an
    implementation reported on states the trace does not show).

    Examples
    --------
    >>> from dynmem.model.vocabulary import Power
    >>> from dynmem.reference.settings import HostSettings, VmSettings
    >>> from dynmem.reference.state import initial_state
    >>> from dynmem.verification.traces.trace import record
    >>> s = initial_state(HostSettings(4096, 1024), (("web", VmSettings(startup_mib=2048)),))
    >>> vm = attrs.evolve(s.vms[0], power=Power.RUNNING, visible_mib=3072)
    >>> t = record(attrs.evolve(s.with_vm(vm), free_mib=0), [])
    >>> f = next(f for f in t.findings if f.invariant == "INV-STATIC")
    >>> [r.describe() for r in blame(t, f)]
    ['part 1 of 2, when power is running, not dynamic: visible 3072 != startup 2048']
    """
    clause = find_clause(finding.violation)
    if clause is None:
        return []
    term = evaluate_clause(clause, trace, finding)
    if term is None:
        return []
    event = (trace.steps[finding.step - 1].event if clause.scope in ("pair", "step")
             else None)
    return explain_failure(term, event)


def is_informative(trace: Trace, finding: Finding, reasons: Sequence[Reason]) -> bool:
    """Whether ``reasons`` say more than the registry's one-line explanation: the clause is a
    conjunction or implication, or its comparison sums more than one quantity over VMs
    (``assigned ... + in-flight ...``)."""
    clause = find_clause(finding.violation)
    term = evaluate_clause(clause, trace, finding) if clause is not None and reasons else None
    if term is None:
        return False
    return term.kind != "cmp" or any(_components(s) > 1 for s in _sums(term))


def _sums(t: Traced) -> list[Traced]:
    if t.kind == "sum":
        return [t]
    return [s for p in t.parts for s in _sums(p)] if t.kind in ("arith", "cmp") else []


def _components(t: Traced) -> int:
    """How many quantities with a non-zero total a sum over VMs adds up."""
    rows = [addends(p.parts[0]) for p in t.parts]
    if not rows or len({len(r) for r in rows}) != 1:
        return 1
    return sum(1 for i in range(len(rows[0])) if any(r[i][1].value for r in rows))


def blame_lines(trace: Trace, finding: Finding) -> list[str]:
    """The lines to show under ``finding``: its failing parts with their values, when they
    add to the registry's explanation (else none). A crash here must not hide the trace, so
    it becomes a line that says so."""
    try:
        reasons = blame(trace, finding)
        return [r.describe() for r in reasons] if is_informative(trace, finding, reasons) \
            else []
    except Exception as err:  # shown as a line, never swallowed silently
        return [f"(no deeper blame: {type(err).__name__}: {err})"]


def first_failing_step(trace: Trace) -> list[Finding]:
    """The findings of the trace's first failing step (empty for an ok trace)."""
    first = trace.first_finding
    return [f for f in trace.findings if first is not None and f.step == first.step]


@attrs.frozen
class Why:
    """The answer to a newcomer's questions about one broken invariant of a trace."""

    invariant: str  # INV-...
    statement: str  # "(no_overcommit): reserve + ..." from the registry, or ""
    step: int
    where: str  # the step in words
    scope: str  # "VM web" or "the host"
    clause: str
    message: str  # the registry's explanation with values
    parts: tuple[str, ...]  # the failing parts one level deeper (blame_lines)


def describe_why(trace: Trace, where: Callable[[int], str]) -> list[Why]:
    """Which invariant broke, its statement, at which step (``where(step)`` words it), for
    which VM, and why (the values), per broken invariant of the first failing step."""
    found = []
    for finding in first_failing_step(trace):
        v = finding.violation
        inv = BY_ID.get(v.invariant)
        statement = f"({inv.name}) {inv.statement}" if inv is not None else ""
        scope = f"VM {v.vm}" if v.vm is not None else "the host"
        found.append(Why(v.invariant, statement, finding.step, where(finding.step), scope,
                         v.clause, v.message, tuple(blame_lines(trace, finding))))
    return found
