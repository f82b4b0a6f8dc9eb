"""Async stores: the protocol `AsyncHelpdesk` needs, and the memory and SQLite backends.

`AsyncTicketStore` is `TicketStore` with coroutine methods, the same names, the
same arguments and the same contract (the async contract suite in
``ticketflow.testing.contract`` checks it), plus ``aclose``. It holds what
`AsyncHelpdesk` asks of a store: the engine's steps name the store methods they
need, and the async driver awaits them (see ``ticketflow._engine._steps``).

* `AsyncMemoryStore` wraps a `MemoryStore`; its methods run on the event loop,
  each a few microseconds without I/O, so coroutines never wait on it.
* `AsyncSQLiteStore` gives a `SQLiteStore` a thread of its own: every call is
  handed to that one thread and awaited, so the event loop never blocks on the
  disk, and SQLite (one writer at a time per file) sees one connection used by
  one thread. aiosqlite does the same (a thread per connection); it would add a
  dependency and a second copy of the SQL for no gain over running the sync
  store, which already holds the SQL, the cache and the error mapping.
* ``AsyncPostgresStore`` (``_postgres_async``) is native: psycopg's
  ``AsyncConnectionPool``, the sync store's SQL text.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, final, runtime_checkable

from .._model import Event, Ticket
from ..exceptions import StoreError
from ._memory import MemoryStore
from ._protocol import Change, IndexUpdate, OutboxEntry, TicketQuery
from ._sqlite import SQLiteStore
from ._summary import SummaryQuery, SummaryRow
from ._text import SearchQuery

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["AsyncMemoryStore", "AsyncSQLiteStore", "AsyncTicketStore"]

_T = TypeVar("_T")


@runtime_checkable
class AsyncTicketStore(Protocol):
    """Where tickets live, for `AsyncHelpdesk`: `TicketStore` with coroutine methods.

    Every method has the name, arguments, result and guarantees of the
    `TicketStore` method of the same name (atomic ``commit``, optimistic
    concurrency with `ConflictError`, claims exclusive until their lease ends,
    the outbox written in the commit's transaction, driver errors raised as
    `StoreError`), and ``summaries`` / ``summary_counts`` those of the built-in
    stores' summary index. Concurrency: many coroutines of one event loop may
    await the methods at once; a commit that loses a race raises `ConflictError`
    exactly as a sync one does. ``aclose`` releases what the store holds
    (connections, its thread); the store is unusable afterwards.
    """

    async def get(self, ticket_id: str) -> Ticket:
        """Return the stored ticket (raises `TicketNotFound`)."""
        ...

    async def commit(self, changes: Sequence[Change]) -> None:
        """Write all ``changes`` atomically (raises `ConflictError` on a stale version)."""
        ...

    async def events(self, ticket_id: str) -> tuple[Event, ...]:
        """Return the ticket's timeline, oldest first."""
        ...

    async def find(self, query: TicketQuery) -> list[Ticket]:
        """Return the tickets matching ``query``, ordered by id."""
        ...

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        """Claim and return up to ``limit`` unclaimed tickets due by ``now``."""
        ...

    async def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Claim and return up to ``limit`` unclaimed pending outbox entries, oldest first."""
        ...

    async def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        """Remove delivered outbox entries; unknown keys are ignored."""
        ...

    async def outbox_pending(self) -> int:
        """Return the number of outbox entries not yet acknowledged."""
        ...

    async def queue(
        self, *, assignee: str | None, department: str | None, limit: int
    ) -> list[Ticket]:
        """Return up to ``limit`` queued tickets in queue order."""
        ...

    async def summaries(self, query: SummaryQuery) -> list[SummaryRow]:
        """Return the page of summaries ``query`` selects, in its order."""
        ...

    async def summary_counts(self, by: str, query: SummaryQuery) -> dict[str | None, int]:
        """Return how many tickets pass ``query``'s filters, per value of ``by``."""
        ...

    async def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        """Apply each update whose ticket is still at its version; return how many applied."""
        ...

    async def next_due_at(self) -> datetime | None:
        """Return the earliest due time, or None."""
        ...

    async def count(self) -> int:
        """Return the number of stored tickets."""
        ...

    async def aclose(self) -> None:
        """Release the store's resources; it is unusable afterwards."""
        ...


