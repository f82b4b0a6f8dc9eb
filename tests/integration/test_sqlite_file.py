"""SQLiteStore on real files: durability across processes, settings, schema checks, bad input."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from ticketflow import (
    ConflictError,
    FakeClock,
    Helpdesk,
    Requester,
    SQLiteStore,
    StoreError,
    StoreUnavailable,
    Ticket,
    open_store,
    rules,
)
from ticketflow._apply import apply_event
from ticketflow._model import Actor, Event, EventKind, Role
from ticketflow.stores import Change, IndexUpdate, QueueKey, TicketQuery
from ticketflow.stores._sqlite import _MIGRATIONS, APPLICATION_ID, SCHEMA_VERSION

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ANN = Requester(name="Ann Example", email="ann@example.com")
CY = Requester(name="Cy", email=" Cy.Wong@Example.ORG")
RULES = [
    rules.inactivity(status="resolved", after=7 * DAY, then="close"),
    rules.wake_postponed(),
]


def fill(url: str) -> tuple[Helpdesk, list[str]]:
    """Make a desk on ``url`` with tickets in several states, some with due times."""
    desk = Helpdesk(store=open_store(url), clock=FakeClock(START), rules=RULES)
    ids = []
    for i in range(5):
        t = desk.open_ticket(subject=f"ticket {i}", requester=ANN, tags=[f"t{i % 2}"])
        desk.agent_reply(t.id, f"answer {i}", by="bob")
        if i % 2:
            desk.resolve(t.id, by="bob")
        if i == 4:
            desk.postpone(t.id, START + 2 * DAY, by="bob")
        ids.append(t.id)
    return desk, ids


READER = """
import json, sys
from ticketflow import open_store
store = open_store(sys.argv[1])
out = {
    "tickets": {t.id: [e.to_dict() for e in t.timeline] for t in
                __import__("ticketflow").Helpdesk(store=store).find()},
    "due": [t.id for t in store.due(__import__("datetime").datetime.max.replace(
        tzinfo=__import__("datetime").UTC), 100)],
    "next_due_at": str(store.next_due_at()),
}
print(json.dumps(out))
"""


def test_a_new_process_reads_back_every_ticket_timeline_and_due_time(tmp_path: Path) -> None:
    """Reopening the file in another interpreter gives the same tickets, timelines and due order."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    desk, ids = fill(url)
    desk.store.close()
    out = subprocess.run(
        [sys.executable, "-c", READER, url], capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout)
    local = open_store(url)
    assert sorted(ids) == sorted(seen["tickets"])
    for ticket_id in ids:
        assert [e.to_dict() for e in local.get(ticket_id).timeline] == seen["tickets"][ticket_id]
    far = datetime.max.replace(tzinfo=UTC)
    assert [t.id for t in local.due(far, 100)] == seen["due"]
    assert str(local.next_due_at()) == seen["next_due_at"]
    assert 3 == len(seen["due"])  # two resolved (inactivity) + one postponed (wake)


def test_the_file_is_in_wal_mode_with_full_synchronous_writes(tmp_path: Path) -> None:
    """The durable defaults: journal_mode=wal and synchronous=FULL (2)."""
    store = SQLiteStore(tmp_path / "x.db")
    conn = store._conn
    assert "wal" == conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert 2 == conn.execute("PRAGMA synchronous").fetchone()[0]
    normal = SQLiteStore.from_url(f"sqlite:///{tmp_path / 'y.db'}?synchronous=normal")
    assert 1 == normal._conn.execute("PRAGMA synchronous").fetchone()[0]


def test_a_new_file_gets_the_current_schema_once(tmp_path: Path) -> None:
    """Migrations run on open; opening again is a no-op that keeps the data."""
    path = tmp_path / "x.db"
    desk, ids = fill(f"sqlite:///{path}")
    assert SCHEMA_VERSION == desk.store.schema_version()  # type: ignore[attr-defined]
    desk.store.close()
    again = SQLiteStore(path)
    assert (SCHEMA_VERSION, len(ids)) == (again.schema_version(), again.count())


def test_a_file_written_by_a_newer_ticketflow_is_refused_untouched(tmp_path: Path) -> None:
    """user_version above ours: a StoreError that says to upgrade; the file keeps its bytes."""
    path = tmp_path / "x.db"
    fill(f"sqlite:///{path}")[0].store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"newer ticketflow.*upgrade"):
        SQLiteStore(path)
    assert before == path.read_bytes()


