"""The async PostgreSQL store: psycopg's `AsyncConnectionPool`, the sync store's SQL.

Every statement is the sync `PostgresStore`'s (module constants and static
builders of ``_postgres``), and so are the row decoding, the ticket cache and
the error mapping; only the awaiting is this module's. psycopg is imported when
the store is made, not when ticketflow is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, NoReturn, Self, TypeVar, final

from .._model import Event, Ticket
from ..exceptions import ConflictError, StoreError, TicketNotFound
from ._cache import TicketCache
from ._codec import dump_event
from ._postgres import (
    _ACK_OUTBOX,
    _BODIES_AT,
    _CLAIM_DUE,
    _CLAIM_OUTBOX,
    _COUNT,
    _ENQUEUE,
    _EVENTS_OF,
    _GET,
    _NEXT_DUE_AT,
    _OUTBOX_PENDING,
    _REINDEX,
    _REINDEX_LOCK,
    _VERSION_OF,
    PostgresStore,
    _describe,
    _driver_missing,
    _queue_columns,
    _Rows,
    _summary_row,
    _write,
    notify_many_params,
    pool_params,
    search_config_name,
    store_errors,
)
from ._postgres_listen import NOTIFY_MANY
from ._postgres_schema import migrate
from ._protocol import (
    Change,
    IndexUpdate,
    OutboxEntry,
    TicketQuery,
    check_version_step,
    new_positions,
)
from ._summary import SummaryQuery, SummaryRow
from ._text import SearchQuery

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import AsyncConnectionPool

    _Connection = psycopg.AsyncConnection[tuple[Any, ...]]

__all__ = ["AsyncPostgresStore"]

_T = TypeVar("_T")
_Work = Callable[["_Connection"], Coroutine[Any, Any, _T]]
_PIPELINE_MIN: Final = 2  # changes from which a commit is one pipelined transaction


@final
class AsyncPostgresStore(_Rows):
    """A PostgreSQL `AsyncTicketStore` on psycopg's ``AsyncConnectionPool``.

    The same tables, statements and guarantees as `PostgresStore` (the two may
    share a database, and processes of either kind work together): one change is
    one statement, several are one pipelined transaction locking rows in id
    order; claims use ``FOR UPDATE SKIP LOCKED``. Nothing is opened by the
    constructor (it cannot await): the schema is created or checked, and the
    pool opened, on first use or by ``await store.open()``; ``aclose`` (or
    ``async with``) closes the pool.

    Unlike `PostgresStore`, a commit whose connection breaks in flight is not
    sent again: it raises `StoreUnavailable`, and the commit may or may not
    have been written (read the ticket to find out).

    Args:
        conninfo: A libpq connection string or ``postgresql://`` URL.
        min_size: Connections the pool keeps open.
        max_size: The most connections the pool opens.
        timeout: Seconds to wait for a connection before `StoreUnavailable`.
        cache_size: Tickets kept decoded (see `PostgresStore`).
        search_config: The text-search configuration of the search index (see
            `PostgresStore`); the commits keep the index, as the sync store's do.

    Raises:
        StoreUnavailable: psycopg is not installed.
        StoreError: the conninfo is malformed, the sizes are invalid, or
            ``search_config`` is not a configuration name.
    """

    __slots__ = (
        "_cache",
        "_closed",
        "_config",
        "_conninfo",
        "_extra",
        "_lock",
        "_pool",
        "_sizes",
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
            import psycopg  # noqa: PLC0415, F401 - the postgres extra is optional
            from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415, F401
        except ImportError as exc:
            raise _driver_missing(exc) from exc
        params = pool_params("AsyncPostgresStore", conninfo, min_size, max_size)
        self._where = f"PostgreSQL store {_describe(params)}"
        self._conninfo = conninfo
        self._timeout = timeout
        self._sizes = (min_size, max_size)
        self._cache = TicketCache(cache_size)
        self._extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            self._extra["connect_timeout"] = max(1, round(timeout))
        if "application_name" not in params:
            self._extra["application_name"] = "ticketflow"
        import asyncio  # noqa: PLC0415 - not on `import ticketflow`'s path

        self._pool: AsyncConnectionPool[_Connection] | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def open(self) -> None:
        """Create or check the schema and open the pool (done by the first call anyway).

        Raises:
            StoreUnavailable: the server cannot be reached.
            StoreError: the schema was written by a newer ticketflow, or belongs to
                something else.
        """
        await self._connection_pool()

    async def _connection_pool(self) -> AsyncConnectionPool[_Connection]:
        pool = self._pool
        if pool is not None:
            return pool
        async with self._lock:
            if self._pool is not None:
                return self._pool
            from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415

            if self._closed:
                raise StoreError(f"{self._where} is closed")
            import asyncio  # noqa: PLC0415 - loaded by the caller's event loop already

            with store_errors(self._where, self._timeout):
                # The migration is the sync store's code, on a connection of its own
                # in a worker thread: once per store, before the pool opens.
                await asyncio.to_thread(self._migrate)
                pool = AsyncConnectionPool(
                    self._conninfo,
                    kwargs={**self._extra, "autocommit": True},
                    min_size=self._sizes[0],
                    max_size=self._sizes[1],
                    timeout=self._timeout,
                    name=self._where,
                    open=False,
                )
                await pool.open(wait=False)
            self._pool = pool
            return pool

    def _migrate(self) -> None:
        import psycopg  # noqa: PLC0415 - loaded by __init__ already

        with psycopg.connect(self._conninfo, **self._extra) as conn:
            migrate(conn, self._where, self._config)

    async def _run(self, work: _Work[_T]) -> _T:
        """Run ``work`` on a pooled connection, psycopg's errors mapped to `StoreError`."""
        pool = self._pool or await self._connection_pool()
        with store_errors(self._where, self._timeout):
            async with pool.connection() as conn:
                return await work(conn)

    async def _fetchall(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        async def work(conn: _Connection) -> list[tuple[Any, ...]]:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

        return await self._run(work)

    async def _scalar(self, sql: str) -> Any:
        rows = await self._fetchall(sql)
        return rows[0][0] if rows else None

    # --- the contract ---------------------------------------------------------------

    async def get(self, ticket_id: str) -> Ticket:
        """As `PostgresStore.get`."""
        cached = self._cache.get(ticket_id)
        known = 0 if cached is None else cached.version
        rows = await self._fetchall(_GET, (known, ticket_id))
        if not rows:
            raise TicketNotFound(ticket_id)
        if cached is not None and rows[0][0] == known:
            return cached
        bodies = [r[1] for r in rows if r[1] is not None]
        if not bodies:
            raise TicketNotFound(ticket_id)
        ticket = self._decode(ticket_id, bodies)
        self._cache.remember(ticket)
        return ticket

    async def events(self, ticket_id: str) -> tuple[Event, ...]:
        """As `PostgresStore.events`."""
        return tuple((await self.get(ticket_id)).timeline)

    async def commit(self, changes: Sequence[Change]) -> None:
        """As `PostgresStore.commit` (without the resend after a broken connection)."""
        if not changes:
            return
        for change in changes:
            check_version_step(change)
        if len(changes) < _PIPELINE_MIN:
            await self._run(lambda conn: self._commit_one(conn, changes[0]))
        else:
            await self._run(lambda conn: self._commit_many(conn, changes))
        for change in changes:
            self._cache.remember(change.ticket)

    async def _commit_one(self, conn: _Connection, change: Change) -> None:
        cur = await conn.execute(*_write(change, outbox=True, config=self._config))
        row = await cur.fetchone()
        if row is None or row[0] != 1:
            await self._conflict(conn, change)

    async def _commit_many(self, conn: _Connection, changes: Sequence[Change]) -> None:
        ordered = sorted(changes, key=lambda c: c.ticket.id)
        async with conn.transaction():
            notify = notify_many_params(changes)
            if notify is not None:  # first: it compares with the rows before the writes
                await conn.execute(NOTIFY_MANY, notify)
            stale = []
            for change in ordered:
                cur = await conn.execute(*_write(change, outbox=False, config=self._config))
                row = await cur.fetchone()
                if row is None or row[0] != 1:
                    stale.append(change)
                    break  # raising rolls back: no need to send the rest
            if stale:
                await self._conflict(conn, stale[0])
            entries = [
                (c.ticket.id, p, c.ticket.timeline[p].kind.value) for c in changes for p in c.outbox
            ]
            if entries:
                await conn.execute(
                    _ENQUEUE,
                    ([e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries]),
                )

    @staticmethod
    async def _conflict(conn: _Connection, change: Change) -> NoReturn:
        ticket_id = change.ticket.id
        cur = await conn.execute(_VERSION_OF, (ticket_id,))
        stored = await cur.fetchone()
        raise ConflictError(
            ticket_id=ticket_id,
            expected_version=change.expected_version,
            actual_version=0 if stored is None else int(stored[0]),
        )

    async def landed(self, change: Change) -> bool:
        """Whether ``change``'s new events are stored at their positions, byte for byte.

        After `StoreUnavailable` from a commit, this says whether it was written.
        """
        ticket = change.ticket
        tail = new_positions(ticket)
        rows = await self._fetchall(_BODIES_AT, (ticket.id, list(tail)))
        return [r[0] for r in rows] == [dump_event(ticket.timeline[i]) for i in tail]

    async def find(self, query: TicketQuery) -> list[Ticket]:
        """As `PostgresStore.find`."""
        found = PostgresStore._find_sql(query)  # noqa: SLF001 - the shared SQL
        if found is None:
            return []
        return self._assemble(await self._fetchall(*found))

    async def summaries(self, query: SummaryQuery) -> list[SummaryRow]:
        """As `PostgresStore.summaries`."""
        rows = await self._fetchall(*PostgresStore._list_sql(query))  # noqa: SLF001
        return [_summary_row(r) for r in rows]

    async def search(self, query: SearchQuery) -> list[tuple[SummaryRow, float]]:
        """As `PostgresStore.search` (its SQL, run on the pool)."""
        sql, params = PostgresStore._search_sql(query, self._config)  # noqa: SLF001
        rows = await self._fetchall(sql, params)
        return [(_summary_row(r[:-1]), float(r[-1])) for r in rows]

    async def summary_counts(self, by: str, query: SummaryQuery) -> dict[str | None, int]:
        """As `PostgresStore.summary_counts`."""
        rows = await self._fetchall(*PostgresStore._counts_sql(by, query))  # noqa: SLF001
        return {(str(g) if by == "priority" else g): int(n) for g, n in rows}

    async def queue(
        self, *, assignee: str | None, department: str | None, limit: int
    ) -> list[Ticket]:
        """As `PostgresStore.queue`."""
        sql, params = PostgresStore._queue_events_sql(  # noqa: SLF001
            assignee=assignee, department=department, limit=limit
        )
        return self._assemble(await self._fetchall(sql, params))

    async def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        """As `PostgresStore.reindex`."""
        if not updates:
            return 0
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

        async def work(conn: _Connection) -> set[tuple[str, int]]:
            async with conn.transaction():
                await conn.execute(_REINDEX_LOCK, (sorted({u.ticket_id for u in chosen}),))
                cur = await conn.execute(_REINDEX, params)
                return {(r[0], int(r[1])) for r in await cur.fetchall()}

        applied = await self._run(work)
        return sum(1 for u in updates if (u.ticket_id, u.version) in applied)

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        """As `PostgresStore.claim_due`."""

        async def work(conn: _Connection) -> list[Ticket]:
            async with conn.transaction():
                cur = await conn.execute(
                    _CLAIM_DUE, {"now": now, "limit": max(limit, 0), "until": now + lease}
                )
                claimed = await cur.fetchall()
                claimed.sort(key=lambda r: (r[1], r[0]))
                rows = [(r[0], r[2]) for r in claimed]
                loaded, missing = self._cache.current(rows)
                if missing:
                    events = await conn.execute(_EVENTS_OF, (missing,))
                    self._load(loaded, await events.fetchall())
                return [loaded[tid] for tid, _ in rows if tid in loaded]

        return await self._run(work)

    async def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """As `PostgresStore.claim_outbox`."""
        rows = await self._fetchall(
            _CLAIM_OUTBOX, {"now": now, "limit": max(limit, 0), "until": now + lease}
        )
        rows.sort()
        return [OutboxEntry(r[1], int(r[2]), r[3], int(r[4])) for r in rows]

    async def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        """As `PostgresStore.ack_outbox`."""
        if not keys:
            return
        params = ([k[0] for k in keys], [k[1] for k in keys])

        async def work(conn: _Connection) -> None:
            await conn.execute(_ACK_OUTBOX, params)

        await self._run(work)

    async def outbox_pending(self) -> int:
        """As `PostgresStore.outbox_pending`."""
        return int(await self._scalar(_OUTBOX_PENDING) or 0)

    async def next_due_at(self) -> datetime | None:
        """As `PostgresStore.next_due_at`."""
        value = await self._scalar(_NEXT_DUE_AT)
        return None if value is None else value.astimezone(UTC)

    async def count(self) -> int:
        """As `PostgresStore.count`."""
        return int(await self._scalar(_COUNT) or 0)

    async def aclose(self) -> None:
        """Close the pool's connections; the store is unusable afterwards. Idempotent."""
        self._closed = True
        pool, self._pool = self._pool, None
        self._cache.clear()
        if pool is not None:
            with contextlib.suppress(Exception):
                await pool.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncPostgresStore({self._where.removeprefix('PostgreSQL store ')!r})"
