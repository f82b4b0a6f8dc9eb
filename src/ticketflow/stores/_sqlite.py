"""The SQLite store: ticketflow's embedded default, on the standard library's sqlite3."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, final
from urllib.parse import parse_qsl

from .. import _validate
from .._model import Event, EventKind, Ticket
from ..exceptions import ConflictError, StoreError, StoreUnavailable, TicketNotFound
from ._cache import TicketCache
from ._codec import decode_ticket, dump_event, dump_events
from ._protocol import (
    Change,
    IndexUpdate,
    OutboxEntry,
    QueueKey,
    TicketQuery,
    check_creation,
    check_version_step,
    new_positions,
    requester_key,
)
from ._sql import OnCommit, check_on_commit, equal_filters, skip_delivery
from ._stream import STREAM_BATCH
from ._summary import (
    NO_KEY,
    SummaryQuery,
    SummaryRow,
    encode_summary,
    micros,
    summarize,
)
from ._text import IndexedText, SearchQuery, indexed_text

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

_MAX_TIMEOUT: Final = 86_400  # seconds: a day; sqlite3 overflows on absurd values

APPLICATION_ID: Final = 0x74666C77  # "tflw": marks a file as a ticketflow database
SCHEMA_VERSION: Final = 7
"""The schema version this ticketflow writes; older files are migrated on open."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
_CHUNK: Final = 500  # bound on host parameters per statement
_TAG_KINDS: Final = frozenset({EventKind.CREATED, EventKind.TAGS_ADDED, EventKind.TAGS_REMOVED})
_SYNCHRONOUS: Final = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
# queue_due of a queued ticket without an SLA due time: after every real time, so
# that "None last" is plain ascending order (an index has no NULLS LAST).
_NO_SLA: Final = 2**63 - 1