def make_old_file(path: Path, version: int = 1) -> list[Ticket]:
    """Write a file of an older schema as ticketflow did (its DDL, its columns); return its tickets.

    Five tickets from a desk on `MemoryStore`, the last one postponed (a due time),
    the fourth asked by Cy (an address in mixed case), the others by Ann.
    """
    desk = Helpdesk(clock=FakeClock(START), rules=RULES)
    tickets = []
    for i in range(5):
        t = desk.open_ticket(
            subject=f"v{version} {i}",
            requester=CY if i == 3 else ANN,
            assignee="ann",
            tags=["old"],
        )
        desk.agent_reply(t.id, "answer", by="bob")
        tickets.append(t.id)
    desk.postpone(tickets[4], START + DAY, by="bob")
    micros = (START + DAY - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    with sqlite3.connect(path) as conn:
        for number in range(version):
            conn.executescript(_MIGRATIONS[number])
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {version}")
        for tid in tickets:
            t = desk.get(tid)
            conn.execute(
                "INSERT INTO tickets (id, version, status, priority, assignee, department, due_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    t.id,
                    t.version,
                    t.status,
                    int(t.priority),
                    t.assignee,
                    t.department,
                    micros if tid == tickets[4] else None,
                ),
            )
            conn.executemany(
                "INSERT INTO events (ticket_id, position, body) VALUES (?, ?, ?)",
                [(t.id, i, json.dumps(e.to_dict())) for i, e in enumerate(t.timeline)],
            )
            conn.executemany(
                "INSERT INTO tags (tag, ticket_id) VALUES (?, ?)", [(g, t.id) for g in t.tags]
            )
    conn.close()
    return [desk.get(tid) for tid in tickets]


def test_a_version_1_file_is_migrated_keeping_every_ticket_none_of_them_queued(
    tmp_path: Path,
) -> None:
    """A file of schema version 1 opens migrated to the current version, every ticket intact.

    Its tickets are not in the work queue (no key was ever computed for them) until
    a commit or a reindex gives them one; due times, tags and finds still work.
    """
    path = tmp_path / "v1.db"
    tickets = make_old_file(path)
    store = SQLiteStore(path)
    assert 7 == SCHEMA_VERSION == store.schema_version()
    assert "ok" == store.integrity_check()
    assert tickets == [store.get(t.id) for t in tickets]
    assert tickets == store.find(TicketQuery(tag="old", assignee="ann"))
    assert [tickets[4]] == store.due(START + DAY, 10)
    assert [] == store.queue(assignee=None, department=None, limit=10)
    assert 1 == store.reindex([IndexUpdate(tickets[1].id, 2, None, QueueKey(None, START, 2))])
    third = tickets[2]
    note = Event(
        kind=EventKind.NOTE_ADDED,
        at=START,
        actor=Actor("bob", Role.AGENT),
        status_before=third.status,
        status_after=third.status,
        data={"body": "first commit since the migration"},
        version=third.version + 1,
    )
    third = apply_event(third, note)
    store.commit([Change(third, third.version - 1, queue=QueueKey(START, START, 1))])
    assert [third, tickets[1]] == store.queue(assignee="ann", department=None, limit=10)
    store.close()
    again = SQLiteStore(path)  # already current: opened as it is
    assert (7, 5) == (again.schema_version(), again.count())
    assert [third, tickets[1]] == again.queue(assignee=None, department=None, limit=10)
    again.close()


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_file_gets_the_requester_index_on_open(tmp_path: Path, version: int) -> None:
    """Files of schema version 1 and 2 open migrated, with their tickets in the requester index.

    The keys are computed from each ticket's creation event as for new tickets
    (stripped and case-folded); the migration runs once: the next open finds
    the file current and changes nothing.
    """
    path = tmp_path / f"v{version}.db"
    tickets = make_old_file(path, version)
    store = SQLiteStore(path)
    assert SCHEMA_VERSION == store.schema_version()
    assert "ok" == store.integrity_check()
    cy = [tickets[3]]
    ann = [t for t in tickets if t not in cy]
    assert ann == store.find(TicketQuery(requester="ANN@example.com"))
    assert cy == store.find(TicketQuery(requester="cy.wong@example.org"))
    newer = Helpdesk(store=store, clock=FakeClock(START + DAY), rules=RULES)
    fresh = newer.open_ticket(subject="after the migration", requester=CY)
    assert [*cy, fresh] == newer.find(requester="Cy.Wong@example.org")
    store.close()
    before = path.read_bytes()
    again = SQLiteStore(path)
    assert [*cy, fresh] == again.find(TicketQuery(requester="cy.wong@example.org"))
    plan = again._conn.execute(
        "EXPLAIN QUERY PLAN SELECT id, version FROM tickets WHERE requester_email = ? ORDER BY id",
        ("cy.wong@example.org",),
    ).fetchall()
    assert "tickets_requester" in " ".join(str(row[-1]) for row in plan)
    again.close()
    assert before == path.read_bytes()


