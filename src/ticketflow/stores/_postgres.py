"""The PostgreSQL store: many processes on many machines, on psycopg 3 and its pool.

psycopg is imported when a store is made, not when ticketflow is, so ``import
ticketflow`` works without the ``postgres`` extra.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, final
from urllib.parse import parse_qsl, quote, urlencode

from .._model import Event, EventKind, Ticket
from ..exceptions import ConflictError, StoreError, StoreUnavailable, TicketNotFound
from ._protocol import Change, OutboxEntry, TicketQuery

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

SCHEMA_VERSION: Final = 1
"""The schema version this ticketflow writes; older schemas are migrated on open."""

INSTALL_HINT: Final = "pip install 'ticketflow[postgres]'"

_MIGRATIONS_TABLE: Final = "ticketflow_migrations"
# pg_advisory_xact_lock key ("tflw"): one migrating process per database at a time.
_MIGRATION_LOCK: Final = 0x74666C77
_TAG_KINDS: Final = frozenset({EventKind.CREATED, EventKind.TAGS_ADDED, EventKind.TAGS_REMOVED})

# Ids compare in code-point order (COLLATE "C"), as Python sorts strings: `find` and
# `due` order by id the same way on every database, whatever its locale.
# Each entry moves the schema from version i to i + 1; they run in order on open.
_MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE tickets (
        id text COLLATE "C" PRIMARY KEY,
        version integer NOT NULL,
        status text NOT NULL,
        priority smallint NOT NULL,
        assignee text,
        department text,
        due_at timestamptz,
        claimed_until timestamptz
    );
    CREATE INDEX tickets_due ON tickets (due_at, id) WHERE due_at IS NOT NULL;
    CREATE INDEX tickets_status ON tickets (status, id);
    CREATE INDEX tickets_assignee ON tickets (assignee, id) WHERE assignee IS NOT NULL;
    CREATE INDEX tickets_department ON tickets (department, id) WHERE department IS NOT NULL;
    CREATE TABLE events (
        ticket_id text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        body json NOT NULL,
        PRIMARY KEY (ticket_id, position)
    );
    CREATE TABLE tags (
        tag text NOT NULL,
        ticket_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (tag, ticket_id)
    );
    CREATE INDEX tags_ticket ON tags (ticket_id);
    CREATE TABLE outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ticket_id text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        kind text NOT NULL,
        claimed_until timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        UNIQUE (ticket_id, position)
    );
    """,
)
assert len(_MIGRATIONS) == SCHEMA_VERSION  # noqa: S101 - a module invariant

# The columns each table must have; checked on open, so a foreign table that
# happens to carry one of our names is refused rather than written into.
_SHAPE: Final[dict[str, frozenset[str]]] = {
    "tickets": frozenset(
        {"id", "version", "status", "priority", "assignee", "department", "due_at", "claimed_until"}
    ),
    "events": frozenset({"ticket_id", "position", "body"}),
    "tags": frozenset({"tag", "ticket_id"}),
    "outbox": frozenset({"seq", "ticket_id", "position", "kind", "claimed_until", "attempts"}),
    _MIGRATIONS_TABLE: frozenset({"version", "applied_at"}),
}

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
    RETURNING t.id, t.due_at
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


def _driver_missing(exc: ImportError) -> StoreUnavailable:
    return StoreUnavailable(
        f"PostgresStore needs psycopg 3 and psycopg-pool, which are not installed "
        f"({exc.name or exc}): {INSTALL_HINT}"
    )


def _dump(event: Event) -> str:
    return json.dumps(event.to_dict(), separators=(",", ":"), ensure_ascii=False)


def _describe(params: dict[str, str]) -> str:
    """Name the server and database a conninfo points at, never its password."""
    host = params.get("host") or params.get("hostaddr") or "the local socket"
    port = params.get("port") or "5432"
    user = params.get("user")
    dbname = params.get("dbname") or user or "(the user's database)"
    return f"postgresql://{user + '@' if user else ''}{host}:{port}/{dbname}"


