"""Every event kind has each of its pieces, and a missing one is named with the file to edit.

An event kind is a class in ``reference/events.py`` (``KIND``, ``SPEC``, ``SHORT``, and
``WORDS`` where ``describe_event`` has no case for it) listed in
``EVENT_TYPES``. The pieces that live elsewhere are each checked here against
``EVENT_TYPES``, so a new kind fails one test per missing piece, and the failure says where
the piece goes (CONTRIBUTING.md, "Add an event kind"). Two facts need no edit, being derived:
the prove table's column heading (the class's ``SHORT``) and whether check-trace may key the
kind's steps without free memory (``FREE_BLIND``, from the model action's guards, update and
frame: model/dependence.py). The spec heading (tests/test_spec_ids.py) and the reference's
test file (tests/reference/test_event_test_files.py) are checked where they were before.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis.stateful import RULE_MARKER

from dynmem.model import actions
from dynmem.model.actions import BY_KIND
from dynmem.model.dependence import is_free_blind
from dynmem.reference import events
from dynmem.reference.events import EVENT_TYPES
from dynmem.reference.settings import HostSettings, VmSettings
from dynmem.reference.state import initial_state
from dynmem.reference.step import step
from dynmem.verification.oracle import checktrace
from dynmem.verification.properties import reachable
from dynmem.verification.stateful.machine import DmMachine
from dynmem.verification.traces.words import describe_event

ROOT = Path(__file__).resolve().parents[1]
KINDS = sorted(EVENT_TYPES)


def where(obj: Any) -> str:
    """The repository file that defines ``obj`` (so the message follows a module that moves)."""
    return str(Path(inspect.getsourcefile(obj) or "?").resolve().relative_to(ROOT))


def sample(kind: str) -> Any:
    """An event of ``kind``, its fields without a default filled with plain values."""
    values = {"str": "web", "int": 2, "bool": True, "VmSettings": VmSettings()}
    cls = EVENT_TYPES[kind]
    return cls(**{f.name: values[str(f.type)] for f in attrs.fields(cls)
                  if f.default is attrs.NOTHING})


@pytest.mark.parametrize("kind", KINDS)
def test_the_class_has_its_short_name(kind: str) -> None:
    """``SHORT``: the kind's column heading in the ``dynmem prove`` table, unique."""
    cls = EVENT_TYPES[kind]
    short = getattr(cls, "SHORT", None)
    assert isinstance(short, str) and 0 < len(short) <= 4, (
        f"event kind {kind!r} has no SHORT (at most 4 letters): add it to {cls.__name__} "
        f"in {where(events)}")
    others = {c.SHORT for k, c in EVENT_TYPES.items() if k != kind}
    assert short not in others, f"SHORT {short!r} of {kind!r} is taken: {where(events)}"


@pytest.mark.parametrize("kind", KINDS)
def test_the_reference_processes_it(kind: str) -> None:
    """``reference.step`` dispatches the kind to its ``process_<kind>``."""
    state = initial_state(HostSettings(4096, 1024), (("web", VmSettings()),))
    try:
        step(state, sample(kind))
    except KeyError:
        pytest.fail(f"event kind {kind!r} has no processor: add process_{kind} to "
                    f"_PROCESSORS in {where(step)}")


@pytest.mark.parametrize("kind", KINDS)
def test_the_model_has_an_action(kind: str) -> None:
    """The model's action of the same kind and name: guards, update, declared frame."""
    name = EVENT_TYPES[kind].__name__
    action = BY_KIND.get(kind)
    assert action is not None and action.name == name, (
        f"event kind {kind!r} has no model action: add {name} to ACTIONS in {where(actions)}")


@pytest.mark.parametrize("kind", KINDS)
def test_a_trace_has_words_for_it(kind: str) -> None:
    """``describe_event`` says the event in domain words, not as its repr."""
    event = sample(kind)
    assert describe_event(event) != repr(event), (
        f"event kind {kind!r} has no words in a trace: give {type(event).__name__} a WORDS "
        f"template in {where(events)}, or add a case to describe_event in "
        f"{where(describe_event)}")


def test_a_class_may_state_its_words() -> None:
    """A kind without a case in ``describe_event`` is said by its class's ``WORDS``."""

    @attrs.frozen
    class Nap:
        KIND: ClassVar[str] = "nap"
        WORDS: ClassVar[str] = "{vm} naps for {mib} MiB"
        vm: str
        mib: int

    assert describe_event(Nap("web", 2)) == "web naps for 2 MiB"  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_the_stateful_machine_has_a_rule(kind: str) -> None:
    """``DmMachine`` has a rule named after the kind (drawing from strategies.py)."""
    rule = getattr(DmMachine, kind, None)
    assert rule is not None and hasattr(rule, RULE_MARKER), (
        f"event kind {kind!r} has no stateful rule: add a @rule method {kind} to DmMachine in "
        f"{where(DmMachine)} (its strategy, if it draws one, goes in "
        f"verification/stateful/strategies.py)")


@pytest.mark.parametrize("kind", KINDS)
def test_exploration_coverage_lists_it(kind: str) -> None:
    """``REACHABLE_PAIRS`` has a pair of the kind (alone or sent by a tick)."""
    kinds = {part for event, _ in reachable.REACHABLE_PAIRS for part in event.split(">")}
    assert kind in kinds, (
        f"event kind {kind!r} is in no REACHABLE_PAIRS pair: recompute the table with "
        "dynmem.verification.explore.reachable.compute_reachable_pairs() and paste it into "
        f"{where(reachable)}")


def test_free_blind_is_derived_from_the_model() -> None:
    """Check-trace's ``FREE_BLIND`` is every single-VM kind whose action neither reads nor
    writes free memory: nothing to edit for a new kind."""
    derived = {kind for kind, action in BY_KIND.items() if is_free_blind(action)}
    assert derived - {"create", "configure", "delete"} == checktrace.FREE_BLIND
