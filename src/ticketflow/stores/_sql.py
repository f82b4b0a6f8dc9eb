"""What the SQL stores share: SQL text, and the ``on_commit`` of a hosted store.

SQL text is built alike whatever the placeholder; a store on the application's
connection checks its ``on_commit`` and falls back to `skip_delivery` alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _validate
from ..exceptions import StoreError

__all__ = ["OnCommit", "check_on_commit", "equal_filters", "skip_delivery"]

OnCommit = Callable[[Callable[[], None]], None]
"""Runs a callback once the application's transaction commits (never on rollback)."""


def check_on_commit(where: str, on_commit: object) -> OnCommit | None:
    """``on_commit`` (None or a function), checked; `StoreError` names ``where``."""
    if on_commit is not None and not callable(on_commit):
        raise StoreError(
            f"{where}: on_commit must be a function, not {_validate.describe(on_commit)}"
        )
    return on_commit


def skip_delivery(callback: Callable[[], None]) -> None:
    """The ``after_commit`` of a hosted store without ``on_commit``: run nothing.

    Its application's commit cannot be seen, and an in-process delivery before
    it could announce a ticket that is then rolled back; the worker's
    ``dispatch`` delivers the outbox once it is committed.
    """
    del callback


def equal_filters(mark: str, **values: object) -> tuple[list[str], list[Any]]:
    """Return ``column = <mark>`` clauses and their parameters, for the values given.

    ``None`` means "any": that column gets no clause. Column names come from the
    caller's code, never from data; the values go in as parameters.
    """
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in values.items():
        if value is not None:
            clauses.append(f"{column} = {mark}")
            params.append(value)
    return clauses, params
