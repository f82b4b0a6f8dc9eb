"""PostgresStore against a real server: durability, conflicts, claims, errors, real processes.

Skipped unless ``TICKETFLOW_POSTGRES_URL`` names a database (``.ci/run`` starts a
server); each test runs in a fresh schema of its own (see ``conftest.py``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from ticketflow import (
    Actor,
    ConflictError,
    EventKind,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Priority,
    Requester,
    Role,
    StoreError,
    StoreUnavailable,
    Ticket,
    TicketNotFound,
    open_store,
    rules,
)
from ticketflow.rules import RuleSet
from ticketflow.stores import (
    Change,
    IndexUpdate,
    PostgresStore,
    QueueKey,
    TicketQuery,
    TicketStore,
)
from ticketflow.stores import _postgres as postgres_module
from ticketflow.stores._postgres_schema import SCHEMA_VERSION
from ticketflow.testing._postgres import with_schema

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
LEASE = timedelta(minutes=5)
ANN = Requester(name="Ann Example", email="ann@example.com")
RULES = [
    rules.inactivity(status="resolved", after=7 * DAY, then="close"),
    rules.wake_postponed(),
]
REMIND = rules.inactivity(status="new", after=DAY, then="remind", name="remind-new")
SPAWN = multiprocessing.get_context("spawn")
DEADLINE = 120.0  # seconds a child process may take before the test gives up on it


def sequential_ids(prefix: str = "T") -> Callable[[datetime], str]:
    """Ids T0000, T0001, ...: the same on every store, sorted as created."""
    counter = iter(range(10**6))
    return lambda _at: f"{prefix}{next(counter):04d}"


class Capture:
    """A store stand-in for making a successor: ``get`` gives the snapshot, commits are kept."""

    def __init__(self, snapshot: Ticket) -> None:
        self.snapshot = snapshot
        self.changes: list[Change] = []

    def get(self, ticket_id: str) -> Ticket:
        assert ticket_id == self.snapshot.id
        return self.snapshot

    def commit(self, changes: Sequence[Change]) -> None:
        self.changes.extend(changes)


def successor(snapshot: Ticket, note: str = "note", by: str = "bob") -> Change:
    """The change a help desk that read ``snapshot`` would commit to add a note to it."""
    capture = Capture(snapshot)
    desk = Helpdesk(store=capture, clock=FakeClock(START + 40 * DAY), rules=[])  # type: ignore[arg-type]
    desk.add_note(snapshot.id, note, by=by)
    (change,) = capture.changes
    return change


@pytest.fixture
def connect(postgres_url: str) -> Iterator[Callable[..., PostgresStore]]:
    """Open stores on the test's schema; every one is closed after the test."""
    opened: list[PostgresStore] = []

    def make(url: str = postgres_url, **options: Any) -> PostgresStore:
        store = PostgresStore.from_url(url) if not options else PostgresStore(url, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def admin(postgres_url: str) -> Iterator[Any]:
    """A plain autocommit psycopg connection to the test's schema, for poking behind the store."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


def fill(store: TicketStore) -> tuple[Helpdesk, list[str]]:
    """Tickets in several states, some due (two resolved, one postponed), tags, a note."""
    desk = Helpdesk(store=store, clock=FakeClock(START), rules=RULES, id_factory=sequential_ids())
    ids = []
    for i in range(5):
        t = desk.open_ticket(
            subject=f"ticket {i} \u2603 \U0001f600",  # non-ASCII and astral survive the round trip
            requester=ANN,
            tags=[f"t{i % 2}"],
            priority="high" if i == 3 else "normal",
            department="billing" if i < 2 else None,
            assignee="bob" if i % 3 == 0 else None,
            custom_fields={"n": i, "ratio": 0.1 * i, "nested": {"a": [1, None, True]}},
        )
        desk.agent_reply(t.id, f"answer {i}", by="bob" if i % 2 else "eve")
        if i % 2:
            desk.resolve(t.id, by="bob")
        if i == 4:
            desk.postpone(t.id, START + 2 * DAY, by="eve")
        ids.append(t.id)
    return desk, ids


# --- durability and the round trip ------------------------------------------------------


def test_tickets_timelines_and_due_times_survive_reopening_the_store(
    connect: Callable[..., PostgresStore],
) -> None:
    """A second store on the same database reads every timeline exactly and the same due order."""
    desk, ids = fill(connect())
    written = {i: desk.get(i) for i in ids}
    far = datetime.max.replace(tzinfo=UTC)
    due_before = [t.id for t in desk.store.due(far, 100)]
    desk.store.close()
    again = connect()
    for ticket_id in ids:
        assert written[ticket_id] == again.get(ticket_id)
        assert [e.to_dict() for e in written[ticket_id].timeline] == [
            e.to_dict() for e in again.events(ticket_id)
        ]
    assert due_before == [t.id for t in again.due(far, 100)]
    assert 3 == len(due_before)  # two resolved (inactivity) + one postponed (wake)
    assert START + 2 * DAY == again.next_due_at()
    assert UTC == again.next_due_at().tzinfo  # type: ignore[union-attr]
    assert (len(ids), SCHEMA_VERSION) == (again.count(), again.schema_version())


def test_time_rules_run_on_the_reopened_store(connect: Callable[..., PostgresStore]) -> None:
    """Due times written by one store fire from another: the postponed ticket wakes."""
    _, ids = fill(connect())
    later = Helpdesk(store=connect(), clock=FakeClock(START + 3 * DAY), rules=RULES)
    assert 1 == later.run_due()
    assert EventKind.WOKEN == later.get(ids[4]).timeline[-1].kind
    assert [] == later.store.due(START + 3 * DAY, 10)


def test_a_missing_ticket_is_ticket_not_found(connect: Callable[..., PostgresStore]) -> None:
    """get and events raise TicketNotFound, not a driver error."""
    store = connect()
    with pytest.raises(TicketNotFound):
        store.get("nope")
    with pytest.raises(TicketNotFound):
        store.events("nope")


def test_open_store_serves_postgresql_and_postgres_urls(postgres_url: str) -> None:
    """Both URL schemes, in any case, open a PostgresStore; store parameters come from the query."""
    rest = postgres_url.removeprefix("postgresql://")
    for scheme in ("postgresql://", "postgres://", "PostgreSQL://"):
        url = scheme + rest
        store = open_store(f"{url}&max_size=2&timeout=3")
        try:
            assert isinstance(store, PostgresStore)
            assert 0 == store.count()
        finally:
            store.close()


# --- optimistic concurrency and atomicity ----------------------------------------------


def test_a_stale_commit_is_a_conflict_naming_both_versions(
    connect: Callable[..., PostgresStore],
) -> None:
    """Two desks read version 1; the second to commit gets ConflictError(expected 1, actual 2)."""
    store = connect()
    first = Helpdesk(store=store, clock=FakeClock(START))
    ticket = first.open_ticket(subject="x", requester=ANN)
    late = successor(ticket, "second")  # made from version 1
    first.add_note(ticket.id, "first", by="bob")
    with pytest.raises(ConflictError) as info:
        store.commit([late])
    assert (ticket.id, 1, 2) == (
        info.value.ticket_id,
        info.value.expected_version,
        info.value.actual_version,
    )
    assert 2 == store.get(ticket.id).version


def test_creating_an_existing_ticket_is_a_conflict(connect: Callable[..., PostgresStore]) -> None:
    """expected_version 0 means "must not exist": a second create conflicts, actual = stored."""
    store = connect()
    desk = Helpdesk(store=store, clock=FakeClock(START))
    ticket = desk.open_ticket(subject="x", requester=ANN)
    with pytest.raises(ConflictError) as info:
        store.commit([Change(ticket, 0)])
    assert (0, 1) == (info.value.expected_version, info.value.actual_version)


def test_a_commit_refused_halfway_writes_nothing(connect: Callable[..., PostgresStore]) -> None:
    """Two changes, the second stale: ConflictError, and the first change is not stored."""
    desk, ids = fill(connect())
    a, b = desk.get(ids[0]), desk.get(ids[1])  # a.id < b.id: a's row is written first
    late_b = successor(b, "late")
    b2 = desk.add_tags(b.id, "x", by="bob")  # b moves on: late_b is now stale
    with pytest.raises(ConflictError) as info:
        desk.store.commit([successor(a, "never stored"), late_b])
    assert (b.id, b.version, b2.version) == (
        info.value.ticket_id,
        info.value.expected_version,
        info.value.actual_version,
    )
    reopened = connect()
    assert a == reopened.get(a.id)
    assert b2 == reopened.get(b.id)
    assert 1 == desk.add_note(a.id, "a is writable", by="bob").version - a.version


def test_a_multi_ticket_commit_is_written_whole(connect: Callable[..., PostgresStore]) -> None:
    """Several changes in one commit (created, updated, tags, outbox) all land together."""
    store = connect()
    memory = MemoryStore()
    desk = Helpdesk(store=memory, clock=FakeClock(START), rules=[], id_factory=sequential_ids())
    one = desk.open_ticket(subject="one", requester=ANN, tags=["a"])
    two = desk.open_ticket(subject="two", requester=ANN)
    two2 = desk.add_tags(two.id, "b", by="bob")
    store.commit([Change(two, 0)])
    store.commit([Change(two2, 1, outbox=(1,)), Change(one, 0, due_at=START + DAY)])
    assert (one, two2) == (store.get(one.id), store.get(two.id))
    assert [two2.id] == [t.id for t in store.find(TicketQuery(tag="b"))]
    assert START + DAY == store.next_due_at()
    assert 1 == store.outbox_pending()


def test_a_change_that_skips_a_version_is_refused(connect: Callable[..., PostgresStore]) -> None:
    """ticket.version must be expected + 1: StoreError, nothing written."""
    store = connect()
    desk = Helpdesk(store=MemoryStore(), clock=FakeClock(START))
    ticket = desk.open_ticket(subject="x", requester=ANN)
    with pytest.raises(StoreError, match="raise the version by one"):
        store.commit([Change(attrs.evolve(ticket, version=3), 0)])
    assert 0 == store.count()


def test_a_purge_rewrites_the_stored_timeline(
    connect: Callable[..., PostgresStore], admin: Any
) -> None:
    """A rewrite change replaces the events: no stored row keeps the erased text."""
    store = connect()
    desk = Helpdesk(store=store, clock=FakeClock(START))
    ticket = desk.open_ticket(subject="secret subject", requester=ANN, tags=["secret-tag"])
    desk.agent_reply(ticket.id, "secret reply", by="bob")
    tombstone = desk.purge(ticket.id, by=Actor("admin", Role.ADMIN)).ticket
    assert tombstone == connect().get(ticket.id)
    bodies = [r[0] for r in admin.execute("SELECT body::text FROM events").fetchall()]
    assert len(tombstone.timeline) == len(bodies)
    assert not [b for b in bodies if "secret" in b or "Ann Example" in b]
    # Tags may be personal: a purge erases them, from the tags table too.
    assert [] == store.find(TicketQuery(tag="secret-tag"))
    assert [] == admin.execute("SELECT tag FROM tags").fetchall()


# --- find ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        TicketQuery(),
        TicketQuery(statuses=frozenset({"resolved"})),
        TicketQuery(statuses=frozenset({"open", "postponed", "answered"})),
        TicketQuery(statuses=frozenset()),
        TicketQuery(assignee="bob"),
        TicketQuery(assignee="nobody"),
        TicketQuery(department="billing"),
        TicketQuery(priority=Priority.HIGH),
        TicketQuery(tag="t1"),
        TicketQuery(tag="t0", department="billing"),
        TicketQuery(limit=2),
        TicketQuery(tag="t0", limit=1),
        TicketQuery(limit=0),
    ],
    ids=lambda q: repr(q if q.statuses is None else sorted(q.statuses)),  # set order varies
)
def test_find_agrees_with_the_memory_store(
    connect: Callable[..., PostgresStore], query: TicketQuery
) -> None:
    """Each query field selects the same tickets, in the same id order, as MemoryStore."""
    memory_desk, _ = fill(MemoryStore())
    pg_desk, _ = fill(connect())
    expected = memory_desk.store.find(query)
    assert expected == pg_desk.store.find(query)


def test_the_fill_has_something_for_every_query() -> None:
    """The find cases above are not vacuous: each field matches some but not all tickets."""
    store = fill(MemoryStore())[0].store
    for query in [
        TicketQuery(statuses=frozenset({"resolved"})),
        TicketQuery(department="billing"),
        TicketQuery(priority=Priority.HIGH),
        TicketQuery(tag="t1"),
        TicketQuery(assignee="bob"),
    ]:
        assert 0 < len(store.find(query)) < 5, query


# --- claims and the outbox ------------------------------------------------------------------


def due_desk(store: TicketStore, count: int) -> tuple[Helpdesk, list[str]]:
    """``count`` tickets due one minute apart from START + 1 day (the remind rule)."""
    clock = FakeClock(START)
    desk = Helpdesk(store=store, clock=clock, rules=[REMIND], id_factory=sequential_ids())
    ids = []
    for _ in range(count):
        ids.append(desk.open_ticket(subject="x", requester=ANN).id)
        clock.advance(timedelta(minutes=1))
    return desk, ids


def test_claim_due_hands_out_each_ticket_once_until_the_lease_ends(
    connect: Callable[..., PostgresStore],
) -> None:
    """Claims are disjoint, earliest first; a lease that ran out frees the ticket again."""
    store = connect()
    _, ids = due_desk(store, 5)
    now = START + 2 * DAY
    first = store.claim_due(now, 2, LEASE)
    assert ids[:2] == [t.id for t in first]
    other = connect()  # another process's pool: same rule
    assert ids[2:] == [t.id for t in other.claim_due(now, 10, LEASE)]
    assert [] == store.claim_due(now + LEASE - timedelta(microseconds=1), 10, LEASE)
    assert ids == [t.id for t in store.claim_due(now + LEASE, 10, LEASE)]
    assert ids == [t.id for t in store.due(now, 10)]  # due() ignores claims


def test_a_commit_ends_the_claim(connect: Callable[..., PostgresStore]) -> None:
    """After a claimed ticket is committed (and still due), claim_due returns it again."""
    store = connect()
    desk, ids = due_desk(store, 1)
    now = START + 2 * DAY
    (claimed,) = store.claim_due(now, 10, LEASE)
    assert [] == store.claim_due(now, 10, LEASE)
    store.commit([successor(claimed)._replace(due_at=now)])  # still due, no longer claimed
    assert ids == [t.id for t in store.claim_due(now, 10, LEASE)]
    assert 2 == desk.get(ids[0]).version


def test_claim_outbox_leases_entries_and_ack_removes_them(
    connect: Callable[..., PostgresStore],
) -> None:
    """Oldest first, attempts counted, hidden while claimed, back after the lease, gone on ack."""
    store = connect()
    desk = Helpdesk(store=store, clock=FakeClock(START), outbox=["created", "note_added"], rules=[])
    t1 = desk.open_ticket(subject="a", requester=ANN)
    t2 = desk.open_ticket(subject="b", requester=ANN)
    desk.add_note(t1.id, "n", by="bob")
    assert 3 == store.outbox_pending()
    now = START + DAY
    first = store.claim_outbox(now, 2, LEASE)
    assert [(t1.id, 0, "created", 1), (t2.id, 0, "created", 1)] == [tuple(e) for e in first]
    assert [(t1.id, 1, "note_added", 1)] == [
        tuple(e) for e in connect().claim_outbox(now, 10, LEASE)
    ]
    assert [] == store.claim_outbox(now, 10, LEASE)
    store.ack_outbox([(t1.id, 0), ("unknown", 7)])
    again = store.claim_outbox(now + LEASE, 10, LEASE)
    assert [(t2.id, 0, 2), (t1.id, 1, 2)] == [(e.ticket_id, e.position, e.attempts) for e in again]
    store.ack_outbox([(e.ticket_id, e.position) for e in again])
    assert 0 == store.outbox_pending()


# --- errors ---------------------------------------------------------------------------------


def free_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_is_store_unavailable_fast_without_the_password() -> None:
    """A closed port: StoreUnavailable in seconds, naming host, port and db, not the password."""
    port = free_port()
    began = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        open_store(f"postgresql://app:s3cret-pw@127.0.0.1:{port}/helpdesk?connect_timeout=2")
    assert time.monotonic() - began < 10
    message = str(info.value)
    assert f"127.0.0.1:{port}/helpdesk" in message
    assert "s3cret-pw" not in message
    assert "s3cret-pw" not in repr(info.value.__cause__)


def test_a_missing_database_is_store_unavailable_naming_it(postgres_server: str) -> None:
    """The server refuses an unknown database: StoreUnavailable that names the database."""
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    conninfo = make_conninfo(postgres_server, dbname="no_such_ticketflow_db", connect_timeout=5)
    with pytest.raises(StoreUnavailable, match="no_such_ticketflow_db"):
        PostgresStore(conninfo)


def test_a_malformed_conninfo_is_a_store_error_that_does_not_echo_it() -> None:
    """libpq would quote the text around the fault (here the password): we do not."""
    with pytest.raises(StoreError, match="malformed") as info:
        PostgresStore("host=127.0.0.1 password s3cret-pw")
    assert "s3cret-pw" not in str(info.value)
    assert info.value.__cause__ is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://h/db?max_size=lots", "max_size must be a whole number"),
        ("postgresql://h/db?timeout=soon", "timeout must be a number"),
        ("postgresql://h/db?min_size=3&max_size=2", "min_size <= max_size"),
    ],
)
def test_bad_store_parameters_in_the_url_say_what_is_wrong(url: str, message: str) -> None:
    """Store parameters are checked before any connection is tried."""
    with pytest.raises(StoreError, match=message):
        PostgresStore.from_url(url)


def test_a_non_postgres_url_is_refused_by_from_url() -> None:
    """from_url takes postgresql:// and postgres:// only."""
    with pytest.raises(StoreError, match="not a PostgreSQL URL"):
        PostgresStore.from_url("mysql://h/db")


def test_a_schema_written_by_a_newer_ticketflow_is_refused_untouched(
    connect: Callable[..., PostgresStore], admin: Any
) -> None:
    """A higher recorded version: StoreError naming it and saying to upgrade; no row changes."""
    _, ids = fill(connect())
    admin.execute("INSERT INTO ticketflow_migrations (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(
        StoreError, match=rf"newer ticketflow \(schema version {SCHEMA_VERSION + 1};.*upgrade"
    ):
        connect()
    assert len(ids) == admin.execute("SELECT count(*) FROM tickets").fetchone()[0]


def test_a_version_1_schema_is_migrated_keeping_every_ticket_none_of_them_queued(
    connect: Callable[..., PostgresStore], admin: Any
) -> None:
    """A schema at version 1 (no queue columns) is migrated on open; every ticket is kept.

    Its tickets are not in the work queue until a commit or a reindex gives them a key.
    """
    desk, ids = fill(connect())
    before = [desk.get(i) for i in ids]
    due = [t.id for t in desk.store.due(START + 30 * DAY, 10)]
    desk.store.close()
    # Back to version 1: the columns (and so their indexes) of migrations 2 to 4 go.
    admin.execute(
        "ALTER TABLE tickets DROP COLUMN queue_due, DROP COLUMN queue_since, "
        "DROP COLUMN queue_rank, DROP COLUMN requester_email, DROP COLUMN created_at, "
        "DROP COLUMN updated_at, DROP COLUMN channel, DROP COLUMN summary"
    )
    admin.execute("DROP INDEX tickets_priority")
    admin.execute("DROP TABLE message_ids, search_docs, search_settings")  # versions 5 and 6
    admin.execute("DELETE FROM ticketflow_migrations WHERE version >= 2")
    store = connect()
    assert 6 == SCHEMA_VERSION == store.schema_version()
    assert before == [store.get(i) for i in ids]
    assert due == [t.id for t in store.due(START + 30 * DAY, 10)]
    assert [] == store.queue(assignee=None, department=None, limit=10)
    assert 1 == store.reindex(
        [IndexUpdate(ids[1], before[1].version, None, QueueKey(None, START, 1))]
    )
    change = successor(before[3])
    store.commit([change._replace(queue=QueueKey(START, START, 1))])
    assert [change.ticket, before[1]] == store.queue(assignee=None, department=None, limit=10)
    indexes = admin.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname LIKE 'tickets_queue%' ORDER BY indexname"
    ).fetchall()
    assert [
        ("tickets_queue",),
        ("tickets_queue_assignee",),
        ("tickets_queue_department",),
    ] == indexes


