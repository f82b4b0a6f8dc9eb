"""The Freshdesk preset: starts Open, agent reply -> Pending, a reply reopens even Closed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ticketflow import (
    EventKind,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Ticket,
    TicketLockedError,
    TransitionError,
    workflows,
)

from .conftest import ANN, START


@pytest.fixture
def freshdesk(clock: FakeClock) -> Helpdesk:
    """A help desk on the Freshdesk preset."""
    return Helpdesk(workflows.freshdesk(), store=MemoryStore(), clock=clock)


def _ticket(desk: Helpdesk) -> Ticket:
    return desk.open_ticket(subject="Login fails", requester=ANN)


def test_new_freshdesk_ticket_starts_open(freshdesk: Helpdesk) -> None:
    """A new Freshdesk ticket starts Open."""
    assert "open" == _ticket(freshdesk).status


def test_agent_reply_makes_pending(freshdesk: Helpdesk) -> None:
    """An agent reply moves Open to Pending."""
    ticket = _ticket(freshdesk)
    assert "pending" == freshdesk.agent_reply(ticket.id, "Try again?", by="bob").status


def test_customer_reply_makes_open(freshdesk: Helpdesk) -> None:
    """A customer reply moves Pending back to Open."""
    ticket = _ticket(freshdesk)
    freshdesk.agent_reply(ticket.id, "Try again?", by="bob")
    assert "open" == freshdesk.customer_reply(ticket.id, "Still fails").status


def test_customer_reply_reopens_a_closed_ticket(freshdesk: Helpdesk, clock: FakeClock) -> None:
    """Freshdesk's policy is 'reopen' without a window: a reply reopens even a year later."""
    assert ("reopen", None) == (
        freshdesk.workflow.closed_policy,
        freshdesk.workflow.reopen_window,
    )
    ticket = _ticket(freshdesk)
    freshdesk.close(ticket.id)
    clock.advance(days=365)
    after = freshdesk.customer_reply(ticket.id, "It fails again")
    assert (ticket.id, "open", 1) == (after.id, after.status, freshdesk.store.count())
    event = after.timeline[-1]
    assert (EventKind.CUSTOMER_REPLIED, "closed", "open") == (
        event.kind,
        event.status_before,
        event.status_after,
    )


def test_closed_freshdesk_ticket_is_locked_for_agents(freshdesk: Helpdesk) -> None:
    """Only the customer's reply reopens: agent commands on Closed raise TicketLockedError."""
    ticket = _ticket(freshdesk)
    old = freshdesk.close(ticket.id)
    with pytest.raises(TicketLockedError):
        freshdesk.agent_reply(ticket.id, "x", by="bob")
    assert old == freshdesk.get(ticket.id)


def test_fire_wait_on_customer_records_a_transitioned_event(
    freshdesk: Helpdesk, clock: FakeClock
) -> None:
    """fire(ticket, 'wait_on_customer') moves to waiting_on_customer as a 'transitioned' event."""
    ticket = _ticket(freshdesk)
    clock.advance(minutes=5)
    after = freshdesk.fire(ticket.id, "wait_on_customer", by="bob")
    event = after.timeline[-1]
    assert (
        "waiting_on_customer",
        EventKind.TRANSITIONED,
        "open",
        "waiting_on_customer",
        {"trigger": "wait_on_customer"},
        START + timedelta(minutes=5),
        2,
    ) == (
        after.status,
        event.kind,
        event.status_before,
        event.status_after,
        dict(event.data),
        event.at,
        after.version,
    )
    assert after == freshdesk.get(ticket.id)
    assert after == Ticket.rebuild(freshdesk.timeline(ticket.id))


def test_fire_wait_on_customer_is_refused_where_the_graph_has_no_edge(
    freshdesk: Helpdesk,
) -> None:
    """fire('wait_on_customer') from Resolved raises TransitionError and changes nothing."""
    ticket = _ticket(freshdesk)
    resolved = freshdesk.resolve(ticket.id)
    with pytest.raises(TransitionError) as info:
        freshdesk.fire(ticket.id, "wait_on_customer")
    assert ("resolved", "wait_on_customer") == (info.value.status, info.value.command)
    assert resolved == freshdesk.get(ticket.id)


def test_fire_unknown_trigger_is_refused(freshdesk: Helpdesk) -> None:
    """fire() with a trigger the graph does not declare raises TransitionError."""
    ticket = _ticket(freshdesk)
    with pytest.raises(TransitionError):
        freshdesk.fire(ticket.id, "teleport")
    assert ticket == freshdesk.get(ticket.id)


def test_customer_reply_from_waiting_on_customer_opens(freshdesk: Helpdesk) -> None:
    """A customer reply to a ticket waiting on the customer opens it."""
    ticket = _ticket(freshdesk)
    freshdesk.fire(ticket.id, "wait_on_customer")
    assert "open" == freshdesk.customer_reply(ticket.id, "here you go").status


def test_postpone_waits_on_third_party_and_wake_opens(freshdesk: Helpdesk) -> None:
    """postpone moves to waiting_on_third_party with postponed_until; wake returns to Open."""
    ticket = _ticket(freshdesk)
    until = START + timedelta(days=2)
    after = freshdesk.postpone(ticket.id, until, by="bob")
    assert ("waiting_on_third_party", until) == (after.status, after.postponed_until)
    assert ("open", None) == (
        freshdesk.wake(ticket.id).status,
        freshdesk.get(ticket.id).postponed_until,
    )


def test_agent_reply_on_resolved_stays_resolved(freshdesk: Helpdesk) -> None:
    """An agent reply to a Resolved Freshdesk ticket keeps it Resolved."""
    ticket = _ticket(freshdesk)
    freshdesk.resolve(ticket.id)
    assert "resolved" == freshdesk.agent_reply(ticket.id, "FYI", by="bob").status
