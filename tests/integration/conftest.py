"""Fixtures for the integration tests: a fresh PostgreSQL schema per test.

The PostgreSQL tests need a server: ``TICKETFLOW_POSTGRES_URL`` names a database
on it (``.ci/run`` starts one and sets the variable). Each test gets a new, empty
schema in that database, chosen through libpq's ``options=-csearch_path=...``, and
the schema is dropped afterwards: isolation for the price of one CREATE SCHEMA.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

POSTGRES_ENV = "TICKETFLOW_POSTGRES_URL"
SKIP_REASON = f"set {POSTGRES_ENV} to run PostgreSQL tests; .ci/run starts a server"


def with_schema(url: str, schema: str) -> str:
    """Return ``url`` with libpq's ``options`` set to put ``schema`` first on the search_path."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of the test database, from ``TICKETFLOW_POSTGRES_URL`` (skip without it)."""
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(SKIP_REASON)
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose connections see a fresh, empty schema of their own; dropped afterwards."""
    import psycopg  # noqa: PLC0415 - only when a server is configured
    from psycopg import sql  # noqa: PLC0415

    schema = f"tf_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield with_schema(postgres_server, schema)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
