"""MemoryStore: atomic commits, optimistic concurrency, queries ordered by id."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from unittest import mock

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketflow import (
    Category,
    ConflictError,
    Event,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    MemoryStore,
    Priority,
    StoreError,
    Ticket,
    TicketStore,
    WorkflowError,
    workflows,
)
from ticketflow.stores import Change, IndexUpdate, QueueKey, TicketQuery

from .conftest import ANN

OpenTicket = Callable[..., Ticket]

THREADS = 16


def bumped(ticket: Ticket, **changes: object) -> Ticket:
    """Return the next version of ``ticket`` with ``changes`` (what a writer would commit)."""
    return attrs.evolve(ticket, version=ticket.version + 1, **changes)  # type: ignore[arg-type]


def test_memory_store_is_a_ticket_store() -> None:
    """MemoryStore satisfies the TicketStore protocol."""
    assert isinstance(MemoryStore(), TicketStore)


def test_get_returns_what_was_committed(store: MemoryStore, open_ticket: OpenTicket) -> None:
    """get() returns the last committed snapshot and events() its timeline."""
    ticket = open_ticket()
    newer = bumped(ticket, assignee="Printer on fire")
    store.commit([Change(newer, 1)])
    assert (newer, newer.timeline) == (store.get(ticket.id), store.events(ticket.id))


def test_commit_is_atomic_across_two_changes(store: MemoryStore, open_ticket: OpenTicket) -> None:
    """When the second change of a commit is stale, the first is not written either."""
    a, b = open_ticket(), open_ticket()
    store.commit([Change(bumped(b, assignee="someone else"), 1)])
    with pytest.raises(ConflictError) as info:
        store.commit([Change(bumped(a, assignee="mine"), 1), Change(bumped(b, assignee="mine"), 1)])
    assert (b.id, 1, 2) == (
        info.value.ticket_id,
        info.value.expected_version,
        info.value.actual_version,
    )
    assert (a, "someone else") == (store.get(a.id), store.get(b.id).assignee)


def test_commit_writes_every_change(store: MemoryStore, open_ticket: OpenTicket) -> None:
    """A commit of two fresh changes writes both."""
    a, b = open_ticket(), open_ticket()
    a2, b2 = bumped(a, assignee="A"), bumped(b, assignee="B")
    store.commit([Change(a2, 1), Change(b2, 1)])
    assert (a2, b2) == (store.get(a.id), store.get(b.id))


def test_conflict_error_carries_expected_and_actual_versions(
    store: MemoryStore, desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """A stale save raises ConflictError with both versions, named in the message."""
    ticket = open_ticket()
    desk.add_tags(ticket.id, "a")
    desk.add_tags(ticket.id, "b")
    with pytest.raises(ConflictError) as info:
        store.commit([Change(bumped(ticket), 1)])
    error = info.value
    assert (ticket.id, 1, 3) == (error.ticket_id, error.expected_version, error.actual_version)
    assert "expected version 1" in str(error)
    assert "store has version 3" in str(error)
    assert isinstance(error, StoreError)


def test_creating_the_same_ticket_twice_conflicts(
    store: MemoryStore, open_ticket: OpenTicket
) -> None:
    """A second create (expected_version 0) of an existing id raises ConflictError(0, 1)."""
    ticket = open_ticket()
    with pytest.raises(ConflictError) as info:
        store.commit([Change(attrs.evolve(ticket, assignee="copy"), 0)])
    assert (0, 1) == (info.value.expected_version, info.value.actual_version)
    assert ticket == store.get(ticket.id)


def test_update_of_a_missing_ticket_conflicts(store: MemoryStore, open_ticket: OpenTicket) -> None:
    """Saving version 2 of a ticket the store does not hold raises ConflictError(1, 0)."""
    ticket = open_ticket()
    other = MemoryStore()
    with pytest.raises(ConflictError) as info:
        other.commit([Change(bumped(ticket), 1)])
    assert (1, 0) == (info.value.expected_version, info.value.actual_version)
    assert 0 == other.count()


@pytest.mark.parametrize("jump", [0, 2, -1])
def test_version_must_rise_by_one(store: MemoryStore, open_ticket: OpenTicket, jump: int) -> None:
    """A change whose version is not expected + 1 raises StoreError (not a conflict)."""
    ticket = open_ticket()
    wrong = attrs.evolve(ticket, version=ticket.version + jump, assignee="wrong")
    with pytest.raises(StoreError, match="raise the version by one") as info:
        store.commit([Change(wrong, 1)])
    assert not isinstance(info.value, ConflictError)
    assert ticket == store.get(ticket.id)


def test_create_must_be_version_one(store: MemoryStore, open_ticket: OpenTicket) -> None:
    """A create (expected 0) of a ticket at version 2 raises StoreError and writes nothing."""
    ticket = open_ticket()
    fresh = MemoryStore()
    with pytest.raises(StoreError):
        fresh.commit([Change(bumped(ticket), 0)])
    assert 0 == fresh.count()


def test_bad_version_in_a_later_change_writes_nothing(
    store: MemoryStore, open_ticket: OpenTicket
) -> None:
    """A malformed second change leaves the first unwritten too."""
    a, b = open_ticket(), open_ticket()
    with pytest.raises(StoreError):
        store.commit([Change(bumped(a), 1), Change(attrs.evolve(b, version=5), 1)])
    assert (a, b) == (store.get(a.id), store.get(b.id))


def test_count_and_close(store: MemoryStore, open_ticket: OpenTicket) -> None:
    """count() counts stored tickets; close() forgets them."""
    for _ in range(3):
        open_ticket()
    assert 3 == store.count()
    store.close()
    assert 0 == store.count()


# --- find ---------------------------------------------------------------------------------


@pytest.fixture
def population(desk: Helpdesk, clock: FakeClock) -> dict[str, Ticket]:
    """Six tickets with distinct statuses, assignees, departments, priorities and tags."""
    made = {
        "a": desk.open_ticket(subject="a", requester=ANN, assignee="bob", department="it"),
        "b": desk.open_ticket(
            subject="b", requester=ANN, priority="high", tags=["vip"], department="it"
        ),
        "c": desk.open_ticket(subject="c", requester=ANN, assignee="carol", tags=["vip", "x"]),
        "d": desk.open_ticket(subject="d", requester=ANN, priority="high", assignee="bob"),
        "e": desk.open_ticket(subject="e", requester=ANN, department="sales", tags=["x"]),
        "f": desk.open_ticket(subject="f", requester=ANN, priority="urgent"),
    }
    clock.advance(minutes=1)
    desk.agent_reply(made["a"].id, "hi", by="bob")  # answered
    desk.resolve(made["c"].id)  # resolved
    desk.agent_reply(made["d"].id, "hi", by="bob")
    desk.customer_reply(made["d"].id, "ho")  # open
    desk.close(made["f"].id)  # closed
    return {k: desk.get(v.id) for k, v in made.items()}


def _names(tickets: Sequence[Ticket], population: dict[str, Ticket]) -> list[str]:
    by_id = {t.id: name for name, t in population.items()}
    return [by_id[t.id] for t in tickets]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (TicketQuery(), ["a", "b", "c", "d", "e", "f"]),
        (TicketQuery(statuses=frozenset({"new"})), ["b", "e"]),
        (TicketQuery(statuses=frozenset({"answered", "open"})), ["a", "d"]),
        (TicketQuery(assignee="bob"), ["a", "d"]),
        (TicketQuery(department="it"), ["a", "b"]),
        (TicketQuery(priority=Priority.HIGH), ["b", "d"]),
        (TicketQuery(tag="vip"), ["b", "c"]),
        (TicketQuery(tag="x", department="sales"), ["e"]),
        (TicketQuery(assignee="bob", priority=Priority.HIGH), ["d"]),
        (TicketQuery(limit=2), ["a", "b"]),
        (TicketQuery(tag="x", limit=1), ["c"]),
        (TicketQuery(limit=0), []),
        (TicketQuery(assignee="nobody"), []),
    ],
)
def test_store_find_filters_and_orders_by_id(
    store: MemoryStore, population: dict[str, Ticket], query: TicketQuery, expected: list[str]
) -> None:
    """find() returns the tickets matching every criterion, ordered by id, up to limit."""
    found = store.find(query)
    assert expected == _names(found, population)
    assert sorted(t.id for t in found) == [t.id for t in found]


def test_store_find_returns_the_current_snapshots(
    store: MemoryStore, population: dict[str, Ticket]
) -> None:
    """find() returns the stored snapshots, not stale ones."""
    assert list(population.values()) == store.find(TicketQuery())


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"category": "new"}, ["b", "e"]),
        ({"category": Category.PENDING}, ["a"]),
        ({"category": ["open", "pending"]}, ["a", "d"]),
        ({"category": "closed"}, ["f"]),
        ({"category": "resolved", "tag": "vip"}, ["c"]),
        ({"status": "new"}, ["b", "e"]),
        ({"status": ["new", "resolved"], "category": "new"}, ["b", "e"]),
        ({"status": "open", "category": "new"}, []),
        ({"assignee": "bob"}, ["a", "d"]),
        ({"department": "it", "priority": "high"}, ["b"]),
        ({"priority": Priority.URGENT}, ["f"]),
        ({"tag": "x", "limit": 1}, ["c"]),
    ],
)
def test_helpdesk_find(
    desk: Helpdesk, population: dict[str, Ticket], kwargs: dict[str, object], expected: list[str]
) -> None:
    """Helpdesk.find filters by status, category, assignee, department, priority, tag, limit."""
    assert expected == _names(desk.find(**kwargs), population)  # type: ignore[arg-type]


def test_helpdesk_find_refuses_an_unknown_status(desk: Helpdesk) -> None:
    """find(status=...) with an undeclared status raises WorkflowError naming it."""
    with pytest.raises(WorkflowError) as info:
        desk.find(status="limbo")
    assert "limbo" == info.value.item


def test_helpdesk_find_refuses_an_unknown_category(desk: Helpdesk) -> None:
    """find(category=...) with an unknown category raises InvalidInputError(field='category')."""
    with pytest.raises(InvalidInputError) as info:
        desk.find(category="limbo")
    assert "category" == info.value.field


def test_helpdesk_find_refuses_an_unknown_priority(desk: Helpdesk) -> None:
    """find(priority=...) with an unknown priority raises InvalidInputError."""
    with pytest.raises(InvalidInputError):
        desk.find(priority="critical")


# --- races --------------------------------------------------------------------------------


def test_concurrent_commits_at_the_same_version_have_one_winner(
    store: MemoryStore, open_ticket: OpenTicket
) -> None:
    """N threads commit the same ticket at the same version: 1 success, N-1 ConflictError."""
    ticket = open_ticket()
    candidates = [bumped(ticket, assignee=f"writer {i}") for i in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    won: list[int] = []
    conflicts: list[ConflictError] = []
    others: list[BaseException] = []

    def write(i: int) -> None:
        barrier.wait()
        try:
            store.commit([Change(candidates[i], 1)])
        except ConflictError as exc:
            conflicts.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            others.append(exc)
        else:
            won.append(i)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert ([], 1, THREADS - 1) == (others, len(won), len(conflicts))
    assert {(1, 2)} == {(c.expected_version, c.actual_version) for c in conflicts}
    assert candidates[won[0]] == store.get(ticket.id)


class _ReadTogetherStore:
    """A TicketStore that makes every reader of one ticket wait for the others first.

    So all threads read the same version before any of them commits: the engine's
    optimistic concurrency must then let exactly one through.
    """

    def __init__(self, inner: MemoryStore, parties: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(parties)
        self.armed = False

    def get(self, ticket_id: str) -> Ticket:
        ticket = self.inner.get(ticket_id)
        if self.armed:
            self.barrier.wait(timeout=10)
        return ticket

    def commit(self, changes: Sequence[Change]) -> None:
        self.inner.commit(changes)

    def events(self, ticket_id: str) -> tuple[Event, ...]:
        return self.inner.events(ticket_id)

    def find(self, query: TicketQuery) -> list[Ticket]:
        return self.inner.find(query)

    def count(self) -> int:
        return self.inner.count()

    def close(self) -> None:
        self.inner.close()


def test_concurrent_commands_on_one_ticket_have_one_winner(clock: FakeClock) -> None:
    """N threads tag a ticket they all read at version 1: 1 succeeds, N-1 ConflictError."""
    store = _ReadTogetherStore(MemoryStore(), THREADS)
    desk = Helpdesk(workflows.liveagent(), store=store, clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    store.armed = True
    won: list[str] = []
    conflicts: list[ConflictError] = []
    others: list[BaseException] = []

    def tag(i: int) -> None:
        try:
            desk.add_tags(ticket.id, f"t{i}", by=f"agent{i}")
        except ConflictError as exc:
            conflicts.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            others.append(exc)
        else:
            won.append(f"t{i}")

    threads = [threading.Thread(target=tag, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    stored = store.inner.get(ticket.id)
    assert ([], 1, THREADS - 1) == (others, len(won), len(conflicts))
    assert (2, frozenset(won)) == (stored.version, stored.tags)


# --- the due-time index ---------------------------------------------------------------

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_due_returns_only_tickets_due_by_now_earliest_first(
    store: MemoryStore, open_ticket: OpenTicket
) -> None:
    """due(now) lists tickets whose due_at <= now, ordered by due_at, up to limit."""
    a, b, c = open_ticket(), open_ticket(), open_ticket()
    hour = timedelta(hours=1)
    store.commit([Change(bumped(a), 1, due_at=T0 + 3 * hour)])
    store.commit([Change(bumped(b), 1, due_at=T0 + hour)])
    store.commit([Change(bumped(c), 1, due_at=T0 + 9 * hour)])
    assert [b.id, a.id] == [t.id for t in store.due(T0 + 5 * hour, limit=10)]
    assert [b.id] == [t.id for t in store.due(T0 + 5 * hour, limit=1)]
    assert [] == store.due(T0, limit=10)
    assert T0 + hour == store.next_due_at()


def test_due_index_follows_every_commit(store: MemoryStore, open_ticket: OpenTicket) -> None:
    """Moving or clearing a due time replaces the old entry: no stale or repeated tickets."""
    ticket = open_ticket()
    v2 = bumped(ticket)
    store.commit([Change(v2, 1, due_at=T0)])
    v3 = bumped(v2)
    store.commit([Change(v3, 2, due_at=T0 + timedelta(days=2))])
    v4 = bumped(v3)
    store.commit([Change(v4, 3, due_at=T0)])  # back to a time the heap saw before
    assert [v4] == store.due(T0 + timedelta(days=3), limit=10)
    assert [v4] == store.due(T0 + timedelta(days=3), limit=10)  # due() does not consume
    store.commit([Change(bumped(v4), 4, due_at=None)])
    assert ([], None) == (store.due(T0 + timedelta(days=3), limit=10), store.next_due_at())


def test_a_failed_commit_leaves_the_due_index_alone(
    store: MemoryStore, open_ticket: OpenTicket
) -> None:
    """A stale change indexes nothing."""
    ticket = open_ticket()
    with pytest.raises(ConflictError):
        store.commit([Change(bumped(ticket), 5, due_at=T0)])
    assert (None, []) == (store.next_due_at(), store.due(T0, limit=10))


# --- the work queue -------------------------------------------------------------------------


def test_queue_returns_the_current_snapshot_of_each_queued_ticket(
    store: MemoryStore, open_ticket: OpenTicket
) -> None:
    """The queue keeps keys, not tickets: a commit keeping its key is seen at its new version."""
    a, b = open_ticket(), open_ticket()
    store.commit([Change(bumped(a), 1, queue=QueueKey(None, T0, 1))])
    store.commit([Change(bumped(b), 1, queue=QueueKey(T0, T0, 1))])
    a3 = bumped(store.get(a.id), assignee="renamed")
    store.commit([Change(a3, 2, queue=QueueKey(None, T0, 1))])
    assert [store.get(b.id), a3] == store.queue(assignee=None, department=None, limit=10)
    assert [] == store.queue(assignee=None, department=None, limit=0)
    assert [] == store.queue(assignee=None, department=None, limit=-1)


def test_close_forgets_the_queue(store: MemoryStore, open_ticket: OpenTicket) -> None:
    """After close() nothing is queued, and a reindex finds no ticket to apply to."""
    ticket = open_ticket()
    store.commit([Change(bumped(ticket), 1, queue=QueueKey(None, T0, 1))])
    store.close()
    assert [] == store.queue(assignee=None, department=None, limit=10)
    assert 0 == store.reindex([IndexUpdate(ticket.id, 2, None, QueueKey(None, T0, 1))])


_KEYS = st.none() | st.builds(
    QueueKey,
    st.none() | st.sampled_from([T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]),
    st.sampled_from([T0, T0 + timedelta(minutes=5)]),
    st.integers(1, 4),
)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.none() | st.sampled_from(["ann", "bob"]),
            st.none() | st.sampled_from(["billing", "tech"]),
            _KEYS,
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=120,
    )
)
def test_queue_heaps_agree_with_sorting_the_live_keys(
    steps: list[tuple[int, str | None, str | None, QueueKey | None, bool, bool]],
) -> None:
    """Commits and reindexes re-keying, reassigning and dequeuing six tickets, read now and
    then, with the heaps compacted every few pushes: every filter form gives the plain sort
    of the live keys.
    """
    with mock.patch("ticketflow.stores._memory._COMPACT_SLACK", 2):
        store = MemoryStore()
        desk = Helpdesk(store=store, clock=FakeClock(T0))
        ids = [desk.open_ticket(subject=f"t{i}", requester=ANN).id for i in range(6)]
        # Out of the queue the engine put them in: the steps alone decide from here.
        assert 6 == store.reindex([IndexUpdate(i, 1, None, None) for i in ids])
        keys: dict[str, QueueKey] = {}
        for index, assignee, department, key, by_reindex, read in steps:
            ticket = store.get(ids[index])
            if by_reindex:
                store.reindex([IndexUpdate(ticket.id, ticket.version, None, key)])
            else:
                new = bumped(ticket, assignee=assignee, department=department)
                store.commit([Change(new, ticket.version, queue=key)])
            if key is None:
                keys.pop(ticket.id, None)
            else:
                keys[ticket.id] = key
            if not read:  # several changes between two reads of the queue
                continue
            for who, where in [(None, None), ("ann", None), (None, "tech"), ("bob", "billing")]:
                expected = sorted(
                    (
                        tid
                        for tid in keys
                        if (who is None or store.get(tid).assignee == who)
                        and (where is None or store.get(tid).department == where)
                    ),
                    key=lambda tid: (
                        keys[tid].sla_due is None,
                        keys[tid].sla_due or T0,
                        keys[tid].waiting_since,
                        -keys[tid].priority,
                        tid,
                    ),
                )
                got = store.queue(assignee=who, department=where, limit=4)
                assert expected[:4] == [t.id for t in got]
