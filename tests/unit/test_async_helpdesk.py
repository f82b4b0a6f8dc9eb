"""`AsyncHelpdesk`, the step drivers and `ConflictRetry.acall` (memory and SQLite, no server).

Coroutines run under ``asyncio.run`` in plain tests: one fresh loop per test,
no async test plugin (see docs/howto/async.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from operator import methodcaller
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ticketflow import (
    Actor,
    AsyncHelpdesk,
    AsyncMemoryStore,
    AsyncSQLiteStore,
    ConflictError,
    ConflictRetry,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    MemoryStore,
    PermissionDenied,
    Requester,
    Role,
    StoreError,
    TicketNotFound,
)
from ticketflow._engine._steps import Steps, adrive, drive
from ticketflow.sla import SlaPolicy

T = TypeVar("T")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANN = Requester(name="Ann", email="ann@example.com")


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def test_a_sync_store_is_refused_naming_the_argument() -> None:
    """A `TicketStore` given to `AsyncHelpdesk` is refused: it would block the loop."""
    with pytest.raises(InvalidInputError) as caught:
        AsyncHelpdesk(store=MemoryStore())  # type: ignore[arg-type]
    assert "store" == caught.value.field


def test_the_core_refuses_sync_store_calls() -> None:
    """The core `Helpdesk` inside an `AsyncHelpdesk` cannot reach the store synchronously."""
    desk = AsyncHelpdesk()
    with pytest.raises(StoreError, match="async store"):
        desk._core.get("T1")


def test_async_desk_runs_the_same_checks_as_the_sync_one() -> None:
    """Permission checks, validation and lookups refuse as `Helpdesk` does."""

    async def scenario() -> None:
        async with AsyncHelpdesk(clock=FakeClock(START)) as desk:
            t = await desk.open_ticket(subject="VPN", requester=ANN)
            with pytest.raises(PermissionDenied):
                await desk.resolve(t.id, by=Actor("eve@example.com", Role.CUSTOMER))
            with pytest.raises(PermissionDenied):
                await desk.purge(t.id, by="bob")  # agents may not purge by default
            with pytest.raises(InvalidInputError):
                await desk.agent_reply(t.id, "   ", by="bob")
            with pytest.raises(TicketNotFound):
                await desk.get("nope")
            with pytest.raises(InvalidInputError):
                await desk.execute("resolve", by="bob")  # type: ignore[arg-type]
            assert "new" == (await desk.get(t.id)).status

    run(scenario())


def test_sla_and_time_rules_run_through_the_async_desk() -> None:
    """SLA state, next due and `run_until` answer as on the sync desk."""
    policy = SlaPolicy("std", targets={"normal": {"first_reply": "1h"}})

    async def scenario() -> None:
        clock, sync_clock = FakeClock(START), FakeClock(START)
        desk = AsyncHelpdesk(clock=clock, sla=[policy], id_factory=lambda _: "T1")
        sync = Helpdesk(clock=sync_clock, sla=[policy], id_factory=lambda _: "T1")
        await desk.open_ticket(subject="VPN", requester=ANN)
        sync.open_ticket(subject="VPN", requester=ANN)
        assert sync.next_due("T1") == await desk.next_due("T1")
        assert sync.sla_state("T1") == await desk.sla_state("T1")
        until = START + timedelta(hours=3)
        assert sync.run_until(until) == await desk.run_until(until)
        assert sync.get("T1") == await desk.get("T1")
        assert sync.timeline("T1") == await desk.timeline("T1")
        assert sync.reschedule() == await desk.reschedule()

    run(scenario())


def test_erase_requester_through_the_async_desk() -> None:
    """`erase_requester` purges each of the person's tickets, as on the sync desk."""

    async def scenario() -> None:
        desk = AsyncHelpdesk(clock=FakeClock(START))
        a = await desk.open_ticket(subject="VPN", requester=ANN, description="secret")
        b = await desk.open_ticket(subject="Mail", requester=ANN)
        result = await desk.erase_requester("ANN@example.com", by=Actor("root", Role.ADMIN))
        assert (a.id, b.id) == result.purged
        assert "secret" not in repr(await desk.get(a.id))
        assert not await desk.erase_requester("ann@example.com", by=Actor("root", Role.ADMIN))

    run(scenario())


