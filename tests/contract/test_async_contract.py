"""The async stores pass the async store contract suite: memory, SQLite, PostgreSQL.

The PostgreSQL class is skipped unless ``TICKETFLOW_POSTGRES_URL`` names a
database (``.ci/run`` starts a server); each store gets a fresh schema.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from ticketflow import (
    AsyncMemoryStore,
    AsyncPostgresStore,
    AsyncSQLiteStore,
    MemoryStore,
    PostgresStore,
    SQLiteStore,
)
from ticketflow.testing import AsyncStoreContract
from ticketflow.testing.contract import AsyncStoreFactory, SyncStoreFactory

POSTGRES_ENV = "TICKETFLOW_POSTGRES_URL"


class TestAsyncMemoryStore(AsyncStoreContract):
    """The contract on `AsyncMemoryStore` (calls never suspend: no races to expect)."""

    @pytest.fixture
    def make_store(self) -> AsyncStoreFactory:
        return AsyncMemoryStore

    @pytest.fixture
    def make_sync_store(self) -> SyncStoreFactory:
        return MemoryStore


class TestAsyncSQLiteMemoryStore(AsyncStoreContract):
    """The contract on `AsyncSQLiteStore` over a private in-memory database."""

    expect_races: ClassVar[bool] = True

    @pytest.fixture
    def make_store(self) -> AsyncStoreFactory:
        return AsyncSQLiteStore

    @pytest.fixture
    def make_sync_store(self) -> SyncStoreFactory:
        return SQLiteStore


class TestAsyncSQLiteFileStore(AsyncStoreContract):
    """The contract on `AsyncSQLiteStore` over a file (WAL, synchronous=FULL)."""

    expect_races: ClassVar[bool] = True

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> AsyncStoreFactory:
        numbers = itertools.count()
        return lambda: AsyncSQLiteStore(tmp_path / f"store-{next(numbers)}.db")

    @pytest.fixture
    def make_sync_store(self, tmp_path: Path) -> SyncStoreFactory:
        numbers = itertools.count()
        return lambda: SQLiteStore(tmp_path / f"sync-{next(numbers)}.db")


@pytest.mark.skipif(
    not os.environ.get(POSTGRES_ENV),
    reason=f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against",
)
class TestAsyncPostgresStore(AsyncStoreContract):
    """The contract on `AsyncPostgresStore`, each store in a fresh schema."""

    expect_races: ClassVar[bool] = True

    @pytest.fixture
    def make_store(self) -> Iterator[AsyncStoreFactory]:
        from ticketflow.testing._postgres import postgres_schema  # noqa: PLC0415

        with contextlib.ExitStack() as schemas:

            def make() -> AsyncPostgresStore:
                url = schemas.enter_context(postgres_schema(os.environ[POSTGRES_ENV], "tf_async"))
                return AsyncPostgresStore(url, max_size=10)

            yield make

    @pytest.fixture
    def make_sync_store(self) -> Iterator[SyncStoreFactory]:
        from ticketflow.testing._postgres import postgres_schema  # noqa: PLC0415

        with contextlib.ExitStack() as schemas:

            def make() -> PostgresStore:
                url = schemas.enter_context(postgres_schema(os.environ[POSTGRES_ENV], "tf_sync"))
                return PostgresStore(url)

            yield make
