"""SQL text the SQL stores build alike, whatever their placeholder."""

from __future__ import annotations

from typing import Any

__all__ = ["equal_filters"]


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
