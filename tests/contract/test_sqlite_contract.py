"""`SQLiteStore` passes the store contract suite, in memory and on a file."""

from __future__ import annotations

import itertools
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
