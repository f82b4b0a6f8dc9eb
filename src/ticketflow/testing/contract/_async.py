# ruff: noqa: S101, SIM300
# This module is a test suite shipped as a library: pytest's bare asserts are its
# language, and they read `assert expected == actual` (CONVENTIONS.md 7).
"""The async store contract: the tests every `AsyncTicketStore` backend must pass.

Subclass `AsyncStoreContract` and give it a ``make_store`` fixture returning a
factory of fresh, empty async stores (called inside the test's event loop)::

    class TestMyAsyncStore(AsyncStoreContract):
        @pytest.fixture
        def make_store(self):
            return lambda: MyAsyncStore(...)

One capability per class, as in the sync suite (storage, queries, due index and
claims, outbox, reindex, agreement with the sync engine, concurrency); the
stores are driven through a real `ticketflow.AsyncHelpdesk` on a `FakeClock`.

Each test is a plain function that runs its coroutine with ``asyncio.run``: a
fresh event loop per test, as an async test plugin would give, without making
pytest-asyncio (or anyio's plugin) a dependency of every backend's test suite.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import ClassVar, Final, TypeAlias

import pytest

from ..._clock import FakeClock
from ..._engine import AsyncHelpdesk, Helpdesk
from ..._model import Actor, Event, EventKind, Requester, Role, Ticket
from ..._retry import ConflictRetry
from ...exceptions import ConflictError, InvalidInputError, TicketNotFound
from ...stores import Change, IndexUpdate, MemoryStore, TicketStore
from ...stores._async import AsyncTicketStore
from ._base import LEASE, START

__all__ = ["AsyncStoreContract", "AsyncStoreFactory", "SyncStoreFactory"]

AsyncStoreFactory: TypeAlias = Callable[[], AsyncTicketStore]
"""Makes a fresh, empty async store each time it is called (inside the test's loop)."""

SyncStoreFactory: TypeAlias = Callable[[], TicketStore]
"""Makes a fresh, empty sync store of the async store's backend (its ranking twin)."""

_ANN: Final = Requester(name="Ann Example", email="ann@example.com")
_BOB: Final = Requester(name="Bob", email="bob@example.com")
_ADMIN: Final = Actor("root", Role.ADMIN)
_CY: Final = Requester(name="Cy Zanzibar", email="cy@example.org")


def _ids(prefix: str = "T") -> Callable[[datetime], str]:
    numbers = itertools.count(1)
    return lambda _at: f"{prefix}{next(numbers):06d}"


def _run(
    make_store: AsyncStoreFactory,
    scenario: Callable[[AsyncTicketStore], Awaitable[None]],
) -> None:
    """Run ``scenario`` on a fresh store in a fresh event loop; close the store after."""

    async def main() -> None:
        store = make_store()
        try:
            await scenario(store)
        finally:
            await store.aclose()

    asyncio.run(main())


def _desk(
    store: AsyncTicketStore, clock: FakeClock, *, outbox: tuple[str, ...] = ()
) -> AsyncHelpdesk:
    """A LiveAgent async desk with sequential ids (``T000001``...)."""
    return AsyncHelpdesk(store=store, clock=clock, id_factory=_ids(), outbox=outbox)


class AsyncStorageContract:
    """Reading back, `TicketNotFound`, optimistic concurrency, atomic commits."""

    def test_get_returns_what_was_committed(self, make_store: AsyncStoreFactory) -> None:
        """A ticket reads back equal to the one the last commit wrote, timeline included."""

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            t = await desk.open_ticket(subject="VPN", requester=_ANN, description="down")
            t = await desk.agent_reply(t.id, "Restarting", by="bob")
            t = await desk.customer_reply(t.id, "Thanks ✓")
            assert t == await store.get(t.id)
            assert t.timeline == await store.events(t.id)
            assert 1 == await store.count()

        _run(make_store, scenario)

    def test_missing_ticket_raises_ticket_not_found(self, make_store: AsyncStoreFactory) -> None:
        """Reading an id no ticket has raises `TicketNotFound`, from the store and the desk."""

        async def scenario(store: AsyncTicketStore) -> None:
            with pytest.raises(TicketNotFound):
                await store.get("nope")
            with pytest.raises(TicketNotFound):
                await _desk(store, FakeClock(START)).resolve("nope", by="bob")

        _run(make_store, scenario)

    def test_stale_commit_raises_conflict_and_changes_nothing(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """A change against an old version raises `ConflictError` with both versions."""

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            t = await desk.open_ticket(subject="VPN", requester=_ANN)
            second = await desk.add_note(t.id, "checked", by="bob")
            with pytest.raises(ConflictError) as caught:
                await store.commit([Change(second, 1)])
            assert (t.id, 1, 2) == (
                caught.value.ticket_id,
                caught.value.expected_version,
                caught.value.actual_version,
            )
            assert second == await store.get(t.id)

        _run(make_store, scenario)

    def test_a_refused_multi_change_commit_writes_nothing(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """Several changes commit together or not at all: a stale one keeps out a new one."""

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            t = await desk.open_ticket(subject="VPN", requester=_ANN)
            second = await desk.add_note(t.id, "checked", by="bob")
            other = Helpdesk(clock=FakeClock(START), id_factory=_ids("N"))
            new = other.open_ticket(subject="Printer", requester=_BOB)
            with pytest.raises(ConflictError):
                await store.commit([Change(new, 0), Change(second, 1)])
            with pytest.raises(TicketNotFound):
                await store.get(new.id)
            assert 1 == await store.count()

        _run(make_store, scenario)

    def test_merge_and_purge_commit_through_the_async_desk(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """A merge (two changes) and a purge (a rewrite) read back as committed."""

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            a = await desk.open_ticket(subject="VPN", requester=_ANN, description="secret")
            b = await desk.open_ticket(subject="VPN again", requester=_ANN)
            target = await desk.merge(a.id, b.id, by="bob")
            assert target == await store.get(b.id)
            assert b.id == (await store.get(a.id)).merged_into
            result = await desk.purge(a.id, by=_ADMIN)
            assert result.ticket == await store.get(a.id)
            assert (b.id,) == result.scrubbed
            assert "secret" not in repr(await store.get(b.id))

        _run(make_store, scenario)


class AsyncQueryContract:
    """`find`, the work queue, lists and counts, through the async desk."""

    def test_find_queue_list_and_counts(self, make_store: AsyncStoreFactory) -> None:
        """Every read answers as the sync engine on a `MemoryStore` answers the same history."""

        async def scenario(store: AsyncTicketStore) -> None:
            clock = FakeClock(START)
            desk = _desk(store, clock)
            sync_clock = FakeClock(START)
            sync = Helpdesk(clock=sync_clock, id_factory=_ids())
            for i in range(6):
                requester = _ANN if i % 2 else _BOB
                await desk.open_ticket(subject=f"s{i}", requester=requester, priority="high")
                sync.open_ticket(subject=f"s{i}", requester=requester, priority="high")
                clock.advance(timedelta(minutes=1))
                sync_clock.advance(timedelta(minutes=1))
            await desk.resolve("T000002", by="bob")
            sync.resolve("T000002", by="bob")
            await desk.assign("T000003", "carol", by="bob")
            sync.assign("T000003", "carol", by="bob")
            assert sync.find(requester="ANN@example.com") == await desk.find(
                requester="ANN@example.com"
            )
            assert sync.find(status="new", limit=2) == await desk.find(status="new", limit=2)
            assert sync.queue(limit=10) == await desk.queue(limit=10)
            assert sync.queue(agent="carol") == await desk.queue(agent="carol")
            first = await desk.list(sort="-created", limit=4)
            assert sync.list(sort="-created", limit=4) == first
            assert first.next_cursor is not None
            rest = await desk.list(sort="-created", limit=4, cursor=first.next_cursor)
            assert sync.list(sort="-created", limit=4, cursor=first.next_cursor) == rest
            assert sync.counts("status") == await desk.counts("status")
            assert sync.counts("assignee", status="new") == await desk.counts(
                "assignee", status="new"
            )
            assert sync.allowed("T000002") == await desk.allowed("T000002")

        _run(make_store, scenario)


class AsyncDueContract:
    """The due index, claims and their lease, `run_due`."""

    def test_claims_are_exclusive_until_the_lease_ends(self, make_store: AsyncStoreFactory) -> None:
        """A claimed due ticket is not handed out again before its lease ends, then is."""

        async def scenario(store: AsyncTicketStore) -> None:
            clock = FakeClock(START)
            desk = _desk(store, clock)
            t = await desk.open_ticket(subject="VPN", requester=_ANN)
            until = START + timedelta(hours=1)
            await desk.postpone(t.id, until, by="bob")
            assert until == await store.next_due_at()
            assert [] == await store.claim_due(until - timedelta(seconds=1), 10, LEASE)
            claimed = await store.claim_due(until, 10, LEASE)
            assert [t.id] == [c.id for c in claimed]
            assert [] == await store.claim_due(until, 10, LEASE)
            again = await store.claim_due(until + LEASE, 10, LEASE)
            assert [t.id] == [c.id for c in again]

        _run(make_store, scenario)

    def test_run_due_wakes_a_postponed_ticket(self, make_store: AsyncStoreFactory) -> None:
        """`AsyncHelpdesk.run_due` fires the wake rule at its time, once."""

        async def scenario(store: AsyncTicketStore) -> None:
            clock = FakeClock(START)
            desk = AsyncHelpdesk(store=store, clock=clock, id_factory=_ids())
            t = await desk.open_ticket(subject="VPN", requester=_ANN)
            await desk.postpone(t.id, START + timedelta(hours=1), by="bob")
            assert 0 == await desk.run_due()
            clock.advance(timedelta(hours=1))
            assert 1 == await desk.run_due()
            assert "postponed" != (await desk.get(t.id)).status
            assert 0 == await desk.run_due()
            assert await store.next_due_at() is None

        _run(make_store, scenario)

    def test_reindex_applies_only_at_the_stored_version(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """``reindex`` sets the due time of tickets still at the given version only."""

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            t = await desk.open_ticket(subject="VPN", requester=_ANN)
            at = START + timedelta(days=1)
            assert 0 == await store.reindex([IndexUpdate(t.id, t.version + 1, at, None)])
            assert await store.next_due_at() is None
            assert 1 == await store.reindex([IndexUpdate(t.id, t.version, at, None)])
            assert at == await store.next_due_at()
            assert t == await store.get(t.id)

        _run(make_store, scenario)


class AsyncOutboxContract:
    """Outbox entries written with the commit; claim, acknowledge, dispatch."""

    def test_outbox_entries_are_claimed_acknowledged_and_dispatched(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """Each outbox event is pending until acknowledged; `dispatch` delivers it."""

        async def scenario(store: AsyncTicketStore) -> None:
            clock = FakeClock(START)
            desk = _desk(store, clock, outbox=("note_added",))
            t = await desk.open_ticket(subject="VPN", requester=_ANN)
            await desk.add_note(t.id, "one", by="bob")
            await desk.add_note(t.id, "two", by="bob")
            assert 2 == await store.outbox_pending()
            entries = await store.claim_outbox(START, 1, LEASE)
            assert [(t.id, 1)] == [(e.ticket_id, e.position) for e in entries]
            await store.ack_outbox([(t.id, 1)])
            assert 1 == await store.outbox_pending()
            seen: list[tuple[str, str]] = []

            def record(ticket: Ticket, event: Event) -> None:
                seen.append((ticket.id, event.data["body"]))

            desk.subscribe(record, ["note_added"])
            assert 1 == await desk.dispatch(now=START + LEASE)
            assert [(t.id, "two")] == seen
            assert 0 == await store.outbox_pending()

        _run(make_store, scenario)


class AsyncAgreementContract:
    """The async desk on this store agrees with the sync desk on a `MemoryStore`."""

    def test_a_history_reads_back_as_the_sync_engine_made_it(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """The same commands at the same times make equal tickets: one pipeline, two drivers."""

        async def scenario(store: AsyncTicketStore) -> None:
            clock, sync_clock = FakeClock(START), FakeClock(START)
            desk = _desk(store, clock)
            sync = Helpdesk(store=MemoryStore(), clock=sync_clock, id_factory=_ids())
            steps: list[tuple[str, tuple[object, ...], dict[str, object]]] = [
                ("open_ticket", (), {"subject": "VPN", "requester": _ANN}),
                ("open_ticket", (), {"subject": "Mail", "requester": _ANN}),
                ("agent_reply", ("T000001", "Looking"), {"by": "bob"}),
                ("customer_reply", ("T000001", "Still down"), {}),
                ("add_tags", ("T000001", "network", "vpn"), {"by": "bob"}),
                ("set_priority", ("T000002", "urgent"), {"by": "bob"}),
                ("merge", ("T000002", "T000001"), {"by": "bob"}),
                ("customer_reply", ("T000002", "Any news?"), {}),
                ("resolve", ("T000001",), {"by": "bob"}),
                ("confirm_resolution", ("T000001", 5), {}),
                ("customer_reply", ("T000001", "Again broken"), {}),
            ]
            for name, args, kwargs in steps:
                mine = await getattr(desk, name)(*args, **kwargs)
                theirs = getattr(sync, name)(*args, **kwargs)
                assert theirs == mine
                clock.advance(timedelta(minutes=7))
                sync_clock.advance(timedelta(minutes=7))
            for ticket in sync.find():
                assert ticket == await desk.get(ticket.id)

        _run(make_store, scenario)


class AsyncConcurrencyContract:
    """Many coroutines, few tickets: conflicts retried, every acknowledged command once."""

    concurrency_commands: ClassVar[int] = 500
    """How many coroutines write at once."""
    concurrency_tickets: ClassVar[int] = 20
    """How many tickets they share."""
    expect_races: ClassVar[bool] = False
    """Whether the store interleaves a read and a commit (then conflicts must occur)."""

    def test_concurrent_commands_are_each_stored_exactly_once(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """N coroutines add notes to M shared tickets with `ConflictRetry`: each note once."""
        counts = collections.Counter[str]()

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            tickets = [
                (await desk.open_ticket(subject=f"t{i}", requester=_ANN)).id
                for i in range(self.concurrency_tickets)
            ]
            retry = ConflictRetry(attempts=1_000, backoff=0.001, max_backoff=0.02)

            async def note(ticket_id: str, body: str) -> Ticket:
                try:
                    return await desk.add_note(ticket_id, body, by="bob")
                except ConflictError:
                    counts["conflicts"] += 1
                    raise

            async def one(i: int) -> str:
                await retry.acall(note, tickets[i % len(tickets)], f"note {i}")
                return f"note {i}"

            results = await asyncio.gather(
                *(one(i) for i in range(self.concurrency_commands)), return_exceptions=True
            )
            acknowledged = [r for r in results if isinstance(r, str)]
            stored = [
                e.data["body"]
                for ticket_id in tickets
                for e in (await store.get(ticket_id)).timeline
                if e.kind is EventKind.NOTE_ADDED
            ]
            assert sorted(acknowledged) == sorted(stored)
            assert len(set(stored)) == len(stored)
            assert self.concurrency_commands == len(acknowledged)
            for ticket_id in tickets:
                t = await store.get(ticket_id)
                assert len(t.timeline) == t.version  # one event per commit, no gaps

        _run(make_store, scenario)
        if self.expect_races:
            assert counts["conflicts"] > 0


async def _fill_async(desk: AsyncHelpdesk) -> list[str]:
    """Four tickets whose words are known (the sync `SearchContract`'s), through ``desk``."""
    a = await desk.open_ticket(
        subject="Printer on fire", requester=_ANN, description="The café printer smokes"
    )
    b = await desk.open_ticket(subject="VPN down", requester=_CY, description="No tunnel at noon")
    c = await desk.open_ticket(subject="Printer jam", requester=_CY, priority="high")
    d = await desk.open_ticket(subject="Mailbox full", requester=_ANN)
    await desk.agent_reply(b.id, "Please restart the router", by="bob")
    await desk.customer_reply(b.id, "The printer is fine, the VPN is not")
    await desk.add_note(c.id, "quokka suspected: check the toner supplier", by="bob")
    await desk.add_note(d.id, "printer printer printer", by="bob")
    return [a.id, b.id, c.id, d.id]


def _fill_sync(desk: Helpdesk) -> list[str]:
    """`_fill_async`'s tickets, through a sync desk (the same ids and times on a fresh clock)."""
    a = desk.open_ticket(
        subject="Printer on fire", requester=_ANN, description="The café printer smokes"
    )
    b = desk.open_ticket(subject="VPN down", requester=_CY, description="No tunnel at noon")
    c = desk.open_ticket(subject="Printer jam", requester=_CY, priority="high")
    d = desk.open_ticket(subject="Mailbox full", requester=_ANN)
    desk.agent_reply(b.id, "Please restart the router", by="bob")
    desk.customer_reply(b.id, "The printer is fine, the VPN is not")
    desk.add_note(c.id, "quokka suspected: check the toner supplier", by="bob")
    desk.add_note(d.id, "printer printer printer", by="bob")
    return [a.id, b.id, c.id, d.id]


_SEARCHES: Final[tuple[tuple[str, dict[str, object]], ...]] = (
    ("printer", {}),
    ("printer router", {}),
    ("CAFE", {}),
    ("zanzibar", {}),
    ("quokka", {}),
    ("printer-smokes", {}),
    ("smokes-printer", {}),
    ("printer", {"priority": "high"}),
    ("printer", {"requester": "ANN@example.com"}),
    ("printer", {"status": "open"}),
    ("printer", {"category": "closed"}),
)
"""The agents' searches compared with the sync store: terms, phrases, accents, filters."""

_BAD_SEARCHES: Final[tuple[tuple[object, dict[str, object]], ...]] = (
    ("", {}),
    ("   ", {}),
    ('* - "', {}),
    (" ".join(["w"] * 17), {}),
    ("x" * 1001, {}),
    (42, {}),
    ("a\x00b", {}),
    ("printer", {"limit": 0}),
    ("printer", {"limit": 1001}),
    ("printer", {"limit": True}),
    ("printer", {"cursor": "not-a-cursor"}),
    ("printer", {"cursor": ""}),
    ("printer", {"status": "no-such-status"}),
)
"""Refused searches: bad text, limits, cursors and filters."""


class AsyncSearchContract:
    """`AsyncHelpdesk.search` and the customers' search agree with the sync store's.

    ``make_sync_store`` (optional; the test needing it is skipped without it)
    makes a fresh sync store of the same backend: the same tickets written
    through a sync `Helpdesk` must be found in the same order, with the same
    summaries and cursors, since both desks run the same search code and the
    same ranking.
    """

    @pytest.fixture
    def make_sync_store(self) -> SyncStoreFactory | None:
        """No sync twin unless the test class gives one."""
        return None

    def test_search_finds_what_the_sync_store_finds_in_the_same_order(
        self, make_store: AsyncStoreFactory, make_sync_store: SyncStoreFactory | None
    ) -> None:
        """Every search, page and customer search equals the sync store's on the same data."""
        if make_sync_store is None:
            pytest.skip("no make_sync_store fixture: no sync twin to compare rankings with")
        sync_store = make_sync_store()
        try:
            sync_desk = Helpdesk(store=sync_store, clock=FakeClock(START), id_factory=_ids())
            sync_ids = _fill_sync(sync_desk)
            expected = [sync_desk.search(text, **f) for text, f in _SEARCHES]  # type: ignore[arg-type]
            first = sync_desk.search("printer", limit=2)
            assert first.next_cursor is not None
            expected_pages = [first, sync_desk.search("printer", limit=2, cursor=first.next_cursor)]
            expected_customer = [
                sync_desk.for_customer(who).search(text)
                for who in (_ANN, _CY)
                for text in ("printer", "quokka", "tunnel")
            ]
        finally:
            close = getattr(sync_store, "close", None)
            if close is not None:
                close()

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            assert sync_ids == await _fill_async(desk)
            for (text, f), want in zip(_SEARCHES, expected, strict=True):
                assert want == await desk.search(text, **f), (text, f)  # type: ignore[arg-type]
            page = await desk.search("printer", limit=2)
            assert expected_pages[0] == page
            assert expected_pages[1] == await desk.search(
                "printer", limit=2, cursor=page.next_cursor
            )
            got_customer = [
                await desk.for_customer(who).search(text)
                for who in (_ANN, _CY)
                for text in ("printer", "quokka", "tunnel")
            ]
            assert expected_customer == got_customer

        _run(make_store, scenario)

    def test_search_matches_every_term_and_pages_by_cursor(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """The hits are the tickets holding every term; cursor pages add up to the whole."""

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            a, b, c, d = await _fill_async(desk)
            found = await desk.search("printer", limit=1000)
            assert {a, b, c, d} == {s.id for s in found.items}
            assert found.next_cursor is None
            assert d == found.items[0].id  # "printer" four times in a short text
            assert [b] == [s.id for s in (await desk.search("printer router")).items]
            assert [c] == [s.id for s in (await desk.search("quokka")).items]
            paged: list[str] = []
            cursor = None
            while True:
                page = await desk.search("printer", limit=1, cursor=cursor)
                paged.extend(s.id for s in page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert [s.id for s in found.items] == paged

        _run(make_store, scenario)

    def test_customers_search_their_own_public_text_only(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """A customer's search never shows another's ticket, nor matches a private note."""

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            a, b, c, _d = await _fill_async(desk)
            ann, cy = desk.for_customer(_ANN), desk.for_customer(_CY)
            assert [a] == [v.id for v in (await ann.search("printer")).items]
            assert () == (await ann.search("tunnel")).items
            assert () == (await cy.search("quokka")).items
            assert () == (await cy.search("toner supplier")).items
            views = (await cy.search("printer")).items
            assert {b, c} == {v.id for v in views}
            assert [] == [m.body for v in views for m in v.messages if "quokka" in m.body]

        _run(make_store, scenario)

    def test_bad_searches_raise_what_the_sync_desk_raises(
        self, make_store: AsyncStoreFactory
    ) -> None:
        """Each refused search raises the sync desk's `InvalidInputError`: same field, message."""
        sync_desk = Helpdesk(clock=FakeClock(START), id_factory=_ids())
        _fill_sync(sync_desk)
        expected = []
        for text, extra in _BAD_SEARCHES:
            with pytest.raises(InvalidInputError) as caught:
                sync_desk.search(text, **extra)  # type: ignore[arg-type]
            expected.append((caught.value.field, str(caught.value)))

        async def scenario(store: AsyncTicketStore) -> None:
            desk = _desk(store, FakeClock(START))
            await _fill_async(desk)
            ann = desk.for_customer(_ANN)
            for (text, extra), want in zip(_BAD_SEARCHES, expected, strict=True):
                with pytest.raises(InvalidInputError) as caught:
                    await desk.search(text, **extra)  # type: ignore[arg-type]
                assert want == (caught.value.field, str(caught.value))
            with pytest.raises(InvalidInputError) as caught:
                await ann.search("")
            assert "text" == caught.value.field
            # A cursor of the agents' search is refused by a customer's.
            page = await desk.search("printer", limit=1)
            with pytest.raises(InvalidInputError) as caught:
                await ann.search("printer", cursor=page.next_cursor)
            assert "cursor" == caught.value.field

        _run(make_store, scenario)


class AsyncStoreContract(
    AsyncConcurrencyContract,
    AsyncSearchContract,
    AsyncAgreementContract,
    AsyncOutboxContract,
    AsyncDueContract,
    AsyncQueryContract,
    AsyncStorageContract,
):
    """Base class of the async store contract suite: subclass it, give it ``make_store``.

    ``make_store`` (required) returns an `AsyncStoreFactory`: each call, made
    inside the test's event loop, returns a fresh, empty `AsyncTicketStore`;
    the suite closes each with ``aclose``. Class attributes:
    ``concurrency_commands`` and ``concurrency_tickets`` (500 coroutines on 20
    tickets), and ``expect_races``: set it for a store whose calls suspend
    (a thread, a network), so that the concurrency test also asserts that
    conflicts happened and were retried. ``make_sync_store`` (optional)
    returns a `SyncStoreFactory` of the same backend, against which search
    rankings are compared (see `AsyncSearchContract`).
    """