def test_a_version_2_schema_gets_the_requester_index_on_open(
    connect: Callable[..., PostgresStore], admin: Any
) -> None:
    """A schema at version 2 (no requester column) is migrated on open, its tickets indexed.

    Each key is computed from the ticket's creation event as for new tickets
    (stripped and case-folded, beyond ASCII); a second open finds it current.
    """
    store = connect()
    desk = Helpdesk(store=store, clock=FakeClock(START))
    ann = [desk.open_ticket(subject=str(n), requester=ANN).id for n in range(3)]
    dora = desk.open_ticket(
        subject="d", requester=Requester(name="Dora", email=" Dora.Straße@Example.DE")
    ).id
    store.close()
    admin.execute("ALTER TABLE tickets DROP COLUMN requester_email")
    # Back to version 2: version 4's columns (and their indexes) go too.
    admin.execute(
        "ALTER TABLE tickets DROP COLUMN created_at, DROP COLUMN updated_at, "
        "DROP COLUMN channel, DROP COLUMN summary"
    )
    admin.execute("DROP INDEX tickets_priority, tickets_sla, tickets_waiting")
    admin.execute("DROP TABLE message_ids, search_docs, search_settings")  # versions 5 and 6
    admin.execute("DELETE FROM ticketflow_migrations WHERE version >= 3")
    store = connect()
    assert 6 == store.schema_version()
    assert ann == [t.id for t in store.find(TicketQuery(requester="Ann@Example.com"))]
    assert [dora] == [t.id for t in store.find(TicketQuery(requester="dora.strasse@example.de"))]
    store.close()
    again = connect()
    assert (6, [dora]) == (
        again.schema_version(),
        [t.id for t in again.find(TicketQuery(requester="DORA.STRASSE@example.de"))],
    )
    indexes = admin.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname = 'tickets_requester'"
    ).fetchall()
    assert [("tickets_requester",)] == indexes