def test_async_memory_store_shares_a_memory_store_with_a_sync_desk() -> None:
    """A `MemoryStore` wrapped by `AsyncMemoryStore` is the same tickets for both desks."""
    shared = MemoryStore()
    sync = Helpdesk(store=shared, clock=FakeClock(START))
    t = sync.open_ticket(subject="VPN", requester=ANN)

    async def scenario() -> None:
        desk = AsyncHelpdesk(store=AsyncMemoryStore(shared), clock=FakeClock(START))
        await desk.agent_reply(t.id, "On it", by="bob")

    run(scenario())
    assert "answered" == sync.get(t.id).status


def test_async_sqlite_store_reopens_a_file_a_sync_store_reads(tmp_path: Path) -> None:
    """What `AsyncSQLiteStore` commits is in the file: a sync `SQLiteStore` reads it back."""
    from ticketflow import SQLiteStore  # noqa: PLC0415

    path = tmp_path / "desk.db"

    async def scenario() -> str:
        async with AsyncHelpdesk(store=AsyncSQLiteStore(path), clock=FakeClock(START)) as desk:
            t = await desk.open_ticket(subject="VPN", requester=ANN)
            await desk.resolve(t.id, by="bob")
            return t.id

    ticket_id = run(scenario())
    store = SQLiteStore(path)
    try:
        assert "resolved" == store.get(ticket_id).status
    finally:
        store.close()


def test_a_closed_async_sqlite_store_refuses_calls() -> None:
    """After ``aclose`` the store raises `StoreError`; closing twice is harmless."""

    async def scenario() -> None:
        store = AsyncSQLiteStore()
        await store.aclose()
        await store.aclose()
        with pytest.raises(StoreError, match="closed"):
            await store.count()

    run(scenario())


def test_a_bad_sqlite_path_is_refused_by_the_constructor(tmp_path: Path) -> None:
    """Opening runs in the store's thread but its error reaches the caller."""
    with pytest.raises(StoreError):
        AsyncSQLiteStore(tmp_path / "missing-dir" / "x.db")


def _catching() -> Steps[str]:
    """Steps that catch the store's error at the yield that asked, then go on."""
    try:
        yield methodcaller("get", "nope")
    except TicketNotFound:
        count: int = yield methodcaller("count")
        return f"caught, {count} stored"
    return "not raised"  # pragma: no cover - the store raises


def test_both_drivers_throw_store_errors_into_the_steps() -> None:
    """A store error is raised at the step's ``yield``, by the sync and the async driver."""
    assert "caught, 0 stored" == drive(MemoryStore(), _catching())
    assert "caught, 0 stored" == run(adrive(AsyncMemoryStore(), _catching()))


def test_acall_retries_conflicts_then_gives_up() -> None:
    """`ConflictRetry.acall` retries a coroutine on `ConflictError`, ``attempts`` calls in all."""
    calls: list[int] = []

    async def flaky(fail: int) -> str:
        calls.append(1)
        if len(calls) <= fail:
            raise ConflictError(ticket_id="T1", expected_version=1, actual_version=2)
        return "ok"

    retry = ConflictRetry(attempts=3, backoff=0.0)
    assert "ok" == run(retry.acall(flaky, 2))
    assert 3 == len(calls)
    calls.clear()
    with pytest.raises(ConflictError):
        run(retry.acall(flaky, 5))
    assert 3 == len(calls)


def test_acall_raises_other_errors_at_once() -> None:
    """Only `ConflictError` is retried."""
    calls: list[int] = []

    async def broken() -> Any:
        calls.append(1)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run(ConflictRetry(attempts=5, backoff=0.0).acall(broken))
    assert 1 == len(calls)