@pytest.mark.parametrize(
    ("assignee", "department", "index"),
    [
        (None, None, "tickets_queue"),
        ("ann", None, "tickets_queue_assignee"),
        (None, "it", "tickets_queue_department"),
        ("ann", "it", "tickets_queue_"),  # either filter's index: both keep the order
    ],
)
def test_the_queue_query_reads_a_queue_index_in_order(
    tmp_path: Path, assignee: str | None, department: str | None, index: str
) -> None:
    """``queue`` is one range scan of a queue index: no table scan, no sort (temp b-tree).

    So its cost grows with the tickets it returns, not with the tickets stored.
    """
    store = SQLiteStore(tmp_path / "plan.db", synchronous="OFF")
    desk = Helpdesk(store=store, clock=FakeClock(START))
    rank: dict[str, int] = {}
    for i in range(40):
        t = desk.open_ticket(
            subject=str(i),
            requester=ANN,
            assignee=("ann", "bob")[i % 2],
            department=("it", "sales", None)[i % 3],
        )
        rank[t.id] = i % 4 + 1
        store.reindex([IndexUpdate(t.id, t.version, None, QueueKey(None, START, rank[t.id]))])
    sql, params = store._queue_sql(assignee=assignee, department=department, limit=5)
    plan = [row[3] for row in store._conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert 1 == len(plan), plan
    assert plan[0].startswith(f"SEARCH tickets USING INDEX {index}"), plan
    assert not any("TEMP B-TREE" in step or step.startswith("SCAN") for step in plan), plan
    matching = [
        t
        for t in desk.find()
        if assignee in {None, t.assignee} and department in {None, t.department}
    ]
    matching.sort(key=lambda t: (-rank[t.id], t.id))
    assert matching[:5] == store.queue(assignee=assignee, department=department, limit=5)
    store.close()


def test_another_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    """A SQLite file with foreign tables is not adopted: StoreError naming its tables."""
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ann')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"not a ticketflow database.*customers"):
        open_store(f"sqlite:///{path}")
    assert before == path.read_bytes()


def test_a_corrupt_file_is_a_store_error_and_stays_as_it_was(tmp_path: Path) -> None:
    """Garbage bytes: StoreError (not sqlite3.DatabaseError); the file is not overwritten."""
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database\x00" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a usable SQLite database") as info:
        SQLiteStore(path)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert before == path.read_bytes()


def test_a_missing_directory_is_store_unavailable(tmp_path: Path) -> None:
    """The error names the path and suggests what to check."""
    with pytest.raises(StoreUnavailable, match=r"cannot be opened.*directory"):
        open_store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://host/desk.db", "no host"),
        ("sqlite:///x.db?journal=delete", "unknown parameter 'journal'"),
        ("sqlite:///x.db?timeout=soon", "timeout must be a number"),
        ("sqlite:///x.db?synchronous=sometimes", "synchronous must be one of"),
    ],
)
def test_bad_sqlite_urls_say_what_is_wrong(url: str, message: str) -> None:
    """Each malformed URL gets a StoreError naming the part that is wrong."""
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_a_commit_refused_halfway_writes_nothing(tmp_path: Path) -> None:
    """Two changes, the second stale: ConflictError, and the first change is not on disk."""
    path = tmp_path / "x.db"
    desk, ids = fill(f"sqlite:///{path}")
    a, b = desk.get(ids[0]), desk.get(ids[1])
    a2 = desk.add_tags(a.id, "moved", by="bob")
    stale_b = desk.add_tags(b.id, "x", by="bob")  # b is now at stale_b.version
    store = desk.store
    with pytest.raises(ConflictError):
        store.commit(
            [
                Change(attrs.evolve(a2, version=a2.version + 1), a2.version),
                Change(attrs.evolve(stale_b, version=b.version + 1), b.version),
            ]
        )
    reopened = SQLiteStore(path)
    assert a2 == reopened.get(a.id)
    assert stale_b == reopened.get(b.id)


def test_a_writer_blocked_past_its_timeout_gets_store_unavailable_and_loses_nothing(
    tmp_path: Path,
) -> None:
    """Another process holding the write lock: StoreUnavailable after `timeout`, data intact."""
    path = tmp_path / "x.db"
    desk, ids = fill(f"sqlite:///{path}")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        waiting = Helpdesk(
            store=SQLiteStore(path, timeout=0.05), clock=FakeClock(START + DAY), rules=RULES
        )
        with pytest.raises(StoreUnavailable, match="busy"):
            waiting.add_note(ids[0], "blocked", by="bob")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert desk.get(ids[0]) == waiting.get(ids[0])
    waiting.add_note(ids[0], "now it goes through", by="bob")
    assert "now it goes through" == desk.get(ids[0]).messages[-1].body


def test_a_closed_store_refuses_further_use(tmp_path: Path) -> None:
    """After close(), calls raise StoreError rather than a raw sqlite3 error."""
    store = SQLiteStore(tmp_path / "x.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count()


def test_reads_larger_than_the_cache_return_every_ticket_every_time(tmp_path: Path) -> None:
    """find, due, claim_due and queue return all their tickets when they outnumber the cache.

    Loading the uncached ones evicts cached ones half-way: those must still be returned.
    """
    store = SQLiteStore(tmp_path / "small-cache.db", synchronous="OFF", cache_size=4)
    desk = Helpdesk(store=store, clock=FakeClock(START))
    made = [desk.open_ticket(subject=str(n), requester=ANN) for n in range(10)]
    store.reindex([IndexUpdate(t.id, 1, START, QueueKey(None, START, 1)) for t in made])
    for _ in range(3):  # cold, then partly cached: the same answer
        assert made == store.find(TicketQuery())
        assert made == store.due(START, 100)
        assert made == store.queue(assignee=None, department=None, limit=100)
    assert made == store.claim_due(START, 100, timedelta(minutes=1))
    store.close()
