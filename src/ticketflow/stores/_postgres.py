"""The PostgreSQL store: many processes on many machines, on psycopg 3 and its pool.

psycopg is imported when a store is made, not when ticketflow is, so ``import
ticketflow`` works without the ``postgres`` extra.
"""

from __future__ import annotations

import contextlib
import functools
import re
import select
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar, final
from urllib.parse import parse_qsl, quote, urlencode

from .. import _validate
from .._model import Event, EventKind, Ticket
from ..exceptions import ConflictError, StoreError, StoreUnavailable, TicketNotFound
from ._cache import TicketCache
from ._codec import decode_ticket, dump_event
from ._postgres_listen import NOTIFY_MANY, NOTIFY_ONE, PostgresListener, wake_payload
from ._postgres_schema import migrate
from ._protocol import (
    Change,
    IndexUpdate,
    OutboxEntry,
    QueueKey,
    TicketQuery,
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
    decode_summary,
    encode_summary,
    from_micros,
    summarize,
)
from ._text import SearchQuery, indexed_text, plain_words

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

    _Connection = psycopg.Connection[tuple[Any, ...]]

__all__ = ["PostgresStore"]

INSTALL_HINT: Final = "pip install 'ticketflow[postgres]'"
_CONFIG_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?")

_T = TypeVar("_T")

_TAG_KINDS: Final = frozenset({EventKind.CREATED, EventKind.TAGS_ADDED, EventKind.TAGS_REMOVED})

# A read of one ticket is one statement: the stored version, and the events only
# when that version is not the one the caller already holds (the cache).
_GET: Final = """
    SELECT t.version, e.body::text FROM tickets AS t
    LEFT JOIN events AS e ON e.ticket_id = t.id AND t.version <> %s
    WHERE t.id = %s
    ORDER BY e.position
"""

_CLAIM_DUE: Final = """
    WITH picked AS MATERIALIZED (
        SELECT id FROM tickets
        WHERE due_at IS NOT NULL AND due_at <= %(now)s
          AND (claimed_until IS NULL OR claimed_until <= %(now)s)
        ORDER BY due_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE tickets AS t SET claimed_until = %(until)s
    FROM picked WHERE t.id = picked.id
    RETURNING t.id, t.due_at, t.version
"""

_CLAIM_OUTBOX: Final = """
    WITH picked AS MATERIALIZED (
        SELECT seq FROM outbox
        WHERE claimed_until IS NULL OR claimed_until <= %(now)s
        ORDER BY seq
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    UPDATE outbox AS o SET claimed_until = %(until)s, attempts = o.attempts + 1
    FROM picked WHERE o.seq = picked.seq
    RETURNING o.seq, o.ticket_id, o.position, o.kind, o.attempts
"""

_INSERT_ROW: Final = """
        INSERT INTO tickets (version, status, priority, assignee, department, due_at,
                             queue_due, queue_since, queue_rank, requester_email,
                             created_at, updated_at, channel, summary, id)
        VALUES (%(version)s, %(status)s, %(priority)s, %(assignee)s, %(department)s,
                %(due_at)s, %(queue_due)s, %(queue_since)s, %(queue_rank)s,
                %(requester)s, %(created_at)s, %(updated_at)s, %(channel)s, %(summary)s,
                %(id)s)
        ON CONFLICT (id) DO NOTHING
        RETURNING id"""

# Under READ COMMITTED a concurrent writer's UPDATE waits for the row lock, then
# re-checks `version` against the committed row: one wins.
_UPDATE_ROW: Final = """
        UPDATE tickets SET version = %(version)s, status = %(status)s,
            priority = %(priority)s, assignee = %(assignee)s, department = %(department)s,
            due_at = %(due_at)s, queue_due = %(queue_due)s, queue_since = %(queue_since)s,
            queue_rank = %(queue_rank)s, updated_at = %(updated_at)s, summary = %(summary)s,
            claimed_until = NULL
        WHERE id = %(id)s AND version = %(expected)s
        RETURNING id"""

# A rewrite (purge) also sets the requester key: the requester is erased.
_REWRITE_ROW: Final = _UPDATE_ROW.replace(
    "claimed_until = NULL", "requester_email = %(requester)s, claimed_until = NULL"
)

# Rows locked in id order first, so that concurrent reindexes (and commits, which
# lock one row, or several in id order) wait for each other instead of deadlocking.
_REINDEX_LOCK: Final = "SELECT 1 FROM tickets WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
_REINDEX: Final = """
    UPDATE tickets AS t SET due_at = u.due_at, queue_due = u.queue_due,
        queue_since = u.queue_since, queue_rank = u.queue_rank
    FROM unnest(%s::text[], %s::integer[], %s::timestamptz[], %s::timestamptz[],
                %s::timestamptz[], %s::smallint[])
        AS u(id, version, due_at, queue_due, queue_since, queue_rank)
    WHERE t.id = u.id AND t.version = u.version
    RETURNING t.id, t.version
"""

# Statements shared with the async store (``_postgres_async``), which runs this SQL text too.
_EVENTS_OF: Final = (
    "SELECT ticket_id, body::text FROM events WHERE ticket_id = ANY(%s) "
    "ORDER BY ticket_id, position"
)
_VERSION_OF: Final = "SELECT version FROM tickets WHERE id = %s"
_BODIES_AT: Final = (
    "SELECT body::text FROM events WHERE ticket_id = %s AND position = ANY(%s) ORDER BY position"
)
_DUE: Final = (
    "SELECT p.id, p.version, e.body::text FROM ("
    "SELECT id, version, due_at FROM tickets "
    "WHERE due_at IS NOT NULL AND due_at <= %s ORDER BY due_at, id LIMIT %s) AS p "
    "JOIN events AS e ON e.ticket_id = p.id ORDER BY p.due_at, p.id, e.position"
)
# Lock in seq order: two dispatchers acknowledging overlapping entries
# (a lease ran out) then wait for each other instead of deadlocking.
_ACK_OUTBOX: Final = (
    "DELETE FROM outbox WHERE seq IN ("
    "SELECT o.seq FROM outbox AS o "
    "JOIN unnest(%s::text[], %s::integer[]) AS k(t, p) "
    "ON o.ticket_id = k.t AND o.position = k.p ORDER BY o.seq FOR UPDATE OF o)"
)
_OUTBOX_PENDING: Final = "SELECT count(*) FROM outbox"
_NEXT_DUE_AT: Final = "SELECT due_at FROM tickets WHERE due_at IS NOT NULL ORDER BY due_at LIMIT 1"
_COUNT: Final = "SELECT count(*) FROM tickets"

_ENQUEUE: Final = """
    INSERT INTO outbox (ticket_id, position, kind)
    SELECT u.t, u.p, u.k FROM unnest(%s::text[], %s::integer[], %s::text[])
    WITH ORDINALITY AS u(t, p, k, n) ORDER BY u.n
"""


def notify_many_params(changes: Sequence[Change]) -> tuple[str, bool, datetime | None] | None:
    """The parameters of ``NOTIFY_MANY`` for a commit of ``changes``; None if it brings no work.

    The sync and the async store's.
    """
    outbox = any(c.outbox for c in changes)
    dues = [c.due_at for c in changes if c.due_at is not None]
    if not (outbox or dues):
        return None
    due = min(dues) if dues else None
    return wake_payload(due, outbox), outbox, due


