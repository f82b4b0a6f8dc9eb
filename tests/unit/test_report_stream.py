"""Reports stream: `stream_tickets`' fallbacks, no cache filling, memory flat in the store size."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ticketflow import FakeClock, Helpdesk, MemoryStore, Requester, SQLiteStore, Ticket, workflows
from ticketflow.cli._report import aggregate_store
from ticketflow.stores import Change, StreamStore, TicketQuery, stream_tickets
from ticketflow.stores._summary import SummaryQuery, SummaryRow, SummaryStore

from ._plain_store import PlainStore

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class _Recorder(MemoryStore):
    """A memory store that also keeps every change committed to it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Change] = []

    def commit(self, changes):  # type: ignore[no-untyped-def, override]
        super().commit(changes)
        self.changes.extend(changes)


def _changes(count: int) -> list[Change]:
    """The changes of ``count`` tickets: opened a minute apart, every other one replied to."""
    clock = FakeClock(START)
    recorder = _Recorder()
    desk = Helpdesk(workflow=workflows.liveagent(), store=recorder, clock=clock)
    for i in range(count):
        clock.advance(minutes=1)
        tid = desk.open_ticket(
            subject=f"Ticket {i}", requester=Requester(name="Ann", email="ann@example.org")
        ).id
        if i % 2:
            clock.advance(seconds=30 + i % 17)
            desk.agent_reply(tid, "On it", by="bob")
    return recorder.changes


def _write(path: Path, count: int) -> None:
    store = SQLiteStore(path, synchronous="OFF")
    try:
        store.commit(_changes(count))
    finally:
        store.close()


class _PagedOnly(PlainStore):
    """A store with lists (`SummaryStore`) but no `StreamStore`, whose ``find`` must not run."""

    def summaries(self, query: SummaryQuery) -> list[SummaryRow]:
        return self._inner.summaries(query)

    def summary_counts(self, by: str, query: SummaryQuery) -> dict[str | None, int]:
        return self._inner.summary_counts(by, query)

    def find(self, query: TicketQuery) -> list[Ticket]:
        raise AssertionError("a store with summaries is paged, not read whole")


def test_a_store_with_lists_is_paged_by_its_summaries() -> None:
    """Without ``iter_tickets``, a `SummaryStore` is paged in creation order; ``find`` unused."""
    store = _PagedOnly()
    for change in _changes(23):
        store.commit([change])
    assert isinstance(store, SummaryStore)
    assert not isinstance(store, StreamStore)
    expected = store._inner.find(TicketQuery())
    for batch in (1, 5, 23, 100):
        assert expected == list(stream_tickets(store, batch=batch))  # type: ignore[arg-type]


def test_a_plain_store_is_read_with_find() -> None:
    """A store with neither capability: every ticket, from one ``find``."""
    store = PlainStore()
    for change in _changes(5):
        store.commit([change])
    assert store.find(TicketQuery()) == list(stream_tickets(store))  # type: ignore[arg-type]


def test_sqlite_streams_without_filling_its_cache(tmp_path: Path) -> None:
    """Tickets rebuilt by ``iter_tickets`` are not cached: the working set stays."""
    path = tmp_path / "s.db"
    _write(path, 40)
    store = SQLiteStore(path, cache_size=8)
    try:
        kept = [t.id for t in store.find(TicketQuery(limit=3))]
        for tid in kept:
            store.get(tid)
        before = dict(store._cache._tickets)
        assert 40 == sum(1 for _ in store.iter_tickets(batch=7))
        assert before == dict(store._cache._tickets)
    finally:
        store.close()


def _peak(path: Path) -> int:
    store = SQLiteStore(path, cache_size=0)
    try:
        tracemalloc.start()
        try:
            aggregator = aggregate_store(
                store,
                workflows.liveagent(),
                now=START + timedelta(days=30),
                sla=None,
                by=["assignee"],
                period="day",
            )
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        store.close()
    assert aggregator.tickets == int(path.stem)
    return peak


def test_report_memory_stays_flat_in_the_number_of_tickets(tmp_path: Path) -> None:
    """The report holds a batch of tickets, not the store: 2,500 tickets peak within
    1.5x of 500 (the list it used to build grows five-fold; the per-group
    durations, 8 bytes per ticket and duration, are all that grows)."""
    peaks = {}
    for count in (500, 2_500):
        path = tmp_path / f"{count}.db"
        _write(path, count)
        peaks[count] = _peak(path)
    assert peaks[2_500] < 1.5 * peaks[500], peaks
