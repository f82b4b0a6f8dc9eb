"""A fresh PostgreSQL schema per test (or benchmark): isolation on one test database."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import quote

__all__ = ["postgres_schema", "with_schema"]


def with_schema(url: str, schema: str) -> str:
    """Return ``url`` with libpq's ``options`` putting ``schema`` first on the search_path."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


@contextlib.contextmanager
def postgres_schema(url: str, prefix: str = "tf_test") -> Iterator[str]:
    """Create a new, empty schema on the database ``url`` names; drop it on exit.

    Yields a URL whose connections see that schema first on their search_path, so
    a `ticketflow.stores.PostgresStore` opened on it creates its tables there:
    each test gets an empty database for the price of one ``CREATE SCHEMA``.

    Examples:
        >>> from ticketflow import open_store
        >>> with postgres_schema("postgresql://postgres@127.0.0.1/test") as url:  # doctest: +SKIP
        ...     store = open_store(url)

    Args:
        url: A ``postgresql://`` URL of a database the user may create schemas in.
        prefix: The start of the schema's name (a random suffix follows).

    Raises:
        ImportError: psycopg is not installed (the ``postgres`` extra).
    """
    import psycopg  # noqa: PLC0415 - only with a server (the postgres extra)
    from psycopg import sql  # noqa: PLC0415

    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield with_schema(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
