"""The package order of ARCHITECTURE.md, checked on the AST of every module (issue 10).

``model < reference < verification root (errors, codec, atomic) < properties, mutants < traces
< {scenarios | symbolic | explore | stateful | oracle | audit} < {conformance | cluster} < suite
< {cli | plugin}``: a module imports only from its own package or from packages of a lower
rank, never from a
sibling; there is no import circle between modules; and an import inside a function is a
deliberate lazy load of a heavy third-party library, never of dynmem itself (a hidden circle
or a hidden back-arrow).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"model": "dynmem.model", "reference": "dynmem.reference",
           "verification": "dynmem.verification"}

# Rank of each package; equal ranks are siblings, which never import each other.
RANKS = {
    "dynmem.model": 0,
    "dynmem.reference": 1,
    "dynmem.verification": 2,  # the root modules: errors, codec, atomic
    "dynmem.verification.properties": 3,
    "dynmem.verification.mutants": 3,
    "dynmem.verification.traces": 4,
    "dynmem.verification.scenarios": 5,
    "dynmem.verification.symbolic": 5,
    "dynmem.verification.explore": 5,
    "dynmem.verification.stateful": 5,
    "dynmem.verification.walk": 5,
    "dynmem.verification.oracle": 5,
    "dynmem.verification.audit": 5,
    "dynmem.verification.conformance": 6,  # imports explore and oracle (siblings)
    "dynmem.verification.cluster": 6,  # runs the engines' tasks on Dask workers
    "dynmem.verification.suite": 7,
    "dynmem.verification.plugin": 8,  # the pytest plugin: a face for users, like the CLI
    "dynmem.verification.cli": 8,
}
# Heavy third-party libraries a function may import lazily (start-up time of the CLI).
LAZY_OK = {"matplotlib", "z3", "networkx", "hypothesis", "scipy", "numpy", "jinja2", "rich",
           "distributed"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT)
    parts = [FOLDERS[rel.parts[0]], *rel.parts[1:]]
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str:
    """The ranked package ``module`` belongs to (its longest prefix in RANKS)."""
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        prefix = ".".join(parts[:n])
        if prefix in RANKS:
            return prefix
    raise AssertionError(f"{module} is in no package of the order")


def imports(tree: ast.Module) -> list[tuple[ast.stmt, str, bool]]:
    """Every import: (node, imported module, at module level?)."""
    top = {id(n) for n in tree.body}
    for node in tree.body:  # imports under ``if TYPE_CHECKING:`` count as top level
        if isinstance(node, ast.If):
            top |= {id(n) for n in node.body}
    found: list[tuple[ast.stmt, str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node, a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node, node.module, id(node) in top))
            # ``from pkg import mod`` imports the module pkg.mod when there is one
            found += [(node, f"{node.module}.{a.name}", id(node) in top) for a in node.names]
    return found


def sources(root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """Every module of the three folders: name -> (path relative to the root, source text)."""
    out = {}
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            out[module_name(path)] = (str(path.relative_to(root)), path.read_text("utf-8"))
    return out


def check_layout(modules: dict[str, tuple[str, str]]) -> list[str]:
    """Every breach of the order, as one line each (empty: the layout holds)."""
    problems: list[str] = []
    graph = nx.DiGraph()
    for name, (path, text) in modules.items():
        mine = package_of(name)
        for node, target, at_top in imports(ast.parse(text)):
            where = f"{path}:{node.lineno}"
            if not target.startswith("dynmem."):
                if not at_top and target.split(".")[0] not in LAZY_OK:
                    problems.append(f"{where}: function-level import of {target}")
                continue
            if target not in modules:
                continue  # a name imported from a module, not a module
            if not at_top:
                problems.append(f"{where}: function-level import of {target} (hidden circle?)")
            theirs = package_of(target)
            if theirs != mine and RANKS[theirs] >= RANKS[mine]:
                kind = "a sibling" if RANKS[theirs] == RANKS[mine] else "a later package"
                problems.append(f"{where}: {mine} imports {target}, {kind}")
            if target != name and not name.startswith(target + "."):
                graph.add_edge(name, target)
    for cycle in nx.simple_cycles(graph):
        problems.append("import circle: " + " -> ".join([*cycle, cycle[0]]))
    return problems


def test_layout_holds() -> None:
    """No back-arrow, no sibling import, no circle, no hidden function-level import."""
    problems = check_layout(sources())
    assert not problems, "\n".join(problems)


def test_every_package_has_a_face() -> None:
    """Each package's __init__ has a docstring and an ``__all__`` (its public face)."""
    for package in RANKS:
        init = ROOT / package.removeprefix("dynmem.").replace(".", "/") / "__init__.py"
        if not init.parent.exists():
            continue
        tree = ast.parse(init.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{init}: no docstring"
        names = {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                 for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                 if isinstance(t, ast.Name)}
        assert "__all__" in names, f"{init}: no __all__"


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("dynmem.verification.properties.progress",
     "from dynmem.verification.traces.trace import Trace", "a later package"),
    ("dynmem.verification.explore.dot",
     "from dynmem.verification.oracle.iut import SystemIut", "a sibling"),
    ("dynmem.verification.traces.text",
     "def f() -> None:\n    import dynmem.verification.codec", "function-level import"),
    ("dynmem.verification.oracle.iut",
     "from dynmem.verification.oracle.judge import CaseRunner", "import circle"),
])
def test_a_planted_breach_is_caught(module: str, line: str, expected: str) -> None:
    """A back-arrow, a sibling import, a lazy dynmem import and a circle each fail the check."""
    modules = sources()
    path, text = modules[module]
    modules[module] = (path, text + "\n" + line + "\n")
    problems = check_layout(modules)
    assert any(expected in p for p in problems), problems
