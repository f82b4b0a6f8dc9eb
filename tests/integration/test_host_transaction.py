"""Stores on the application's connection: ticket commands inside the host's transaction.

`SQLiteStore.on_connection` and `PostgresStore.on_connection` on a connection the
test owns, as Django or SQLAlchemy would own it: the test begins, commits and
rolls back; an independent connection looks at what is really committed. Every
test runs on SQLite (a WAL file) and on PostgreSQL (a fresh schema; skipped
without ``TICKETFLOW_POSTGRES_URL``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ticketflow import (
    ConflictError,
    FakeClock,
    Helpdesk,
    PostgresStore,
    Requester,
    SQLiteStore,
    StoreError,
    TicketNotFound,
    TicketStore,
)
from ticketflow.stores import Change
from ticketflow.stores._sqlite import SCHEMA_VERSION

if TYPE_CHECKING:
    import psycopg

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANN = Requester(name="Ann Example", email="ann@example.com")
TABLES = ("tickets", "events", "outbox")


class Host:
    """The application's side: its connection, its own table, its transaction."""

    store: TicketStore

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def in_transaction(self) -> bool:
        """Whether the application's connection has a transaction open (and usable)."""
        raise NotImplementedError

    def add_row(self, name: str) -> None:
        """The application's own write, on its connection."""
        raise NotImplementedError

    def execute(self, sql: str) -> None:
        """A statement of the application's, on its connection."""
        self.conn.execute(sql)  # type: ignore[attr-defined]

    def committed(self, table: str) -> int:
        """How many rows ``table`` holds as another connection sees it (committed only)."""
        raise NotImplementedError

    def forbid_assignee(self, name: str) -> None:
        """A trigger of the application's making: assigning ``name`` fails in the database."""
        raise NotImplementedError

    def other_store(self) -> TicketStore:
        """A store on another connection to the same database (another process's writes)."""
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        return {t: self.committed(t) for t in (*TABLES, "app_rows")}

    def desk(self, store: TicketStore | None = None) -> Helpdesk:
        return Helpdesk(
            store=store or self.store,
            clock=FakeClock(START),
            outbox=["created", "assigned", "note_added"],
        )


class SQLiteHost(Host):
    def __init__(self, path: Path, *, isolation_level: str | None = None) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")  # the application's choice
        self.conn.execute("CREATE TABLE app_rows (name TEXT NOT NULL)")
        self.conn.isolation_level = isolation_level
        self.store = SQLiteStore.on_connection(self.conn)
        self.store.migrate()
        self.conn.commit()  # what migrate wrote, in the implicit mode
        self.others: list[sqlite3.Connection] = []

    def begin(self) -> None:
        self.conn.execute("BEGIN")  # as Django's atomic() does on SQLite

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def add_row(self, name: str) -> None:
        self.conn.execute("INSERT INTO app_rows (name) VALUES (?)", (name,))

    def committed(self, table: str) -> int:
        with sqlite3.connect(self.path) as other:
            count: int = other.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - test tables
        return count

    def forbid_assignee(self, name: str) -> None:
        self.conn.execute(
            "CREATE TRIGGER forbid BEFORE UPDATE ON tickets WHEN new.assignee = "
            f"'{name}' BEGIN SELECT RAISE(ABORT, 'forbidden assignee'); END"
        )
        if self.conn.in_transaction:
            self.conn.commit()

    def other_store(self) -> TicketStore:
        conn = sqlite3.connect(self.path, isolation_level=None)
        self.others.append(conn)
        return SQLiteStore.on_connection(conn)

    def close(self) -> None:
        for conn in (self.conn, *self.others):
            conn.close()


class PostgresHost(Host):
    def __init__(self, url: str) -> None:
        import psycopg  # noqa: PLC0415 - only with a server

        self.url = url
        # Not autocommit: the driver begins a transaction with the first statement,
        # as under SQLAlchemy or inside Django's atomic().
        self.conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(url)
        self.conn.execute("CREATE TABLE app_rows (name text NOT NULL)")
        self.store = PostgresStore.on_connection(self.conn)
        self.store.migrate()
        self.conn.commit()
        self.others: list[psycopg.Connection[tuple[Any, ...]]] = []

    def begin(self) -> None:
        """Nothing to do: psycopg begins the transaction with its first statement."""

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus  # noqa: PLC0415

        return self.conn.info.transaction_status == TransactionStatus.INTRANS

    def add_row(self, name: str) -> None:
        self.conn.execute("INSERT INTO app_rows (name) VALUES (%s)", (name,))

    def committed(self, table: str) -> int:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(self.url, autocommit=True) as other:
            row = other.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - test tables
        assert row is not None
        return int(row[0])

    def forbid_assignee(self, name: str) -> None:
        self.conn.execute(
            "CREATE FUNCTION forbid() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF new.assignee = '{name}' THEN RAISE EXCEPTION 'forbidden assignee'; END IF; "
            "RETURN new; END $$"
        )
        self.conn.execute(
            "CREATE TRIGGER forbid BEFORE UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION forbid()"
        )
        self.conn.commit()

    def other_store(self) -> TicketStore:
        import psycopg  # noqa: PLC0415

        conn = psycopg.connect(self.url, autocommit=True)
        self.others.append(conn)
        return PostgresStore.on_connection(conn)

    def close(self) -> None:
        for conn in (self.conn, *self.others):
            conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Host]:
    """The application on SQLite (a WAL file) or PostgreSQL (a fresh schema)."""
    made: Host
    if request.param == "sqlite":
        made = SQLiteHost(tmp_path / "app.db")
    else:
        url = request.getfixturevalue("postgres_url")
        made = PostgresHost(url)
    yield made
    made.close()  # type: ignore[attr-defined]