def pool_params(kind: str, conninfo: str, min_size: int, max_size: int) -> dict[str, str]:
    """The parameters of ``conninfo``, with the pool sizes checked (the sync and async store's).

    Raises:
        StoreError: the sizes are invalid, or libpq cannot parse ``conninfo``
            (``kind`` names the store in the message).
    """
    import psycopg  # noqa: PLC0415 - loaded by the store's constructor already
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    if not 0 <= min_size <= max_size or max_size < 1:
        raise StoreError(
            f"{kind}: need 0 <= min_size <= max_size and max_size >= 1, "
            f"got min_size={min_size}, max_size={max_size}"
        )
    try:
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}
    except psycopg.Error:
        # libpq's message quotes the text around the fault, which may be the
        # password: say what is wrong without it, and chain nothing.
        raise StoreError(
            f"{kind}: the connection string is malformed (libpq cannot parse it; "
            "write 'postgresql://user:password@host:port/dbname' or 'key=value' pairs)"
        ) from None


def search_config_name(value: object) -> str:
    """``value``, checked to be a text-search configuration's name."""
    if not isinstance(value, str) or not _CONFIG_NAME.fullmatch(value):
        raise StoreError(
            "PostgresStore: search_config must name a text-search configuration "
            f"(simple, english, german, or schema.name), not {value!r}"
        )
    return value


def _listen_like(current: Callable[[], _Connection]) -> _Connection:
    """A new autocommit connection to the server and database of ``current()``'s."""
    import psycopg  # noqa: PLC0415 - loaded by on_connection already

    info = current().info
    return psycopg.connect(info.dsn, password=info.password, autocommit=True)


@functools.cache
def _write_sql(
    *,
    insert: bool,
    rewrite: bool,
    tags: bool,
    outbox: bool,
    wake: bool,
    ids: bool = False,
    text: bool = False,
) -> str:
    """The one statement that writes a change, or nothing when its version check fails.

    Every write hangs on the ticket row's ``INSERT ... ON CONFLICT DO NOTHING`` or
    ``UPDATE ... WHERE version = expected`` (the CTE ``t``): each one reads ``t``,
    which is empty when the check failed, so then nothing at all is written. The
    statement returns how many ticket rows it wrote (1, or 0 for a conflict).
    ``ids`` and ``text`` add the message ids and search rows the change indexes
    (`indexed_text`); a rewrite replaces the ticket's: its search rows are all
    deleted and the new ones inserted (other rows), its message ids no longer
    held deleted and the others upserted (never the same row twice).

    The sub-statements of a ``WITH`` run in no set order and do not see each
    other's rows, so no two of them touch the same row: a rewrite upserts the
    timeline's positions and deletes those past its end; tags are replaced by
    deleting the ones the ticket no longer has and inserting the others.

    With ``wake``, the sub-statement ``n`` notifies the schema's channel when the
    change brings work nearer (see `ticketflow.stores._postgres_listen`); a
    ``SELECT`` in a ``WITH`` runs only if read, so the result reads it too.
    """
    row = _INSERT_ROW if insert else _REWRITE_ROW if rewrite else _UPDATE_ROW
    parts = [
        f"WITH t AS ({row})",
        "e AS (INSERT INTO events (ticket_id, position, body) "
        "SELECT t.id, u.p, u.b::json "
        "FROM t, unnest(%(positions)s::integer[], %(bodies)b::text[]) AS u(p, b)"
        + (
            " ON CONFLICT (ticket_id, position) DO UPDATE SET body = excluded.body)"
            if rewrite
            else ")"
        ),
    ]
    if rewrite:
        parts.append(
            "r AS (DELETE FROM events "
            "WHERE ticket_id IN (SELECT id FROM t) AND position >= %(length)s)"
        )
    if tags:
        if not insert:
            parts.append(
                "d AS (DELETE FROM tags "
                "WHERE ticket_id IN (SELECT id FROM t) AND tag <> ALL(%(tags)s::text[]))"
            )
        parts.append(
            "g AS (INSERT INTO tags (tag, ticket_id) "
            "SELECT u.tag, t.id FROM t, unnest(%(tags)s::text[]) AS u(tag) "
            "ON CONFLICT DO NOTHING)"
        )
    if rewrite:
        parts.append(
            "md AS (DELETE FROM message_ids WHERE ticket_id IN (SELECT id FROM t) "
            "AND message_id <> ALL(%(mids)s::text[]))"
        )
        parts.append("sd AS (DELETE FROM search_docs WHERE ticket_id IN (SELECT id FROM t))")
    if ids or rewrite:
        parts.append(
            "mi AS (INSERT INTO message_ids (message_id, ticket_id) "
            "SELECT u.m, t.id FROM t, unnest(%(mids)s::text[]) AS u(m) ON CONFLICT DO NOTHING)"
        )
    if text:
        parts.append(
            "si AS (INSERT INTO search_docs (ticket_id, private, words) "
            "SELECT t.id, u.p, to_tsvector(%(config)s::regconfig, u.x) "
            "FROM t, unnest(%(sprivate)s::boolean[], %(stext)s::text[]) AS u(p, x))"
        )
    if outbox:
        parts.append(
            "o AS (INSERT INTO outbox (ticket_id, position, kind) "
            "SELECT t.id, u.p, u.k "
            "FROM t, unnest(%(outbox)s::integer[], %(kinds)s::text[]) "
            "WITH ORDINALITY AS u(p, k, n) ORDER BY u.n)"
        )
    if wake:
        parts.append(NOTIFY_ONE)
        counts = "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM n)"
        return ",\n".join(parts) + "\n" + counts
    return ",\n".join(parts) + "\nSELECT count(*) FROM t"


_INFINITY: Final = "infinity"
_SORT_SQL: Final = {
    "created": "created_at",
    "updated": "updated_at",
    "priority": "priority",
    "sla_due": "coalesce(queue_due, 'infinity'::timestamptz)",
    "waiting_since": "coalesce(queue_since, 'infinity'::timestamptz)",
}
_SUMMARY_COLUMNS: Final = (
    "id, status, priority, assignee, department, created_at, updated_at, channel, "
    "queue_due, queue_since, summary"
)
_COUNTED: Final = ("status", "priority", "assignee", "department")


def _key_param(sort: str, value: int) -> object:
    """A cursor's sort key as the value its SQL expression compares with."""
    if sort == "priority":
        return value
    return _INFINITY if value == NO_KEY else from_micros(value)


def _summary_row(row: tuple[Any, ...]) -> SummaryRow:
    """The summary of a `_SUMMARY_COLUMNS` row."""
    tid, status, priority, assignee, department, created, updated, channel, due, since, text = row
    return decode_summary(
        text,
        ticket_id=tid,
        status=status,
        priority=int(priority),
        channel=channel,
        assignee=assignee,
        department=department,
        created_at=created.astimezone(UTC),
        updated_at=updated.astimezone(UTC),
        sla_due=None if due is None or since is None else due.astimezone(UTC),
        waiting_since=None if since is None else since.astimezone(UTC),
    )


def _summary_filters(query: SummaryQuery) -> tuple[list[str], list[Any]]:
    """The WHERE clauses and parameters of a summary query's filters."""
    where, params = equal_filters(
        "%s",
        assignee=query.assignee,
        department=query.department,
        priority=query.priority,
        requester_email=query.requester,
        channel=query.channel,
    )
    if query.statuses is not None:
        where.append("status = ANY(%s)")
        params.append(sorted(query.statuses))
    if query.tag is not None:
        where.append("id IN (SELECT ticket_id FROM tags WHERE tag = %s)")
        params.append(query.tag)
    for clause, at in (
        ("created_at >= %s", query.created_from),
        ("created_at < %s", query.created_before),
        ("updated_at >= %s", query.updated_from),
        ("updated_at < %s", query.updated_before),
        ("updated_at <= %s", query.as_of),
    ):
        if at is not None:
            where.append(clause)
            params.append(at)
    return where, params


def _queue_columns(key: QueueKey | None) -> tuple[datetime | None, datetime | None, int | None]:
    """``(queue_due, queue_since, queue_rank)`` of a queue key (all NULL: not queued)."""
    if key is None:
        return (None, None, None)
    return (key.sla_due, key.waiting_since, -int(key.priority))


