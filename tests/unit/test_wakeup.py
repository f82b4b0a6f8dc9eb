"""Waking the worker: MemoryStore's `WakeupStore` capability, and the worker's wait.

Time is a `FakeClock` that the injected ``sleep`` advances: no test sleeps for
time. The tests with a thread wait on events with a generous bound and return
as soon as the thing happens.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from ticketflow import (
    ConflictError,
    Event,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    Requester,
    Ticket,
    rules,
)
from ticketflow.cli._worker import _StoppableStore, _Worker
from ticketflow.stores import Change, MemoryStore, SQLiteStore, WakeupStore

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
PATIENCE = 30.0  # seconds: a bound on waits that end as soon as they are woken
REMIND = rules.inactivity(status="answered", after=timedelta(days=2), then="remind")
ANN = Requester(name="Ann")


def new_tickets(count: int) -> list[Ticket]:
    desk = Helpdesk(clock=FakeClock(START))
    return [desk.open_ticket(subject=f"t{i}", requester=ANN) for i in range(count)]


def listening(store: MemoryStore) -> MemoryStore:
    assert store.wait_for_wakeup(0)  # the first call starts the watch: look for work
    assert not store.wait_for_wakeup(0)
    return store


# --- MemoryStore ----------------------------------------------------------------


def test_the_memory_store_is_a_wakeup_store_and_sqlite_is_not() -> None:
    """SQLite keeps polling: it does not claim the capability."""
    assert isinstance(MemoryStore(), WakeupStore)
    assert not issubclass(SQLiteStore, WakeupStore)


def test_outbox_entries_wake_and_the_wake_up_is_kept_until_consumed() -> None:
    """A commit made while nobody waits makes the next wait return True at once, once."""
    store = listening(MemoryStore())
    (ticket,) = new_tickets(1)
    store.commit([Change(ticket, 0, outbox=(0,))])
    assert store.wait_for_wakeup(0)
    assert not store.wait_for_wakeup(0)


def test_only_a_due_time_before_every_stored_one_wakes() -> None:
    """Later due times and plain commits record nothing; an earlier one, or a first one, does."""
    store = listening(MemoryStore())
    a, b, c = new_tickets(3)
    store.commit([Change(a, 0, due_at=START + 2 * HOUR)])
    assert store.wait_for_wakeup(0)
    store.commit([Change(b, 0, due_at=START + 3 * HOUR)])
    store.commit([Change(c, 0)])
    assert not store.wait_for_wakeup(0)
    d, e = new_tickets(2)
    store.commit([Change(d, 0, due_at=START + 4 * HOUR), Change(e, 0, due_at=START + HOUR)])
    assert store.wait_for_wakeup(0)  # several changes: the earliest counts


def test_a_refused_commit_does_not_wake() -> None:
    """A conflict writes nothing and wakes nobody, alone or among several changes."""
    store = listening(MemoryStore())
    a, b = new_tickets(2)
    store.commit([Change(a, 0)])
    with pytest.raises(ConflictError):
        store.commit([Change(a, 0, outbox=(0,))])
    with pytest.raises(ConflictError):
        store.commit([Change(b, 0, outbox=(0,)), Change(a, 0, outbox=(0,))])
    assert not store.wait_for_wakeup(0)
    assert 0 == store.outbox_pending()


def test_the_first_wait_says_look_whatever_was_committed_before() -> None:
    """Commits before the first wait are not watched: it returns True, then nothing is pending."""
    store = MemoryStore()
    (ticket,) = new_tickets(1)
    store.commit([Change(ticket, 0, outbox=(0,))])
    assert store.wait_for_wakeup(0)
    assert not store.wait_for_wakeup(0)


def test_a_commit_from_another_thread_ends_a_wait_in_progress() -> None:
    """The waiting thread returns True as soon as the commit is made."""
    store = listening(MemoryStore())
    (ticket,) = new_tickets(1)
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(store.wait_for_wakeup(PATIENCE)))
    waiter.start()
    store.commit([Change(ticket, 0, due_at=START)])
    waiter.join(PATIENCE)
    assert [True] == result


def test_wakeup_and_timeout_validation() -> None:
    """`wakeup` is a wake-up; a timeout that is not a number of seconds is refused."""
    store = listening(MemoryStore())
    store.wakeup()
    assert store.wait_for_wakeup(0)
    for bad in (-1, float("nan"), float("inf"), "1", True):
        with pytest.raises(InvalidInputError) as caught:
            store.wait_for_wakeup(bad)  # type: ignore[arg-type]
        assert "timeout" == caught.value.field


# --- the worker loop --------------------------------------------------------------


class Watched:
    """A memory store's wake-up capability that tells the test when the worker waits."""

    def __init__(self, memory: MemoryStore) -> None:
        self.memory = memory
        self.waits: list[float] = []
        self.waiting = threading.Event()

    def wait_for_wakeup(self, timeout: float) -> bool:
        self.waits.append(timeout)
        if len(self.waits) == 2:  # the first returned at once (the watch started)
            self.waiting.set()
        return self.memory.wait_for_wakeup(timeout)

    def wakeup(self) -> None:
        self.memory.wakeup()


