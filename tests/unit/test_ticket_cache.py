"""TicketCache: least-recently-used, bounded; the SQL stores' scans read it without filling it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ticketflow import FakeClock, Helpdesk, InvalidInputError, SQLiteStore, StoreError, Ticket
from ticketflow.stores import IndexUpdate, QueueKey, TicketQuery
from ticketflow.stores import _sqlite as sqlite_module
from ticketflow.stores._cache import TicketCache

from .conftest import ANN

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _ticket(ticket_id: str, version: int = 1) -> Ticket:
    desk = Helpdesk(clock=FakeClock(START), id_factory=lambda _at: ticket_id)
    ticket = desk.open_ticket(subject=ticket_id, requester=ANN)
    return attrs.evolve(ticket, version=version)


TICKETS = {name: _ticket(name) for name in "abcdefgh"}


def test_a_full_cache_drops_the_least_recently_used_ticket() -> None:
    """`get` makes a ticket the most recent: the one dropped is the one used longest ago."""
    cache = TicketCache(3)
    for name in "abc":
        cache.remember(TICKETS[name])
    assert TICKETS["a"] is cache.get("a")  # now b is the least recent
    cache.remember(TICKETS["d"])
    assert ["a", "c", "d"] == sorted(n for n in "abcd" if n in cache)
    assert 3 == len(cache)


def test_remembering_a_newer_version_replaces_the_entry_and_makes_it_recent() -> None:
    """A new version of a cached ticket takes its place and is the most recent one."""
    cache = TicketCache(2)
    cache.remember(TICKETS["a"])
    cache.remember(TICKETS["b"])
    newer = attrs.evolve(TICKETS["a"], version=2)
    cache.remember(newer)
    cache.remember(TICKETS["c"])  # drops b, not the re-remembered a
    assert newer is cache.get("a")
    assert cache.get("b") is None


def test_current_neither_inserts_nor_reorders() -> None:
    """A scan's lookup splits rows into current hits and ids to load; the order of use stays."""
    cache = TicketCache(2)
    cache.remember(TICKETS["a"])
    cache.remember(TICKETS["b"])
    found, missing = cache.current([("a", 1), ("b", 2), ("c", 1)])
    assert {"a": TICKETS["a"]} == found
    assert ["b", "c"] == missing  # b is cached at version 1, not the 2 the row has
    cache.remember(TICKETS["d"])  # a is still the least recent: the scan did not touch it
    assert "a" not in cache
    assert "b" in cache
    assert "c" not in cache


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    """``cache_size=0`` turns the cache off."""
    cache = TicketCache(0)
    cache.remember(TICKETS["a"])
    assert 0 == len(cache)
    assert cache.get("a") is None


@pytest.mark.parametrize("size", [-1, 1.5, "10", True, None])
def test_a_size_that_is_not_a_whole_number_is_refused(size: object) -> None:
    """The size must be an int >= 0: InvalidInputError naming ``cache_size``."""
    with pytest.raises(InvalidInputError, match="cache_size") as info:
        TicketCache(size)  # type: ignore[arg-type]
    assert "cache_size" == info.value.field


def test_sqlite_store_refuses_a_bad_cache_size() -> None:
    """The store option is checked before the database is opened (a StoreError, like the rest)."""
    with pytest.raises(StoreError, match="cache_size"):
        SQLiteStore(cache_size=-5)


@example(size=2, ops=[("remember", "a"), ("remember", "b"), ("get", "a"), ("remember", "c")])
@given(
    size=st.integers(0, 4),
    ops=st.lists(st.tuples(st.sampled_from(["get", "remember"]), st.sampled_from("abcdef"))),
)
def test_the_cache_agrees_with_a_reference_lru(size: int, ops: list[tuple[str, str]]) -> None:
    """Any sequence of gets and remembers leaves what a list-based LRU would hold."""
    cache = TicketCache(size)
    order: list[str] = []  # least recent first
    for op, name in ops:
        if op == "get":
            hit = cache.get(name)
            assert (name in order) == (hit is not None)
            if name in order:
                order.remove(name)
                order.append(name)
        else:
            cache.remember(TICKETS[name])
            if name in order:
                order.remove(name)
            order.append(name)
            del order[: max(len(order) - size, 0)]
        assert sorted(order) == sorted(n for n in "abcdef" if n in cache)


# --- the SQLite store: scans bypass the cache -------------------------------------------


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the tickets the SQLite store decodes from their rows, in order."""
    seen: list[str] = []
    real = sqlite_module.decode_ticket

    def counting(bodies: Sequence[str], where: str) -> Ticket:
        ticket = real(bodies, where)
        seen.append(ticket.id)
        return ticket

    monkeypatch.setattr(sqlite_module, "decode_ticket", counting)
    return seen


def test_a_scan_larger_than_the_cache_leaves_the_recently_used_tickets_cached(
    tmp_path: Path, decodes: list[str]
) -> None:
    """find, due, queue and claim_due over 12 tickets, cache of 4: the 3 in use stay cached.

    Counted by the decodes the store does: each scan decodes exactly the tickets
    that were not cached, and does not keep them (the next scan decodes them
    again); afterwards, reading the three tickets in use decodes nothing.
    """
    path = tmp_path / "scan.db"
    writer = SQLiteStore(path, synchronous="OFF")
    desk = Helpdesk(store=writer, clock=FakeClock(START))
    made = [desk.open_ticket(subject=str(n), requester=ANN) for n in range(12)]
    writer.reindex([IndexUpdate(t.id, 1, START, QueueKey(None, START, 1)) for t in made])
    writer.close()
    store = SQLiteStore(path, synchronous="OFF", cache_size=4)  # a fresh, empty cache
    working = [t.id for t in made[:3]]
    assert made[:3] == [store.get(i) for i in working]
    assert working == decodes
    others = sorted(t.id for t in made[3:])
    for scan in (
        lambda: store.find(TicketQuery()),
        lambda: store.due(START, 100),
        lambda: store.queue(assignee=None, department=None, limit=100),
        lambda: store.find(TicketQuery()),
        lambda: store.claim_due(START, 100, timedelta(minutes=1)),
    ):
        decodes.clear()
        assert made == scan()
        assert others == sorted(decodes)
    decodes.clear()
    assert made[:3] == [store.get(i) for i in working]
    assert [] == decodes
    store.close()


def test_get_keeps_the_most_recently_read_tickets(tmp_path: Path, decodes: list[str]) -> None:
    """Reading more tickets one by one than the cache holds evicts the least recently read."""
    path = tmp_path / "lru.db"
    writer = SQLiteStore(path, synchronous="OFF")
    desk = Helpdesk(store=writer, clock=FakeClock(START))
    ids = [desk.open_ticket(subject=str(n), requester=ANN).id for n in range(4)]
    writer.close()
    store = SQLiteStore(path, synchronous="OFF", cache_size=3)
    for ticket_id in (ids[0], ids[1], ids[2], ids[0], ids[3]):  # ids[1] is now least recent
        store.get(ticket_id)
    decodes.clear()
    for ticket_id in (ids[0], ids[2], ids[3], ids[1]):
        store.get(ticket_id)
    assert [ids[1]] == decodes
    store.close()
