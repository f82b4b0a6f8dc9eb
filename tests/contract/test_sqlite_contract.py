"""`SQLiteStore` passes the store contract suite, in memory and on a file."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketflow import SQLiteStore, TicketStore
from ticketflow.testing import StoreContract
from ticketflow.testing.contract import StoreFactory, StoreReopener


class TestSQLiteMemoryStore(StoreContract):
    """The contract on a private in-memory SQLite database (not durable)."""

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        return lambda: SQLiteStore(":memory:")


class TestSQLiteFileStore(StoreContract):
    """The contract on a SQLite file with the default settings (WAL, synchronous=FULL),
    reopened from the file for the durability tests."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        numbers = itertools.count()
        return lambda: SQLiteStore(tmp_path / f"store-{next(numbers)}.db")

    @pytest.fixture
    def reopen_store(self) -> StoreReopener:
        def reopen(closed: TicketStore) -> TicketStore:
            assert isinstance(closed, SQLiteStore)
            return SQLiteStore(closed.path)

        return reopen


class TestSQLiteOnConnectionStore(StoreContract):
    """The contract on an application's connections in autocommit mode (Django's mode
    outside ``atomic()``): each store call is a transaction of its own. The store is
    given a function returning the calling thread's connection, as Django's is."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[StoreFactory]:
        numbers = itertools.count()
        opened: list[sqlite3.Connection] = []

        def make() -> TicketStore:
            path = tmp_path / f"app-{next(numbers)}.db"
            local = threading.local()

            def current() -> sqlite3.Connection:
                if not hasattr(local, "conn"):
                    local.conn = sqlite3.connect(
                        path, isolation_level=None, timeout=10, check_same_thread=False
                    )
                    opened.append(local.conn)
                conn: sqlite3.Connection = local.conn
                return conn

            current().execute("CREATE TABLE app_rows (name TEXT)")  # the application's own
            store = SQLiteStore.on_connection(current)
            store.migrate()
            return store

        yield make
        for conn in opened:
            conn.close()