def test_a_host_rollback_leaves_no_ticket_event_or_outbox_entry(host: Host) -> None:
    """Commands and the application's own write roll back together: nothing remains."""
    desk = host.desk()
    host.begin()
    host.add_row("invoice")
    ticket = desk.open_ticket(subject="Printer", requester=ANN)
    desk.assign(ticket.id, "bob", by="bob")
    assert host.in_transaction()  # the store committed nothing behind the host's back
    assert {"tickets": 0, "events": 0, "outbox": 0, "app_rows": 0} == host.counts()
    assert "bob" == desk.get(ticket.id).assignee  # the host's transaction sees its work
    host.rollback()
    assert {"tickets": 0, "events": 0, "outbox": 0, "app_rows": 0} == host.counts()
    assert 0 == host.store.count()
    assert 0 == host.store.outbox_pending()


def test_a_host_commit_keeps_the_tickets_events_outbox_and_its_own_row(host: Host) -> None:
    """One commit of the application's transaction writes everything at once."""
    desk = host.desk()
    host.begin()
    ticket = desk.open_ticket(subject="Printer", requester=ANN)
    host.add_row("invoice")
    desk.assign(ticket.id, "bob", by="bob")
    desk.add_note(ticket.id, "Checked the toner", by="bob")
    assert host.in_transaction()
    assert 0 == host.committed("tickets")
    host.commit()
    assert {"tickets": 1, "events": 3, "outbox": 3, "app_rows": 1} == host.counts()
    stored = host.other_store().get(ticket.id)
    assert (3, "bob") == (stored.version, stored.assignee)


def test_a_version_conflict_leaves_the_host_transaction_usable(host: Host) -> None:
    """A refused commit rolls back only ticketflow's part: the host's earlier writes
    (its own row and earlier commands) stay, and it can go on and commit."""
    desk = host.desk()
    host.begin()
    ticket = desk.open_ticket(subject="Printer", requester=ANN)
    host.commit()
    host.begin()
    host.add_row("before")
    assigned = desk.assign(ticket.id, "bob", by="bob")
    with pytest.raises(ConflictError) as refused:
        host.store.commit([Change(assigned, 1)])  # a stale writer of version 2
    assert (1, 2) == (refused.value.expected_version, refused.value.actual_version)
    assert host.in_transaction()
    host.add_row("after")  # the transaction is usable (PostgreSQL would refuse if aborted)
    desk.add_note(ticket.id, "Still here", by="bob")
    host.commit()
    assert {"tickets": 1, "events": 3, "outbox": 3, "app_rows": 2} == host.counts()
    assert 3 == host.other_store().get(ticket.id).version


def test_a_database_error_in_a_command_leaves_the_host_transaction_usable(host: Host) -> None:
    """A statement of the store the database refuses (the application's trigger) is
    undone alone; the host's earlier writes stay and it can go on and commit."""
    desk = host.desk()
    host.forbid_assignee("mallory")
    host.begin()
    ticket = desk.open_ticket(subject="Printer", requester=ANN)
    host.add_row("before")
    with pytest.raises(StoreError, match="forbidden assignee"):
        desk.assign(ticket.id, "mallory", by="bob")
    assert host.in_transaction()
    desk.assign(ticket.id, "bob", by="bob")
    host.add_row("after")
    host.commit()
    assert {"tickets": 1, "events": 2, "outbox": 2, "app_rows": 2} == host.counts()
    assert "bob" == host.other_store().get(ticket.id).assignee