QUEUE_ROWS = """
    INSERT INTO tickets (id, version, status, priority, assignee, department,
                         queue_due, queue_since, queue_rank)
    SELECT 'T' || lpad(n::text, 6, '0'), 1, 'new', 2,
        CASE WHEN n % 10 = 0 THEN 'ann' WHEN n % 10 = 5 AND n < 500 THEN 'zed'
             ELSE 'agent' || (n % 40) END,
        CASE WHEN n % 7 < 2 THEN 'it' ELSE 'dept' || (n % 11) END,
        CASE WHEN n % 5 = 0 AND n % 3 <> 0 THEN timestamptz '2026-01-01' + n * interval '1 min' END,
        CASE WHEN n % 5 = 0 THEN timestamptz '2026-01-01' + (n % 13) * interval '1 hour' END,
        CASE WHEN n % 5 = 0 THEN -(n % 4 + 1) END
    FROM generate_series(1, 20000) AS n
"""
"""20 000 ticket rows, a fifth of them queued: ann has half the queue, zed 50 tickets."""


def plan_nodes(plan: Any) -> list[tuple[str, str]]:
    """(node type, index name) of every node of an ``EXPLAIN (FORMAT JSON)`` plan."""
    out = [(plan["Node Type"], plan.get("Index Name", ""))]
    for child in plan.get("Plans", ()):
        out.extend(plan_nodes(child))
    return out