class _Delegating:
    """An `AsyncTicketStore` over a sync store: each method is `_call` of the sync one."""

    __slots__ = ("_store",)

    _store: Any

    async def _call(self, method: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        raise NotImplementedError  # pragma: no cover - each subclass says where calls run

    async def get(self, ticket_id: str) -> Ticket:
        """As `TicketStore.get`."""
        return await self._call(self._store.get, ticket_id)

    async def commit(self, changes: Sequence[Change]) -> None:
        """As `TicketStore.commit`."""
        await self._call(self._store.commit, changes)

    async def events(self, ticket_id: str) -> tuple[Event, ...]:
        """As `TicketStore.events`."""
        return await self._call(self._store.events, ticket_id)

    async def find(self, query: TicketQuery) -> list[Ticket]:
        """As `TicketStore.find`."""
        return await self._call(self._store.find, query)

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
        """As `TicketStore.claim_due`."""
        return await self._call(self._store.claim_due, now, limit, lease)

    async def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """As `TicketStore.claim_outbox`."""
        return await self._call(self._store.claim_outbox, now, limit, lease)

    async def ack_outbox(self, keys: Sequence[tuple[str, int]]) -> None:
        """As `TicketStore.ack_outbox`."""
        await self._call(self._store.ack_outbox, keys)

    async def outbox_pending(self) -> int:
        """As `TicketStore.outbox_pending`."""
        return await self._call(self._store.outbox_pending)

    async def queue(
        self, *, assignee: str | None, department: str | None, limit: int
    ) -> list[Ticket]:
        """As `TicketStore.queue`."""
        return await self._call(
            self._store.queue, assignee=assignee, department=department, limit=limit
        )

    async def summaries(self, query: SummaryQuery) -> list[SummaryRow]:
        """As the built-in stores' ``summaries``."""
        return await self._call(self._store.summaries, query)

    async def search(self, query: SearchQuery) -> list[tuple[SummaryRow, float]]:
        """As the built-in stores' ``search`` (`ticketflow.stores.SearchStore`)."""
        return await self._call(self._store.search, query)

    async def summary_counts(self, by: str, query: SummaryQuery) -> dict[str | None, int]:
        """As the built-in stores' ``summary_counts``."""
        return await self._call(self._store.summary_counts, by, query)

    async def reindex(self, updates: Sequence[IndexUpdate]) -> int:
        """As `TicketStore.reindex`."""
        return await self._call(self._store.reindex, updates)

    async def next_due_at(self) -> datetime | None:
        """As `TicketStore.next_due_at`."""
        return await self._call(self._store.next_due_at)

    async def count(self) -> int:
        """As `TicketStore.count`."""
        return await self._call(self._store.count)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the store."""
        raise NotImplementedError  # pragma: no cover - each subclass closes its own


@final
class AsyncMemoryStore(_Delegating):
    """An in-memory `AsyncTicketStore`: a `MemoryStore` used from the event loop.

    Every call runs at once on the loop (the memory store does no I/O), so
    coroutines interleave only between calls: a commit is atomic as the memory
    store's is, and a stale one raises `ConflictError`.

    Args:
        store: The memory store to use; defaults to a new, empty one (give one to
            share tickets with a sync `Helpdesk` in the same process).
    """

    __slots__ = ()

    def __init__(self, store: MemoryStore | None = None) -> None:
        if store is not None and not isinstance(store, MemoryStore):
            raise StoreError(f"AsyncMemoryStore wraps a MemoryStore, not {type(store).__name__}")
        self._store = MemoryStore() if store is None else store

    @property
    def store(self) -> MemoryStore:
        """The memory store underneath."""
        store: MemoryStore = self._store
        return store

    async def _call(self, method: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        return method(*args, **kwargs)

    async def aclose(self) -> None:
        """Close the memory store (it keeps nothing to release)."""
        self._store.close()

    def __repr__(self) -> str:
        return f"AsyncMemoryStore({self._store!r})"


@final
class AsyncSQLiteStore(_Delegating):
    """A SQLite `AsyncTicketStore`: a `SQLiteStore` owned by one thread of its own.

    The store is opened in that thread and every call is run there, one at a
    time, while the event loop goes on: the loop never waits on the disk, and
    writes to the file are serialised as SQLite wants them. Durability and the
    concurrency guarantees are the `SQLiteStore`'s (other processes may use the
    same file). Opening runs in the thread too but is waited for, so a bad path
    is refused by the constructor.

    Args:
        path: The database file, or ``":memory:"``.
        synchronous: As `SQLiteStore`.
        timeout: As `SQLiteStore`.
        cache_size: As `SQLiteStore`.

    Raises:
        StoreError: as `SQLiteStore`.
    """

    __slots__ = ("_closed", "_thread")

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        synchronous: str = "FULL",
        timeout: float = 5.0,
        cache_size: int = 4096,
    ) -> None:
        # Imported here: `import ticketflow` does not load asyncio or concurrent.futures.
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

        self._thread: ThreadPoolExecutor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="ticketflow-sqlite"
        )
        self._closed = False
        opening = functools.partial(
            SQLiteStore, path, synchronous=synchronous, timeout=timeout, cache_size=cache_size
        )
        try:
            self._store = self._thread.submit(opening).result()
        except BaseException:
            self._thread.shutdown(wait=False)
            raise

    @property
    def store(self) -> SQLiteStore:
        """The SQLite store underneath (call it only through this store's thread)."""
        store: SQLiteStore = self._store
        return store

    async def _call(self, method: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        import asyncio  # noqa: PLC0415 - loaded by the caller's event loop already

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(method, *args, **kwargs))

    async def aclose(self) -> None:
        """Close the connection in its thread, then end the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        import asyncio  # noqa: PLC0415 - loaded by the caller's event loop already

        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._thread, self._store.close)
        finally:
            self._thread.shutdown(wait=False)

    def __repr__(self) -> str:
        return f"AsyncSQLiteStore({self._store!r})"
