"""Docstring examples are tests (STYLE rule 15): every example in the three packages runs.

Each module of dynmem.model, dynmem.reference and dynmem.verification is imported and its
examples run with ``doctest``. A module fails when an example fails, or when a docstring
announces an Examples section that holds no runnable example.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

PACKAGES = ("dynmem.model", "dynmem.reference", "dynmem.verification")
# A numpydoc "Examples" heading: the word, then a line of dashes.
EXAMPLES_HEADING = re.compile(r"^\s*Examples\s*\n\s*-{3,}\s*$", re.M)


def get_module_names() -> list[str]:
    """Every module of the three packages, sub-packages included, sorted."""
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        names += [info.name for info in pkgutil.walk_packages(package.__path__,
                                                              prefix=f"{package_name}.")
                  if not info.name.endswith(".__main__")]  # importing it runs the CLI
    return sorted(names)


def count_examples(module: ModuleType) -> int:
    """How many ``>>>`` examples doctest finds in ``module`` (its own objects only)."""
    return sum(len(test.examples) for test in doctest.DocTestFinder().find(module))


def claims_examples(module: ModuleType) -> bool:
    """Whether some docstring of ``module`` has a numpydoc Examples heading."""
    return bool(EXAMPLES_HEADING.search(inspect.getsource(module)))


MODULES = get_module_names()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_pass(name: str) -> None:
    """R-*: the module's docstring examples all pass; an announced Examples section has some."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, report=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
    if claims_examples(module):
        assert count_examples(module) > 0, f"{name} has an Examples heading but no example"


def test_the_core_examples_are_found() -> None:
    """R-*: the walk finds the packages' modules and the examples they are known to hold."""
    assert {"dynmem.reference.step", "dynmem.reference.state", "dynmem.reference.policy",
            "dynmem.reference.environment", "dynmem.verification.traces.trace",
            "dynmem.model.invariants"} <= set(MODULES)
    for name in ("dynmem.reference.step", "dynmem.reference.state",
                 "dynmem.reference.environment", "dynmem.verification.traces.trace"):
        assert count_examples(importlib.import_module(name)) > 0, name


def test_a_failing_example_is_reported() -> None:
    """R-*: the check is killable: a module with a wrong example has a failure."""
    module = ModuleType("planted")
    module.__doc__ = ">>> 1 + 1\n3\n"
    assert doctest.testmod(module, report=False).failed == 1
    empty = ModuleType("claims")
    empty.__doc__ = "Examples\n--------\nNone here.\n"
    assert EXAMPLES_HEADING.search(empty.__doc__)
    assert count_examples(empty) == 0