@pytest.mark.parametrize(
    ("assignee", "department"),
    [(None, None), ("ann", None), (None, "it"), ("ann", "it"), ("zed", None), ("zed", "it")],
)
def test_the_queue_query_reads_only_queued_rows_through_a_queue_index(
    connect: Callable[..., PostgresStore],
    admin: Any,
    assignee: str | None,
    department: str | None,
) -> None:
    """``queue``'s query never scans the table: it reads a partial queue index (queued rows).

    Either the whole queue index in order, stopping at the limit (no sort), or, for a
    filter matching few tickets, that filter's queue index and a sort of its rows only:
    the planner's choice, both bounded by what the filter selects, not by the table.
    """
    store = connect()
    admin.execute(QUEUE_ROWS)
    admin.execute("ANALYZE tickets")
    sql, params = store._queue_sql(assignee=assignee, department=department, limit=50)
    ((plan,),) = admin.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchall()
    nodes = plan_nodes(plan[0]["Plan"])
    types = [node for node, _ in nodes]
    indexes = [index for _, index in nodes if index]
    assert "Seq Scan" not in types, nodes
    assert any(i.startswith("tickets_queue") for i in indexes), nodes
    if "Sort" in types:  # of the filter's queued rows only
        assert {"tickets_queue_assignee", "tickets_queue_department"} & set(indexes), nodes
    if assignee in {None, "ann"} and department is None:  # much of the queue: in order
        assert "Sort" not in types, nodes
    expected = admin.execute(
        "SELECT id FROM tickets WHERE queue_since IS NOT NULL "
        "AND (%s::text IS NULL OR assignee = %s) AND (%s::text IS NULL OR department = %s) "
        'ORDER BY queue_due NULLS LAST, queue_since, -queue_rank DESC, id COLLATE "C" LIMIT 50',
        (assignee, assignee, department, department),
    ).fetchall()
    assert [r[0] for r in expected] == [r[0] for r in admin.execute(sql, params).fetchall()]


