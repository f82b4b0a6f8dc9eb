"""Fixtures and helpers for the integration tests: a fresh PostgreSQL schema per
test, the recording subscriber worker processes load, and answered tickets made
days in the past.

The PostgreSQL tests need a server: ``TICKETFLOW_POSTGRES_URL`` names a database
on it (``.ci/run`` starts one and sets the variable). Each test gets a new, empty
schema in that database, chosen through libpq's ``options=-csearch_path=...``, and
the schema is dropped afterwards: isolation for the price of one CREATE SCHEMA.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ticketflow import FakeClock, Helpdesk, Requester, SystemClock, Ticket, open_store, rules
from ticketflow.stores import Change
from ticketflow.testing import postgres_schema

POSTGRES_ENV = "TICKETFLOW_POSTGRES_URL"
SKIP_REASON = f"set {POSTGRES_ENV} to run PostgreSQL tests; .ci/run starts a server"
ANN = Requester(name="Ann Example", email="ann@example.com")
REMIND = rules.inactivity(status="answered", after=timedelta(days=2), then="remind")
CLOSE = rules.after(status="answered", delay=timedelta(days=3), then="close")

RECORDER = '''
"""A test subscriber: append each delivery to the file TICKETFLOW_TEST_RECORD names."""

import os
import time


def record(ticket, event):
    """Append one line with one write() call, then return."""
    position = next(i for i, e in enumerate(ticket.timeline) if e is event)
    line = f"{ticket.id} {position} {event.version} {event.kind.value}\\n"
    fd = os.open(os.environ["TICKETFLOW_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        # Once write() returns the kernel holds the line: killing this process cannot
        # take it back (an fsync would only matter if the machine died).
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def slow(ticket, event):
    """A subscriber with real work to do (a mail server), so a signal lands mid-sweep."""
    record(ticket, event)
    time.sleep(0.02)
'''


def install_recorder(directory: Path) -> str:
    """Write the ``recorder`` module into ``directory/hooks``; return a PYTHONPATH with it."""
    hooks = directory / "hooks"
    hooks.mkdir()
    (hooks / "recorder.py").write_text(RECORDER, encoding="utf-8")
    return os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")])


def answered_tickets(url: str, count: int, *, tags: tuple[str, ...] = ()) -> list[str]:
    """Store ``count`` tickets answered ten days ago, so `REMIND` and `CLOSE` are due now.

    They are made on a memory store, then written as the engine would have: version
    1 (created), then version 2 (answered) with its due time: two bulk commits.
    """
    desk = Helpdesk(
        clock=FakeClock(SystemClock().now() - timedelta(days=10)), rules=[REMIND, CLOSE]
    )
    made = []
    for i in range(count):
        ticket = desk.open_ticket(subject=f"ticket {i}", requester=ANN, tags=tags)
        made.append(desk.agent_reply(ticket.id, "Please try again", by="bob"))
    store = open_store(url)
    try:
        store.commit([Change(Ticket.rebuild(t.timeline[:1]), 0) for t in made])
        store.commit([Change(t, 1, due_at=desk.next_due(t.id).at) for t in made])  # type: ignore[union-attr]
    finally:
        store.close()
    return [t.id for t in made]


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
