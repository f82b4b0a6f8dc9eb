"""The public namespaces are curated: ``__all__`` is sorted and lists exactly the public names.

Modelled on httpx's ``tests/test_exported_members.py``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import tomllib
import zipfile
from importlib import resources
from pathlib import Path
from types import ModuleType, UnionType

import pytest

import ticketflow

PUBLIC_MODULES = (
    "ticketflow",
    "ticketflow.attachments",
    "ticketflow.commands",
    "ticketflow.config",
    "ticketflow.contrib",
    "ticketflow.contrib.django",
    "ticketflow.contrib.django.testing",
    "ticketflow.contrib.sqlalchemy",
    "ticketflow.email",
    "ticketflow.exceptions",
    "ticketflow.importing",
    "ticketflow.metrics",
    "ticketflow.rules",
    "ticketflow.sla",
    "ticketflow.stores",
    "ticketflow.workflows",
)
PUBLIC_SUBMODULES = frozenset(
    {
        "attachments",
        "cli",
        "commands",
        "config",
        "contrib",
        "email",
        "exceptions",
        "importing",
        "metrics",
        "rules",
        "sla",
        "stores",
        "testing",
        "workflows",
    }
)
"""The public namespaces CONVENTIONS.md section 1 names; every other module is private."""

DUNDER_EXPORTS = frozenset({"__version__"})
"""Dunder names that are part of the public API, as httpx's ``__version__``."""

REPO = Path(__file__).resolve().parents[2]


def public_names(module: ModuleType) -> set[str]:
    """Return the names ``module`` offers: defined in it, or re-exported from below it.

    Imports of other libraries' names (``Iterable``, ``timedelta``, ``annotations``)
    and submodules are not public names of the module; names imported from a
    ticketflow module outside ``module`` (``ClosedPolicy`` in ``ticketflow.workflows``)
    are not either.
    """
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") and name not in DUNDER_EXPORTS:
            continue
        if isinstance(value, ModuleType):
            continue
        # A type alias (``Command = Open | Close | ...``) has no module of its own.
        origin = None if isinstance(value, UnionType) else getattr(value, "__module__", None)
        if origin is not None and not (
            origin == module.__name__ or origin.startswith(module.__name__ + ".")
        ):
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted(name: str) -> None:
    """Each public module's ``__all__`` is sorted, without duplicates."""
    module = importlib.import_module(name)
    assert sorted(set(module.__all__)) == list(module.__all__)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_equals_public_names(name: str) -> None:
    """Each public module's ``__all__`` lists exactly the names it defines or re-exports."""
    module = importlib.import_module(name)
    expected = public_names(module)
    if module is ticketflow:
        # Three subpackages are re-exported by name: `from ticketflow import rules, workflows`.
        expected |= {"commands", "rules", "workflows"}
    assert sorted(expected) == list(module.__all__)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_exported_name_exists(name: str) -> None:
    """Every name in ``__all__`` can be imported from its module."""
    module = importlib.import_module(name)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert [] == missing


def test_only_the_documented_namespaces_are_public_modules() -> None:
    """Every module of the package without a leading underscore is a documented namespace."""
    public = {
        info.name
        for info in pkgutil.iter_modules(ticketflow.__path__)
        if not info.name.startswith("_")
    }
    assert set() == public - PUBLIC_SUBMODULES
    assert {"exceptions", "stores", "testing", "workflows"} <= public


def test_issue_names_import_from_top_level() -> None:
    """The names the quick start promises import from ``ticketflow`` itself."""
    from ticketflow import (  # noqa: F401, PLC0415
        FakeClock,
        Helpdesk,
        MemoryStore,
        Requester,
        SystemClock,
        Ticket,
        Workflow,
        workflows,
    )


def _attribute_docstrings(module: ModuleType) -> set[str]:
    """Return the module-level names assigned and followed by a string (attribute docstrings)."""
    tree = ast.parse(inspect.getsource(module))
    documented = set()
    for node, following in zip(tree.body, tree.body[1:], strict=False):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
            and following.value.value.strip()
        ):
            documented |= {t.id for t in targets if isinstance(t, ast.Name)}
    return documented


def _undocumented(module: ModuleType) -> list[str]:
    missing = []
    attribute_docs = _attribute_docstrings(module)
    for name in module.__all__:
        if name in DUNDER_EXPORTS:
            continue
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isroutine(value) or inspect.ismodule(value):
            doc = value.__doc__
            if inspect.isclass(value) and "__doc__" not in vars(value):
                doc = None  # inherited from a base class, not its own
            if not (doc and doc.strip()):
                missing.append(name)
        elif name not in attribute_docs:
            missing.append(name)
    return missing


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_name_has_a_docstring(name: str) -> None:
    """Every name in ``__all__`` has its own docstring (classes, functions, constants)."""
    module = importlib.import_module(name)
    assert module.__doc__
    assert module.__doc__.strip()
    assert [] == _undocumented(module)


def _public_members(cls: type) -> list[str]:
    names = []
    for attr, value in vars(cls).items():
        if attr.startswith("_") or not (
            inspect.isfunction(value) or isinstance(value, property | classmethod | staticmethod)
        ):
            continue
        names.append(attr)
    return names


@pytest.mark.parametrize(
    "cls",
    [getattr(ticketflow, n) for n in ticketflow.__all__ if inspect.isclass(getattr(ticketflow, n))],
    ids=lambda c: c.__name__,
)
def test_every_public_method_has_a_docstring(cls: type) -> None:
    """Every public method and property of an exported class has a docstring."""
    missing = []
    for attr in _public_members(cls):
        value = vars(cls)[attr]
        func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if not (func.__doc__ and func.__doc__.strip()):
            missing.append(f"{cls.__name__}.{attr}")
    assert [] == missing


def test_py_typed_is_in_the_package() -> None:
    """The installed package carries the PEP 561 ``py.typed`` marker."""
    assert resources.files("ticketflow").joinpath("py.typed").is_file()


def test_py_typed_ships_in_the_wheel(tmp_path: Path) -> None:
    """A wheel built from the project contains ``ticketflow/py.typed``."""
    wheel_builder = pytest.importorskip("hatchling.builders.wheel")
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "hatchling.build" == config["build-system"]["build-backend"]
    built = list(
        wheel_builder.WheelBuilder(str(REPO)).build(directory=str(tmp_path), versions=["standard"])
    )
    assert 1 == len(built)
    with zipfile.ZipFile(built[0]) as wheel:
        names = set(wheel.namelist())
    assert "ticketflow/py.typed" in names
    assert "ticketflow/workflows/liveagent.toml" in names
    # The Django app: Django finds its migration and command by their paths.
    assert "ticketflow/contrib/django/migrations/0001_initial.py" in names
    assert "ticketflow/contrib/django/management/commands/ticketflow_worker.py" in names


ASYNC_DESK_LACKS = frozenset({"attachments", "import_tickets", "simulate"})
"""What `Helpdesk` has and `AsyncHelpdesk` does not, and why: docs/howto/async.md."""


def test_the_async_desk_and_handles_have_the_sync_surface() -> None:
    """`AsyncHelpdesk` has every public `Helpdesk` member but the documented few; handles all."""

    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    assert ASYNC_DESK_LACKS == public(ticketflow.Helpdesk) - public(ticketflow.AsyncHelpdesk)
    assert {"aclose"} == public(ticketflow.AsyncHelpdesk) - public(ticketflow.Helpdesk)
    assert public(ticketflow.CustomerHandle) == public(ticketflow.AsyncCustomerHandle)
    assert public(ticketflow.AgentHandle) == public(ticketflow.AsyncAgentHandle)
