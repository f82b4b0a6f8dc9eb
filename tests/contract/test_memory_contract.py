"""`MemoryStore` passes the store contract suite."""

from __future__ import annotations

import pytest

from ticketflow import MemoryStore
from ticketflow.testing import StoreContract
from ticketflow.testing.contract import StoreFactory


class TestMemoryStore(StoreContract):
    """The contract on `MemoryStore` (not durable: the reopen tests skip)."""

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        return MemoryStore