def test_reindex_is_one_transaction_applying_matching_versions_only(
    connect: Callable[..., PostgresStore],
) -> None:
    """``reindex`` applies updates at the stored version, counting each (duplicates too).

    Of two updates of one ticket at the same version the last one's values are kept,
    as if applied in order; stale ones are skipped.
    """
    store = connect()
    desk, ids = fill(store)
    tickets = [desk.get(i) for i in ids]
    # Whatever keys the help desk gave them: none now.
    assert 5 == store.reindex([IndexUpdate(t.id, t.version, None, None) for t in tickets])
    one, two = QueueKey(None, START, 1), QueueKey(START, START, 4)
    applied = store.reindex(
        [
            IndexUpdate(ids[0], tickets[0].version, None, one),
            IndexUpdate(ids[0], tickets[0].version, None, two),  # the same again: kept
            IndexUpdate(ids[1], tickets[1].version - 1, None, two),  # stale
            IndexUpdate(ids[2], tickets[2].version, None, one),
            IndexUpdate(ids[2], tickets[2].version - 1, None, two),  # stale duplicate
        ]
    )
    assert 3 == applied
    assert [tickets[0], tickets[2]] == store.queue(assignee=None, department=None, limit=10)
    assert [tickets[0].version, tickets[2].version] == [
        store.get(i).version for i in (ids[0], ids[2])
    ]


def test_reads_larger_than_the_cache_return_every_ticket_every_time(
    connect: Callable[..., PostgresStore], postgres_url: str
) -> None:
    """find, due, queue and claim_due return all their tickets when they outnumber the cache."""
    store = connect(postgres_url, cache_size=4)
    desk = Helpdesk(store=store, clock=FakeClock(START), id_factory=sequential_ids())
    made = [desk.open_ticket(subject=str(n), requester=ANN) for n in range(10)]
    store.reindex([IndexUpdate(t.id, 1, START, QueueKey(None, START, 1)) for t in made])
    for _ in range(3):  # cold, then partly cached: the same answer
        assert made == store.find(TicketQuery())
        assert made == store.due(START, 100)
        assert made == store.queue(assignee=None, department=None, limit=100)
    assert made == store.claim_due(START, 100, LEASE)


def test_a_scan_larger_than_the_cache_leaves_the_recently_used_tickets_cached(
    connect: Callable[..., PostgresStore], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scans over 12 tickets with a cache of 4 decode the uncached ones and keep none of them:
    the 3 tickets read one by one before are still cached afterwards (counted in decodes)."""
    writer = connect(postgres_url)
    desk = Helpdesk(store=writer, clock=FakeClock(START), id_factory=sequential_ids())
    made = [desk.open_ticket(subject=str(n), requester=ANN) for n in range(12)]
    writer.reindex([IndexUpdate(t.id, 1, START, QueueKey(None, START, 1)) for t in made])
    decodes: list[str] = []
    real = postgres_module.decode_ticket

    def counting(bodies: Sequence[str], where: str) -> Ticket:
        ticket = real(bodies, where)
        decodes.append(ticket.id)
        return ticket

    monkeypatch.setattr(postgres_module, "decode_ticket", counting)
    store = connect(postgres_url, cache_size=4)  # a fresh, empty cache
    working = [t.id for t in made[:3]]
    assert made[:3] == [store.get(i) for i in working]
    others = sorted(t.id for t in made[3:])
    for scan in (
        lambda: store.find(TicketQuery()),
        lambda: store.due(START, 100),
        lambda: store.queue(assignee=None, department=None, limit=100),
        lambda: store.claim_due(START, 100, LEASE),
    ):
        decodes.clear()
        assert made == scan()
        assert others == sorted(decodes)
    decodes.clear()
    assert made[:3] == [store.get(i) for i in working]
    assert [] == decodes


def test_foreign_tables_with_our_names_are_refused_untouched(
    connect: Callable[..., PostgresStore], admin: Any
) -> None:
    """Another application's `tickets` table: StoreError naming it; nothing created beside it."""
    admin.execute("CREATE TABLE tickets (ref serial PRIMARY KEY, title text)")
    admin.execute("INSERT INTO tickets (title) VALUES ('theirs')")
    with pytest.raises(StoreError, match=r"already has tables named tickets.*nothing was changed"):
        connect()
    tables = admin.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    ).fetchall()
    assert [("tickets",)] == tables


def test_a_table_altered_behind_our_back_is_refused(
    connect: Callable[..., PostgresStore], admin: Any
) -> None:
    """A ticketflow schema whose table lost a column: StoreError naming table and column."""
    connect().close()
    admin.execute("ALTER TABLE outbox DROP COLUMN attempts")
    with pytest.raises(StoreError, match=r"outbox is not the one ticketflow created.*attempts"):
        connect()


def test_a_search_path_naming_no_schema_is_a_clear_error(postgres_server: str) -> None:
    """No existing schema to create tables in: StoreError saying so, not a driver error."""
    url = with_schema(postgres_server, f"missing_{uuid.uuid4().hex[:8]}")
    with pytest.raises(StoreError, match="no schema of the search_path exists"):
        PostgresStore.from_url(url)


def test_a_closed_store_refuses_further_use(connect: Callable[..., PostgresStore]) -> None:
    """After close(), calls raise StoreError rather than a raw psycopg error."""
    store = connect()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count()


