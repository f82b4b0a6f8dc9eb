"""The outbox through Helpdesk: which events go there, dispatch, at-least-once retries, claims."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ticketflow import (
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    MemoryStore,
    SQLiteStore,
    Ticket,
    TicketStore,
)
from ticketflow.rules import after, inactivity, when

from .conftest import ANN, START

DAY = timedelta(days=1)
NOTIFY_URGENT = when(
    {"all": [{"field": "priority", "op": "is", "value": "urgent"}]},
    actions=[{"notify": "urgent"}],
    name="notify-urgent",
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> TicketStore:
    """Each test runs on MemoryStore and on an in-memory SQLiteStore."""
    return MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")


def test_notifications_are_written_to_the_outbox_in_the_commit(store: TicketStore) -> None:
    """By default the outbox holds `notified` and `escalated` events, nothing else."""
    desk = Helpdesk(store=store, clock=FakeClock(START), rules=[NOTIFY_URGENT])
    quiet = desk.open_ticket(subject="x", requester=ANN)
    desk.agent_reply(quiet.id, "hi", by="bob")
    assert 0 == store.outbox_pending()
    loud = desk.open_ticket(subject="y", requester=ANN, priority="urgent")
    assert 1 == store.outbox_pending()
    (entry,) = store.claim_outbox(START + DAY, 10, timedelta(seconds=30))
    assert (loud.id, "notified", 1) == (entry.ticket_id, entry.kind, entry.attempts)
    assert EventKind.NOTIFIED == desk.get(loud.id).timeline[entry.position].kind


def test_outbox_kinds_are_configurable(store: TicketStore) -> None:
    """Helpdesk(outbox=[...]) chooses the kinds; () writes none."""
    desk = Helpdesk(store=store, clock=FakeClock(START), outbox=["created", "resolved"], rules=[])
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.agent_reply(ticket.id, "hi", by="bob")
    desk.resolve(ticket.id, by="bob")
    entries = store.claim_outbox(START + DAY, 10, timedelta(seconds=30))
    assert [(ticket.id, 0, "created"), (ticket.id, 2, "resolved")] == [
        (e.ticket_id, e.position, e.kind) for e in entries
    ]
    silent = Helpdesk(store=MemoryStore(), clock=FakeClock(START), outbox=(), rules=[NOTIFY_URGENT])
    silent.open_ticket(subject="y", requester=ANN, priority="urgent")
    assert 0 == silent.store.outbox_pending()


def test_in_process_subscribers_get_outbox_events_at_once_and_acknowledge_them(
    store: TicketStore,
) -> None:
    """A subscriber of the committing desk receives the notification; the entry is acked."""
    desk = Helpdesk(store=store, clock=FakeClock(START), rules=[NOTIFY_URGENT])
    seen: list[tuple[str, str]] = []
    desk.subscribe(lambda t, e: seen.append((t.id, e.kind.value)), kinds=["notified"])
    ticket = desk.open_ticket(subject="y", requester=ANN, priority="urgent")
    assert [(ticket.id, "notified")] == seen
    assert 0 == store.outbox_pending()


def test_dispatch_delivers_what_another_process_committed(store: TicketStore) -> None:
    """A desk with no subscribers leaves entries pending; a dispatcher delivers and acks them."""
    writer = Helpdesk(store=store, clock=FakeClock(START), rules=[NOTIFY_URGENT])
    ids = [
        writer.open_ticket(subject=f"t{i}", requester=ANN, priority="urgent").id for i in range(3)
    ]
    assert 3 == store.outbox_pending()
    dispatcher = Helpdesk(store=store, clock=FakeClock(START + DAY), rules=[NOTIFY_URGENT])
    delivered: list[str] = []
    dispatcher.subscribe(lambda t, _e: delivered.append(t.id))
    assert 3 == dispatcher.dispatch(limit=2)  # two batches
    assert ids == delivered
    assert 0 == store.outbox_pending()
    assert 0 == dispatcher.dispatch()


def test_a_failed_delivery_stays_pending_and_is_retried_after_the_lease(store: TicketStore) -> None:
    """At least once: a subscriber that raises leaves the entry; it comes back after the lease."""
    clock = FakeClock(START)
    desk = Helpdesk(store=store, clock=clock, rules=[NOTIFY_URGENT])
    ticket = desk.open_ticket(subject="y", requester=ANN, priority="urgent")
    calls: list[int] = []

    def flaky(_t: Ticket, _e: Event) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("mail server down")

    desk.subscribe(flaky)
    lease = timedelta(minutes=5)
    assert 0 == desk.dispatch(lease=lease)  # fails: stays pending, claimed
    assert 1 == store.outbox_pending()
    clock.advance(lease - timedelta(seconds=1))
    assert 0 == desk.dispatch(lease=lease)  # still claimed: not handed out again
    assert 1 == len(calls)
    clock.advance(timedelta(seconds=1))
    assert 1 == desk.dispatch(lease=lease)
    assert (2, 0) == (len(calls), store.outbox_pending())
    assert ticket.id == desk.get(ticket.id).id


def test_dispatch_without_a_subscriber_is_refused(store: TicketStore) -> None:
    """Acknowledging entries nobody received would lose them: dispatch() needs a subscriber."""
    desk = Helpdesk(store=store, clock=FakeClock(START), rules=[NOTIFY_URGENT])
    desk.open_ticket(subject="y", requester=ANN, priority="urgent")
    with pytest.raises(InvalidInputError, match="subscriber"):
        desk.dispatch()
    assert 1 == store.outbox_pending()


def test_rule_notifications_fired_by_run_due_reach_the_outbox(store: TicketStore) -> None:
    """A time rule's notify action is committed with its outbox entry."""
    clock = FakeClock(START)
    remind = inactivity(status="answered", after=3 * DAY, then="remind")
    desk = Helpdesk(store=store, clock=clock, rules=[remind])
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.agent_reply(ticket.id, "try this", by="bob")
    assert 1 == desk.run_until(START + 4 * DAY)
    (entry,) = store.claim_outbox(clock.now(), 10, timedelta(seconds=30))
    assert (ticket.id, "notified") == (entry.ticket_id, entry.kind)


