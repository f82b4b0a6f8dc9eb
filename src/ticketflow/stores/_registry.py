"""Open a store from a URL: built-in schemes and the ``ticketflow.stores`` entry points."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Final, cast

from .._validate import text_problem
from ..exceptions import StoreError
from ._protocol import TicketStore

__all__ = ["ENTRY_POINT_GROUP", "open_store"]

ENTRY_POINT_GROUP: Final = "ticketflow.stores"
"""The entry-point group third-party backends register their URL scheme in."""


def _memory(url: str) -> TicketStore:
    from ._memory import MemoryStore  # noqa: PLC0415 - opened on demand

    if url.lower() not in {"memory:", "memory://"}:
        raise StoreError(f"store URL {url!r}: a memory store takes no path; write 'memory://'")
    return MemoryStore()


def _sqlite(url: str) -> TicketStore:
    from ._sqlite import SQLiteStore  # noqa: PLC0415 - opened on demand

    return SQLiteStore.from_url(url)


def _postgres(url: str) -> TicketStore:
    from ._postgres import PostgresStore  # noqa: PLC0415 - opened on demand

    return PostgresStore.from_url(url)


_BUILT_IN: Final[dict[str, Callable[[str], TicketStore]]] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "postgresql": _postgres,
    "postgres": _postgres,
}


def _scheme(url: object) -> str:
    if not isinstance(url, str):
        raise StoreError(f"a store URL must be a string, not {type(url).__name__}")
    problem = text_problem(url)
    if problem is not None:
        raise StoreError(f"store URL {url!r} {problem}")
    scheme, sep, _ = url.partition(":")
    if not sep or not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
        raise StoreError(
            f"store URL {url!r} has no scheme; "
            "write e.g. 'sqlite:///helpdesk.db', 'postgresql://host/db' or 'memory://'"
        )
    return scheme.lower()


def open_store(url: str) -> TicketStore:
    """Open the store a URL names.

    Built in: ``memory://``, ``sqlite:///relative/path.db``,
    ``sqlite:////absolute/path.db``, ``sqlite://:memory:`` and
    ``postgresql://user@host:port/dbname`` (needs ``ticketflow[postgres]``).
    Any other scheme is looked up among the installed ``ticketflow.stores``
    entry points: the entry point named after the scheme must load a callable
    that takes the URL and returns a `TicketStore`.

    Example:
        >>> from ticketflow import open_store
        >>> open_store("memory://")
        MemoryStore(<0 tickets>)

    Raises:
        StoreError: the URL is malformed or no backend serves its scheme.
        StoreUnavailable: the backend cannot open what the URL names.
    """
    scheme = _scheme(url)
    factory = _BUILT_IN.get(scheme)
    if factory is None:
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == scheme]
        if not found:
            known = sorted({*_BUILT_IN, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})
            raise StoreError(
                f"store URL {url!r}: no backend for scheme {scheme!r}; "
                f"installed schemes: {', '.join(known)}"
            )
        try:
            factory = cast("Callable[[str], TicketStore]", found[0].load())
        except Exception as exc:
            raise StoreError(
                f"store URL {url!r}: the backend {found[0].value!r} for scheme "
                f"{scheme!r} failed to load: {exc}"
            ) from exc
    store = factory(url)
    if not isinstance(store, TicketStore):
        raise StoreError(
            f"store URL {url!r}: the backend for {scheme!r} returned "
            f"{type(store).__name__}, which is not a TicketStore"
        )
    return store
