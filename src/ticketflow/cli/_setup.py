"""What every command shares: exit statuses, the default store, --store/--config/--guards."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Mapping
from typing import Final

from .._workflow import Guard
from ..config import HelpdeskConfig
from ..exceptions import StoreError, TicketflowError
from ..stores import TicketStore, open_store
from ..workflows import PRESETS

__all__ = [
    "EXIT_ABORTED",
    "EXIT_BAD_SETUP",
    "EXIT_OK",
    "EXIT_STORE_FAILED",
    "WORKER_STORE",
    "SetupError",
    "config_options",
    "import_object",
    "load_config",
    "open_store_option",
]

WORKER_STORE: Final = "sqlite:///helpdesk.db"
"""The store ``worker`` and ``report`` open unless told otherwise."""

EXIT_OK: Final = 0
EXIT_STORE_FAILED: Final = 1
EXIT_BAD_SETUP: Final = 2
EXIT_ABORTED: Final = 130


class SetupError(Exception):
    """A command cannot start: a bad store URL, configuration or subscriber."""


def open_store_option(url: str) -> TicketStore:
    """Open ``--store``; a store that cannot be opened is a setup error naming the option."""
    try:
        return open_store(url)
    except StoreError as exc:
        raise SetupError(f"--store {url!r}: {exc}") from exc


def import_object(option: str, spec: str, example: str) -> object:
    """Import ``module:attribute`` (the attribute may be ``Class.attribute``) for ``option``.

    ``example`` shows the shape expected, as ``module:function, e.g. app.hooks:notify``.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise SetupError(f"{option} {spec!r}: write {example}")
    try:
        found: object = importlib.import_module(module_name)
    except Exception as exc:
        raise SetupError(
            f"{option} {spec!r}: cannot import module {module_name!r}: "
            f"{type(exc).__name__}: {exc} (is its directory on PYTHONPATH?)"
        ) from exc
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise SetupError(
                f"{option} {spec!r}: module {module_name!r} has no attribute {attribute!r}"
            ) from None
    return found


def import_guards(spec: str | None) -> dict[str, Guard]:
    """Import ``--guards module:mapping``: guard callables by the names the workflow uses."""
    if spec is None:
        return {}
    found = import_object("--guards", spec, "module:mapping, e.g. myapp.guards:GUARDS")
    if not isinstance(found, Mapping):
        raise SetupError(
            f"--guards {spec!r}: it is a {type(found).__name__}, not a mapping of guard "
            "names to callables taking a ticket"
        )
    guards: dict[str, Guard] = {}
    for name, guard in found.items():
        if not isinstance(name, str) or not callable(guard):
            raise SetupError(
                f"--guards {spec!r}: entry {name!r} must map a name to a callable taking a ticket"
            )
        guards[name] = guard
    return guards


def load_config(name: str, guards: str | None = None) -> HelpdeskConfig:
    """Read ``--config`` (a preset name or a configuration file) with ``--guards``."""
    imported = import_guards(guards)
    if name in PRESETS:
        return HelpdeskConfig.preset(name)
    try:
        return HelpdeskConfig.load(name, guards=imported)
    except OSError as exc:
        raise SetupError(
            f"--config {name!r}: cannot read it ({exc.strerror or exc}); "
            f"give a configuration .toml file or a preset name ({', '.join(PRESETS)})"
        ) from exc
    except TicketflowError as exc:
        raise SetupError(f"--config {name!r}: {exc}") from exc


def config_options(parser: argparse.ArgumentParser, default: str | None, what: str) -> None:
    """Add ``--config`` and ``--guards``, read by `load_config`."""
    parser.add_argument(
        "--config",
        default=default,
        metavar="FILE",
        help=f"a configuration .toml/.json file (docs/reference/config.md) or a preset name "
        f"({', '.join(PRESETS)}): {what}",
    )
    parser.add_argument(
        "--guards",
        metavar="MODULE:MAPPING",
        help="import MAPPING, a dict of guard name -> callable(ticket) -> bool, for the "
        "custom guards the configuration's transitions name",
    )