class _NoSearchStore:
    """An `AsyncTicketStore` without ``search``: `AsyncHelpdesk.search` takes the fallback."""

    def __init__(self) -> None:
        self._inner = AsyncMemoryStore()
        self.finds = 0

    async def get(self, ticket_id: str) -> Any:
        return await self._inner.get(ticket_id)

    async def commit(self, changes: Any) -> None:
        await self._inner.commit(changes)

    async def events(self, ticket_id: str) -> Any:
        return await self._inner.events(ticket_id)

    async def find(self, query: Any) -> Any:
        self.finds += 1
        return await self._inner.find(query)

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> Any:
        return await self._inner.claim_due(now, limit, lease)

    async def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> Any:
        return await self._inner.claim_outbox(now, limit, lease)

    async def ack_outbox(self, keys: Any) -> None:
        await self._inner.ack_outbox(keys)

    async def outbox_pending(self) -> int:
        return await self._inner.outbox_pending()

    async def queue(self, *, assignee: str | None, department: str | None, limit: int) -> Any:
        return await self._inner.queue(assignee=assignee, department=department, limit=limit)

    async def summaries(self, query: Any) -> Any:
        return await self._inner.summaries(query)

    async def summary_counts(self, by: str, query: Any) -> Any:
        return await self._inner.summary_counts(by, query)

    async def reindex(self, updates: Any) -> int:
        return await self._inner.reindex(updates)

    async def next_due_at(self) -> datetime | None:
        return await self._inner.next_due_at()

    async def count(self) -> int:
        return await self._inner.count()

    async def aclose(self) -> None:
        await self._inner.aclose()


def test_search_on_an_async_store_without_search_takes_the_sync_engines_fallback() -> None:
    """Without ``search``, the tickets ``find`` selects are searched in memory, as `Helpdesk` does.

    The pages (hits, order, summaries, cursors) equal a sync desk's over a store
    without `SearchStore`; customers still see their own public text only.
    """
    from ticketflow.stores import SearchStore  # noqa: PLC0415

    from ._plain_store import PlainStore  # noqa: PLC0415

    def ids() -> Any:
        numbers = iter(range(1, 100))
        return lambda _at: f"T{next(numbers):04d}"

    cy = Requester(name="Cy", email="cy@example.org")

    def fill_sync(desk: Helpdesk) -> None:
        a = desk.open_ticket(subject="Printer on fire", requester=ANN)
        b = desk.open_ticket(subject="Printer jam", requester=cy, description="the printer")
        desk.add_note(a.id, "quokka printer", by="bob")
        desk.agent_reply(b.id, "printer fixed", by="bob")

    plain = PlainStore()
    assert not isinstance(plain, SearchStore)
    sync = Helpdesk(store=plain, clock=FakeClock(START), id_factory=ids())  # type: ignore[arg-type]
    fill_sync(sync)
    first = sync.search("printer", limit=1)
    want = [
        first,
        sync.search("printer", limit=1, cursor=first.next_cursor),
        sync.search("quokka"),
        sync.for_customer(ANN).search("quokka"),
        sync.for_customer(cy).search("printer"),
    ]

    async def scenario() -> tuple[list[Any], int]:
        store = _NoSearchStore()
        assert not isinstance(store, SearchStore)
        async with AsyncHelpdesk(store=store, clock=FakeClock(START), id_factory=ids()) as desk:
            a = await desk.open_ticket(subject="Printer on fire", requester=ANN)
            b = await desk.open_ticket(
                subject="Printer jam", requester=cy, description="the printer"
            )
            await desk.add_note(a.id, "quokka printer", by="bob")
            await desk.agent_reply(b.id, "printer fixed", by="bob")
            before = store.finds
            page = await desk.search("printer", limit=1)
            got = [
                page,
                await desk.search("printer", limit=1, cursor=page.next_cursor),
                await desk.search("quokka"),
                await desk.for_customer(ANN).search("quokka"),
                await desk.for_customer(cy).search("printer"),
            ]
            return got, store.finds - before

    got, finds = run(scenario())
    assert want == got
    assert 5 == finds  # one find per search: the fallback ran, not a store index
    assert 2 == len(got[0].items) + len(got[1].items)
    assert () == got[3].items