def _write(change: Change, *, outbox: bool, config: str) -> tuple[str, dict[str, Any]]:
    """The statement and parameters writing ``change`` (its outbox entries if ``outbox``).

    ``outbox`` is set for a commit of this one change, which then also notifies
    (``NOTIFY_ONE``) when it brings work nearer; `_commit_many` passes False
    and sends one notification for all of its changes. ``config`` is the
    text-search configuration of the search rows it adds.
    """
    single = outbox
    ticket, expected, rewrite, due_at, entries, queued = change
    queue_due, queue_since, queue_rank = _queue_columns(queued)
    summary = summarize(ticket, queued)
    timeline = ticket.timeline
    new = range(len(timeline)) if rewrite else new_positions(ticket)
    tags = rewrite or any(timeline[i].kind in _TAG_KINDS for i in new)
    outbox = outbox and bool(entries)
    params: dict[str, Any] = {
        "version": ticket.version,
        "status": ticket.status,
        "priority": int(ticket.priority),
        "assignee": ticket.assignee,
        "department": ticket.department,
        "due_at": due_at,
        "queue_due": queue_due,
        "queue_since": queue_since,
        "queue_rank": queue_rank,
        "updated_at": summary.updated_at,
        "summary": encode_summary(summary),
        "id": ticket.id,
        "expected": expected,
        "positions": list(new),
        "bodies": [dump_event(timeline[i]) for i in new],
    }
    if rewrite:
        params["length"] = len(timeline)
    if rewrite or expected == 0:
        params["requester"] = requester_key(ticket)
    if expected == 0:
        params["created_at"] = summary.created_at
        params["channel"] = summary.channel
    if tags:
        params["tags"] = sorted(ticket.tags)
    if outbox:
        params["outbox"] = list(entries)
        params["kinds"] = [timeline[i].kind.value for i in entries]
    added = indexed_text(ticket, new.start)
    if added.message_ids or rewrite:
        params["mids"] = list(added.message_ids)
    if added.rows:
        params["config"] = config
        params["sprivate"] = [row.private for row in added.rows]
        params["stext"] = [plain_words(row.text) for row in added.rows]
    wake = single and (outbox or due_at is not None)
    if wake:
        params["wake"] = wake_payload(due_at, outbox)
        params["wake_outbox"] = outbox
    sql = _write_sql(
        insert=expected == 0,
        rewrite=rewrite,
        tags=tags,
        outbox=outbox,
        wake=wake,
        ids=bool(added.message_ids),
        text=bool(added.rows),
    )
    return sql, params


def _wrote(cursor: psycopg.Cursor[tuple[Any, ...]]) -> bool:
    """Whether a `_write_sql` statement wrote its ticket row (passed its version check)."""
    row = cursor.fetchone()
    return row is not None and row[0] == 1


def _fetch_all(sql: str, params: Sequence[Any], conn: _Connection) -> list[tuple[Any, ...]]:
    """Run ``sql`` with ``params`` on ``conn`` and return every row."""
    return conn.execute(sql, params).fetchall()


def _driver_missing(exc: ImportError) -> StoreUnavailable:
    return StoreUnavailable(
        f"PostgresStore needs psycopg 3 and psycopg-pool, which are not installed "
        f"({exc.name or exc}): {INSTALL_HINT}"
    )


def _describe(params: dict[str, str]) -> str:
    """Name the server and database a conninfo points at, never its password."""
    host = params.get("host") or params.get("hostaddr") or "the local socket"
    port = params.get("port") or "5432"
    user = params.get("user")
    dbname = params.get("dbname") or user or "(the user's database)"
    return f"postgresql://{user + '@' if user else ''}{host}:{port}/{dbname}"


@contextlib.contextmanager
def store_errors(where: str, timeout: float) -> Iterator[None]:
    """Turn psycopg's exceptions into the `StoreError` family, naming server and database.

    The sync and the async store's (psycopg's exceptions are the same for both).
    """
    import psycopg  # noqa: PLC0415 - loaded by the store already; a dict lookup
    import psycopg_pool  # noqa: PLC0415

    try:
        yield
    except psycopg_pool.PoolTimeout as exc:
        raise StoreUnavailable(
            f"{where}: no connection within {timeout:g} s (is the server "
            "up, and is max_size enough for the threads using the store?)"
        ) from exc
    except psycopg_pool.PoolClosed as exc:
        raise StoreError(f"{where} is closed") from exc
    # SQLSTATE class 40; psycopg does not derive 40001 and 40P01 from class 40's type.
    except (
        psycopg.errors.TransactionRollback,
        psycopg.errors.SerializationFailure,
        psycopg.errors.DeadlockDetected,
    ) as exc:
        raise StoreError(
            f"{where}: the server rolled the transaction back "
            f"({exc.sqlstate}: {exc}); nothing was written, retry"
        ) from exc
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise StoreUnavailable(f"{where} is unavailable: {exc}".strip()) from exc
    except psycopg.errors.UndefinedTable as exc:
        raise StoreError(
            f"{where}: {exc} (create ticketflow's tables first: store.migrate())".strip()
        ) from exc
    except psycopg.Error as exc:
        raise StoreError(f"{where}: {exc}".strip()) from exc


