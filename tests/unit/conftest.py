"""Fixtures for the unit tests: a MemoryStore and a FakeClock, nothing slower."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from ticketflow import Actor, FakeClock, Helpdesk, MemoryStore, Requester, Role, Ticket, workflows

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""The fake clock's start: Monday 2026-01-05 09:00 UTC."""

ANN = Requester(
    name="Ann Example",
    email="ann@example.com",
    contacts={"phone": "+32 2 555 01 01"},
    organisation="Example NV",
)

ADMIN = Actor("admin", Role.ADMIN)
"""An administrator: the only role that may purge by default."""


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at `START`."""
    return FakeClock(START)


@pytest.fixture
def store() -> MemoryStore:
    """An empty in-memory store."""
    return MemoryStore()


@pytest.fixture
def desk(clock: FakeClock, store: MemoryStore) -> Helpdesk:
    """A LiveAgent help desk on `store` and `clock`."""
    return Helpdesk(workflows.liveagent(), store=store, clock=clock)


@pytest.fixture
def open_ticket(desk: Helpdesk) -> Callable[..., Ticket]:
    """Open a ticket on ``desk`` from Ann, with defaults for the required arguments."""

    def make(**kwargs: Any) -> Ticket:
        kwargs.setdefault("subject", "Printer jammed")
        kwargs.setdefault("requester", ANN)
        kwargs.setdefault("description", "The printer on floor 2 eats paper.")
        return desk.open_ticket(**kwargs)

    return make
