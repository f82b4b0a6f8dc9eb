"""The stores' bulk path (`insert_new`) writes what `commit` writes, and skips existing tickets.

An import goes through ``insert_new`` on the built-in stores; a store without it
(any third-party one) gets ``commit``. The same records imported both ways must
leave the same rows: ticket columns (summary, requester key, queue, due time),
events, tags, counters and outbox, and the same answers from every query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ticketflow import (
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    MemoryStore,
    SQLiteStore,
    TicketStore,
    workflows,
)
from ticketflow.exceptions import StoreError
from ticketflow.importing import ImportEvent, ImportRecord
from ticketflow.sla import SlaPolicy
from ticketflow.stores import Change, SearchQuery, TicketQuery
from ticketflow.stores._summary import SummaryQuery

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PAST = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
_POLICY = SlaPolicy(
    "standard", targets={"normal": {"first_reply": "1h"}}, warn_before="15m", escalations=()
)


class _CommitOnly:
    """A store without ``insert_new``: the importer writes through ``commit``."""

    def __init__(self, store: TicketStore) -> None:
        self._inner = store
        self.commits: list[list[Change]] = []

    def commit(self, changes: Sequence[Change]) -> None:
        self.commits.append(list(changes))
        self._inner.commit(changes)

    def __getattr__(self, name: str) -> Any:
        if name == "insert_new":
            raise AttributeError(name)
        return getattr(self._inner, name)


def _zendesk(store: Any) -> Helpdesk:
    """Zendesk: a time rule (close solved tickets after 4 days)."""
    return Helpdesk(config=HelpdeskConfig.preset("zendesk"), store=store, clock=FakeClock(NOW))


def _liveagent_sla(store: Any) -> Helpdesk:
    """LiveAgent with a first-reply SLA: due times and queue keys for open tickets."""
    return Helpdesk(workflows.liveagent(), store=store, clock=FakeClock(NOW), sla=[_POLICY])


DESKS = {"zendesk": _zendesk, "liveagent+sla": _liveagent_sla}


def _records(statuses: tuple[str | None, str]) -> list[ImportRecord]:
    """Varied histories: requesters with and without e-mail, tags, fields, replies, refusals.

    Nine tickets of the past, three of the last half hour (SLA stages still to come).
    """
    middle, last = statuses
    out = []
    for i in range(12):
        if i < 9:
            at, step = PAST + timedelta(days=i * 60), timedelta(hours=1)
        else:
            at, step = NOW - timedelta(minutes=30 - i), timedelta(minutes=1)
        requester: dict[str, Any] = {"name": f"Customer {i % 4}"}
        if i % 3:
            requester["email"] = f" Cust{i % 4}@Example.COM "
        events = [
            ImportEvent(
                kind="created",
                at=at,
                actor=None if i % 2 else "agent-a",
                assignee="agent-b" if i % 4 == 1 else None,
                priority=("low", "normal", "high", "urgent")[i % 4] if i < 9 else "normal",
                message=f"Help {i}",
                data={
                    "subject": f'Ticket {i} \u00e9\u4e2d "quoted"',
                    "requester": requester,
                    "tags": ["vip", f"t{i % 3}"] if i % 2 else [],
                    "custom_fields": {"order": i, "notes": [f"n{i}", None]} if i % 3 else {},
                    "channel": ("email", "chat", "import")[i % 3],
                },
            ),
            ImportEvent(kind="tags_added", at=at + step, data={"tags": ["x"]}),
            ImportEvent(at=at + 2 * step, status=middle, assignee="agent-c"),
            ImportEvent(at=at + 4 * step, status="no-such-status"),  # refused
        ]
        if i % 2 == 0:
            events.insert(3, ImportEvent(kind="agent_replied", at=at + 3 * step, actor="agent-c"))
        if i % 3 == 0:
            events.append(ImportEvent(at=at + 5 * step, status=last, department="L2"))
        out.append(ImportRecord(external_id=f"EXT-{i:02}", events=events))
    return out


STATUSES: dict[str, tuple[str | None, str]] = {
    "zendesk": ("open", "solved"),
    "liveagent+sla": (None, "resolved"),
}


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {
            "tickets": conn.execute("SELECT * FROM tickets ORDER BY id").fetchall(),
            "events": conn.execute("SELECT * FROM events ORDER BY ticket_id, position").fetchall(),
            "tags": conn.execute("SELECT * FROM tags ORDER BY tag, ticket_id").fetchall(),
            "counts": conn.execute("SELECT * FROM ticket_counts ORDER BY 1, 2, 3, 4").fetchall(),
            "outbox": conn.execute(
                "SELECT ticket_id, position, kind, claimed_until, attempts FROM outbox ORDER BY seq"
            ).fetchall(),
            "message_ids": conn.execute("SELECT * FROM message_ids ORDER BY 1, 2").fetchall(),
            "search_docs": conn.execute(
                "SELECT ticket_id, private, text FROM search_docs ORDER BY 1, 2, 3"
            ).fetchall(),
            "search_indexed": conn.execute("SELECT * FROM search_indexed").fetchall(),
            "search hits": conn.execute(
                "SELECT DISTINCT d.ticket_id FROM search_index AS i "
                "JOIN search_docs AS d ON d.rowid = i.rowid "
                'WHERE search_index MATCH \'"quoted" OR "help"\' ORDER BY 1'
            ).fetchall(),
            # Every table is compared: a new one must be added here.
            "tables": conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            ).fetchall(),
        }
    finally:
        conn.close()


@pytest.mark.parametrize("name", sorted(DESKS))
def test_an_sqlite_import_writes_the_rows_commit_writes(tmp_path: Path, name: str) -> None:
    """Every table row of the bulk path equals the row of the commit path."""
    desk_of: Callable[[Any], Helpdesk] = DESKS[name]
    records = _records(STATUSES[name])
    bulk, plain = SQLiteStore(tmp_path / "bulk.db"), SQLiteStore(tmp_path / "plain.db")
    try:
        reports = [
            desk_of(store).import_tickets(records, strict=False, batch=5)
            for store in (bulk, _CommitOnly(plain))
        ]
        # The bulk load indexes its text in its own transaction; commits leave
        # theirs to the next batch (`index_search`), after which both agree.
        assert 0 == bulk.index_search()
        assert plain.index_search() > 0
    finally:
        bulk.close()
        plain.close()
    assert reports[0].refused == reports[1].refused
    assert (12, 12) == (reports[0].tickets, reports[1].tickets)
    assert reports[0].written == reports[1].written
    bulk_rows, plain_rows = _tables(tmp_path / "bulk.db"), _tables(tmp_path / "plain.db")
    assert bulk_rows == plain_rows
    # What the comparison covers is there to compare.
    tickets = bulk_rows["tickets"]
    assert len(tickets) == 12
    assert bulk_rows["tags"]
    assert len(bulk_rows["search hits"]) == 12  # every imported ticket can be found
    assert any(row is not None for row in _column(tmp_path / "bulk.db", "requester_email"))
    assert any(row is not None for row in _column(tmp_path / "bulk.db", "due_at"))
    if name == "liveagent+sla":
        assert any(row is not None for row in _column(tmp_path / "bulk.db", "queue_due"))


def _column(path: Path, column: str) -> list[Any]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute(f"SELECT {column} FROM tickets")]  # noqa: S608 - test's own names
    finally:
        conn.close()


def _answers(store: Any) -> dict[str, Any]:
    """What every query of the store says about its tickets."""
    far = NOW + timedelta(days=3650)
    ids = [f"EXT-{i:02}" for i in range(12)]
    return {
        "tickets": [store.get(tid) for tid in ids],
        "due": [t.id for t in store.due(far, 100)],
        "next_due": store.next_due_at(),
        "queue": [t.id for t in store.queue(assignee=None, department=None, limit=100)],
        "queue_c": [t.id for t in store.queue(assignee="agent-c", department=None, limit=100)],
        "by_requester": [t.id for t in store.find(TicketQuery(requester="cust1@example.com"))],
        "tagged": [t.id for t in store.find(TicketQuery(tag="vip"))],
        "summaries": store.summaries(SummaryQuery(limit=100)),
        "counts": store.summary_counts("status", SummaryQuery(limit=100)),
        "outbox": store.outbox_pending(),
        "count": store.count(),
        "search": store.search(
            SearchQuery(terms=("help",), filters=SummaryQuery(limit=100), limit=100)
        ),
    }


@pytest.mark.parametrize("name", sorted(DESKS))
def test_a_memory_import_answers_every_query_as_commit_does(name: str) -> None:
    """The memory store's indexes (requester, due heap, queue) hold the same after either path."""
    desk_of = DESKS[name]
    records = _records(STATUSES[name])
    bulk, plain = MemoryStore(), MemoryStore()
    desk_of(bulk).import_tickets(records, strict=False, batch=5)
    desk_of(_CommitOnly(plain)).import_tickets(records, strict=False, batch=5)
    answers = _answers(bulk)
    assert answers == _answers(plain)
    assert answers["due"]
    assert answers["by_requester"]
    assert len(answers["search"]) == 12
    if name == "liveagent+sla":
        assert answers["queue"]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_insert_new_skips_existing_and_repeated_tickets_and_queues_outbox_entries(
    tmp_path: Path, kind: str
) -> None:
    """Existing ids and a repeat within the call are returned, not written; outbox as commit."""
    recorder = _CommitOnly(MemoryStore())
    _zendesk(recorder).import_tickets(_records(STATUSES["zendesk"])[:4], strict=False)
    changes = [c._replace(outbox=(0,)) for batch in recorder.commits for c in batch]
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "o.db")
    reference: Any = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "r.db")
    try:
        store.commit(changes[:1])
        skipped = store.insert_new([changes[2], *changes, changes[3]])
        assert [changes[0].ticket.id, changes[2].ticket.id, changes[3].ticket.id] == skipped
        assert 4 == store.count() == store.outbox_pending()
        reference.commit(changes[:1])
        reference.commit([changes[2], changes[1], changes[3]])
        for tid in (c.ticket.id for c in changes):
            assert reference.get(tid) == store.get(tid)
        far = NOW + timedelta(days=1)
        claimed = store.claim_outbox(far, 10, timedelta(minutes=1))
        expected = reference.claim_outbox(far, 10, timedelta(minutes=1))
        assert [(e.ticket_id, e.position) for e in expected] == [
            (e.ticket_id, e.position) for e in claimed
        ]
        assert [] == store.insert_new([])
    finally:
        if kind == "sqlite":
            store.close()
            reference.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_insert_new_refuses_a_change_that_is_not_a_creation(tmp_path: Path, kind: str) -> None:
    """A change with expected version 1 (or a rewrite) is a StoreError; nothing is written."""
    recorder = _CommitOnly(MemoryStore())
    _zendesk(recorder).import_tickets(_records(STATUSES["zendesk"])[:2], strict=False)
    first, second = (c for batch in recorder.commits for c in batch)
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "x.db")
    try:
        for bad in (second._replace(expected_version=1), second._replace(rewrite=True)):
            with pytest.raises(StoreError, match="insert_new writes new tickets only"):
                store.insert_new([first, bad])
        assert 0 == store.count()
    finally:
        if kind == "sqlite":
            store.close()