def test_a_repr_names_server_and_database_but_not_the_password(postgres_url: str) -> None:
    """The repr (and so every log line with a store in it) leaves the password out."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: PLC0415

    params = conninfo_to_dict(postgres_url)
    conninfo = make_conninfo(postgres_url, password=params.get("password") or "unused-pw")
    store = PostgresStore(conninfo)
    try:
        assert str(params["dbname"]) in repr(store)
        assert "unused-pw" not in repr(store)
    finally:
        store.close()


# --- dropped connections ----------------------------------------------------------------------


def backends(admin: Any, app: str) -> list[int]:
    """Server process ids of the connections with this application_name."""
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,)
    ).fetchall()
    return [int(r[0]) for r in rows]


def test_the_pool_replaces_connections_the_server_dropped(
    postgres_url: str, connect: Callable[..., PostgresStore], admin: Any
) -> None:
    """Every connection killed between calls (a server restart): the next call just works."""
    app = f"tf-{uuid.uuid4().hex[:8]}"
    store = connect(f"{postgres_url}&application_name={app}&min_size=2")
    desk = Helpdesk(store=store, clock=FakeClock(START))
    ticket = desk.open_ticket(subject="x", requester=ANN)
    pids = backends(admin, app)
    assert pids
    for pid in pids:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    assert ticket == store.get(ticket.id)
    desk.add_note(ticket.id, "after the drop", by="bob")
    assert 2 == store.get(ticket.id).version
    assert not set(pids) & set(backends(admin, app))


def test_a_commit_cut_off_midway_leaves_nothing_and_the_store_recovers(
    postgres_url: str, connect: Callable[..., PostgresStore], admin: Any
) -> None:
    """The connection dies after the first of two row writes: StoreUnavailable, no trace of it."""
    import psycopg  # noqa: PLC0415

    app = f"tf-{uuid.uuid4().hex[:8]}"
    store = connect(f"{postgres_url}&application_name={app}")
    desk, ids = fill(store)
    a, b = desk.get(ids[0]), desk.get(ids[1])  # a.id < b.id: a's row is written first
    changes = [successor(a, "cut off"), successor(b, "cut off")]
    with psycopg.connect(postgres_url) as blocker:
        blocker.execute("SELECT 1 FROM tickets WHERE id = %s FOR UPDATE", (b.id,))
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(store.commit, changes)
            deadline = time.monotonic() + 30
            while True:  # wait until the commit is blocked on b's row, holding a's
                rows = admin.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE application_name = %s AND wait_event_type = 'Lock'",
                    (app,),
                ).fetchall()
                if rows or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            assert rows, "the commit never blocked on the locked row"
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (rows[0][0],))
            with pytest.raises(StoreUnavailable, match="is unavailable"):
                pending.result(timeout=30)
        blocker.rollback()
    assert (a, b) == (store.get(a.id), store.get(b.id))
    store.commit(changes)  # the same commit goes through on a fresh connection
    assert (a.version + 1, b.version + 1) == (store.get(a.id).version, store.get(b.id).version)


# --- round trips, the read cache, connections that break in flight ---------------------------

COMMIT_DONE = b"C\x00\x00\x00\x0bCOMMIT\x00"  # the server's CommandComplete for COMMIT


class Link:
    """One client connection through a `Relay`, and its server connection."""

    def __init__(self, relay: Relay, client: socket.socket, server: socket.socket) -> None:
        self.relay = relay
        self.client = client
        self.server = server
        self.client_spoke_last = False
        self.cut: tuple[str, bytes] | None = None
        self.closed = False

    def pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        """Copy one direction until either end closes, counting turns; obey a cut."""
        relay = self.relay
        try:
            while data := source.recv(65536):
                with relay.lock:
                    if from_client and not self.client_spoke_last:
                        relay.turns += 1
                    self.client_spoke_last = from_client
                    cut = self.cut
                if cut is not None and (cut[0] == "request") == from_client and cut[1] in data:
                    break  # dropped, and the connection with it
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Close both ends without a word, as a network failure would."""
        with self.relay.lock:
            if self.closed:
                return
            self.closed = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class Relay:
    """A TCP relay to the test server: counts round trips and breaks connections on demand.

    A round trip is counted each time a client speaks after the server did (or
    first). `cut` arms every connection open at that moment: its next request is
    dropped (``"request"``: the server never sees it), or forwarded and the
    server's answer dropped once it contains ``marker`` (``"reply"``: the server
    did the work, the client never hears of it); then both ends are closed.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.lock = threading.Lock()
        self.turns = 0
        self.links: list[Link] = []
        self.stopping = threading.Event()
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.pumps: list[threading.Thread] = []
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            link = Link(self, client, socket.create_connection(self.target))
            for args in ((link.client, link.server, True), (link.server, link.client, False)):
                pump = threading.Thread(target=link.pump, args=args, daemon=True)
                pump.start()
                with self.lock:
                    self.pumps.append(pump)
            with self.lock:
                self.links.append(link)

    def cut(self, where: str, marker: bytes = b"") -> None:
        """Break every open connection at its next request or reply (see the class)."""
        with self.lock:
            for link in self.links:
                link.cut = (where, marker)

    def count(self) -> int:
        """Round trips so far; start counting again from zero."""
        with self.lock:
            turns, self.turns = self.turns, 0
        return turns

    def close(self) -> None:
        """Stop accepting, close every connection, wait for the threads."""
        self.stopping.set()
        self.acceptor.join(timeout=5)
        self.listener.close()
        for link in list(self.links):
            link.close()
        for pump in self.pumps:
            pump.join(timeout=5)


@pytest.fixture
def relay(postgres_url: str) -> Iterator[Relay]:
    """A `Relay` to the test server (the host and port of ``postgres_url``)."""
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    params = conninfo_to_dict(postgres_url)
    running = Relay((str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)))
    yield running
    running.close()


@pytest.fixture
def relayed(
    postgres_url: str, relay: Relay, connect: Callable[..., PostgresStore]
) -> PostgresStore:
    """A store (one pooled connection) on the test's schema, reached through ``relay``."""
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    store = connect(make_conninfo(postgres_url, host="127.0.0.1", port=relay.port), max_size=1)
    store.count()  # the pool's connection is open: counting starts from here
    return store


def test_a_command_costs_two_round_trips_a_read_and_a_write(
    relayed: PostgresStore, relay: Relay
) -> None:
    """Helpdesk reads (one statement, cached ticket) then commits (one statement): 2 trips.

    Raw psycopg needs at least three per write (BEGIN with the first statement,
    one per further statement, COMMIT); the store used to need about nine.
    """
    desk = Helpdesk(store=relayed, clock=FakeClock(START), outbox=["note_added"])
    ticket = desk.open_ticket(subject="x", requester=ANN)
    for i in range(6):  # psycopg prepares a statement on its fifth run: done by now
        desk.add_note(ticket.id, f"warm-up {i}", by="bob")
    relay.count()
    notes = 10
    for i in range(notes):
        desk.add_note(ticket.id, f"note {i}", by="bob")
    assert 2 * notes == relay.count()
    assert 1 + 6 + notes == relayed.get(ticket.id).version
    assert 6 + notes == relayed.outbox_pending()


