"""Imports inside ``src/ticketflow`` run one way: no module imports itself back.

The graph is read from the source with `ast`: every ``import`` and ``from ... import``
of a ticketflow module, at module level or inside a function (a lazy import is still
a dependency), except under ``if TYPE_CHECKING:`` (never executed). Importing
``a.b.c`` also runs the ``__init__`` of each package on the way (``a.b``), so an
edge goes to those packages too, unless the importer is inside them already (then
they are being imported anyway). The root package ``ticketflow`` is left out: its
``__init__`` only re-exports, and every module would otherwise reach it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "ticketflow"


def module_names() -> dict[str, Path]:
    """Every module of the package, by dotted name (a package by its own name)."""
    found = {}
    for path in sorted((SRC / ROOT).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements under ``node``, skipping ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports_of_statement(other)
            continue
        yield from _imports_of_statement(child)


def _imports_of_statement(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _imports(node)


def _targets(
    statement: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: set[str]
) -> set[str]:
    """The ticketflow modules ``statement`` (in module ``importer``) imports."""
    if isinstance(statement, ast.Import):
        bases = [alias.name for alias in statement.names]
        return {b for b in bases if b.split(".")[0] == ROOT}
    package = importer if is_package else importer.rpartition(".")[0]
    if statement.level:
        parts = package.split(".")
        base_parts = parts[: len(parts) - (statement.level - 1)]
        base = ".".join(base_parts + ([statement.module] if statement.module else []))
    else:
        base = statement.module or ""
    if base.split(".")[0] != ROOT:
        return set()
    found = {base}
    # `from package import name` imports the submodule package.name when there is one.
    found |= {f"{base}.{alias.name}" for alias in statement.names} & known
    return found


@functools.cache
def import_graph() -> dict[str, frozenset[str]]:
    """Module -> the ticketflow modules importing it runs (see the module docstring)."""
    modules = module_names()
    known = set(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for statement in _imports(tree):
            for target in _targets(statement, name, is_package, known):
                parts = target.split(".")
                chain = {".".join(parts[:i]) for i in range(2, len(parts) + 1)}
                inside = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
                graph[name] |= {t for t in chain - inside if t in known and t != name}
    return {name: frozenset(targets) for name, targets in graph.items()}


def find_cycle(graph: Mapping[str, AbstractSet[str]]) -> list[str] | None:
    """Return one cycle as a path (first node repeated at the end), or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour[nxt] == grey:
                return [*stack[stack.index(nxt) :], nxt]
            if colour[nxt] == white and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = black
        return None

    for start in sorted(graph):
        if colour[start] == white and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_cycle_inside_the_package() -> None:
    """No ticketflow module imports itself back, directly or through others."""
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("ticketflow._model", "ticketflow._workflow"),
        ("ticketflow._workflow", "ticketflow.rules"),
        ("ticketflow._workflow", "ticketflow.sla"),
        ("ticketflow._workflow", "ticketflow.config"),
        ("ticketflow.rules", "ticketflow.config"),
        ("ticketflow.sla", "ticketflow.config"),
        ("ticketflow.config", "ticketflow._engine"),
        ("ticketflow._engine", "ticketflow.cli"),
    ],
)
def test_layers_import_one_way(lower: str, upper: str) -> None:
    """model <- workflow <- rules, sla <- config <- engine <- cli: no layer reaches up."""
    graph = import_graph()
    reach: set[str] = set()
    todo = [lower]
    while todo:
        for nxt in graph[todo.pop()] - reach:
            reach.add(nxt)
            todo.append(nxt)
    assert upper not in reach, f"{lower} imports {upper}, a layer above it"


def test_the_checker_finds_a_cycle_and_names_it() -> None:
    """The cycle finder is not vacuous: a two-module loop is found and named in order."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert ["a", "b", "c", "a"] == find_cycle(graph)
    assert None is find_cycle({"a": {"b"}, "b": set()})


def test_the_graph_sees_lazy_imports_and_skips_type_checking_ones(tmp_path: Path) -> None:
    """A function-level import is an edge; one under ``if TYPE_CHECKING:`` is not."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from .sla import SlaPolicy\n"
        "def f():\n"
        "    from .rules import Rule\n"
        "    return Rule\n"
    )
    tree = ast.parse(source)
    known = {"ticketflow.rules", "ticketflow.sla"}
    targets = set()
    for statement in _imports(tree):
        targets |= _targets(statement, "ticketflow._x", False, known)
    assert {"ticketflow.rules"} == targets
