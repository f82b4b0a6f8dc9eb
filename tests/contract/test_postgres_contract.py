"""`PostgresStore` passes the store contract suite, each store in a fresh schema.

Skipped unless ``TICKETFLOW_POSTGRES_URL`` names a database (``.ci/run`` starts a
server). Every store the suite asks for gets a new schema of the test database
(through libpq's ``options=-csearch_path=...``); the schemas are dropped after
the test. Reopening a store opens a new pool on the same schema.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from ticketflow import PostgresStore, TicketStore
from ticketflow.testing import StoreContract
from ticketflow.testing.contract import StoreFactory, StoreReopener

POSTGRES_ENV = "TICKETFLOW_POSTGRES_URL"


class Schemas:
    """Fresh schemas on the test server, each store's URL, and cleanup."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.created: list[str] = []
        # Keyed by the store object itself (kept alive here), never by a reusable id().
        self.url_of: list[tuple[TicketStore, str]] = []

    def open(self, url: str) -> TicketStore:
        store = PostgresStore.from_url(url)
        self.url_of.append((store, url))
        return store

    def new_url(self) -> str:
        """A URL whose connections see a new, empty schema first on their search_path."""
        import psycopg  # noqa: PLC0415 - only when a server is configured
        from psycopg import sql  # noqa: PLC0415

        schema = f"tf_contract_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        self.created.append(schema)
        separator = "&" if "?" in self.server else "?"
        return f"{self.server}{separator}options=" + quote(f"-csearch_path={schema}")

    def new_store(self) -> TicketStore:
        return self.open(self.new_url())

    def reopen(self, closed: TicketStore) -> TicketStore:
        (url,) = [u for s, u in self.url_of if s is closed]
        return self.open(url)

    def drop_all(self) -> None:
        import psycopg  # noqa: PLC0415
        from psycopg import sql  # noqa: PLC0415

        with psycopg.connect(self.server, autocommit=True) as conn:
            for schema in self.created:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


class TestPostgresStore(StoreContract):
    """The contract on PostgreSQL, reopened through a new pool for the durability tests."""

    @pytest.fixture
    def schemas(self) -> Iterator[Schemas]:
        server = os.environ.get(POSTGRES_ENV, "")
        if not server:
            pytest.skip(f"set {POSTGRES_ENV} to run PostgreSQL tests; .ci/run starts a server")
        pytest.importorskip("psycopg", reason="the postgres extra is not installed")
        schemas = Schemas(server)
        yield schemas
        schemas.drop_all()

    @pytest.fixture
    def make_store(self, schemas: Schemas) -> StoreFactory:
        return schemas.new_store

    @pytest.fixture
    def reopen_store(self, schemas: Schemas) -> StoreReopener:
        return schemas.reopen


class TestPostgresOnConnectionStore(StoreContract):
    """The contract on an application's connections in autocommit mode (Django's mode
    outside ``atomic()``): each store call is a transaction of its own. The store is
    given a function returning the calling thread's connection, as Django's is."""

    @pytest.fixture
    def make_store(self, schemas: Schemas) -> Iterator[StoreFactory]:
        import psycopg  # noqa: PLC0415 - only when a server is configured

        opened: list[psycopg.Connection[tuple[Any, ...]]] = []

        def make() -> TicketStore:
            schema_url = schemas.new_url()
            local = threading.local()

            def current() -> psycopg.Connection[tuple[Any, ...]]:
                if not hasattr(local, "conn"):
                    local.conn = psycopg.connect(schema_url, autocommit=True)
                    opened.append(local.conn)
                conn: psycopg.Connection[tuple[Any, ...]] = local.conn
                return conn

            store = PostgresStore.on_connection(current)
            store.migrate()
            return store

        yield make
        for conn in opened:
            conn.close()

    @pytest.fixture
    def schemas(self) -> Iterator[Schemas]:
        server = os.environ.get(POSTGRES_ENV, "")
        if not server:
            pytest.skip(f"set {POSTGRES_ENV} to run PostgreSQL tests; .ci/run starts a server")
        pytest.importorskip("psycopg", reason="the postgres extra is not installed")
        schemas = Schemas(server)
        yield schemas
        schemas.drop_all()