def test_two_run_due_callers_share_the_due_tickets_without_overlap(store: TicketStore) -> None:
    """Claims: a second sweeper at the same time gets none of the tickets the first holds."""
    clock = FakeClock(START)
    rule = after(status="resolved", delay=DAY, then="close")
    desk = Helpdesk(store=store, clock=clock, rules=[rule])
    for i in range(6):
        t = desk.open_ticket(subject=f"t{i}", requester=ANN)
        desk.resolve(t.id, by="bob")
    now = START + 2 * DAY
    first = store.claim_due(now, 4, timedelta(minutes=1))
    other = Helpdesk(store=store, clock=FakeClock(now), rules=[rule])
    assert 2 == other.run_due(now)  # only the two unclaimed ones
    assert {t.id for t in first}.isdisjoint(t.id for t in desk.find(status="closed"))
    # The first sweeper's claims run out; a later sweep closes the rest, once each.
    assert 4 == other.run_due(now + timedelta(minutes=1))
    closes = [e for t in desk.find() for e in t.timeline if e.kind is EventKind.CLOSED]
    assert 6 == len(closes)


def test_run_due_skips_a_ticket_changed_after_its_claim(store: TicketStore) -> None:
    """A commit between claim and firing wins; run_due drops that firing and saves the others."""
    clock = FakeClock(START)
    rule = after(status="resolved", delay=DAY, then="close")
    desk = Helpdesk(store=store, clock=clock, rules=[rule])
    tickets = []
    for i in range(3):
        t = desk.open_ticket(subject=f"t{i}", requester=ANN)
        tickets.append(desk.resolve(t.id, by="bob"))
    raced = tickets[1]

    class RacingStore:
        """Let a customer reply land right after run_due claims the tickets."""

        def __init__(self, inner: TicketStore) -> None:
            self.inner = inner
            self.raced = False

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

        def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Ticket]:
            claimed = self.inner.claim_due(now, limit, lease)
            if claimed and not self.raced:
                self.raced = True
                desk.customer_reply(raced.id, "still broken")
            return claimed

    racing = Helpdesk(
        store=RacingStore(store),  # type: ignore[arg-type]
        clock=FakeClock(START + 2 * DAY),
        rules=[rule],
    )
    assert 2 == racing.run_due()
    assert ["closed", "open", "closed"] == [desk.get(t.id).status for t in tickets]
    closes = [e for e in desk.get(raced.id).timeline if e.kind is EventKind.CLOSED]
    assert [] == closes