def test_reads_see_what_another_store_committed(connect: Callable[..., PostgresStore]) -> None:
    """A cached ticket is served only while current: get, find, due, claim_due see new commits."""
    reader, writer = connect(), connect()
    desk = Helpdesk(store=writer, clock=FakeClock(START), rules=[REMIND])
    ticket = desk.open_ticket(subject="x", requester=ANN, tags=["old"])
    assert ticket == reader.get(ticket.id)  # cached by the reader from here on
    assert [ticket] == reader.find(TicketQuery())
    noted = desk.add_note(ticket.id, "from the writer", by="bob")
    assert noted == reader.get(ticket.id)
    assert [noted] == reader.find(TicketQuery(tag="old"))
    tagged = desk.remove_tags(ticket.id, "old", by="bob")
    assert ([], [tagged]) == (reader.find(TicketQuery(tag="old")), reader.find(TicketQuery()))
    later = START + 3 * DAY
    assert [tagged] == reader.due(later, 10)
    assert [tagged] == reader.claim_due(later, 10, LEASE)
    tombstone = desk.purge(ticket.id, by=Actor("admin", Role.ADMIN)).ticket  # a rewritten timeline
    assert tombstone == reader.get(ticket.id)
    assert tombstone.timeline == connect().events(ticket.id)


@pytest.mark.parametrize("where", ["request", "reply"])
def test_a_read_whose_connection_breaks_in_flight_is_sent_again(
    relayed: PostgresStore, relay: Relay, where: str
) -> None:
    """The connection dies with the request or with the answer: the read still answers."""
    desk = Helpdesk(store=relayed, clock=FakeClock(START))
    ticket = desk.open_ticket(subject="x", requester=ANN)
    relay.cut(where)
    assert ticket == relayed.get(ticket.id)
    relay.cut(where)
    assert [ticket] == relayed.find(TicketQuery())
    relay.cut(where)
    assert 1 == relayed.count()


def two_notes(store: PostgresStore, clock: FakeClock) -> tuple[list[Ticket], list[Change]]:
    """Two tickets in ``store`` and, unsaved, a change adding a note to each (into the outbox)."""
    desk = Helpdesk(store=store, clock=clock, rules=[], id_factory=sequential_ids())
    tickets = [desk.open_ticket(subject=s, requester=ANN) for s in ("a", "b")]
    changes = [successor(t, "exactly once")._replace(outbox=(len(t.timeline),)) for t in tickets]
    return tickets, changes


@pytest.mark.parametrize("tickets", [1, 2])
@pytest.mark.parametrize("where", ["request", "reply"])
def test_a_commit_whose_connection_breaks_in_flight_is_applied_once(
    relayed: PostgresStore,
    relay: Relay,
    connect: Callable[..., PostgresStore],
    postgres_url: str,
    where: str,
    tickets: int,
) -> None:
    """Lost on the way (never ran) or its answer lost (ran): it returns, written exactly once.

    Two tickets commit in one pipelined transaction; the answer dropped is the
    server's ``COMMIT``, so the first attempt was written whole.
    """
    before, changes = two_notes(relayed, FakeClock(START))
    relay.cut(where, COMMIT_DONE if where == "reply" and tickets == 2 else b"")
    relayed.commit(changes[:tickets])
    fresh = connect(postgres_url)
    for old, change in zip(before, changes, strict=True):
        stored = fresh.get(old.id)
        written = change in changes[:tickets]
        assert (change.ticket if written else old) == stored
        assert int(written) == sum(m.body == "exactly once" for m in stored.messages)
    assert tickets == fresh.outbox_pending()


@pytest.mark.parametrize("where", ["request", "reply"])
def test_a_stale_commit_whose_connection_breaks_is_still_a_conflict(
    relayed: PostgresStore, relay: Relay, where: str
) -> None:
    """Sent again after the break, a commit that lost the race is not taken for its own."""
    (ticket, _), (late, _) = two_notes(relayed, FakeClock(START))
    Helpdesk(store=relayed, clock=FakeClock(START + DAY)).add_note(ticket.id, "won", by="eve")
    relay.cut(where)
    with pytest.raises(ConflictError) as info:
        relayed.commit([late])
    assert (ticket.id, 1, 2) == (
        info.value.ticket_id,
        info.value.expected_version,
        info.value.actual_version,
    )
    assert ["won"] == [m.body for m in relayed.get(ticket.id).messages]


def test_a_multi_ticket_commit_queues_its_outbox_in_the_changes_order(
    connect: Callable[..., PostgresStore],
) -> None:
    """Rows are written in id order (no deadlocks), outbox entries in the order given."""
    store = connect()
    memory = MemoryStore()
    desk = Helpdesk(store=memory, clock=FakeClock(START), rules=[], id_factory=sequential_ids())
    first, second = (desk.open_ticket(subject=s, requester=ANN) for s in ("a", "b"))
    changes = [Change(second, 0, outbox=(0,)), Change(first, 0, outbox=(0,))]
    store.commit(changes)
    fresh = MemoryStore()
    fresh.commit(changes)
    expected = [(e.ticket_id, e.position) for e in fresh.claim_outbox(START, 10, LEASE)]
    assert [(second.id, 0), (first.id, 0)] == expected
    assert expected == [(e.ticket_id, e.position) for e in store.claim_outbox(START, 10, LEASE)]


@pytest.mark.parametrize("tickets", [1, 2])
def test_a_commit_the_database_refuses_writes_nothing(
    connect: Callable[..., PostgresStore], tickets: int
) -> None:
    """A duplicate outbox entry fails the statement: StoreError, no trace, the store goes on."""
    store = connect()
    before, changes = two_notes(store, FakeClock(START))
    store.commit([changes[0]])  # its outbox entry exists now
    again = successor(changes[0].ticket, "again")._replace(outbox=changes[0].outbox)
    refused = [again, changes[1]][:tickets]
    with pytest.raises(StoreError, match="outbox") as info:
        store.commit(refused)
    assert not isinstance(info.value, ConflictError)
    assert (changes[0].ticket, before[1]) == (store.get(before[0].id), store.get(before[1].id))
    assert 1 == store.outbox_pending()
    store.commit([changes[1]])
    assert changes[1].ticket == connect().get(before[1].id)