@final
class PostgresStore:
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

    Connections come from a pool (psycopg_pool), probed before each use, so
    connections the server dropped (a restart, an idle timeout) are replaced at
    the next call rather than failing it. The schema is created, or migrated, on open, in
    the first schema of the connection's ``search_path`` (``options=-csearch_path=...``
    in the conninfo picks another). The store is thread-safe.

    Tickets are stored as their events (``json``) and rebuilt on read; status,
    priority, assignee, department, tags and the due time are indexed columns.

    Args:
        conninfo: A libpq connection string or URL, e.g.
            ``"postgresql://app:secret@db.example.com:5432/helpdesk"`` or
            ``"host=/run/postgresql dbname=helpdesk"``.
        min_size: Connections the pool keeps open.
        max_size: Connections the pool may open at most.
        timeout: Seconds to wait for a connection, from the pool or from the
            server (libpq's ``connect_timeout``, unless the conninfo sets one),
            before `StoreUnavailable`.

    Raises:
        StoreUnavailable: psycopg is not installed, or the server cannot be reached
            or refuses the connection (the message names host and database, never
            the password).
        StoreError: the conninfo is malformed; the schema was written by a newer
            ticketflow; or tables with ticketflow's names belong to something else.
    """

    __slots__ = ("_pool", "_timeout", "_where")

    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
    ) -> None:
        try:
            import psycopg  # noqa: PLC0415 - the postgres extra is optional
            from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415
            from psycopg_pool import ConnectionPool  # noqa: PLC0415
        except ImportError as exc:
            raise _driver_missing(exc) from exc
        if not 0 <= min_size <= max_size or max_size < 1:
            raise StoreError(
                f"PostgresStore: need 0 <= min_size <= max_size and max_size >= 1, "
                f"got min_size={min_size}, max_size={max_size}"
            )
        try:
            params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}
        except psycopg.Error:
            # libpq's message quotes the text around the fault, which may be the
            # password: say what is wrong without it, and chain nothing.
            raise StoreError(
                "PostgresStore: the connection string is malformed (libpq cannot parse it; "
                "write 'postgresql://user:password@host:port/dbname' or 'key=value' pairs)"
            ) from None
        self._where = f"PostgreSQL store {_describe(params)}"
        self._timeout = timeout
        extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = max(1, round(timeout))
        if "application_name" not in params:
            extra["application_name"] = "ticketflow"
        with self._errors():
            with psycopg.connect(conninfo, **extra) as conn:
                self._migrate(conn)
            self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
                conninfo,
                kwargs=extra,
                min_size=min_size,
                max_size=max_size,
                timeout=timeout,
                name=self._where,
                open=True,
            )

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        """Open ``postgresql://user:password@host:port/dbname`` (or ``postgres://...``).

        Query parameters ``min_size``, ``max_size`` and ``timeout`` go to the store;
        any other (``sslmode``, ``connect_timeout``, ``options``...) is passed to libpq,
        as in ``postgresql://app@db/helpdesk?max_size=20&sslmode=require``.

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
            if key in {"min_size", "max_size"}:
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
            else:
                passed.append((key, value))
        conninfo = f"{base}?{urlencode(passed, quote_via=quote)}" if passed else base
        return cls(conninfo, **options)

    # --- plumbing -------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn psycopg's exceptions into the `StoreError` family, naming server and database."""
        import psycopg  # noqa: PLC0415 - loaded by __init__ already; a dict lookup
        import psycopg_pool  # noqa: PLC0415

        try:
            yield
        except psycopg_pool.PoolTimeout as exc:
            raise StoreUnavailable(
                f"{self._where}: no connection within {self._timeout:g} s (is the server "
                "up, and is max_size enough for the threads using the store?)"
            ) from exc
        except psycopg_pool.PoolClosed as exc:
            raise StoreError(f"{self._where} is closed") from exc
        except psycopg.errors.TransactionRollback as exc:
            raise StoreError(
                f"{self._where}: the server rolled the transaction back "
                f"({exc.sqlstate}: {exc}); nothing was written, retry"
            ) from exc
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"{self._where} is unavailable: {exc}".strip()) from exc
        except psycopg.Error as exc:
            raise StoreError(f"{self._where}: {exc}".strip()) from exc

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[tuple[Any, ...]]]:
        """Yield a pooled connection's cursor in one transaction, committed unless it raises.

        The connection is probed first (an empty query, as psycopg_pool's own
        check does). A connection the server dropped while it sat in the pool
        (a restart, an idle timeout) fails the probe before anything was sent:
        then every idle connection is checked at once (``pool.check()``) and a
        fresh one is taken. The pool's built-in ``check=`` would instead back off
        a second, two, four... per dead connection, and after a restart a pool of
        ten dead connections would run out the timeout.
        """
        import psycopg  # noqa: PLC0415 - loaded by __init__ already; a dict lookup
        from psycopg_pool import ConnectionPool  # noqa: PLC0415

        with self._errors():
            for attempt in range(2):
                with self._pool.connection() as conn:
                    try:
                        ConnectionPool.check_connection(conn)
                    except psycopg.OperationalError:
                        if attempt:
                            raise
                    else:
                        with conn.cursor() as cur:
                            yield cur
                        return
                self._pool.check()  # the dead connection went back broken: discarded

    def _migrate(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        """Create or upgrade the schema; refuse newer or foreign schemas untouched."""
        with conn.cursor() as cur:
            cur.execute("SELECT current_schema()")
            row = cur.fetchone()
            schema = None if row is None else row[0]
            if schema is None:
                raise StoreError(
                    f"{self._where}: no schema of the search_path exists, so there is "
                    "nowhere to create the tables (create the schema, or fix options=-csearch_path)"
                )
            version = self._stored_version(cur, schema)
            if version != SCHEMA_VERSION:
                # Serialise migrations between processes; read again under the lock.
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                version = self._stored_version(cur, schema)
                if version is None:
                    self._refuse_foreign(cur, schema)
                    cur.execute(
                        "CREATE TABLE ticketflow_migrations ("
                        "version integer PRIMARY KEY, "
                        "applied_at timestamptz NOT NULL DEFAULT now())"
                    )
                    version = 0
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self._where} (schema {schema!r}) was written by a newer ticketflow "
                        f"(schema version {version}; this one knows up to {SCHEMA_VERSION}): "
                        "upgrade ticketflow"
                    )
                for number in range(version, SCHEMA_VERSION):
                    cur.execute(_MIGRATIONS[number])
                    cur.execute(
                        "INSERT INTO ticketflow_migrations (version) VALUES (%s)",
                        (number + 1,),
                    )
            self._check_shape(cur, schema)
        conn.commit()

    @staticmethod
    def _stored_version(cur: psycopg.Cursor[tuple[Any, ...]], schema: str) -> int | None:
        """The schema version recorded in ``schema``; None when it has no migrations table."""
        cur.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s",
            (schema, _MIGRATIONS_TABLE),
        )
        if cur.fetchone() is None:
            return None
        cur.execute("SELECT coalesce(max(version), 0) FROM ticketflow_migrations")
        row = cur.fetchone()
        return 0 if row is None else int(row[0])

    def _refuse_foreign(self, cur: psycopg.Cursor[tuple[Any, ...]], schema: str) -> None:
        """Refuse a schema holding tables with our names that ticketflow did not create."""
        cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s) "
            "ORDER BY tablename",
            (schema, sorted(_SHAPE)),
        )
        taken = [r[0] for r in cur.fetchall()]
        if taken:
            raise StoreError(
                f"{self._where}: schema {schema!r} already has tables named "
                f"{', '.join(taken)} that ticketflow did not create (it has no "
                f"{_MIGRATIONS_TABLE} table); nothing was changed: use another database "
                "or schema (options=-csearch_path=...)"
            )

    def _check_shape(self, cur: psycopg.Cursor[tuple[Any, ...]], schema: str) -> None:
        """Refuse tables whose columns are not the ones ticketflow created."""
        cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = ANY(%s)",
            (schema, sorted(_SHAPE)),
        )
        found: dict[str, set[str]] = {}
        for table, column in cur.fetchall():
            found.setdefault(table, set()).add(column)
        for table, columns in sorted(_SHAPE.items()):
            missing = columns - found.get(table, set())
            if missing:
                raise StoreError(
                    f"{self._where}: table {schema}.{table} is not the one ticketflow "
                    f"created: it lacks column(s) {', '.join(sorted(missing))}; "
                    "nothing was changed"
                )

    def schema_version(self) -> int:
        """Return the schema version of the database (of the schema in use)."""
        with self._transaction() as cur:
            cur.execute("SELECT coalesce(max(version), 0) FROM ticketflow_migrations")
            row = cur.fetchone()
        return 0 if row is None else int(row[0])

    @staticmethod
    def _load_tickets(cur: psycopg.Cursor[tuple[Any, ...]], ids: Sequence[str]) -> list[Ticket]:
        """Rebuild the tickets with these ids from their events, in the order of ``ids``."""
        if not ids:
            return []
        cur.execute(
            "SELECT ticket_id, body FROM events WHERE ticket_id = ANY(%s) "
            "ORDER BY ticket_id, position",
            (list(ids),),
        )
        timelines: dict[str, list[Event]] = {}
        for ticket_id, body in cur:
            timelines.setdefault(ticket_id, []).append(Event.from_dict(body))
        return [Ticket.rebuild(timelines[i]) for i in ids if i in timelines]

    # --- the contract ---------------------------------------------------------------

    def get(self, ticket_id: str) -> Ticket:
        """Return the stored ticket, rebuilt from its events.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        with self._transaction() as cur:
            cur.execute(
                "SELECT body FROM events WHERE ticket_id = %s ORDER BY position", (ticket_id,)
            )
            rows = cur.fetchall()
        if not rows:
            raise TicketNotFound(ticket_id)
        return Ticket.rebuild(Event.from_dict(r[0]) for r in rows)

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's timeline, oldest first.

        Raises:
            TicketNotFound: no ticket has this id.
        """
        return self.get(ticket_id).timeline

    def commit(self, changes: Sequence[Change]) -> None:
        """Write all ``changes`` in one transaction.

        Ticket rows are written first, in id order, so two commits touching the
        same tickets lock them in the same order and cannot deadlock.

        Raises:
            ConflictError: a change's expected version is stale; nothing was written.
            StoreError: a change is malformed, or the database failed; nothing was written.
            StoreUnavailable: the server could not be reached; nothing was written.
        """
        if not changes:
            return
        for change in changes:
            if change.ticket.version != change.expected_version + 1:
                raise StoreError(
                    f"ticket {change.ticket.id}: a commit must raise the version by one "
                    f"(expected {change.expected_version + 1}, got {change.ticket.version})"
                )
        with self._transaction() as cur:
            for change in sorted(changes, key=lambda c: c.ticket.id):
                self._write_row(cur, change)
            for change in changes:
                self._write_timeline(cur, change)

    @staticmethod
    def _write_row(cur: psycopg.Cursor[tuple[Any, ...]], change: Change) -> None:
        """Insert or update the ticket row; the version check is the statement's own."""
        ticket, expected, _, due_at, _ = change
        values = (
            ticket.version,
            ticket.status,
            int(ticket.priority),
            ticket.assignee,
            ticket.department,
            due_at,
            ticket.id,
        )
        if expected == 0:
            # A concurrent insert of the same id waits for the other transaction,
            # then does nothing: no exception, so the transaction stays usable.
            cur.execute(
                "INSERT INTO tickets (version, status, priority, assignee, department, "
                "due_at, id) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                values,
            )
        else:
            # Under READ COMMITTED a concurrent writer's UPDATE waits for the row
            # lock, then re-checks `version` against the committed row: one wins.
            cur.execute(
                "UPDATE tickets SET version = %s, status = %s, priority = %s, assignee = %s, "
                "department = %s, due_at = %s, claimed_until = NULL "
                "WHERE id = %s AND version = %s",
                (*values, expected),
            )
        if cur.rowcount != 1:
            cur.execute("SELECT version FROM tickets WHERE id = %s", (ticket.id,))
            row = cur.fetchone()
            raise ConflictError(
                ticket_id=ticket.id,
                expected_version=expected,
                actual_version=0 if row is None else int(row[0]),
            )

    @staticmethod
    def _write_timeline(cur: psycopg.Cursor[tuple[Any, ...]], change: Change) -> None:
        """Append the change's new events (all of them on rewrite), its tags and outbox."""
        ticket, expected, rewrite, _, outbox = change
        tid = ticket.id
        timeline = ticket.timeline
        if rewrite:
            cur.execute("DELETE FROM events WHERE ticket_id = %s", (tid,))
            start = 0
        else:
            start = len(timeline)
            while start and timeline[start - 1].version == ticket.version:
                start -= 1
        new = range(start, len(timeline))
        cur.execute(
            "INSERT INTO events (ticket_id, position, body) "
            "SELECT %s, p, b::json FROM unnest(%s::integer[], %s::text[]) AS u(p, b)",
            (tid, list(new), [_dump(timeline[i]) for i in new]),
        )
        if rewrite or any(timeline[i].kind in _TAG_KINDS for i in new):
            if expected:  # not a new ticket: it may have tag rows already
                cur.execute("DELETE FROM tags WHERE ticket_id = %s", (tid,))
            if ticket.tags:
                cur.execute(
                    "INSERT INTO tags (tag, ticket_id) SELECT unnest(%s::text[]), %s",
                    (sorted(ticket.tags), tid),
                )
        if outbox:
            cur.execute(
                "INSERT INTO outbox (ticket_id, position, kind) "
                "SELECT %s, p, k FROM unnest(%s::integer[], %s::text[]) "
                "WITH ORDINALITY AS u(p, k, n) ORDER BY n",
                (tid, list(outbox), [timeline[i].kind.value for i in outbox]),
            )

    def find(self, query: TicketQuery) -> list[Ticket]:
        """Return the tickets matching ``query``, ordered by id (through the indexes)."""
        where: list[str] = []
        params: list[Any] = []
        if query.statuses is not None:
            if not query.statuses:
                return []
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
        sql = "SELECT id FROM tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if query.limit is not None:
            sql += " LIMIT %s"
            params.append(max(query.limit, 0))
        with self._transaction() as cur:
            cur.execute(sql, params)
            ids = [r[0] for r in cur.fetchall()]
            return self._load_tickets(cur, ids)

    def due(self, now: datetime, limit: int) -> list[Ticket]:
        """Return up to ``limit`` tickets due at or before ``now``, earliest first."""
        with self._transaction() as cur:
            cur.execute(
                "SELECT id FROM tickets WHERE due_at IS NOT NULL AND due_at <= %s "
                "ORDER BY due_at, id LIMIT %s",
                (now, max(limit, 0)),
            )
            ids = [r[0] for r in cur.fetchall()]
            return self._load_tickets(cur, ids)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        """Claim and return up to ``limit`` unclaimed tickets due by ``now``, earliest first.

        One statement picks the rows with ``FOR UPDATE SKIP LOCKED`` and sets their
        claim, so concurrent callers in any process get disjoint tickets.
        """
        with self._transaction() as cur:
            cur.execute(_CLAIM_DUE, {"now": now, "limit": max(limit, 0), "until": now + lease})
            claimed = sorted(cur.fetchall(), key=lambda r: (r[1], r[0]))
            return self._load_tickets(cur, [r[0] for r in claimed])

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Claim and return up to ``limit`` unclaimed pending outbox entries, oldest first."""
        with self._transaction() as cur:
            cur.execute(_CLAIM_OUTBOX, {"now": now, "limit": max(limit, 0), "until": now + lease})
            rows = sorted(cur.fetchall())
        return [OutboxEntry(r[1], int(r[2]), r[3], int(r[4])) for r in rows]

    def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        """Remove delivered entries; unknown keys are ignored."""
        if not keys:
            return
        with self._transaction() as cur:
            # Lock in seq order: two dispatchers acknowledging overlapping entries
            # (a lease ran out) then wait for each other instead of deadlocking.
            cur.execute(
                "DELETE FROM outbox WHERE seq IN ("
                "SELECT o.seq FROM outbox AS o "
                "JOIN unnest(%s::text[], %s::integer[]) AS k(t, p) "
                "ON o.ticket_id = k.t AND o.position = k.p ORDER BY o.seq FOR UPDATE OF o)",
                ([k[0] for k in keys], [k[1] for k in keys]),
            )

    def outbox_pending(self) -> int:
        """Return the number of entries not yet acknowledged."""
        with self._transaction() as cur:
            cur.execute("SELECT count(*) FROM outbox")
            row = cur.fetchone()
        return 0 if row is None else int(row[0])

    def next_due_at(self) -> datetime | None:
        """Return the earliest due time (in UTC), or None."""
        with self._transaction() as cur:
            cur.execute(
                "SELECT due_at FROM tickets WHERE due_at IS NOT NULL ORDER BY due_at LIMIT 1"
            )
            row = cur.fetchone()
        return None if row is None else row[0].astimezone(UTC)

    def count(self) -> int:
        """Return the number of stored tickets (tombstones included)."""
        with self._transaction() as cur:
            cur.execute("SELECT count(*) FROM tickets")
            row = cur.fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        """Close the pool's connections; the store is unusable afterwards."""
        self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self._where.removeprefix('PostgreSQL store ')!r})"