def _has_input(fd: int) -> bool:
    """Whether the socket has something to read (or hung up), without waiting."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # pragma: no cover - Windows


class _Rows:
    """Tickets from rows through the cache: what the sync and the async store share."""

    __slots__ = ()

    _cache: TicketCache
    _where: str

    def _assemble(self, rows: Sequence[tuple[Any, ...]]) -> list[Ticket]:
        """Tickets from ``(id, version, body text)`` rows grouped by ticket, in row order.

        A ticket whose version matches the cached one is taken from the cache, its
        event bodies left undecoded. For scans: what is decoded is not cached
        (see `TicketCache`).
        """
        current = self._cache.current
        out: list[Ticket] = []
        for ticket_id, group in groupby(rows, key=itemgetter(0)):
            ticket_rows = list(group)
            found, _ = current(((ticket_id, ticket_rows[0][1]),))
            cached = found.get(ticket_id)
            if cached is None:
                cached = self._decode(ticket_id, [r[2] for r in ticket_rows])
            out.append(cached)
        return out

    def _current(self, conn: _Connection, rows: Sequence[tuple[str, int]]) -> list[Ticket]:
        """The tickets of ``(id, version)`` rows, in order: cached when current, else loaded.

        For scans: what is loaded is not cached (see `TicketCache`).
        """
        loaded, missing = self._cache.current(rows)
        if missing:
            self._load(loaded, conn.execute(_EVENTS_OF, (missing,)))
        return [loaded[tid] for tid, _ in rows if tid in loaded]

    def _load(self, loaded: dict[str, Ticket], events: Iterable[tuple[str, str]]) -> None:
        """Decode ``(ticket id, body)`` rows, grouped by ticket, into ``loaded``."""
        timelines: dict[str, list[str]] = {}
        for ticket_id, body in events:
            timelines.setdefault(ticket_id, []).append(body)
        for ticket_id, bodies in timelines.items():
            loaded[ticket_id] = self._decode(ticket_id, bodies)

    def _decode(self, ticket_id: str, bodies: Sequence[str]) -> Ticket:
        return decode_ticket(bodies, f"{self._where}, ticket {ticket_id!r}")


@final
class PostgresStore(_Rows):
    """Keep tickets in PostgreSQL, for help desks run by many processes at once.

    Each `commit` is one transaction holding the ticket rows, their new events,
    tags and outbox entries: on disk whole or not at all (with PostgreSQL's
    durability: a commit that returned survives a crash, unless the server runs
    with ``synchronous_commit`` or ``fsync`` off). Version checks are made by the
    ``UPDATE ... WHERE version = expected`` itself, under the row lock, so of any
    number of processes committing the same version exactly one wins.
    `claim_due` and `claim_outbox` pick rows with ``FOR UPDATE SKIP LOCKED`` and
    claim them in the same statement: concurrent workers never get the same
    ticket or entry while its claim holds.

    A commit of one ticket is a single statement (one network round trip), whose
    every write depends on the version check; a commit of several tickets is one
    transaction sent as a pipeline (two round trips). A `get` is one statement
    too: it checks the stored version and rebuilds the ticket from its events
    only when the copy this store last wrote or read (the ``cache_size`` most
    recently used) is out of date, so other processes' writes are always seen.

    Connections come from a pool (psycopg_pool). A connection the server dropped
    while it sat in the pool (a restart, an idle timeout) is noticed before use
    without a round trip (the server's farewell is waiting on its socket) and
    replaced, with every other idle one that died too. A call whose connection
    breaks in flight without a word from the server (a reset) runs once more on a
    fresh connection; a commit re-sent so recognises its own events if its first
    attempt was written after all, so it is applied once. The schema is created,
    or migrated, on open, in the first schema of the connection's ``search_path``
    (``options=-csearch_path=...`` in the conninfo picks another). The store is
    thread-safe.

    Tickets are stored as their events (``json``) and rebuilt on read; status,
    priority, assignee, department, tags and the due time are indexed columns,
    and so is the work-queue key, with three partial indexes (all queued
    tickets, by assignee, by department) so that `queue` reads only the rows it
    returns. The requester's e-mail key (`requester_key`) is an indexed column,
    for ``find`` by requester. Schema version 2 added the work queue: tickets
    stored before it are not queued until their next commit or `reindex`.
    Schema version 3 added the requester index, filled in by the migration.
    Schema version 5 added the message-id index (`MessageIdStore`), version 6
    search (`SearchStore`: ``tsvector`` rows with a GIN index, in
    ``search_config``); both are written by the commit's one statement and
    filled in for stored tickets by the migration.

    Args:
        conninfo: A libpq connection string or URL, e.g.
            ``"postgresql://app:secret@db.example.com:5432/helpdesk"`` or
            ``"host=/run/postgresql dbname=helpdesk"``.
        min_size: Connections the pool keeps open.
        max_size: Connections the pool may open at most.
        timeout: Seconds to wait for a connection, from the pool or from the
            server (libpq's ``connect_timeout``, unless the conninfo sets one),
            before `StoreUnavailable`.
        cache_size: How many rebuilt tickets to keep (0: none), the least
            recently used dropped first. A cached ticket is used only while the
            stored version still matches it. `get` and `commit` keep tickets;
            scans (`find`, `due`, `queue`, `claim_due`) use current cached ones
            but keep none they rebuild, so they do not evict the ones in use.
        search_config: The text-search configuration (``to_tsvector``) of the
            search index: ``"simple"`` (default: lower-cased words, no stemming,
            no stop words, for any language, closest to the other backends), or
            a language's (``"english"`` stems "printers" to "printer" and drops
            stop words), or ``"schema.name"`` for one of your own. The index is
            built with it when the schema is created or migrated; a database
            whose index was built with another configuration is refused.

    Raises:
        StoreUnavailable: psycopg is not installed, or the server cannot be reached
            or refuses the connection (the message names host and database, never
            the password).
        StoreError: the conninfo is malformed; the schema was written by a newer
            ticketflow; tables with ticketflow's names belong to something else; or
            ``search_config`` is unknown, or not the one the index was built with.
    """

    __slots__ = (
        "_cache",
        "_config",
        "_connect",
        "_listener",
        "_on_commit",
        "_pool",
        "_timeout",
        "_where",
    )

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        cache_size: int = 4096,
        search_config: str = "simple",
    ) -> None:
        self._config = search_config_name(search_config)
        try:
            import psycopg  # noqa: PLC0415 - the postgres extra is optional
            from psycopg_pool import ConnectionPool  # noqa: PLC0415
        except ImportError as exc:
            raise _driver_missing(exc) from exc
        params = pool_params("PostgresStore", conninfo, min_size, max_size)
        self._where = f"PostgreSQL store {_describe(params)}"
        self._timeout = timeout
        self._connect: Callable[[], _Connection] | None = None  # the pool's, not the host's
        self._on_commit: OnCommit | None = None
        # Tickets this store wrote or read one by one, by id; used only while the
        # stored version matches, so a stale entry costs a rebuild, never a wrong answer.
        self._cache = TicketCache(cache_size)
        extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = max(1, round(timeout))
        if "application_name" not in params:
            extra["application_name"] = "ticketflow"
        with self._errors():
            with psycopg.connect(conninfo, **extra) as conn:
                migrate(conn, self._where, search_config)
            # Autocommit: a single statement is its own transaction (no BEGIN and
            # COMMIT round trips); several statements use conn.transaction().
            self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
                conninfo,
                kwargs={**extra, "autocommit": True},
                min_size=min_size,
                max_size=max_size,
                timeout=timeout,
                name=self._where,
                open=True,
            )
        # The wake-up capability: a connection of its own, opened by the first wait.
        self._listener = PostgresListener(
            functools.partial(psycopg.connect, conninfo, **{**extra, "autocommit": True}),
            self._where,
        )

    @classmethod
    def on_connection(
        cls,
        connection: _Connection | Callable[[], _Connection],
        *,
        search_config: str = "simple",
        on_commit: OnCommit | None = None,
    ) -> PostgresStore:
        """Make a store that works inside the application's own connection and transaction.

        ``connection`` is a psycopg 3 ``Connection`` the application owns, or a
        function of no arguments returning the current one (a framework's
        connection changes per thread or request: with Django,
        ``lambda: django.db.connection.connection`` after
        ``ensure_connection()``; with SQLAlchemy, see
        `ticketflow.contrib.sqlalchemy.store_for`). Every store call then runs
        in a ``SAVEPOINT`` inside the application's open transaction, so the
        application's commit or rollback covers the tickets, events and outbox
        entries together with its own rows; a refused commit (`ConflictError`,
        a database error) rolls back ticketflow's part only and leaves the
        application's transaction usable (PostgreSQL would otherwise abort the
        whole of it). A connection that is not in autocommit mode begins its
        transaction with the store's first statement, as with the application's
        own; in autocommit mode with no transaction open, each store call is a
        transaction of its own.

        The store never commits, rolls back (beyond its savepoint), closes, or
        changes the settings of the connection; the isolation level, the
        ``search_path`` (where ticketflow's tables are) and timeouts are the
        application's. Version checks hold at any isolation level (the
        ``UPDATE ... WHERE version = expected`` takes the row lock; under
        ``REPEATABLE READ`` a concurrent writer's commit makes it a
        serialization failure, a `StoreError`, instead of a `ConflictError`).
        The store caches no ticket (one kept from a transaction the
        application then rolled back would be served as stored), runs no
        statement pipeline and never re-sends a call on another connection. It
        does not create its tables: call `migrate` once (from a deployment step
        or a framework migration). `vacuum` is not available on it.

        Args:
            connection: The connection, or a function returning the current one.
            search_config: The text-search configuration of the search index, as
                for the constructor.
            on_commit: A function that runs a callback once the application's
                current transaction commits, and never if it rolls back (Django's
                ``transaction.on_commit``): a `Helpdesk` publishes to in-process
                subscribers through it (`after_commit`). Without it, in-process
                subscribers are not called at all: the worker's ``dispatch``
                delivers the outbox after the commit.

        Raises:
            StoreUnavailable: psycopg is not installed.
            StoreError: ``connection`` is neither, ``search_config`` is not a
                configuration name, or ``on_commit`` is not callable.
        """
        config = search_config_name(search_config)
        hook = check_on_commit("PostgresStore.on_connection", on_commit)
        try:
            import psycopg  # noqa: PLC0415 - the postgres extra is optional
        except ImportError as exc:
            raise _driver_missing(exc) from exc
        if isinstance(connection, psycopg.Connection):
            host = connection

            def current() -> _Connection:
                return host
        elif callable(connection):
            current = connection
        else:
            raise StoreError(
                "PostgresStore.on_connection: connection must be a psycopg.Connection or a "
                f"function returning one, not {type(connection).__name__}"
            )
        store = cls.__new__(cls)
        store._host(current, config, hook)  # noqa: SLF001 - the class's own second constructor
        return store

    def _host(
        self, current: Callable[[], _Connection], config: str, on_commit: OnCommit | None
    ) -> None:
        """Set up a store made by `on_connection`."""
        self._where = "PostgreSQL store on the application's connection"
        self._config = config
        self._on_commit = on_commit
        self._timeout = 0.0
        self._cache = TicketCache(0)  # see on_connection: a rolled-back ticket must not be served
        self._connect = current
        # The wake-up capability listens on a connection of its own, opened by the
        # first wait with the application's connection's parameters.
        self._listener = PostgresListener(functools.partial(_listen_like, current), self._where)

    @property
    def after_commit(self) -> OnCommit | None:
        """How to run something once this store's writes are committed, or None: at once.

        None on a store with its own pool (a `commit` returns committed). On
        the application's connection (`on_connection`): its ``on_commit``, or,
        without one, a function that drops the callback (the application's
        commit cannot be seen). `Helpdesk` publishes to in-process subscribers
        through it, so a subscriber never hears of a ticket that the
        application then rolls back.
        """
        if self._connect is None:
            return None
        return self._on_commit or skip_delivery

    def _host_connection(self, current: Callable[[], _Connection]) -> _Connection:
        """The application's current connection, checked."""
        import psycopg  # noqa: PLC0415 - loaded by on_connection already; a dict lookup

        conn = current()
        if not isinstance(conn, psycopg.Connection):
            raise StoreError(
                f"{self._where}: the connection function returned {type(conn).__name__}, "
                "not a psycopg.Connection (with Django, call connection.ensure_connection() "
                "first; with SQLAlchemy, pass the session's driver_connection)"
            )
        return conn

    @contextlib.contextmanager
    def _savepoint(self, conn: _Connection) -> Iterator[None]:
        """Ticketflow's part of the application's transaction: released, or rolled back alone.

        A connection in autocommit mode with no transaction open gets a
        transaction of its own (psycopg's ``transaction()``: ``BEGIN`` ...
        ``COMMIT``); otherwise a ``SAVEPOINT``, which psycopg precedes with
        ``BEGIN`` if no transaction is open yet (the application's, then).
        """
        from psycopg.pq import TransactionStatus  # noqa: PLC0415 - loaded already

        status = conn.info.transaction_status
        if status == TransactionStatus.INERROR:
            raise StoreError(
                f"{self._where}: the application's transaction was aborted by an earlier "
                "error; roll it back (or back to a savepoint) before using the store"
            )
        if status == TransactionStatus.IDLE and conn.autocommit:
            with conn.transaction():
                yield
            return
        conn.execute("SAVEPOINT ticketflow")
        try:
            yield
            conn.execute("RELEASE SAVEPOINT ticketflow")
        except BaseException:
            # The original error is the one to report; a failing rollback means the
            # connection is broken, which the application's next statement shows.
            import psycopg  # noqa: PLC0415 - loaded already

            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK TO SAVEPOINT ticketflow")
                conn.execute("RELEASE SAVEPOINT ticketflow")
            raise

    def _atomic(self, conn: _Connection) -> contextlib.AbstractContextManager[object]:
        """A transaction for several statements.

        On the application's connection, the savepoint `_run` opened holds them already.
        """
        return contextlib.nullcontext() if self._connect is not None else conn.transaction()

    def migrate(self) -> None:
        """Create ticketflow's tables, or upgrade them to this ticketflow's schema.

        A store with its own pool has done so on open (this checks again). On
        the application's connection (`on_connection`), nothing is created until
        this runs: call it from a deployment step or a framework migration
        (with Django, a ``RunPython`` operation). The tables go to the first
        schema of the connection's ``search_path``; ``ticketflow_migrations``
        records the schema version. It runs in a savepoint of the application's
        transaction, so it commits with it; concurrent migrations wait for each
        other (an advisory lock, held to the end of the transaction). Running it
        again on a current schema changes nothing.

        Raises:
            StoreError: tables of ticketflow's names exist that it did not create,
                or the schema was written by a newer ticketflow; nothing was changed.
        """

        def work(conn: _Connection) -> None:
            with self._atomic(conn):
                migrate(conn, self._where, self._config, commit=False)

        self._run(work)

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        """Open ``postgresql://user:password@host:port/dbname`` (or ``postgres://...``).

        Query parameters ``min_size``, ``max_size``, ``timeout``, ``cache_size`` and
        ``search_config`` go to the store; any other (``sslmode``,
        ``connect_timeout``, ``options``...) is passed to libpq, as in ``postgresql://app@db/helpdesk?max_size=20&sslmode=require``.

        Raises:
            StoreError: the URL is not a PostgreSQL URL or a store parameter is invalid.
            StoreUnavailable: the server cannot be reached.
        """
        scheme, sep, _ = url.partition("://")
        if not sep or scheme.lower() not in {"postgresql", "postgres"}:
            raise StoreError(
                "store URL is not a PostgreSQL URL: write postgresql://user@host:port/dbname"
            )
        base, _, query = url.partition("?")
        base = "postgresql" + base[len(scheme) :]  # libpq knows the scheme in lower case only
        options: dict[str, Any] = {}
        passed: list[tuple[str, str]] = []
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key in {"min_size", "max_size", "cache_size"}:
                try:
                    options[key] = int(value)
                except ValueError:
                    raise StoreError(
                        f"PostgreSQL store URL: {key} must be a whole number, not {value!r}"
                    ) from None
            elif key == "timeout":
                try:
                    options[key] = float(value)
                except ValueError:
                    raise StoreError(
                        f"PostgreSQL store URL: timeout must be a number of seconds, not {value!r}"
                    ) from None
            elif key == "search_config":
                options[key] = value
            else:
                passed.append((key, value))
        conninfo = f"{base}?{urlencode(passed, quote_via=quote)}" if passed else base
        return cls(conninfo, **options)

    # --- plumbing -------------------------------------------------------------------

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        """Turn psycopg's exceptions into the `StoreError` family, naming server and database."""
        return store_errors(self._where, self._timeout)

    def _run(
        self,
        work: Callable[[_Connection], _T],
        recover: Callable[[_Connection], _T] | None = None,
    ) -> _T:
        """Run ``work`` on a pooled connection; once more on a fresh one if it breaks.

        No probe round trip before use: a connection the server closed while it
        sat in the pool (a restart, an idle timeout) has the server's farewell, or
        the end of the stream, waiting on its socket, which a zero-timeout poll
        sees. Only then is it probed; if it is dead, every idle connection is
        checked at once (``pool.check()``) and ``work`` runs on a fresh one. (The
        pool's own ``check=`` would probe before every use, and back off a second,
        two, four... per dead connection.)

        A dead connection can still slip past the poll: the network dropped it
        silently, or it broke while the call was in flight. When it breaks without
        the server saying why (a reset, the end of the stream), the call is run again
        once on a fresh connection, as ``recover`` if given: the first attempt may
        have been committed before the connection broke, and ``recover`` must cope
        with that (`commit` recognises its own events). Reads run again as they
        are; a claim whose reply was lost stays claimed until its lease ends, as if
        its worker had crashed. When the server ended the session itself (an
        administrator, a shutdown: an error with a SQLSTATE), it rolled back what
        was in flight, and the call fails with `StoreUnavailable`.
        """
        import psycopg  # noqa: PLC0415 - loaded by __init__ already; a dict lookup

        if self._connect is not None:  # the application's connection: no retry elsewhere
            with self._errors():
                conn = self._host_connection(self._connect)
                with self._savepoint(conn):
                    return work(conn)
        pool = self._pool
        with self._errors():
            with pool.connection() as conn:
                if self._alive(conn):
                    try:
                        return work(conn)
                    except psycopg.OperationalError as exc:
                        if not conn.broken or exc.sqlstate is not None:
                            raise
                    work = recover or work  # it may have been committed
            pool.check()  # the dead connection went back closed: discarded
            with pool.connection() as conn:
                return work(conn)

    @staticmethod
    def _alive(conn: _Connection) -> bool:
        """Whether an idle pooled connection still works; close it if it does not."""
        if conn.closed:
            return False
        if not _has_input(conn.pgconn.socket):
            return True  # an idle connection is sent nothing unasked, as a rule
        import psycopg  # noqa: PLC0415 - loaded by __init__ already; a dict lookup
        from psycopg_pool import ConnectionPool  # noqa: PLC0415

        try:
            ConnectionPool.check_connection(conn)  # a notice, or the end: find out
        except psycopg.Error:
            conn.close()  # so that the pool discards it
            return False
        return True

    def vacuum(self, *, full: bool = False) -> None:
        """Run ``VACUUM`` on ticketflow's tables: the operator's step after a purge.

        A purge (like any update) leaves the old row versions as dead tuples in
        the tables' pages until a vacuum removes them; autovacuum gets there
        eventually, at a time of its choosing. This runs it now, outside any
        transaction, on ``tickets``, ``events``, ``tags``, ``outbox``,
        ``message_ids`` and ``search_docs`` (their
        TOAST tables and indexes included). ``full=True`` runs ``VACUUM FULL``
        instead, which rewrites each table into new files and takes an exclusive
        lock on it meanwhile (the help desk waits). Neither erases the server's
        write-ahead log (``pg_wal``) or backups: see the how-to "Erase personal
        data" for what remains and the operator's steps.

        Raises:
            StoreError: the server refused (the user must own the tables).
            StoreUnavailable: the server cannot be reached.
        """
        statement = (
            "VACUUM (FULL) tickets, events, tags, outbox, message_ids, search_docs"
            if full
            else ("VACUUM tickets, events, tags, outbox, message_ids, search_docs")
        )
        if self._connect is not None:
            raise StoreError(
                f"{self._where}: VACUUM cannot run inside the application's transaction; "
                "run it from a PostgresStore with its own connections"
            )
        # Pooled connections are in autocommit mode: VACUUM runs outside a transaction.
        self._run(lambda conn: conn.execute(statement))

    def schema_version(self) -> int:
        """Return the schema version of the database (of the schema in use; 0: no tables)."""

        def work(conn: _Connection) -> tuple[Any, ...] | None:
            if conn.execute("SELECT to_regclass('ticketflow_migrations')").fetchone() == (None,):
                return None
            return conn.execute(
                "SELECT coalesce(max(version), 0) FROM ticketflow_migrations"
            ).fetchone()

        row = self._run(work)
        return 0 if row is None else int(row[0])

    # --- the contract ---------------------------------------------------------------

    def get(self, ticket_id: str) -> Ticket:
        """Return the stored ticket, rebuilt from its events unless the cached one is current.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        cached = self._cache.get(ticket_id)
        known = 0 if cached is None else cached.version  # stored versions start at 1
        rows = self._run(lambda conn: conn.execute(_GET, (known, ticket_id)).fetchall())
        if not rows:
            raise TicketNotFound(ticket_id)
        if cached is not None and rows[0][0] == known:
            return cached
        bodies = [r[1] for r in rows if r[1] is not None]
        if not bodies:  # a ticket row without events: not a ticket ticketflow wrote
            raise TicketNotFound(ticket_id)
        ticket = self._decode(ticket_id, bodies)
        self._cache.remember(ticket)
        return ticket

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's timeline, oldest first.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        return tuple(self.get(ticket_id).timeline)

    def commit(self, changes: Sequence[Change]) -> None:
        """Write all ``changes`` atomically.

        One change is one statement (see `_write_sql`), a transaction of its own.
        Several are one transaction, sent as a pipeline: the changes' statements in
        ticket id order (so two commits touching the same tickets lock their rows
        in the same order and cannot deadlock), then, once every version check
        passed, the outbox entries in the order of ``changes`` and the ``COMMIT``.

        If the connection breaks while the commit is in flight, the server may
        have written it or not. The commit is then sent again on a fresh
        connection; if that meets a conflict and the stored events at the
        commit's positions are its own, byte for byte, the first attempt was
        written and the commit returns normally: it is applied once either way.

        Raises:
            ConflictError: a change's expected version is stale; nothing was written.
            StoreError: a change is malformed, or the database failed; nothing was written.
            StoreUnavailable: the server could not be reached. Nothing was written,
                unless the connection broke in flight and no fresh one could be had:
                then the outcome is unknown (read the ticket to find out).
        """
        if not changes:
            return
        for change in changes:
            check_version_step(change)
        write = self._commit_one if len(changes) == 1 else self._commit_many
        self._run(
            lambda conn: write(conn, changes, recovering=False),
            lambda conn: write(conn, changes, recovering=True),
        )
        for change in changes:  # only once the transaction is committed
            self._cache.remember(change.ticket)

    def _commit_one(
        self, conn: _Connection, changes: Sequence[Change], *, recovering: bool
    ) -> None:
        (change,) = changes
        if _wrote(conn.execute(*_write(change, outbox=True, config=self._config))):
            return
        if recovering and self._landed(conn, changes):
            return
        self._conflict(conn, change)

    def _commit_many(
        self, conn: _Connection, changes: Sequence[Change], *, recovering: bool
    ) -> None:
        import psycopg  # noqa: PLC0415 - loaded by __init__ already; a dict lookup

        ordered = sorted(changes, key=lambda c: c.ticket.id)
        # Pipeline mode needs libpq 14 or later; without it, a round trip a statement.
        batch: contextlib.AbstractContextManager[object] = (
            conn.pipeline()
            if psycopg.Pipeline.is_supported() and self._connect is None
            else contextlib.nullcontext()
        )
        with batch, self._atomic(conn):
            self._notify_many(conn, changes)
            cursors = [conn.execute(*_write(c, outbox=False, config=self._config)) for c in ordered]
            stale = [c for c, cur in zip(ordered, cursors, strict=True) if not _wrote(cur)]
            if stale:
                # A first attempt that was written makes every change stale.
                if recovering and len(stale) == len(ordered) and self._landed(conn, stale):
                    raise psycopg.Rollback
                self._conflict(conn, stale[0])  # raising rolls back
            entries = [
                (c.ticket.id, p, c.ticket.timeline[p].kind.value) for c in changes for p in c.outbox
            ]
            if entries:
                conn.execute(
                    _ENQUEUE,
                    ([e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries]),
                )

    @staticmethod
    def _notify_many(conn: _Connection, changes: Sequence[Change]) -> None:
        """Queue the one notification of a commit of several changes, if it brings work.

        The first statement of the transaction, so that it compares the due
        times with the rows before the writes; delivered only if it commits.
        """
        params = notify_many_params(changes)
        if params is not None:
            conn.execute(NOTIFY_MANY, params)

    @staticmethod
    def _conflict(conn: _Connection, change: Change) -> NoReturn:
        """Raise the `ConflictError` of a change whose version check failed."""
        ticket_id = change.ticket.id
        # A statement of its own: under READ COMMITTED it sees the winner's commit.
        stored = conn.execute(_VERSION_OF, (ticket_id,)).fetchone()
        raise ConflictError(
            ticket_id=ticket_id,
            expected_version=change.expected_version,
            actual_version=0 if stored is None else int(stored[0]),
        )

    @staticmethod
    def _landed(conn: _Connection, changes: Sequence[Change]) -> bool:
        """Whether a commit of ``changes`` whose reply was lost was written after all.

        A commit's events are its own (times, actors, contents): if any change's
        new events are stored at their positions, byte for byte (``json`` keeps
        the text it was given), that commit was written, and whole.
        """
        for change in changes:
            ticket = change.ticket
            tail = new_positions(ticket)
            rows = conn.execute(_BODIES_AT, (ticket.id, list(tail))).fetchall()
            if [r[0] for r in rows] == [dump_event(ticket.timeline[i]) for i in tail]:
                return True
        return False

    def find(self, query: TicketQuery) -> list[Ticket]:
        """Return the tickets matching ``query``, ordered by id (through the indexes)."""
        found = self._find_sql(query)
        if found is None:
            return []
        sql, params = found
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        return self._assemble(rows)

    def iter_tickets(self, *, batch: int = STREAM_BATCH) -> Iterator[Ticket]:
        """Yield every stored ticket, ordered by id, ``batch`` at a time (`StreamStore`).

        Keyset on id: one statement per batch (the batch's tickets and events
        from one snapshot), decoded without filling the read cache; at most
        one batch of rebuilt tickets is held. No server-side cursor: it would
        hold a pooled connection and a transaction open for the whole stream.

        Raises:
            InvalidInputError: ``batch`` is not a whole number from 1 to 100,000.
        """
        return self._stream(_validate.batch_size(batch))

    def _stream(self, size: int) -> Iterator[Ticket]:
        sql = (
            "SELECT p.id, p.version, e.body::text FROM "
            "(SELECT id, version FROM tickets WHERE id > %s ORDER BY id LIMIT %s) AS p "
            "JOIN events AS e ON e.ticket_id = p.id ORDER BY p.id, e.position"
        )
        after = ""  # every id sorts after the empty text
        while True:
            rows = self._run(functools.partial(_fetch_all, sql, (after, size)))
            tickets = self._assemble(rows)
            del rows
            yield from tickets
            if len(tickets) < size:
                return
            after = tickets[-1].id
            del tickets

    @staticmethod
    def _find_sql(query: TicketQuery) -> tuple[str, list[Any]] | None:
        """The statement `find` runs and its parameters; None when nothing can match."""
        where: list[str] = []
        params: list[Any] = []
        if query.statuses is not None:
            if not query.statuses:
                return None
            where.append("status = ANY(%s)")
            params.append(sorted(query.statuses))
        if query.assignee is not None:
            where.append("assignee = %s")
            params.append(query.assignee)
        if query.department is not None:
            where.append("department = %s")
            params.append(query.department)
        if query.priority is not None:
            where.append("priority = %s")
            params.append(int(query.priority))
        if query.tag is not None:
            where.append("id IN (SELECT ticket_id FROM tags WHERE tag = %s)")
            params.append(query.tag)
        if query.requester is not None:
            where.append("requester_email = %s")
            params.append(query.requester)
        picked = "SELECT id, version FROM tickets"
        if where:
            picked += " WHERE " + " AND ".join(where)
        picked += " ORDER BY id"
        if query.limit is not None:
            picked += " LIMIT %s"
            params.append(max(query.limit, 0))
        # One statement, so the tickets and their events come from one snapshot.
        sql = (
            f"SELECT p.id, p.version, e.body::text FROM ({picked}) AS p "  # noqa: S608 - fixed SQL, values as parameters
            "JOIN events AS e ON e.ticket_id = p.id ORDER BY p.id, e.position"
        )
        return sql, params

    def summaries(self, query: SummaryQuery) -> list[SummaryRow]:
        """Return the page of summaries ``query`` selects, in its order.

        One range scan of the sort key's index, from the cursor's position,
        reading rows until ``limit`` pass the filters (see `_list_sql`).
        """
        sql, params = self._list_sql(query)
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [_summary_row(r) for r in rows]

    @staticmethod
    def _list_sql(query: SummaryQuery) -> tuple[str, list[Any]]:
        """Return the SQL and parameters `summaries` runs (for ``EXPLAIN`` in tests)."""
        where, params = _summary_filters(query)
        key = _SORT_SQL[query.sort]
        order = "DESC" if query.descending else "ASC"
        if query.after is not None:
            value, ticket_id = query.after
            cast = "integer" if query.sort == "priority" else "timestamptz"
            where.append(f"({key}, id) {'<' if query.descending else '>'} (%s::{cast}, %s)")
            params.extend((_key_param(query.sort, value), ticket_id))
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM tickets"  # noqa: S608 - fixed SQL, values as parameters
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {key} {order}, id {order} LIMIT %s"
        params.append(query.limit)
        return sql, params

    def summary_counts(self, by: str, query: SummaryQuery) -> dict[str | None, int]:
        """Return how many tickets pass ``query``'s filters, per value of ``by``.

        One ``GROUP BY`` over the matching rows (by status: an index-only scan of
        the status index): the cost grows with the tickets counted.
        """
        sql, params = self._counts_sql(by, query)
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        return {(str(g) if by == "priority" else g): int(n) for g, n in rows}

    @staticmethod
    def _counts_sql(by: str, query: SummaryQuery) -> tuple[str, list[Any]]:
        """The statement `summary_counts` runs and its parameters."""
        if by not in _COUNTED:
            raise StoreError(f"cannot count by {by!r} (one of {', '.join(_COUNTED)})")
        where, params = _summary_filters(query)
        sql = f"SELECT {by}, count(*) FROM tickets"  # noqa: S608 - fixed SQL, values as parameters
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" GROUP BY {by}"
        return sql, params

    def tickets_by_message_id(self, message_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Return the tickets holding each stored message id, newest first (`MessageIdStore`)."""
        unique = list(dict.fromkeys(message_ids))
        if not unique:
            return {}
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT message_id, ticket_id FROM message_ids WHERE message_id = ANY(%s) "
                "ORDER BY message_id, ticket_id DESC",
                (unique,),
            ).fetchall()
        )
        out: dict[str, list[str]] = {}
        for message_id, ticket_id in rows:
            out.setdefault(message_id, []).append(ticket_id)
        return {k: tuple(v) for k, v in out.items()}

    def search(self, query: SearchQuery) -> list[tuple[SummaryRow, float]]:
        """Return the hits of ``query``, best first (`SearchStore`; see `_search_sql`)."""
        sql, params = self._search_sql(query, self._config)
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [(_summary_row(r[:-1]), float(r[-1])) for r in rows]

    @staticmethod
    def _search_sql(query: SearchQuery, config: str) -> tuple[str, list[Any]]:
        """Return the SQL and parameters `search` runs.

        One ``phraseto_tsquery`` per term (plain text: nothing in it is query
        syntax), matched through the GIN index; a ticket's score for a term is
        the best ``ts_rank`` of its rows, its score the sum over the terms, and
        it is a hit when every term matched. A term the configuration reduces
        to nothing (a stop word) is left out of the query.
        """
        parts: list[str] = []
        params: list[Any] = []
        private = " AND NOT d.private" if query.public_only else ""
        for term in query.terms:
            parts.append(
                "SELECT d.ticket_id AS tid, max(ts_rank(d.words, q.q)) AS s "  # noqa: S608 - fixed SQL
                "FROM phraseto_tsquery(%s::regconfig, %s) AS q(q) "
                f"JOIN search_docs AS d ON d.words @@ q.q{private} "
                "WHERE numnode(q.q) > 0 GROUP BY d.ticket_id"
            )
            params.extend((config, plain_words(term)))
        params.extend(([plain_words(t) for t in query.terms], config))
        where, filters = _summary_filters(query.filters)
        params.extend(filters)
        if query.after is not None:
            where.append("(h.score < %s OR (h.score = %s AND id > %s))")
            params.extend((query.after[0], query.after[0], query.after[1]))
        sql = (
            f"WITH hits AS ({' UNION ALL '.join(parts)}), "  # noqa: S608 - fixed SQL, values as parameters
            "scored AS (SELECT tid, sum(s)::float8 AS score FROM hits GROUP BY tid "
            "HAVING count(*) = (SELECT count(*) FROM unnest(%s::text[]) AS u(x) "
            "WHERE numnode(phraseto_tsquery(%s::regconfig, u.x)) > 0)) "
            f"SELECT {_SUMMARY_COLUMNS}, h.score FROM scored AS h JOIN tickets ON id = h.tid"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY h.score DESC, id LIMIT %s"
        params.append(query.limit)
        return sql, params

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        """Return up to ``limit`` tickets due at or before ``now``, earliest first."""
        rows = self._run(lambda conn: conn.execute(_DUE, (now, max(limit, 0))).fetchall())
        return self._assemble(rows)

    def queue(self, *, assignee: str | None, department: str | None, limit: int) -> list[Ticket]:
        """Return up to ``limit`` queued tickets in queue order (see `QueueKey`).

        ``assignee`` and ``department``, when given, keep only the tickets
        currently assigned to that agent / in that department. One statement:
        a range scan of a queue index for the rows, joined to their events.
        """
        sql, params = self._queue_events_sql(assignee=assignee, department=department, limit=limit)
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        return self._assemble(rows)

    @classmethod
    def _queue_events_sql(
        cls, *, assignee: str | None, department: str | None, limit: int
    ) -> tuple[str, list[Any]]:
        """The statement `queue` runs (queued rows joined to their events), and its parameters."""
        picked, params = cls._queue_sql(assignee=assignee, department=department, limit=limit)
        sql = (
            f"SELECT p.id, p.version, e.body::text FROM ({picked}) AS p "  # noqa: S608 - fixed SQL, values as parameters
            "JOIN events AS e ON e.ticket_id = p.id "
            "ORDER BY p.queue_due, p.queue_since, p.queue_rank, p.id, e.position"
        )
        return sql, params

    @staticmethod
    def _queue_sql(
        *, assignee: str | None, department: str | None, limit: int
    ) -> tuple[str, list[Any]]:
        """The query picking the queued rows `queue` returns, and its parameters."""
        where, params = equal_filters("%s", assignee=assignee, department=department)
        where.insert(0, "queue_since IS NOT NULL")
        params.append(max(limit, 0))
        sql = (
            "SELECT id, version, queue_due, queue_since, queue_rank FROM tickets "  # noqa: S608 - fixed SQL, values as parameters
            f"WHERE {' AND '.join(where)} "
            "ORDER BY queue_due, queue_since, queue_rank, id LIMIT %s"
        )
        return sql, params

    def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        """Apply each update whose ticket is still at its ``version``; return how many applied.

        One transaction: the rows are locked in id order, then updated by one
        statement where their version still matches. Updates for missing tickets
        or other versions are skipped; versions, events, claims and the outbox are
        left as they are. Safe to run again if the connection breaks (it sets
        values, and counts what the last run matched).
        """
        if not updates:
            return 0
        # As if applied in order: of updates listing the same ticket and version,
        # the last one's values are written (at most one version is the stored
        # one, so each row joins one update), and each of them counts.
        last = {(u.ticket_id, u.version): u for u in updates}
        chosen = list(last.values())
        columns = [_queue_columns(u.queue) for u in chosen]
        params = (
            [u.ticket_id for u in chosen],
            [u.version for u in chosen],
            [u.due_at for u in chosen],
            [c[0] for c in columns],
            [c[1] for c in columns],
            [c[2] for c in columns],
        )

        def work(conn: _Connection) -> set[tuple[str, int]]:
            with self._atomic(conn):
                conn.execute(_REINDEX_LOCK, (sorted({u.ticket_id for u in chosen}),))
                return {(r[0], int(r[1])) for r in conn.execute(_REINDEX, params).fetchall()}

        applied = self._run(work)
        return sum(1 for u in updates if (u.ticket_id, u.version) in applied)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        """Claim and return up to ``limit`` unclaimed tickets due by ``now``, earliest first.

        One statement picks the rows with ``FOR UPDATE SKIP LOCKED`` and sets their
        claim, so concurrent callers in any process get disjoint tickets. The
        tickets are read in the same transaction, after the claim: if that read
        fails, the claim is rolled back with it.
        """

        def work(conn: _Connection) -> list[Ticket]:
            with self._atomic(conn):
                claimed = conn.execute(
                    _CLAIM_DUE, {"now": now, "limit": max(limit, 0), "until": now + lease}
                ).fetchall()
                claimed.sort(key=lambda r: (r[1], r[0]))
                return self._current(conn, [(r[0], r[2]) for r in claimed])

        return self._run(work)

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Claim and return up to ``limit`` unclaimed pending outbox entries, oldest first."""
        rows = self._run(
            lambda conn: conn.execute(
                _CLAIM_OUTBOX, {"now": now, "limit": max(limit, 0), "until": now + lease}
            ).fetchall(),
        )
        rows.sort()
        return [OutboxEntry(r[1], int(r[2]), r[3], int(r[4])) for r in rows]

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        """Remove delivered entries; unknown keys are ignored."""
        if not keys:
            return
        # Deleting twice is harmless, so a dropped connection is retried.
        self._run(
            lambda conn: conn.execute(_ACK_OUTBOX, ([k[0] for k in keys], [k[1] for k in keys])),
        )

    def outbox_pending(self) -> int:
        """Return the number of entries not yet acknowledged."""
        return self._scalar(_OUTBOX_PENDING) or 0

    def next_due_at(self) -> datetime | None:
        """Return the earliest due time (in UTC), or None."""
        row = self._run(lambda conn: conn.execute(_NEXT_DUE_AT).fetchone())
        return None if row is None else row[0].astimezone(UTC)

    def count(self) -> int:
        """Return the number of stored tickets (tombstones included)."""
        return self._scalar(_COUNT) or 0

    def _scalar(self, sql: str) -> int | None:
        row = self._run(lambda conn: conn.execute(sql).fetchone())
        return None if row is None else int(row[0])

    # --- waking workers (`WakeupStore`) ---------------------------------------------

    def wait_for_wakeup(self, timeout: float) -> bool:
        """Wait until a commit in any process brings work nearer, or ``timeout`` passes.

        The `WakeupStore` capability, with ``LISTEN``/``NOTIFY``: every commit
        that adds outbox entries, or sets a due time earlier than the earliest
        stored, sends one notification on the schema's channel
        (``ticketflow:<schema>``) inside its transaction, delivered when it
        commits (never for a rollback or a conflict). The first call opens a
        connection of its own (outside the pool), listens, and returns True at
        once; so does the first call after that connection was lost, once it
        listens again: notifications sent meanwhile were missed, so the caller
        polls. If the server cannot be reached, the call waits out ``timeout``
        and returns False (it tries again next time).

        Args:
            timeout: The longest wait, in seconds.

        Returns:
            True if a notification (or `wakeup`) was pending or arrived, or the
            caller must poll; False after ``timeout``.

        Raises:
            InvalidInputError: ``timeout`` is not a finite number of seconds from 0.
        """
        return self._listener.wait(_validate.seconds(timeout, "timeout"))

    def wakeup(self) -> None:
        """Make the waiting (or the next) `wait_for_wakeup` call return True."""
        self._listener.wakeup()

    def close(self) -> None:
        """Close the pool's connections; the store is unusable afterwards.

        On the application's connection (`on_connection`) the connection is left
        open (the listener's own connection, if a wait opened one, is closed).
        """
        self._listener.close()
        if self._connect is None:
            self._pool.close()
        self._cache.clear()

    def __repr__(self) -> str:
        if self._connect is not None:
            return "PostgresStore.on_connection(...)"
        return f"PostgresStore({self._where.removeprefix('PostgreSQL store ')!r})"