def test_without_pipeline_mode_a_multi_ticket_commit_is_still_one_transaction(
    connect: Callable[..., PostgresStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a libpq older than 14 (no pipelines): statement by statement, same outcomes."""
    import psycopg  # noqa: PLC0415

    monkeypatch.setattr(psycopg.Pipeline, "is_supported", classmethod(lambda _cls: False))
    store = connect()
    before, changes = two_notes(store, FakeClock(START))
    store.commit(changes)
    assert [c.ticket for c in changes] == [store.get(t.id) for t in before]
    stale = [successor(before[0], "stale"), successor(changes[1].ticket, "fresh")]
    with pytest.raises(ConflictError) as info:
        store.commit(stale)
    assert (before[0].id, 1, 2) == (
        info.value.ticket_id,
        info.value.expected_version,
        info.value.actual_version,
    )
    assert [c.ticket for c in changes] == [connect().get(t.id) for t in before]
    assert 2 == store.outbox_pending()


# --- real processes -----------------------------------------------------------------------------


def commit_same_version(url: str, ticket_id: str, worker: int, barrier: Any, out: Any) -> None:
    """Child process: read the ticket, wait for every other worker, then commit a note."""
    store = PostgresStore.from_url(url)
    try:
        snapshot = store.get(ticket_id)
        change = successor(snapshot, f"from worker {worker}", by=f"agent{worker}")
        barrier.wait(timeout=DEADLINE)
        try:
            store.commit([change])
        except ConflictError as exc:
            out.put((worker, "conflict", exc.expected_version, exc.actual_version))
        else:
            out.put((worker, "ok", snapshot.version, snapshot.version + 1))
    except BaseException as exc:
        out.put((worker, f"error: {exc!r}", 0, 0))
        raise
    finally:
        store.close()


def run_children(
    target: Callable[..., None], args: Sequence[tuple[Any, ...]], out: Any
) -> list[Any]:
    """Start one spawned process per argument tuple; collect one result each; join them all."""
    processes = [SPAWN.Process(target=target, args=a) for a in args]
    for p in processes:
        p.start()
    try:
        results = [out.get(timeout=DEADLINE) for _ in processes]
        for p in processes:
            p.join(timeout=DEADLINE)
        assert [0] * len(processes) == [p.exitcode for p in processes]
        return results
    finally:
        for p in processes:
            if p.is_alive():
                p.kill()
                p.join()


def test_eight_processes_committing_the_same_version_one_wins(
    postgres_url: str, connect: Callable[..., PostgresStore]
) -> None:
    """N=8 writers holding version 1 commit at once: exactly 1 success and 7 ConflictErrors."""
    writers = 8
    store = connect()
    ticket = Helpdesk(store=store, clock=FakeClock(START)).open_ticket(subject="x", requester=ANN)
    barrier, out = SPAWN.Barrier(writers), SPAWN.Queue()
    results = run_children(
        commit_same_version,
        [(postgres_url, ticket.id, i, barrier, out) for i in range(writers)],
        out,
    )
    outcomes = Counter(r[1] for r in results)
    assert {"ok": 1, "conflict": writers - 1} == dict(outcomes)
    assert all((1, 2) == (r[2], r[3]) for r in results)  # every loser saw 1 -> 2
    (winner,) = [r[0] for r in results if r[1] == "ok"]
    stored = store.get(ticket.id)
    assert 2 == stored.version
    assert [f"from worker {winner}"] == [
        m.body for m in stored.messages if m.body.startswith("from worker")
    ]


class RecordingStore:
    """Delegate to a store; remember every ticket id ``claim_due`` handed out."""

    def __init__(self, inner: TicketStore) -> None:
        self.inner = inner
        self.claimed: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        tickets: list[Ticket] = self.inner.claim_due(now, limit, lease)
        self.claimed.extend(t.id for t in tickets)
        return tickets


def run_due_worker(url: str, worker: int, barrier: Any, out: Any) -> None:
    """Child process: run_due, then (once every worker is done) dispatch; report what it did."""
    store = PostgresStore.from_url(url)
    try:
        recording = RecordingStore(store)
        now = START + 30 * DAY
        desk = Helpdesk(store=recording, clock=FakeClock(now), rules=[REMIND])  # type: ignore[arg-type]
        barrier.wait(timeout=DEADLINE)
        fired = desk.run_due(batch=25, lease=timedelta(hours=1))
        # No subscriber during run_due, so every notification waits in the outbox;
        # then all workers dispatch at once: claim_outbox must split the entries.
        delivered: list[tuple[str, int]] = []
        desk.subscribe(lambda t, e: delivered.append((t.id, t.timeline.index(e))))
        barrier.wait(timeout=DEADLINE)
        dispatched = desk.dispatch(limit=25, lease=timedelta(hours=1))
        out.put((worker, fired, recording.claimed, delivered, dispatched))
    except BaseException as exc:
        out.put((worker, -1, [repr(exc)], [], 0))
        raise
    finally:
        store.close()


def test_four_worker_processes_fire_every_due_rule_exactly_once(
    postgres_url: str, connect: Callable[..., PostgresStore]
) -> None:
    """2,000 due tickets, 4 run_due processes at once: each ticket claimed once, fired once."""
    tickets, workers = 2000, 4
    store = connect()
    # Made in memory and written in a few big commits (the due times from the same
    # rules): a quarter of the time of 2,000 single commits.
    desk, ids = due_desk(MemoryStore(), tickets)
    timing = RuleSet(desk.workflow, [REMIND])
    made = [desk.get(i) for i in ids]
    for start in range(0, tickets, 500):
        store.commit(
            [Change(t, 0, due_at=timing.next_due(t).at) for t in made[start : start + 500]]  # type: ignore[union-attr]
        )
    assert tickets == len(store.due(START + 30 * DAY, tickets + 1))
    barrier, out = SPAWN.Barrier(workers), SPAWN.Queue()
    results = run_children(
        run_due_worker, [(postgres_url, i, barrier, out) for i in range(workers)], out
    )
    fired = [r[1] for r in results]
    claimed = [tid for r in results for tid in r[2]]
    delivered = [key for r in results for key in r[3]]
    # Every ticket claimed by exactly one worker, and every claim fired.
    assert tickets == sum(fired)
    assert sorted(ids) == sorted(claimed)
    assert all(n > 0 for n in fired), f"a worker got no share: {fired}"
    # Each timeline holds exactly one event of the rule; nothing is still due.
    per_ticket = Counter(
        t.id
        for t in store.find(TicketQuery())
        for e in t.timeline
        if e.data.get("rule") == REMIND.name
    )
    assert dict.fromkeys(ids, 1) == dict(per_ticket)
    assert ([], None) == (store.due(START + 30 * DAY, 10), store.next_due_at())
    # Concurrent dispatchers delivered each notification exactly once between them.
    assert tickets == len(delivered) == len(set(delivered)) == sum(r[4] for r in results)
    assert {(tid, 1) for tid in ids} == set(delivered)
    assert 0 == store.outbox_pending()
    shares = [len(r[3]) for r in results]
    print(f"\n{tickets} due tickets, {workers} processes: run_due {fired}, dispatch {shares}")  # noqa: T201