# Each entry moves the schema from version i to i + 1; they run in order on open.
_MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE tickets (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        priority INTEGER NOT NULL,
        assignee TEXT,
        department TEXT,
        due_at INTEGER,
        claimed_until INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX tickets_due ON tickets (due_at, id) WHERE due_at IS NOT NULL;
    CREATE INDEX tickets_status ON tickets (status, id);
    CREATE INDEX tickets_assignee ON tickets (assignee, id) WHERE assignee IS NOT NULL;
    CREATE INDEX tickets_department ON tickets (department, id) WHERE department IS NOT NULL;
    CREATE TABLE events (
        ticket_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (ticket_id, position)
    ) WITHOUT ROWID;
    CREATE TABLE tags (
        tag TEXT NOT NULL,
        ticket_id TEXT NOT NULL,
        PRIMARY KEY (tag, ticket_id)
    ) WITHOUT ROWID;
    CREATE INDEX tags_ticket ON tags (ticket_id);
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        claimed_until INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        UNIQUE (ticket_id, position)
    );
    """,
    # 2: the work queue (QueueKey). A queued ticket has queue_due (microseconds, or
    # _NO_SLA), queue_since (microseconds) and queue_rank (-priority, so that all
    # columns sort ascending); queue_due IS NULL means "not queued". Rows written
    # by version 1 are not queued until their next commit or reindex.
    """
    ALTER TABLE tickets ADD COLUMN queue_due INTEGER;
    ALTER TABLE tickets ADD COLUMN queue_since INTEGER;
    ALTER TABLE tickets ADD COLUMN queue_rank INTEGER;
    CREATE INDEX tickets_queue ON tickets (queue_due, queue_since, queue_rank, id)
        WHERE queue_due IS NOT NULL;
    CREATE INDEX tickets_queue_assignee
        ON tickets (assignee, queue_due, queue_since, queue_rank, id)
        WHERE queue_due IS NOT NULL;
    CREATE INDEX tickets_queue_department
        ON tickets (department, queue_due, queue_since, queue_rank, id)
        WHERE queue_due IS NOT NULL;
    """,
    # 3: the requester index (`requester_key`: the e-mail address, stripped and
    # case-folded; NULL without one). Existing rows are filled in by
    # `_fill_requester_keys` in the same transaction.
    """
    ALTER TABLE tickets ADD COLUMN requester_email TEXT;
    CREATE INDEX tickets_requester ON tickets (requester_email, id)
        WHERE requester_email IS NOT NULL;
    """,
    # 4: the read side. Each row keeps its ticket's summary (`summarize`):
    # created_at, updated_at (microseconds) and channel as columns, the fields no
    # query filters or sorts by as a JSON text (`encode_summary`); sla_due and
    # waiting_since are the queue columns. One index per sort key (the sla_due
    # and waiting_since ones on the queue columns with NULL, "none", last); the
    # created and updated ones carry the status, so that a list filtered by
    # status walks the index without reading the rows it skips. The status,
    # assignee and department indexes of version 1 go: the list indexes and the
    # counters serve what they served, and every command wrote them. Counts are
    # counters per (status, priority, assignee, department) kept by triggers in
    # the writing transaction ('' for no assignee or department). Existing rows
    # are filled in by `_fill_summaries` in the same transaction.
    """
    ALTER TABLE tickets ADD COLUMN created_at INTEGER;
    ALTER TABLE tickets ADD COLUMN updated_at INTEGER;
    ALTER TABLE tickets ADD COLUMN channel TEXT;
    ALTER TABLE tickets ADD COLUMN summary TEXT;
    DROP INDEX tickets_status;
    DROP INDEX tickets_assignee;
    DROP INDEX tickets_department;
    CREATE INDEX tickets_created ON tickets (created_at, id, status);
    CREATE INDEX tickets_updated ON tickets (updated_at, id, status);
    CREATE INDEX tickets_priority ON tickets (priority, id);
    CREATE INDEX tickets_sla ON tickets (coalesce(queue_due, 9223372036854775807), id);
    CREATE INDEX tickets_waiting ON tickets (coalesce(queue_since, 9223372036854775807), id);
    CREATE TABLE ticket_counts (
        status TEXT NOT NULL,
        priority INTEGER NOT NULL,
        assignee TEXT NOT NULL,
        department TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (status, priority, assignee, department)
    ) WITHOUT ROWID;
    CREATE TRIGGER tickets_counted AFTER INSERT ON tickets BEGIN
        INSERT INTO ticket_counts VALUES (new.status, new.priority,
            ifnull(new.assignee, ''), ifnull(new.department, ''), 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER tickets_recounted
    AFTER UPDATE OF status, priority, assignee, department ON tickets
    WHEN old.status IS NOT new.status OR old.priority IS NOT new.priority
        OR old.assignee IS NOT new.assignee OR old.department IS NOT new.department
    BEGIN
        UPDATE ticket_counts SET n = n - 1 WHERE status = old.status
            AND priority = old.priority AND assignee = ifnull(old.assignee, '')
            AND department = ifnull(old.department, '');
        INSERT INTO ticket_counts VALUES (new.status, new.priority,
            ifnull(new.assignee, ''), ifnull(new.department, ''), 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    END;
    """,
    # 5: the message-id index (`MessageIdStore`): the external message ids of
    # each ticket's messages (`indexed_text`). Existing tickets are indexed by
    # `_fill_text` in the same transaction.
    """
    CREATE TABLE message_ids (
        message_id TEXT NOT NULL,
        ticket_id TEXT NOT NULL,
        PRIMARY KEY (message_id, ticket_id)
    ) WITHOUT ROWID;
    CREATE INDEX message_ids_ticket ON message_ids (ticket_id);
    """,
    # 6: search (`SearchStore`). The text rows of `indexed_text` in search_docs
    # (indexed by ticket, so a purge finds them), and an external-content FTS5
    # index of them kept by triggers in the writing transaction. Existing
    # tickets are indexed by `_fill_text`.
    """
    CREATE TABLE search_docs (
        id INTEGER PRIMARY KEY,
        ticket_id TEXT NOT NULL,
        private INTEGER NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX search_docs_ticket ON search_docs (ticket_id);
    CREATE VIRTUAL TABLE search_index USING fts5(
        text, content='search_docs', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER search_docs_added AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_index (rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER search_docs_removed AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_index (search_index, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    """,
    # 7: the FTS5 index is fed in batches, not by trigger in every commit
    # (`_index_backlog`). search_indexed holds the watermark: the search_docs
    # rows with id <= upto are in search_index, those above are not (the
    # backlog). New rows take ids above both max(id) and upto (`_index_text`),
    # so an id at or below the watermark is never reused for an unindexed row;
    # the delete trigger removes from the FTS5 index only the rows it holds.
    """
    DROP TRIGGER search_docs_added;
    DROP TRIGGER search_docs_removed;
    CREATE TABLE search_indexed (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        upto INTEGER NOT NULL
    );
    INSERT INTO search_indexed VALUES (0, (SELECT ifnull(max(id), 0) FROM search_docs));
    CREATE TRIGGER search_docs_removed AFTER DELETE ON search_docs
    WHEN old.id <= (SELECT upto FROM search_indexed) BEGIN
        INSERT INTO search_index (search_index, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    """,
)
assert len(_MIGRATIONS) == SCHEMA_VERSION  # noqa: S101 - a module invariant


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _US


def _from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


# The columns a command may change, in the order `_write_change` computes them.
_ROW_COLUMNS: Final = (
    "status",
    "priority",
    "assignee",
    "department",
    "due_at",
    "queue_due",
    "queue_since",
    "queue_rank",
)
_READ_ROW: Final = (
    f"SELECT version, {', '.join(_ROW_COLUMNS)}, claimed_until FROM tickets WHERE id = ?"  # noqa: S608 - fixed column names
)


# The sort keys' SQL: the expressions the list indexes are built on.
_SORT_SQL: Final = {
    "created": "created_at",
    "updated": "updated_at",
    "priority": "priority",
    "sla_due": f"coalesce(queue_due, {NO_KEY})",
    "waiting_since": f"coalesce(queue_since, {NO_KEY})",
}
assert _NO_SLA == NO_KEY  # noqa: S101 - a queued ticket without SLA due sorts with the unqueued
_SUMMARY_COLUMNS: Final = (
    "id, status, priority, assignee, department, created_at, updated_at, channel, "
    "queue_due, queue_since, summary"
)
_COUNTED: Final = ("status", "priority", "assignee", "department")


def _summary_row(row: tuple[Any, ...]) -> SummaryRow:
    """The summary of a `_SUMMARY_COLUMNS` row (a row this store wrote: trusted, not checked).

    The hot path of a list page: one JSON scan of the payload (no whitespace
    handling, `encode_summary` writes none) and the row built positionally.
    """
    tid, status, priority, assignee, department, created, updated, channel, due, since, text = row
    subject, name, email, tags, customer, agent, messages = _scan_json(text, 0)[0]
    return SummaryRow(
        tid,
        subject,
        name,
        email,
        status,
        priority,
        channel,
        assignee,
        department,
        tuple(tags),
        _EPOCH + timedelta(microseconds=created),
        _EPOCH + timedelta(microseconds=updated),
        None if customer is None else _EPOCH + timedelta(microseconds=customer),
        None if agent is None else _EPOCH + timedelta(microseconds=agent),
        None if due is None or due == _NO_SLA else _EPOCH + timedelta(microseconds=due),
        None if since is None else _EPOCH + timedelta(microseconds=since),
        messages,
    )


# The C scanner behind ``json.loads``, called on the payload directly (typeshed
# does not declare the attribute).
_scan_json: Final[Callable[[str, int], tuple[Any, int]]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _summary_filters(query: SummaryQuery) -> tuple[list[str], list[Any]]:
    """The WHERE clauses and parameters of a summary query's filters (on ``tickets``)."""
    where, params = equal_filters(
        "?",
        assignee=query.assignee,
        department=query.department,
        priority=query.priority,
        requester_email=query.requester,
        channel=query.channel,
    )
    if query.statuses is not None:
        where.append(f"status IN ({','.join('?' * len(query.statuses))})")
        params.extend(sorted(query.statuses))
    if query.tag is not None:
        where.append("id IN (SELECT ticket_id FROM tags WHERE tag = ?)")
        params.append(query.tag)
    for clause, at in (
        ("created_at >= ?", query.created_from),
        ("created_at < ?", query.created_before),
        ("updated_at >= ?", query.updated_from),
        ("updated_at < ?", query.updated_before),
        # The snapshot bound is a filter, never the index range: a later page's
        # cursor position is the range (unary + keeps SQLite from choosing
        # ``updated_at <= as_of`` instead, and walking from the top to the cursor).
        ("+updated_at <= ?", query.as_of),
    ):
        if at is not None:
            where.append(clause)
            params.append(micros(at))
    return where, params


def _counted_only(query: SummaryQuery) -> bool:
    """Whether the counters can answer ``query``: it filters on counted fields only."""
    return (
        query.tag is None
        and query.requester is None
        and query.channel is None
        and query.created_from is None
        and query.created_before is None
        and query.updated_from is None
        and query.updated_before is None
        and query.as_of is None
    )


def _counter_filters(query: SummaryQuery) -> tuple[list[str], list[Any]]:
    """The WHERE clauses of a counted-only query, on ``ticket_counts``."""
    where, params = equal_filters(
        "?", assignee=query.assignee, department=query.department, priority=query.priority
    )
    if query.statuses is not None:
        where.append(f"status IN ({','.join('?' * len(query.statuses))})")
        params.extend(sorted(query.statuses))
    return where, params


# FTS5's "secure-delete" option (SQLite 3.42+) removes a deleted row's entries
# from the index's pages themselves; without it, a delete leaves them in older
# segments until those are merged, so a purge runs 'optimize' (see `_unindex_text`).
_FTS_SECURE_DELETE: Final = sqlite3.sqlite_version_info >= (3, 42, 0)


def _secure_search_deletes(conn: sqlite3.Connection) -> None:
    """Turn FTS5's ``secure-delete`` on for the search index, when this SQLite has it."""
    if _FTS_SECURE_DELETE:
        conn.execute("INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1)")


def _index_text(
    conn: sqlite3.Connection, tid: str, added: IndexedText, *, message_ids: bool, search: bool
) -> None:
    """Write what `indexed_text` found (the FTS5 index follows search_docs by trigger)."""
    if message_ids and added.message_ids:
        conn.executemany(
            "INSERT OR IGNORE INTO message_ids (message_id, ticket_id) VALUES (?, ?)",
            [(message_id, tid) for message_id in added.message_ids],
        )
    if search and added.rows:
        conn.executemany(_ADD_SEARCH_DOC, [(tid, int(row.private), row.text) for row in added.rows])


# A search_docs row, in the backlog: its id above every row's and the watermark
# (schema 7), so that it is never taken for an indexed row.
_ADD_SEARCH_DOC: Final = (
    "INSERT INTO search_docs (id, ticket_id, private, text) SELECT max("
    "ifnull((SELECT max(id) FROM search_docs), 0), (SELECT upto FROM search_indexed)) + 1, ?, ?, ?"
)

_SEARCH_BACKLOG: Final = 256
"""How many search_docs rows may wait for the FTS5 index before a commit indexes them."""


def _search_backlog(conn: sqlite3.Connection) -> tuple[int, int]:
    """Return the watermark and the highest search_docs id (a backlog when it is above)."""
    upto, top = conn.execute(
        "SELECT upto, ifnull((SELECT max(id) FROM search_docs), 0) FROM search_indexed"
    ).fetchone()
    return int(upto), int(top)


def _index_backlog(conn: sqlite3.Connection) -> int:
    """Add the search_docs rows past the watermark to the FTS5 index; return how many.

    Runs in the caller's write transaction, which holds the write lock: the
    watermark read here is the one the transaction moves, so two processes
    never index a row twice. One FTS5 insert of many rows writes one segment,
    where a row per commit wrote one segment each.
    """
    upto, top = _search_backlog(conn)
    if top <= upto:
        return 0
    cursor = conn.execute(
        "INSERT INTO search_index (rowid, text) SELECT id, text FROM search_docs "
        "WHERE id > ? ORDER BY id",
        (upto,),
    )
    conn.execute("UPDATE search_indexed SET upto = ?", (top,))
    return cursor.rowcount


def _stored_ids(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    """Which of ``ids`` are stored tickets: one query per `_CHUNK` ids."""
    stored: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        stored.update(
            row[0]
            for row in conn.execute(
                f"SELECT id FROM tickets WHERE id IN ({marks})",  # noqa: S608 - only '?' marks
                chunk,
            )
        )
    return stored


def _unindex_text(conn: sqlite3.Connection, tid: str) -> bool:
    """Remove everything indexed of a ticket (a rewrite: the purge's scrub), leaving no trace.

    ``secure_delete`` zeroes the deleted rows of message_ids and search_docs.
    The FTS5 index keeps a deleted row's words in its older segments until they
    are merged: with FTS5's ``secure-delete`` option (SQLite 3.42+) they are
    removed in place; without it the caller merges the index whole, once per
    commit (`_merge_search_index`).

    Returns:
        Whether the index must be merged before the commit ends.
    """
    conn.execute("DELETE FROM message_ids WHERE ticket_id = ?", (tid,))
    if not conn.execute("SELECT 1 FROM search_docs WHERE ticket_id = ? LIMIT 1", (tid,)).fetchone():
        return False
    _secure_search_deletes(conn)
    conn.execute("DELETE FROM search_docs WHERE ticket_id = ?", (tid,))
    return not _FTS_SECURE_DELETE


def _merge_search_index(conn: sqlite3.Connection) -> None:
    """Merge the FTS5 index into one segment ('optimize'), deleting (and zeroing) the old ones.

    The words of deleted rows stay in the segments written before the delete
    until those are merged; this merges them all, at a cost that grows with
    the index (once per commit holding a purge, on SQLite before 3.42).
    """
    conn.execute("INSERT INTO search_index (search_index) VALUES ('optimize')")


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration script, triggers (with their inner ';') kept whole."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""


def _implicit_transactions(conn: sqlite3.Connection) -> bool:
    """Whether the driver begins a transaction before a write (not autocommit mode)."""
    autocommit = getattr(conn, "autocommit", None)  # Python 3.12's PEP 249 control
    if isinstance(autocommit, bool):
        return not autocommit
    return conn.isolation_level is not None


_TABLES: Final = (
    "tickets",
    "events",
    "tags",
    "outbox",
    "ticket_counts",
    "message_ids",
    "search_docs",
    "search_index",
    "search_indexed",
)


def _hosted_version(conn: sqlite3.Connection) -> int | None:
    """The schema version in an application's database; None: ticketflow never migrated it."""
    if conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])  # a ticketflow file
    if (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ticketflow_migrations'"
        ).fetchone()
        is None
    ):
        return None
    return int(
        conn.execute("SELECT coalesce(max(version), 0) FROM ticketflow_migrations").fetchone()[0]
    )


def _queue_key(due: int | None, since: int | None, rank: int | None) -> QueueKey | None:
    """The queue key that `_queue_columns` stored as these columns."""
    if due is None or since is None or rank is None:
        return None
    sla_due = None if due == _NO_SLA else _from_micros(due)
    return QueueKey(sla_due, _from_micros(since), -rank)


def _summary_columns(row: SummaryRow) -> tuple[int, int, str, str]:
    """``(created_at, updated_at, channel, summary)``: the summary's own columns."""
    return (micros(row.created_at), micros(row.updated_at), row.channel, encode_summary(row))


def _ticket_id(change: Change) -> str:
    return change.ticket.id


def _queue_columns(key: QueueKey | None) -> tuple[int | None, int | None, int | None]:
    """``(queue_due, queue_since, queue_rank)`` of a queue key (all NULL: not queued)."""
    if key is None:
        return (None, None, None)
    due = _NO_SLA if key.sla_due is None else _micros(key.sla_due)
    return (due, _micros(key.waiting_since), -int(key.priority))


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):  # the original error is the one to report
            conn.execute("ROLLBACK")


@final
class _Transaction:
    """A transaction begun by a statement: committed on success, rolled back on error.

    A class, not a generator: it runs around every read and write.
    """

    __slots__ = ("_begin", "_conn")

    def __init__(self, conn: sqlite3.Connection, begin: str) -> None:
        self._conn = conn
        self._begin = begin

    def __enter__(self) -> sqlite3.Connection:
        self._conn.execute(self._begin)
        return self._conn

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            _rollback(self._conn)
            return
        try:
            self._conn.execute("COMMIT")
        except BaseException:
            # SQLite may leave the transaction open when COMMIT fails (busy, I/O
            # error, disk full), and the store must stay usable.
            _rollback(self._conn)
            raise


@final
class SQLiteStore:
    """Keep tickets in a SQLite database file (or in memory), with the full store contract.

    The embedded default: one file, no server. Deleted content is zeroed
    (``PRAGMA secure_delete = ON`` on the store's connection), and a commit
    holding a purge is followed by a ``TRUNCATE`` checkpoint (`checkpoint`), so
    the purged data is in none of the file, its ``-wal`` and its ``-shm``. Each
    commit is one ``BEGIN
    IMMEDIATE`` transaction holding the ticket row, its new events, its tags and
    its outbox entries, so a change is on disk whole or not at all. The file runs
    in WAL mode with ``synchronous=FULL`` by default: a commit that returned
    survives a power cut. Several processes may open the same file; SQLite
    serialises their writes (waiting up to ``timeout`` seconds for the lock).
    Within one process the store is thread-safe (one connection behind a lock).

    Tickets are stored as their events (the timeline) and rebuilt on read;
    status, priority, assignee, department, tags and the due time are kept in
    indexed columns for `find` and `due`, and the work-queue key in columns with
    three partial indexes (all queued tickets, by assignee, by department), so
    `queue` reads only the rows it returns.

    The requester's e-mail key (`requester_key`) is an indexed column too, for
    ``find`` by requester.

    Files written by an older ticketflow are migrated on open (in one
    transaction). Schema version 2 added the work queue: tickets stored before
    it are not queued until their next commit or `reindex`. Schema version 3
    added the requester index, filled in for the stored tickets by the migration.
    Schema version 5 added the message-id index (`MessageIdStore`) and version 6
    search (`SearchStore`: the text rows of `indexed_text` in ``search_docs``,
    an external-content FTS5 table over them), both written in the commit's
    transaction and filled in for stored tickets by the migration. Since
    version 7 the FTS5 index is fed in batches rather than in every commit
    (`index_search`): `search` indexes the waiting rows first, so it still
    finds everything committed. A purge deletes the ticket's rows and merges
    the FTS5 index (or, on SQLite 3.42+, uses FTS5's ``secure-delete``), so
    its words leave the file.

    Args:
        path: The database file, or ``":memory:"`` for a private in-memory database.
        synchronous: SQLite's ``synchronous`` setting: ``FULL`` (default, durable
            on power loss), ``NORMAL`` (durable on a process crash; a power cut may
            lose the last commits) or ``OFF`` (for tests and benchmarks only).
        timeout: Seconds to wait for another process's write lock before
            `StoreUnavailable`.
        cache_size: How many rebuilt tickets to keep (0: none), the least
            recently used dropped first. `get` checks the stored version (one
            index lookup) and rebuilds the ticket from its events only when the
            cached one is stale or missing, then keeps it; `commit` keeps what it
            wrote. Scans (`find`, `due`, `queue`, `claim_due`) use cached
            tickets that are current but keep none they rebuild, so a scan over
            many tickets does not evict the ones in use.

    Raises:
        StoreUnavailable: the file cannot be opened or created.
        StoreError: the file is not a SQLite database, is another application's
            database, or was written by a newer ticketflow.
    """

    __slots__ = ("_cache", "_connect", "_hosted", "_lock", "_on_commit", "_path")

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        synchronous: str = "FULL",
        timeout: float = 5.0,
        cache_size: int = 4096,
    ) -> None:
        try:
            self._path = os.fspath(path)
        except TypeError:
            raise StoreError(
                f"SQLite store: path must be a str or os.PathLike, not {type(path).__name__}"
            ) from None
        if not isinstance(self._path, str) or _validate.text_problem(self._path) is not None:
            raise StoreError(
                f"SQLite store path {self._path!r}: a path must be text without a NUL "
                "character or a lone surrogate"
            )
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 <= timeout <= _MAX_TIMEOUT
        ):
            raise StoreError(
                f"SQLite store {self._path!r}: timeout must be a number of seconds from 0 "
                f"to {_MAX_TIMEOUT}, not {_validate.describe(timeout)}"
            )
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise StoreError(
                f"SQLite store {self._path!r}: cache_size must be a whole number >= 0, "
                f"not {_validate.describe(cache_size)}"
            )
        # Tickets this store wrote or read, by id. A cached ticket is used only when
        # the stored version still matches, so other processes' writes are seen.
        self._cache = TicketCache(cache_size)
        level = str(synchronous).upper()
        if level not in _SYNCHRONOUS:
            raise StoreError(
                f"SQLite store {self._path!r}: synchronous must be one of "
                f"{', '.join(sorted(_SYNCHRONOUS))}, not {synchronous!r}"
            )
        self._lock: contextlib.AbstractContextManager[object] = threading.RLock()
        self._hosted = False
        self._on_commit: OnCommit | None = None
        try:
            conn = sqlite3.connect(
                self._path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"SQLite store {self._path!r} cannot be opened: {exc} "
                "(does its directory exist and is it writable?)"
            ) from exc
        self._connect: Callable[[], sqlite3.Connection] = lambda: conn
        try:
            with self._errors():
                conn.execute(f"PRAGMA synchronous = {level}")
                # Deleted content is overwritten with zeros, not left in free pages
                # and free cell space: what a purge removes is gone from the file.
                conn.execute("PRAGMA secure_delete = ON")
                self._migrate()
        except BaseException:
            conn.close()
            raise

    @classmethod
    def on_connection(
        cls,
        connection: sqlite3.Connection | Callable[[], sqlite3.Connection],
        *,
        on_commit: OnCommit | None = None,
    ) -> SQLiteStore:
        """Make a store that works inside the application's own connection and transaction.

        ``connection`` is a `sqlite3.Connection` the application owns, or a
        function of no arguments returning the current one (a framework's
        connection changes per thread or request: with Django,
        ``lambda: django.db.connection.connection`` after
        ``ensure_connection()``). Every ticketflow commit then runs in a
        ``SAVEPOINT`` inside the application's open transaction, so the
        application's commit or rollback covers the tickets, events and outbox
        entries together with its own rows; a refused commit (`ConflictError`,
        a database error) rolls back ticketflow's part only, and the
        application's transaction stays usable. When no transaction is open,
        one is begun the way the driver would begin it before a write
        (``isolation_level`` not ``None``: a transaction the application
        commits) or, in autocommit mode (``isolation_level=None``, Django's
        default outside ``atomic()``), each ticketflow commit is its own
        transaction, like any statement the application runs.

        The store never commits, rolls back (beyond its savepoint), closes, or
        changes the settings of the connection (no ``PRAGMA``: journal mode,
        ``synchronous``, ``secure_delete``, ``foreign_keys`` and the busy
        timeout are the application's), and it caches no ticket (a ticket kept
        from a transaction the application then rolled back would be served as
        stored). It does not create its tables either: call `migrate` once
        (from a deployment step or a framework migration). After a purge, the
        write-ahead log's checkpoint is the application's too (`checkpoint`).
        A `Helpdesk` on this store publishes a command's events to its
        in-process subscribers only once the application has committed (see
        `after_commit`).

        Args:
            connection: The connection, or a function returning the current one.
            on_commit: A function that runs a callback once the application's
                current transaction commits, and never if it rolls back (Django's
                ``transaction.on_commit``). Without it, in-process subscribers are
                not called at all: the worker's ``dispatch`` delivers the outbox
                after the commit.

        Raises:
            StoreError: ``connection`` is neither, or ``on_commit`` is not callable.
        """
        on_commit = check_on_commit("SQLiteStore.on_connection", on_commit)
        if isinstance(connection, sqlite3.Connection):
            host = connection

            def current() -> sqlite3.Connection:
                return host
        elif callable(connection):
            current = connection
        else:
            raise StoreError(
                "SQLiteStore.on_connection: connection must be a sqlite3.Connection or a "
                f"function returning one, not {_validate.describe(connection)}"
            )
        store = cls.__new__(cls)
        store._host(current, on_commit)  # noqa: SLF001 - the class's own second constructor
        return store

    def _host(
        self,
        current: Callable[[], sqlite3.Connection],
        on_commit: OnCommit | None,
    ) -> None:
        """Set up a store made by `on_connection`."""
        self._path = "(the application's connection)"
        self._hosted = True
        self._on_commit = on_commit
        self._lock = contextlib.nullcontext()  # the connection's threads are the application's
        self._cache = TicketCache(0)  # see on_connection: a rolled-back ticket must not be served
        self._connect = current

    @property
    def after_commit(self) -> OnCommit | None:
        """How to run something once this store's writes are committed, or None: at once.

        None on a store with its own connection (a `commit` returns committed).
        On the application's connection (`on_connection`): its ``on_commit``,
        or, without one, a function that drops the callback (the application's
        commit cannot be seen). `Helpdesk` publishes to in-process subscribers
        through it, so a subscriber never hears of a ticket that the
        application then rolls back.
        """
        if not self._hosted:
            return None
        return self._on_commit or skip_delivery

    @property
    def _conn(self) -> sqlite3.Connection:
        """The connection to use now (the application's current one, on its connection)."""
        conn = self._connect()
        if self._hosted and not isinstance(conn, sqlite3.Connection):
            raise StoreError(
                "SQLite store on the application's connection: the connection function "
                f"returned {_validate.describe(conn)}, not a sqlite3.Connection "
                "(with Django, call connection.ensure_connection() first)"
            )
        return conn

    @_conn.setter
    def _conn(self, conn: sqlite3.Connection) -> None:
        """Use ``conn`` from now on (the fault-injection tests wrap the store's connection)."""
        self._connect = lambda: conn

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """Open ``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``sqlite://:memory:``.

        Query parameters ``synchronous`` and ``timeout`` are passed on, as in
        ``sqlite:///helpdesk.db?synchronous=NORMAL``.

        Raises:
            StoreError: the URL is not a SQLite URL or has unknown parameters.
        """
        if not url.lower().startswith("sqlite://"):
            raise StoreError(f"store URL {url!r} is not a SQLite URL (sqlite:///path/to/file.db)")
        rest, _, query = url[len("sqlite://") :].partition("?")
        if rest in {":memory:", "/:memory:"}:
            path = ":memory:"
        elif rest.startswith("/") and len(rest) > 1:
            path = rest[1:]
        else:
            raise StoreError(
                f"store URL {url!r}: write sqlite:///relative/path.db, "
                "sqlite:////absolute/path.db or sqlite://:memory: (SQLite URLs have no host)"
            )
        options: dict[str, Any] = {}
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError as exc:
            raise StoreError(
                f"store URL {url!r}: malformed parameters {query!r} (write ?name=value&...)"
            ) from exc
        for key, value in pairs:
            if key == "synchronous":
                options["synchronous"] = value
            elif key == "timeout":
                try:
                    options["timeout"] = float(value)
                except ValueError:
                    raise StoreError(
                        f"store URL {url!r}: timeout must be a number of seconds, not {value!r}"
                    ) from None
            else:
                raise StoreError(
                    f"store URL {url!r}: unknown parameter {key!r} (known: synchronous, timeout)"
                )
        return cls(path, **options)

    @property
    def path(self) -> str:
        """The database file (or ``":memory:"``; on the application's connection, a description)."""
        return self._path

    # --- plumbing -------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn sqlite3's exceptions into the `StoreError` family, naming the file."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise StoreUnavailable(
                    f"SQLite store {self._path!r} is busy (another process holds the write "
                    f"lock longer than the timeout): {text}"
                ) from exc
            if self._hosted and "no such table" in text:
                text += " (create ticketflow's tables first: store.migrate())"
            raise StoreError(f"SQLite store {self._path!r}: {text}") from exc
        except sqlite3.ProgrammingError as exc:
            raise StoreError(f"SQLite store {self._path!r} is closed or misused: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"SQLite store {self._path!r} is not a usable SQLite database ({exc}); "
                "nothing was written to it"
            ) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on error.

        On the application's connection, a savepoint in its open transaction
        instead (`_transaction`).
        """
        with self._lock, self._errors(), self._transaction("BEGIN IMMEDIATE") as conn:
            yield conn

    def _transaction(self, begin: str) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A transaction begun by ``begin``, or ticketflow's part of the application's.

        On the application's connection (`on_connection`) with a transaction
        open, ticketflow's part is a savepoint (`_savepoint`). With none open,
        one is begun first if the driver would begin one before a write
        (``isolation_level`` is not ``None``), so that the application's
        ``commit()`` or ``rollback()`` decides; in autocommit mode the store's
        work is a transaction of its own, begun by ``begin``, as on its own file.
        """
        conn = self._conn
        if not self._hosted or not (conn.in_transaction or _implicit_transactions(conn)):
            return _Transaction(conn, begin)
        return self._savepoint(conn)

    @staticmethod
    @contextlib.contextmanager
    def _savepoint(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """Ticketflow's part of the application's transaction: released, or rolled back alone."""
        if not conn.in_transaction:  # the application's transaction, begun as the driver would
            conn.execute(f"BEGIN {conn.isolation_level or ''}".strip())
        conn.execute("SAVEPOINT ticketflow")
        try:
            yield conn
            conn.execute("RELEASE SAVEPOINT ticketflow")
        except BaseException:
            # The original error is the one to report; a failing rollback means the
            # connection is broken, which the application's next statement shows.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK TO SAVEPOINT ticketflow")
                conn.execute("RELEASE SAVEPOINT ticketflow")
            raise

    def _migrate(self) -> None:
        conn = self._conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            raise StoreError(
                f"{self._path!r} is not a ticketflow database (it belongs to another "
                f"application: application_id {app_id:#x}, tables {', '.join(tables) or 'none'}); "
                "nothing was changed"
            )
        if self._path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: set once, kept by the file
        if app_id == APPLICATION_ID and conn.execute("PRAGMA user_version").fetchone()[0] == (
            SCHEMA_VERSION
        ):
            return  # current: opening takes no write lock
        with self._write() as conn:
            # Read again inside the write lock: another process may have migrated.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self._path!r} was written by a newer ticketflow (schema version "
                    f"{version}; this one knows up to {SCHEMA_VERSION}): upgrade ticketflow"
                )
            self._upgrade(conn, version)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _upgrade(self, conn: sqlite3.Connection, version: int) -> None:
        """Run the migrations from schema ``version`` on, in the caller's transaction."""
        for number in range(version, SCHEMA_VERSION):
            for statement in _statements(_MIGRATIONS[number]):
                conn.execute(statement)
            self._fill(conn, number)
        if version < 6:
            # The text of the tickets stored before search: written once the
            # watermark exists (7), then indexed in one batch.
            self._fill_text(conn, message_ids=False, search=True)
            _index_backlog(conn)
            _secure_search_deletes(conn)

    def migrate(self) -> None:
        """Create ticketflow's tables, or upgrade them to this ticketflow's schema.

        A store that opened its own file has done so already (this does nothing
        more). On the application's connection (`on_connection`), nothing is
        created until this runs: call it from a deployment step or a framework
        migration (with Django, a ``RunPython`` operation). It runs in a
        savepoint of the application's transaction, so it commits with it. The
        tables are ``tickets``, ``events``, ``tags``, ``outbox`` and
        ``ticket_counts``, and ``ticketflow_migrations`` records the schema
        version (in a ticketflow file of its own, ``PRAGMA user_version`` does).
        Running it again on a current schema changes nothing.

        Raises:
            StoreError: the database holds tables of those names that ticketflow
                did not create, or was written by a newer ticketflow; nothing
                was changed.
        """
        if not self._hosted:
            with self._lock, self._errors():
                self._migrate()
            return
        with self._write() as conn:
            own_file = conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
            version = _hosted_version(conn)
            if version is None:
                names = ", ".join(f"'{t}'" for t in _TABLES)
                clash = [
                    r[0]
                    for r in conn.execute(
                        f"SELECT name FROM sqlite_master WHERE name IN ({names})"  # noqa: S608 - fixed names
                    )
                ]
                if clash:
                    raise StoreError(
                        f"SQLite store on the application's connection: the database has "
                        f"tables named {', '.join(sorted(clash))} that ticketflow did not "
                        "create (no ticketflow_migrations table); nothing was changed"
                    )
                conn.execute("CREATE TABLE ticketflow_migrations (version INTEGER PRIMARY KEY)")
                version = 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the database was written by a newer ticketflow (schema version "
                    f"{version}; this one knows up to {SCHEMA_VERSION}): upgrade ticketflow"
                )
            self._upgrade(conn, version)
            if own_file:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            else:
                conn.executemany(
                    "INSERT INTO ticketflow_migrations (version) VALUES (?)",
                    [(v,) for v in range(version + 1, SCHEMA_VERSION + 1)],
                )

    def _fill(self, conn: sqlite3.Connection, number: int) -> None:
        """Fill in what migration ``number`` (to ``number + 1``) added, for the stored tickets."""
        if number == 2:
            self._fill_requester_keys(conn)
        elif number == 3:
            self._fill_summaries(conn)
        elif number == 4:
            self._fill_text(conn, message_ids=True, search=False)

    def _fill_requester_keys(self, conn: sqlite3.Connection) -> None:
        """Index the requesters of the tickets stored before schema version 3.

        Each ticket's creation event (position 0) holds its requester; the key is
        computed in Python (`requester_key`), as for new tickets, since SQLite's
        ``lower`` folds ASCII only.
        """
        rows = conn.execute("SELECT ticket_id, body FROM events WHERE position = 0").fetchall()
        updates = []
        for ticket_id, body in rows:
            creation = self._decode(ticket_id, [body])
            key = requester_key(creation)
            if key is not None:
                updates.append((key, ticket_id))
        conn.executemany("UPDATE tickets SET requester_email = ? WHERE id = ?", updates)

    def _fill_summaries(self, conn: sqlite3.Connection) -> None:
        """Write the summaries of the tickets stored before schema version 4, and count them.

        Each ticket is rebuilt once from its events (in chunks, so that memory
        stays bounded), with the queue key its row holds.
        """
        ids = [r[0] for r in conn.execute("SELECT id FROM tickets ORDER BY id")]
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            keys = {
                row[0]: _queue_key(row[1], row[2], row[3])
                for row in conn.execute(
                    f"SELECT id, queue_due, queue_since, queue_rank FROM tickets "  # noqa: S608 - only '?' marks
                    f"WHERE id IN ({marks})",
                    chunk,
                )
            }
            tickets = self._load_tickets(chunk)
            conn.executemany(
                "UPDATE tickets SET created_at = ?, updated_at = ?, channel = ?, summary = ? "
                "WHERE id = ?",
                [
                    (*_summary_columns(summarize(ticket, keys[tid])), tid)
                    for tid, ticket in tickets.items()
                ],
            )
        conn.execute(
            "INSERT INTO ticket_counts SELECT status, priority, ifnull(assignee, ''), "
            "ifnull(department, ''), count(*) FROM tickets "
            "GROUP BY status, priority, ifnull(assignee, ''), ifnull(department, '')"
        )

    def _fill_text(self, conn: sqlite3.Connection, *, message_ids: bool, search: bool) -> None:
        """Index the message ids or the text of the tickets stored before schema 5 or 6."""
        ids = [r[0] for r in conn.execute("SELECT id FROM tickets ORDER BY id")]
        for start in range(0, len(ids), _CHUNK):
            for tid, ticket in self._load_tickets(ids[start : start + _CHUNK]).items():
                _index_text(
                    conn, tid, indexed_text(ticket, 0), message_ids=message_ids, search=search
                )

    def schema_version(self) -> int:
        """Return the schema version of the open database (0: no ticketflow tables yet)."""
        with self._lock, self._errors():
            if self._hosted:
                return _hosted_version(self._conn) or 0
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def integrity_check(self) -> str:
        """Run ``PRAGMA integrity_check``; return its verdict (``"ok"`` when sound)."""
        with self._lock, self._errors():
            rows = self._conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(r[0]) for r in rows)

    def _tickets_by_rows(self, rows: Sequence[tuple[str, int]]) -> list[Ticket]:
        """Return the tickets of ``(id, version)`` rows, from the cache when current."""
        found, missing = self._cache.current(rows)
        if missing:
            found.update(self._load_tickets(missing))
        return [found[tid] for tid, _ in rows if tid in found]

    def _read(self, sql: str, params: Sequence[Any]) -> list[Ticket]:
        """Run an ``id, version`` query and return its tickets, in one read snapshot."""
        with self._transaction("BEGIN") as conn:  # one read snapshot
            rows = conn.execute(sql, params).fetchall()
            return self._tickets_by_rows(rows)

    def _load_tickets(self, ids: Sequence[str]) -> dict[str, Ticket]:
        """Rebuild the tickets with these ids from their events (without caching them).

        Only scans load several tickets at once, and a scan must not evict the
        tickets in use (see `TicketCache`).
        """
        timelines: dict[str, list[str]] = {}
        conn = self._conn
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT ticket_id, body FROM events WHERE ticket_id IN ({marks}) "  # noqa: S608 - only '?' marks
                "ORDER BY ticket_id, position",
                chunk,
            )
            for ticket_id, body in rows:
                timelines.setdefault(ticket_id, []).append(body)
        return {tid: self._decode(tid, bodies) for tid, bodies in timelines.items()}

    def _decode(self, ticket_id: str, bodies: Sequence[str]) -> Ticket:
        return decode_ticket(bodies, f"SQLite store {self._path!r}, ticket {ticket_id!r}")

    # --- the contract ---------------------------------------------------------------

    def get(self, ticket_id: str) -> Ticket:
        """Return the stored ticket, rebuilt from its events.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        # The version and the events from one snapshot.
        with self._lock, self._errors(), self._transaction("BEGIN") as conn:
            row = conn.execute("SELECT version FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
            cached = self._cache.get(ticket_id)
            rows = []
            if row is not None and (cached is None or cached.version != row[0]):
                rows = conn.execute(
                    "SELECT body FROM events WHERE ticket_id = ? ORDER BY position",
                    (ticket_id,),
                ).fetchall()
        if row is None:
            raise TicketNotFound(ticket_id)
        if not rows:
            assert cached is not None  # noqa: S101 - rows are read unless the cache is current
            return cached
        ticket = self._decode(ticket_id, [r[0] for r in rows])
        self._cache.remember(ticket)
        return ticket

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's timeline, oldest first.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        return tuple(self.get(ticket_id).timeline)

    def commit(self, changes: Sequence[Change]) -> None:
        """Write all ``changes`` in one transaction.

        Raises:
            ConflictError: a change's expected version is stale; nothing was written.
            StoreError: a change is malformed, or the database failed; nothing was written.
        """
        with self._write() as conn:
            merge = text = False
            for change in changes:
                wrote_text, must_merge = self._write_change(conn, change)
                text |= wrote_text
                merge |= must_merge
            if any(change.rewrite for change in changes):
                # A purge: the rows it re-indexed go into the FTS5 index now, with
                # the backlog, so that the index matches search_docs when it is merged.
                _index_backlog(conn)
            elif text:
                upto, top = _search_backlog(conn)
                if top - upto >= _SEARCH_BACKLOG:
                    _index_backlog(conn)
            if merge:
                _merge_search_index(conn)
        for change in changes:  # only once the transaction is committed
            self._cache.remember(change.ticket)
        if not self._hosted and any(change.rewrite for change in changes):
            # A purge: the erased pages' old versions are still in the WAL until
            # a checkpoint copies the new ones over them and the log is truncated.
            self.checkpoint()

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database file and truncate it to zero bytes.

        `commit` runs it after every commit holding a ``rewrite`` change (a
        purge), so that the old versions of the pages the purge rewrote leave
        the ``-wal`` file (``PRAGMA wal_checkpoint(TRUNCATE)``). It waits for
        other connections' writes (up to the store's ``timeout``), but a reader
        of another connection in the middle of a read transaction holds it up:
        it then returns False and the log keeps what it held; call it again
        when that reader is done (the next purge does too).

        It first indexes the text waiting for the full-text index
        (`index_search`), so that a worker calling it when idle keeps the
        first search after a busy spell cheap.

        Returns:
            Whether the whole log was copied and truncated (True for an
            in-memory database, which has none).
        """
        self.index_search()
        if self._path == ":memory:":
            return True
        with self._lock, self._errors():
            busy, _log, _copied = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

    def _write_change(self, conn: sqlite3.Connection, change: Change) -> tuple[bool, bool]:
        """Write one change.

        Returns:
            Whether it added search rows, and whether the search index must be
            merged (a purge).
        """
        ticket, expected, rewrite, due_at, outbox, queued = change
        tid = ticket.id
        check_version_step(change)
        due = None if due_at is None else _micros(due_at)
        summary = summarize(ticket, queued)
        values = (
            ticket.status,
            int(ticket.priority),
            ticket.assignee,
            ticket.department,
            due,
            *_queue_columns(queued),
        )
        if expected == 0:
            try:
                conn.execute(
                    "INSERT INTO tickets (version, status, priority, assignee, department, "
                    "due_at, queue_due, queue_since, queue_rank, requester_email, "
                    "created_at, updated_at, channel, summary, id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        ticket.version,
                        *values,
                        requester_key(ticket),
                        *_summary_columns(summary),
                        tid,
                    ),
                )
            except sqlite3.IntegrityError:
                self._conflict(conn, tid, expected)
        elif rewrite:  # a purge: the requester is erased, and so is its key
            cursor = conn.execute(
                "UPDATE tickets SET version = ?, status = ?, priority = ?, assignee = ?, "
                "department = ?, due_at = ?, queue_due = ?, queue_since = ?, queue_rank = ?, "
                "requester_email = ?, created_at = ?, updated_at = ?, channel = ?, summary = ?, "
                "claimed_until = NULL WHERE id = ? AND version = ?",
                (
                    ticket.version,
                    *values,
                    requester_key(ticket),
                    *_summary_columns(summary),
                    tid,
                    expected,
                ),
            )
            if cursor.rowcount != 1:
                self._conflict(conn, tid, expected)
        else:
            self._update_row(conn, change, values, summary)
        timeline = ticket.timeline
        if rewrite:
            conn.execute("DELETE FROM events WHERE ticket_id = ?", (tid,))
            start = 0
        else:
            start = new_positions(ticket).start
        conn.executemany(
            "INSERT INTO events (ticket_id, position, body) VALUES (?, ?, ?)",
            [(tid, i, dump_event(timeline[i])) for i in range(start, len(timeline))],
        )
        if rewrite or any(timeline[i].kind in _TAG_KINDS for i in range(start, len(timeline))):
            conn.execute("DELETE FROM tags WHERE ticket_id = ?", (tid,))
            conn.executemany(
                "INSERT INTO tags (tag, ticket_id) VALUES (?, ?)",
                [(tag, tid) for tag in ticket.tags],
            )
        if outbox:
            conn.executemany(
                "INSERT INTO outbox (ticket_id, position, kind) VALUES (?, ?, ?)",
                [(tid, i, timeline[i].kind.value) for i in outbox],
            )
        added = indexed_text(ticket, start)
        merge = _unindex_text(conn, tid) if rewrite else False
        if added.rows or added.message_ids:
            _index_text(conn, tid, added, message_ids=True, search=True)
        return bool(added.rows), merge

    def insert_new(self, changes: Sequence[Change]) -> list[str]:
        """Write the changes whose tickets are not stored yet, in one transaction; skip the others.

        For bulk loads (`Helpdesk.import_tickets`): each change creates its
        ticket (expected version 0, version 1). A ticket that exists already
        (or repeats an earlier change of ``changes``) is left as it is and its
        id returned, where `commit` would refuse the whole batch. One query per
        500 ids finds the existing ones; then one ``executemany`` per table
        writes the same rows `commit` would (ticket row with its summary,
        requester and queue columns, events, tags, outbox, message ids and
        search text), the events encoded
        together (`dump_events`). The tickets are not kept in the read cache.

        Returns:
            The ids of the changes skipped, in order.

        Raises:
            StoreError: a change does not create its ticket, or the database
                failed; nothing was written.
        """
        for change in changes:
            check_creation(change)
        if not changes:
            return []
        skipped: list[str] = []
        with self._write() as conn:
            seen = _stored_ids(conn, [change.ticket.id for change in changes])
            rows: list[tuple[Any, ...]] = []
            owners: list[str] = []
            positions: list[int] = []
            events: list[Event] = []
            tags: list[tuple[str, str]] = []
            message_ids: list[tuple[str, str]] = []
            docs: list[tuple[str, int, str]] = []
            kept: list[Change] = []
            for change in changes:
                tid = change.ticket.id
                if tid in seen:
                    skipped.append(tid)
                else:
                    seen.add(tid)
                    kept.append(change)
            outbox = [  # in the order of ``changes``, as `commit` queues them
                (ticket.id, i, ticket.timeline[i].kind.value)
                for ticket, _, _, _, positions, _ in kept
                for i in positions
            ]
            # In key order: each B-tree is written page after page, not all over.
            kept.sort(key=_ticket_id)
            for ticket, _, _, due_at, _, queued in kept:
                tid = ticket.id
                rows.append(
                    (
                        ticket.version,
                        ticket.status,
                        int(ticket.priority),
                        ticket.assignee,
                        ticket.department,
                        None if due_at is None else _micros(due_at),
                        *_queue_columns(queued),
                        requester_key(ticket),
                        *_summary_columns(summarize(ticket, queued)),
                        tid,
                    )
                )
                timeline = ticket.timeline
                owners.extend([tid] * len(timeline))
                positions.extend(range(len(timeline)))
                events.extend(timeline)
                tags.extend([(tag, tid) for tag in ticket.tags])
                text = indexed_text(ticket, 0)
                message_ids.extend((message_id, tid) for message_id in text.message_ids)
                docs.extend((tid, int(row.private), row.text) for row in text.rows)
            conn.executemany(
                "INSERT INTO tickets (version, status, priority, assignee, department, "
                "due_at, queue_due, queue_since, queue_rank, requester_email, "
                "created_at, updated_at, channel, summary, id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.executemany(
                "INSERT INTO events (ticket_id, position, body) VALUES (?, ?, ?)",
                zip(owners, positions, dump_events(events), strict=True),
            )
            if tags:
                conn.executemany("INSERT INTO tags (tag, ticket_id) VALUES (?, ?)", tags)
            if outbox:
                conn.executemany(
                    "INSERT INTO outbox (ticket_id, position, kind) VALUES (?, ?, ?)", outbox
                )
            # The text indexes, as `commit` writes them (`_index_text`).
            conn.executemany(
                "INSERT OR IGNORE INTO message_ids (message_id, ticket_id) VALUES (?, ?)",
                message_ids,
            )
            conn.executemany(_ADD_SEARCH_DOC, docs)
            _index_backlog(conn)  # a bulk load: its text in one batch
        return skipped

    def _update_row(
        self,
        conn: sqlite3.Connection,
        change: Change,
        values: tuple[Any, ...],
        summary: SummaryRow,
    ) -> None:
        """Write a ticket's next version, setting only the columns whose values changed.

        SQLite rewrites an index entry of every index holding a column an
        ``UPDATE`` sets, changed or not; reading the row first (a page already
        in the cache, under the write lock) and setting only what changed keeps
        a command from writing the pages of indexes it did not move.
        """
        ticket, expected = change.ticket, change.expected_version
        tid = ticket.id
        old = conn.execute(_READ_ROW, (tid,)).fetchone()
        if old is None or old[0] != expected:
            self._conflict(conn, tid, expected)
        sets = ["version = ?", "updated_at = ?", "summary = ?"]
        params: list[Any] = [ticket.version, micros(summary.updated_at), encode_summary(summary)]
        for name, value, before in zip(_ROW_COLUMNS, values, old[1:], strict=False):
            if value != before:
                sets.append(f"{name} = ?")
                params.append(value)
        if old[-1] is not None:
            sets.append("claimed_until = NULL")
        params.append(tid)
        conn.execute(f"UPDATE tickets SET {', '.join(sets)} WHERE id = ?", params)  # noqa: S608 - fixed column names

    @staticmethod
    def _conflict(conn: sqlite3.Connection, ticket_id: str, expected: int) -> None:
        row = conn.execute("SELECT version FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        raise ConflictError(
            ticket_id=ticket_id,
            expected_version=expected,
            actual_version=0 if row is None else int(row[0]),
        )

    def find(self, query: TicketQuery) -> list[Ticket]:
        """Return the tickets matching ``query``, ordered by id (through the indexes)."""
        where: list[str] = []
        params: list[Any] = []
        if query.statuses is not None:
            if not query.statuses:
                return []
            where.append(f"status IN ({','.join('?' * len(query.statuses))})")
            params.extend(sorted(query.statuses))
        clauses, values = equal_filters("?", assignee=query.assignee, department=query.department)
        where.extend(clauses)
        params.extend(values)
        if query.priority is not None:
            where.append("priority = ?")
            params.append(int(query.priority))
        if query.tag is not None:
            where.append("id IN (SELECT ticket_id FROM tags WHERE tag = ?)")
            params.append(query.tag)
        if query.requester is not None:
            where.append("requester_email = ?")
            params.append(query.requester)
        sql = "SELECT id, version FROM tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        with self._lock, self._errors():
            return self._read(sql, params)

    def iter_tickets(self, *, batch: int = STREAM_BATCH) -> Iterator[Ticket]:
        """Yield every stored ticket, ordered by id, ``batch`` at a time (`StreamStore`).

        Keyset on id: one query per batch (the batch's events, read in its own
        snapshot), decoded without filling the read cache; at most one batch
        of rebuilt tickets is held.

        Raises:
            InvalidInputError: ``batch`` is not a whole number from 1 to 100,000.
        """
        return self._stream(_validate.batch_size(batch))

    def _stream(self, size: int) -> Iterator[Ticket]:
        after = ""  # every id sorts after the empty text
        while True:
            timelines: dict[str, list[str]] = {}
            with self._lock, self._errors(), self._transaction("BEGIN") as conn:
                rows = conn.execute(
                    "SELECT ticket_id, body FROM events WHERE ticket_id IN "
                    "(SELECT id FROM tickets WHERE id > ? ORDER BY id LIMIT ?) "
                    "ORDER BY ticket_id, position",
                    (after, size),
                )
                for ticket_id, body in rows:
                    timelines.setdefault(ticket_id, []).append(body)
            if not timelines:
                return
            with self._errors():
                tickets = [self._decode(tid, bodies) for tid, bodies in timelines.items()]
            del timelines
            yield from tickets
            if len(tickets) < size:
                return
            after = tickets[-1].id
            del tickets

    def summaries(self, query: SummaryQuery) -> list[SummaryRow]:
        """Return the page of summaries ``query`` selects, in its order.

        One range scan of the sort key's index, from the cursor's position,
        reading rows until ``limit`` pass the filters (see `_list_sql`).
        """
        sql, params = self._list_sql(query)
        with self._lock, self._errors():
            rows = self._conn.execute(sql, params).fetchall()
        return [_summary_row(r) for r in rows]

    @staticmethod
    def _list_sql(query: SummaryQuery) -> tuple[str, list[Any]]:
        """Return the SQL and parameters `summaries` runs (for ``EXPLAIN QUERY PLAN`` in tests)."""
        where, params = _summary_filters(query)
        key = _SORT_SQL[query.sort]
        order = "DESC" if query.descending else "ASC"
        if query.after is not None:
            where.append(f"({key}, id) {'<' if query.descending else '>'} (?, ?)")
            params.extend(query.after)
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM tickets"  # noqa: S608 - fixed SQL, values as parameters
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {key} {order}, id {order} LIMIT ?"
        params.append(query.limit)
        return sql, params

    def summary_counts(self, by: str, query: SummaryQuery) -> dict[str | None, int]:
        """Return how many tickets pass ``query``'s filters, per value of ``by``.

        Filters on status, priority, assignee and department only (or none) are
        answered from the counters (one row per combination of the four, kept by
        triggers in every writing transaction): the cost follows the number of
        combinations, not of tickets. Any other filter counts the matching rows.
        """
        sql, params = self._counts_sql(by, query)
        with self._lock, self._errors():
            rows = self._conn.execute(sql, params).fetchall()
        out: dict[str | None, int] = {}
        for group, n in rows:
            name = str(group) if by == "priority" else (group or None)
            out[name] = out.get(name, 0) + int(n)
        return out

    @staticmethod
    def _counts_sql(by: str, query: SummaryQuery) -> tuple[str, list[Any]]:
        """Return the SQL and parameters `summary_counts` runs."""
        if by not in _COUNTED:
            raise StoreError(f"cannot count by {by!r} (one of {', '.join(_COUNTED)})")
        if _counted_only(query):
            where, params = _counter_filters(query)
            sql = f"SELECT {by}, sum(n) FROM ticket_counts"  # noqa: S608 - fixed SQL, values as parameters
            if where:
                sql += " WHERE " + " AND ".join(where)
            return sql + f" GROUP BY {by} HAVING sum(n) > 0", params
        where, params = _summary_filters(query)
        sql = f"SELECT {by}, count(*) FROM tickets"  # noqa: S608 - fixed SQL, values as parameters
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql + f" GROUP BY {by}", params

    def tickets_by_message_id(self, message_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Return the tickets holding each stored message id, newest first (`MessageIdStore`).

        One lookup of the message-id index per id.
        """
        out: dict[str, list[str]] = {}
        unique = list(dict.fromkeys(message_ids))
        with self._lock, self._errors():
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                rows = self._conn.execute(
                    "SELECT message_id, ticket_id FROM message_ids "  # noqa: S608 - only '?' marks
                    f"WHERE message_id IN ({','.join('?' * len(chunk))}) "
                    "ORDER BY message_id, ticket_id DESC",
                    chunk,
                ).fetchall()
                for message_id, ticket_id in rows:
                    out.setdefault(message_id, []).append(ticket_id)
        return {k: tuple(v) for k, v in out.items()}

    def search(self, query: SearchQuery) -> list[tuple[SummaryRow, float]]:
        """Return the hits of ``query``, best first (`SearchStore`; see `_search_sql`)."""
        sql, params = self._search_sql(query)
        with self._lock, self._errors():
            upto, top = _search_backlog(self._conn)
            if top <= upto:
                rows = self._conn.execute(sql, params).fetchall()
                return [(_summary_row(r[:-1]), float(r[-1])) for r in rows]
        # Text not yet in the FTS5 index: index it, then search, in one write
        # transaction (so the search sees every row the index was given).
        with self._write() as conn:
            _index_backlog(conn)
            rows = conn.execute(sql, params).fetchall()
        return [(_summary_row(r[:-1]), float(r[-1])) for r in rows]

    def index_search(self) -> int:
        """Add the text committed since the last batch to the full-text index; return its rows.

        Commands write their searchable text (``search_docs``) in their own
        transaction but leave it to this to feed the FTS5 index, in batches:
        `search` runs it first when text is waiting, `checkpoint` runs it, and
        a commit runs it once 256 rows are waiting, so a command pays for the
        FTS5 index only now and then and a batch writes one index segment. It
        takes the write lock; processes sharing the file never index a row
        twice. Calling it when nothing waits reads one row and writes nothing.

        Returns:
            How many text rows were indexed (0: none waited).
        """
        with self._lock, self._errors():
            upto, top = _search_backlog(self._conn)
        if top <= upto:
            return 0
        with self._write() as conn:
            return _index_backlog(conn)

    @staticmethod
    def _search_sql(query: SearchQuery) -> tuple[str, list[Any]]:
        """Return the SQL and parameters `search` runs.

        One FTS5 match per term, each the term's text as an FTS5 string (a
        phrase: double quotes doubled, so nothing in it is query syntax); a
        ticket's score for a term is the best (lowest) ``bm25`` of its rows,
        negated; its score is the sum over the terms, and it is a hit when
        every term matched. The hits are joined with their ticket rows for the
        filters and the summaries.
        """
        parts: list[str] = []
        params: list[Any] = []
        private = " AND d.private = 0" if query.public_only else ""
        for term in query.terms:
            parts.append(
                "SELECT d.ticket_id AS tid, -min(m.b) AS s FROM "  # noqa: S608 - fixed SQL
                "(SELECT rowid AS r, rank AS b FROM search_index "
                "WHERE search_index MATCH ?) AS m "
                f"JOIN search_docs AS d ON d.id = m.r{private} GROUP BY d.ticket_id"
            )
            params.append('"' + term.replace('"', '""') + '"')
        where, filters = _summary_filters(query.filters)
        params.append(len(query.terms))
        params.extend(filters)
        if query.after is not None:
            where.append("(h.score < ? OR (h.score = ? AND id > ?))")
            params.extend((query.after[0], query.after[0], query.after[1]))
        sql = (
            f"WITH hits AS ({' UNION ALL '.join(parts)}), "  # noqa: S608 - fixed SQL, values as parameters
            "scored AS (SELECT tid, sum(s) AS score FROM hits GROUP BY tid HAVING count(*) = ?) "
            f"SELECT {_SUMMARY_COLUMNS}, h.score FROM scored AS h JOIN tickets ON id = h.tid"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY h.score DESC, id LIMIT ?"
        params.append(query.limit)
        return sql, params

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        """Return up to ``limit`` tickets due at or before ``now``, earliest first."""
        with self._lock, self._errors():
            return self._read(
                "SELECT id, version FROM tickets WHERE due_at IS NOT NULL AND due_at <= ? "
                "ORDER BY due_at, id LIMIT ?",
                (_micros(now), max(limit, 0)),
            )

    def queue(self, *, assignee: str | None, department: str | None, limit: int) -> list[Ticket]:
        """Return up to ``limit`` queued tickets in queue order (see `QueueKey`).

        ``assignee`` and ``department``, when given, keep only the tickets
        currently assigned to that agent / in that department. One range scan
        of a queue index, reading ``limit`` rows at most.
        """
        sql, params = self._queue_sql(assignee=assignee, department=department, limit=limit)
        with self._lock, self._errors():
            return self._read(sql, params)

    @staticmethod
    def _queue_sql(
        *, assignee: str | None, department: str | None, limit: int
    ) -> tuple[str, list[Any]]:
        """Return the SQL and parameters `queue` runs (for ``EXPLAIN QUERY PLAN`` in tests)."""
        where, params = equal_filters("?", assignee=assignee, department=department)
        where.insert(0, "queue_due IS NOT NULL")
        params.append(max(limit, 0))
        sql = (
            f"SELECT id, version FROM tickets WHERE {' AND '.join(where)} "  # noqa: S608 - fixed SQL, values as parameters
            "ORDER BY queue_due, queue_since, queue_rank, id LIMIT ?"
        )
        return sql, params

    def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        """Apply each update whose ticket is still at its ``version``; return how many applied.

        One transaction; updates for missing tickets or other versions are
        skipped. Versions, events, claims and the outbox are left as they are.
        """
        if not updates:
            return 0
        with self._write() as conn:
            cursor = conn.executemany(
                "UPDATE tickets SET due_at = ?, queue_due = ?, queue_since = ?, queue_rank = ? "
                "WHERE id = ? AND version = ?",
                [
                    (
                        None if u.due_at is None else _micros(u.due_at),
                        *_queue_columns(u.queue),
                        u.ticket_id,
                        u.version,
                    )
                    for u in updates
                ],
            )
            return max(cursor.rowcount, 0)

    def _any(self, sql: str, params: Sequence[Any]) -> bool:
        with self._lock, self._errors():
            return self._conn.execute(sql, params).fetchone() is not None

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        """Claim and return up to ``limit`` unclaimed tickets due by ``now``, earliest first."""
        at = _micros(now)
        # Most sweeps find nothing due: check with a plain read, so an idle worker
        # never takes the write lock that commands need.
        if not self._any(
            "SELECT 1 FROM tickets WHERE due_at IS NOT NULL AND due_at <= ? "
            "AND (claimed_until IS NULL OR claimed_until <= ?) LIMIT 1",
            (at, at),
        ):
            return []
        with self._write() as conn:
            rows = conn.execute(
                "SELECT id, version FROM tickets WHERE due_at IS NOT NULL AND due_at <= ? "
                "AND (claimed_until IS NULL OR claimed_until <= ?) "
                "ORDER BY due_at, id LIMIT ?",
                (at, at, max(limit, 0)),  # SQLite reads LIMIT -1 as "no limit"
            ).fetchall()
            conn.executemany(
                "UPDATE tickets SET claimed_until = ? WHERE id = ?",
                [(_micros(now + lease), row[0]) for row in rows],
            )
            return self._tickets_by_rows(rows)

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Claim and return up to ``limit`` unclaimed pending outbox entries, oldest first."""
        at = _micros(now)
        if not self._any(
            "SELECT 1 FROM outbox WHERE claimed_until IS NULL OR claimed_until <= ? LIMIT 1", (at,)
        ):
            return []
        with self._write() as conn:
            rows = conn.execute(
                "SELECT seq, ticket_id, position, kind, attempts FROM outbox "
                "WHERE claimed_until IS NULL OR claimed_until <= ? ORDER BY seq LIMIT ?",
                (at, max(limit, 0)),
            ).fetchall()
            conn.executemany(
                "UPDATE outbox SET claimed_until = ?, attempts = attempts + 1 WHERE seq = ?",
                [(_micros(now + lease), row[0]) for row in rows],
            )
        return [OutboxEntry(r[1], int(r[2]), r[3], int(r[4]) + 1) for r in rows]

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        """Remove delivered entries; unknown keys are ignored."""
        if not keys:
            return
        with self._write() as conn:
            conn.executemany(
                "DELETE FROM outbox WHERE ticket_id = ? AND position = ?",
                [(k[0], k[1]) for k in keys],
            )

    def outbox_pending(self) -> int:
        """Return the number of entries not yet acknowledged."""
        with self._lock, self._errors():
            return int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def next_due_at(self) -> datetime | None:
        """Return the earliest due time, or None."""
        with self._lock, self._errors():
            row = self._conn.execute(
                "SELECT due_at FROM tickets WHERE due_at IS NOT NULL ORDER BY due_at LIMIT 1"
            ).fetchone()
        return None if row is None else _from_micros(int(row[0]))

    def count(self) -> int:
        """Return the number of stored tickets (tombstones included)."""
        with self._lock, self._errors():
            return int(self._conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0])

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards.

        On the application's connection (`on_connection`) the connection is left open.
        """
        with self._lock:
            if not self._hosted:  # the application's connection is the application's to close
                self._conn.close()
            self._cache.clear()

    def __repr__(self) -> str:
        if self._hosted:
            return "SQLiteStore.on_connection(...)"
        return f"SQLiteStore({self._path!r})"