def test_no_rolled_back_ticket_is_served_after_another_writer_reuses_its_version(
    host: Host,
) -> None:
    """The store keeps no ticket from a transaction the host rolled back: when another
    writer commits the same version, a read returns that writer's ticket."""
    desk = host.desk()
    host.begin()
    ticket = desk.open_ticket(subject="Printer", requester=ANN)
    host.commit()
    host.begin()
    desk.assign(ticket.id, "bob", by="bob")  # version 2, never committed
    host.rollback()
    other = host.desk(host.other_store())
    other.add_note(ticket.id, "From elsewhere", by="carol")  # another version 2
    seen = desk.get(ticket.id)
    assert (2, None, "note_added") == (seen.version, seen.assignee, seen.timeline[-1].kind.value)


def test_a_store_without_its_tables_says_to_migrate(tmp_path: Path) -> None:
    """On a fresh application database nothing is created until migrate() runs."""
    with sqlite3.connect(tmp_path / "app.db", isolation_level=None) as conn:
        store = SQLiteStore.on_connection(conn)
        assert 0 == store.schema_version()
        with pytest.raises(StoreError, match=r"store\.migrate\(\)"):
            store.count()
        store.migrate()
        assert (SCHEMA_VERSION, 0) == (store.schema_version(), store.count())
        store.migrate()  # again: nothing to do
        assert 0 == conn.execute("PRAGMA application_id").fetchone()[0]  # the file is not ours
    conn.close()


def test_sqlite_implicit_transactions_are_the_hosts(tmp_path: Path) -> None:
    """With the driver's implicit transactions (``isolation_level`` not None, as under
    SQLAlchemy), a command that comes first opens the host's transaction, and the
    host's rollback undoes it: the store's savepoint does not commit it."""
    host = SQLiteHost(tmp_path / "app.db", isolation_level="")
    try:
        desk = host.desk()
        ticket = desk.open_ticket(subject="Printer", requester=ANN)
        assert host.in_transaction()
        host.add_row("invoice")
        host.rollback()
        assert {"tickets": 0, "events": 0, "outbox": 0, "app_rows": 0} == host.counts()
        with pytest.raises(TicketNotFound):
            desk.get(ticket.id)
        desk.open_ticket(subject="Printer", requester=ANN)
        assert host.in_transaction()
        host.commit()
        assert (1, 0) == (host.committed("tickets"), host.committed("app_rows"))
    finally:
        host.close()


def test_sqlite_store_leaves_the_connection_settings_and_open(tmp_path: Path) -> None:
    """No PRAGMA is changed, and close() leaves the application's connection open."""
    conn = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    pragmas = ("journal_mode", "synchronous", "secure_delete", "foreign_keys", "application_id")

    def settings() -> list[Any]:
        return [conn.execute(f"PRAGMA {p}").fetchone()[0] for p in pragmas]

    before = settings()
    store = SQLiteStore.on_connection(conn)
    store.migrate()
    Helpdesk(store=store, clock=FakeClock(START)).open_ticket(subject="x", requester=ANN)
    store.close()
    assert before == settings()  # and the connection still answers
    conn.close()


def test_postgres_store_refuses_an_aborted_host_transaction(postgres_url: str) -> None:
    """A host transaction an earlier error aborted is named, not hidden."""
    host = PostgresHost(postgres_url)
    try:
        with pytest.raises(Exception, match="does_not_exist"):
            host.conn.execute("SELECT * FROM does_not_exist")
        with pytest.raises(StoreError, match="aborted by an earlier error"):
            host.store.count()
    finally:
        host.close()


@pytest.mark.parametrize("bad", [42, None])
def test_on_connection_refuses_what_is_not_a_connection(bad: object) -> None:
    """Neither a connection nor a function: a StoreError naming what was given."""
    with pytest.raises(StoreError, match=r"must be a sqlite3\.Connection"):
        SQLiteStore.on_connection(bad)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=r"must be a psycopg\.Connection"):
        PostgresStore.on_connection(bad)  # type: ignore[arg-type]


def test_a_connection_function_returning_nothing_is_named(tmp_path: Path) -> None:
    """Django's ``connection.connection`` is None before ensure_connection(): say so."""
    current: Callable[[], Any] = lambda: None  # noqa: E731 - the shape frameworks give
    with pytest.raises(StoreError, match="ensure_connection"):
        SQLiteStore.on_connection(current).count()


def test_a_rolled_back_host_savepoint_undoes_the_commands_inside_it(host: Host) -> None:
    """Nested units of work (Django's nested atomic(), SQLAlchemy's begin_nested()):
    rolling back the application's savepoint undoes the commands made inside it only."""
    desk = host.desk()
    host.begin()
    kept = desk.open_ticket(subject="Kept", requester=ANN)
    host.execute("SAVEPOINT app_nested")
    dropped = desk.open_ticket(subject="Dropped", requester=ANN)
    host.execute("ROLLBACK TO SAVEPOINT app_nested")
    host.commit()
    other = host.other_store()
    assert 1 == other.count()
    assert "Kept" == other.get(kept.id).subject
    with pytest.raises(TicketNotFound):
        other.get(dropped.id)


