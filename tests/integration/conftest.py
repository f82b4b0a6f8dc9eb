"""Fixtures for the integration tests: a fresh PostgreSQL schema per test.

The PostgreSQL tests need a server: ``TICKETFLOW_POSTGRES_URL`` names a database
on it (``.ci/run`` starts one and sets the variable). Each test gets a new, empty
schema in that database, chosen through libpq's ``options=-csearch_path=...``, and
the schema is dropped afterwards: isolation for the price of one CREATE SCHEMA.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ticketflow.testing import postgres_schema

POSTGRES_ENV = "TICKETFLOW_POSTGRES_URL"
SKIP_REASON = f"set {POSTGRES_ENV} to run PostgreSQL tests; .ci/run starts a server"


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
    with postgres_schema(postgres_server) as url:
        yield url
