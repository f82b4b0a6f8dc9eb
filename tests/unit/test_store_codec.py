"""The SQL stores' codec: stored rows that are not ticketflow events are a StoreError."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ticketflow import FakeClock, Helpdesk, SQLiteStore, StoreError
from ticketflow.stores import _codec as codec
from ticketflow.stores._codec import decode_ticket, dump_event

from .conftest import ANN

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _event_text(**changes: object) -> str:
    """A stored agent reply's JSON text, with ``changes``."""
    record = {
        "kind": "agent_replied",
        "at": START.isoformat(),
        "actor": {"id": "bob", "role": "agent"},
        "status_before": "new",
        "status_after": "new",
        "data": {},
        "version": 2,
    }
    return json.dumps({**record, **changes})


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"kind":"agent_replied"}',
        _event_text(kind="no_such_kind"),
        _event_text(at="yesterday"),
    ],
)
def test_a_corrupt_event_row_is_a_store_error_naming_the_ticket(tmp_path: Path, body: str) -> None:
    """A row another program wrote into the events table: StoreError naming store and ticket."""
    path = tmp_path / "corrupt.db"
    store = SQLiteStore(path, synchronous="OFF")
    ticket = Helpdesk(store=store, clock=FakeClock(START)).open_ticket(subject="s", requester=ANN)
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tickets SET version = 2 WHERE id = ?", (ticket.id,))
        conn.execute("INSERT INTO events VALUES (?, 1, ?)", (ticket.id, body))
    reader = SQLiteStore(path)
    with pytest.raises(StoreError, match=rf"corrupt\.db.*ticket {ticket.id!r}.*cannot be decoded"):
        reader.get(ticket.id)
    reader.close()


def test_decoding_shares_one_object_per_actor_and_instant_within_a_ticket() -> None:
    """Events by the same actor at the same instant hold the same Actor and datetime objects."""
    desk = Helpdesk(clock=FakeClock(START))
    ticket = desk.open_ticket(subject="s", requester=ANN)
    for _ in range(3):
        desk.agent_reply(ticket.id, "hi", by="bob")
        ticket = desk.customer_reply(ticket.id, "thanks")
    decoded = decode_ticket([dump_event(e) for e in ticket.timeline], "test")
    assert ticket == decoded
    assert 2 == len({id(e.actor) for e in decoded.timeline})  # ann and bob
    assert 1 == len({id(e.at) for e in decoded.timeline})  # one FakeClock instant


def test_a_timeline_longer_than_a_chunk_decodes_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are parsed in chunks; the ticket and its shared actors come out the same."""
    monkeypatch.setattr(codec, "_CHUNK", 2)
    desk = Helpdesk(clock=FakeClock(START))
    ticket = desk.open_ticket(subject="s", requester=ANN)
    for _ in range(3):
        desk.agent_reply(ticket.id, "hi", by="bob")
        ticket = desk.customer_reply(ticket.id, "thanks")
    assert 7 == len(ticket.timeline)
    decoded = decode_ticket([dump_event(e) for e in ticket.timeline], "test")
    assert ticket == decoded
    assert 2 == len({id(e.actor) for e in decoded.timeline})