def test_postgres_repeatable_read_turns_a_lost_race_into_a_store_error(
    postgres_url: str,
) -> None:
    """At REPEATABLE READ, a ticket another connection changed since the snapshot
    cannot be written: a StoreError (serialization failure), and the application's
    transaction, rolled back to the store's savepoint, still answers."""
    host = PostgresHost(postgres_url)
    try:
        desk = host.desk()
        ticket = desk.open_ticket(subject="Printer", requester=ANN)
        host.commit()
        import psycopg  # noqa: PLC0415 - only with a server

        host.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        host.add_row("snapshot taken")
        host.desk(host.other_store()).assign(ticket.id, "carol", by="carol")
        with pytest.raises(StoreError, match="rolled the transaction back"):
            desk.assign(ticket.id, "bob", by="bob")
        assert host.in_transaction()
        host.add_row("after")
        host.commit()
        assert ("carol", 2) == (
            host.other_store().get(ticket.id).assignee,
            host.committed("app_rows"),
        )
    finally:
        host.close()


# --- in-process subscribers wait for the application's commit --------------------------


class OnCommit:
    """A stand-in for Django's ``transaction.on_commit``: callbacks run at the host's
    commit, dropped at its rollback."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def __call__(self, callback: Callable[[], None]) -> None:
        self.pending.append(callback)

    def committed(self) -> None:
        pending, self.pending = self.pending, []
        for callback in pending:
            callback()

    def rolled_back(self) -> None:
        self.pending = []


def hosted_store(host: Host, on_commit: OnCommit | None) -> TicketStore:
    """Another store on the host's own connection, with ``on_commit``."""
    if isinstance(host, SQLiteHost):
        return SQLiteStore.on_connection(host.conn, on_commit=on_commit)
    assert isinstance(host, PostgresHost)
    return PostgresStore.on_connection(host.conn, on_commit=on_commit)


def test_subscribers_hear_of_a_command_only_once_the_host_commits(host: Host) -> None:
    """With ``on_commit``, a subscriber is called after the application's commit."""
    hook = OnCommit()
    desk = host.desk(hosted_store(host, hook))
    heard: list[str] = []
    desk.subscribe(lambda _ticket, event: heard.append(event.kind.value))
    host.begin()
    ticket = desk.open_ticket(subject="Printer", requester=ANN)
    desk.assign(ticket.id, "bob", by="bob")
    assert [] == heard  # inside the application's transaction: nothing announced
    assert 2 == len(hook.pending)
    host.commit()
    hook.committed()
    assert ["created", "assigned"] == heard


def test_a_rolled_back_command_is_never_announced(host: Host) -> None:
    """The host rolls back: the deferred delivery is dropped with it; nothing was heard."""
    hook = OnCommit()
    desk = host.desk(hosted_store(host, hook))
    heard: list[str] = []
    desk.subscribe(lambda _ticket, event: heard.append(event.kind.value))
    host.begin()
    desk.open_ticket(subject="Printer", requester=ANN)
    host.rollback()
    hook.rolled_back()
    assert [] == heard
    assert 0 == host.committed("tickets")


def test_without_on_commit_only_dispatch_delivers_after_the_commit(host: Host) -> None:
    """No ``on_commit``: no in-process call at all; the outbox keeps the entries for dispatch."""
    desk = host.desk()
    assert host.store.after_commit is not None  # type: ignore[attr-defined]
    heard: list[str] = []
    desk.subscribe(lambda _ticket, event: heard.append(event.kind.value))
    host.begin()
    desk.open_ticket(subject="Printer", requester=ANN)
    host.commit()
    assert [] == heard
    assert 1 == host.committed("outbox")
    assert 1 == desk.dispatch()
    host.commit()  # the acknowledgement is a write on the application's connection
    assert ["created"] == heard
    assert 0 == host.committed("outbox")


def test_a_store_with_its_own_connection_publishes_at_once(tmp_path: Path) -> None:
    """``after_commit`` is None: a commit that returned is committed."""
    store = SQLiteStore(tmp_path / "own.db")
    try:
        assert store.after_commit is None
        desk = Helpdesk(store=store, clock=FakeClock(START))
        heard: list[str] = []
        desk.subscribe(lambda _ticket, event: heard.append(event.kind.value))
        desk.open_ticket(subject="Printer", requester=ANN)
        assert ["created"] == heard
    finally:
        store.close()


def test_on_commit_must_be_a_function(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "app.db")
    try:
        with pytest.raises(StoreError, match="on_commit must be a function"):
            SQLiteStore.on_connection(conn, on_commit="later")  # type: ignore[arg-type]
    finally:
        conn.close()