def answered(desk: Helpdesk) -> str:
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    return desk.agent_reply(ticket.id, "Try again", by="bob").id


def test_without_wakeups_the_worker_sleeps_until_the_next_due_time_then_fires_it() -> None:
    """SQLite's way: the sleep is the time to the next due ticket, capped by the poll."""
    clock = FakeClock(START)
    memory = MemoryStore()
    stop = threading.Event()
    store = _StoppableStore(memory, stop)  # not a WakeupStore: the worker polls
    desk = Helpdesk(store=store, clock=clock, rules=[REMIND])
    ticket_id = answered(desk)
    fired: list[str] = []
    desk.subscribe(lambda t, e: fired.append(f"{e.kind.value}@{clock.now() - START}"))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(timedelta(seconds=seconds))
        if len(sleeps) == 3:
            stop.set()

    worker = _Worker(
        desk, batch=10, poll=3600.0, lease=timedelta(minutes=1), stop=stop, sleep=sleep
    )
    clock.advance(timedelta(days=2) - 90 * timedelta(minutes=1))  # due in 90 minutes
    assert 0 == worker.run(once=False)
    # An hour (the poll), then the half hour left, then the poll again (nothing due).
    assert [3600.0, 1800.0, 3600.0] == sleeps
    assert ["notified@2 days, 0:00:00"] == fired
    assert "answered" == memory.get(ticket_id).status


def test_an_unavailable_store_is_retried_after_the_injected_sleep() -> None:
    """The retry wait goes through the same sleep: a test needs no real time."""
    from ticketflow import StoreUnavailable  # noqa: PLC0415

    class Flaky(_StoppableStore):  # type: ignore[misc]  # a test double of the final view
        failures = 1

        def claim_due(self, now, limit, lease):  # type: ignore[no-untyped-def]
            if self.failures:
                self.failures -= 1
                raise StoreUnavailable("restarting")
            return super().claim_due(now, limit, lease)

    stop = threading.Event()
    desk = Helpdesk(store=Flaky(MemoryStore(), stop), clock=FakeClock(START))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        stop.set()  # stop after the retry's pass

    worker = _Worker(desk, batch=10, poll=7.0, lease=timedelta(minutes=1), stop=stop, sleep=sleep)
    assert 0 == worker.run(once=False)
    assert [7.0] == sleeps


def test_on_a_wakeup_store_a_commit_wakes_the_worker_which_delivers_at_once() -> None:
    """The worker waits up to the poll (long here); a commit's outbox entry ends the wait."""
    memory = MemoryStore()
    stop = threading.Event()
    desk = Helpdesk(store=_StoppableStore(memory, stop), clock=FakeClock(START))
    watched = Watched(memory)
    worker = _Worker(
        desk, batch=10, poll=PATIENCE * 10, lease=timedelta(minutes=1), stop=stop, wakeup=watched
    )
    delivered = threading.Event()

    def deliver(_ticket: Ticket, _event: Event) -> None:
        delivered.set()
        worker.request_stop()

    desk.subscribe(deliver)
    statuses: list[int] = []
    thread = threading.Thread(target=lambda: statuses.append(worker.run(once=False)))
    thread.start()
    assert watched.waiting.wait(PATIENCE)  # the worker found nothing and waits for the poll
    (ticket,) = new_tickets(1)
    memory.commit([Change(ticket, 0, outbox=(0,))])  # another process's command, say
    assert delivered.wait(PATIENCE)
    thread.join(PATIENCE)
    assert [0] == statuses
    assert 0 == memory.outbox_pending()
    assert [PATIENCE * 10] * 2 == watched.waits  # woken in the second wait


def test_request_stop_ends_a_wait_on_a_wakeup_store_at_once() -> None:
    """Told to stop mid-wait (a signal, or another thread), the worker exits without the poll."""
    memory = MemoryStore()
    stop = threading.Event()
    desk = Helpdesk(store=memory, clock=FakeClock(START))
    desk.subscribe(lambda _t, _e: None)
    watched = Watched(memory)
    worker = _Worker(
        desk, batch=10, poll=PATIENCE * 10, lease=timedelta(minutes=1), stop=stop, wakeup=watched
    )
    statuses: list[int] = []
    thread = threading.Thread(target=lambda: statuses.append(worker.run(once=False)))
    thread.start()
    assert watched.waiting.wait(PATIENCE)
    worker.request_stop()
    thread.join(PATIENCE)
    assert [0] == statuses
    assert 2 == len(watched.waits)
