"""The Zendesk preset: solving needs an assignee, never back to New, only Solved closes."""

from __future__ import annotations

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

from .conftest import ANN


@pytest.fixture
def zendesk(clock: FakeClock) -> Helpdesk:
    """A help desk on the Zendesk preset."""
    return Helpdesk(workflows.zendesk(), store=MemoryStore(), clock=clock)


def _ticket(desk: Helpdesk, **kwargs: object) -> Ticket:
    return desk.open_ticket(subject="Refund", requester=ANN, **kwargs)  # type: ignore[arg-type]


def test_zendesk_statuses_are_the_documented_ones() -> None:
    """Zendesk declares new, open, pending, hold, solved, closed (plus merged and trash)."""
    wf = workflows.zendesk()
    assert ["new", "open", "pending", "hold", "solved", "closed"] == [
        s.name for s in wf.statuses[:6]
    ]
    assert ("new", "On-hold") == (wf.initial, wf.status("hold").display)


def test_solve_without_assignee_is_refused_by_the_guard(zendesk: Helpdesk) -> None:
    """Solving an unassigned ticket raises TransitionError with guard 'has_assignee'."""
    ticket = _ticket(zendesk)
    with pytest.raises(TransitionError) as info:
        zendesk.resolve(ticket.id, by="bob")
    error = info.value
    assert ("has_assignee", "new", "resolve", ticket.id) == (
        error.guard,
        error.status,
        error.command,
        error.ticket_id,
    )
    assert "guard 'has_assignee'" in str(error)
    assert "resolve" in error.allowed
    assert ticket == zendesk.get(ticket.id)


def test_fire_solve_without_assignee_names_the_guard(zendesk: Helpdesk) -> None:
    """Firing the 'solve' trigger directly is refused by the same guard."""
    ticket = _ticket(zendesk)
    with pytest.raises(TransitionError) as info:
        zendesk.fire(ticket.id, "solve")
    assert "has_assignee" == info.value.guard
    assert ticket == zendesk.get(ticket.id)


def test_solve_with_assignee_is_allowed(zendesk: Helpdesk, clock: FakeClock) -> None:
    """An assigned ticket solves, recorded as 'resolved' with resolved_at."""
    ticket = _ticket(zendesk)
    zendesk.assign(ticket.id, "bob")
    clock.advance(hours=1)
    after = zendesk.resolve(ticket.id, by="bob")
    assert ("solved", EventKind.RESOLVED, clock.now()) == (
        after.status,
        after.timeline[-1].kind,
        after.resolved_at,
    )


def test_fire_solve_is_recorded_as_resolve(zendesk: Helpdesk) -> None:
    """fire('solve') on an assigned ticket is recorded as the 'resolve' command it maps to."""
    ticket = _ticket(zendesk, assignee="bob")
    after = zendesk.fire(ticket.id, "solve", by="bob")
    assert ("solved", EventKind.RESOLVED) == (after.status, after.timeline[-1].kind)


def test_unassigning_blocks_solving_again(zendesk: Helpdesk) -> None:
    """The guard reads the current ticket: after unassigning, solving is refused again."""
    ticket = _ticket(zendesk, assignee="bob")
    zendesk.assign(ticket.id, None)
    with pytest.raises(TransitionError) as info:
        zendesk.resolve(ticket.id)
    assert "has_assignee" == info.value.guard


def test_no_transition_returns_to_new_except_a_reply_on_new() -> None:
    """Over the whole graph, the only way into New is New's own customer reply."""
    wf = workflows.zendesk()
    into_new = sorted(
        (source, t.trigger)
        for t in wf.transitions
        if t.dest == "new"
        for source in wf.expand_sources(t)
    )
    assert [("new", "customer_reply")] == into_new


def test_agent_reply_makes_pending_and_customer_reply_opens(zendesk: Helpdesk) -> None:
    """An agent reply sets Pending; a customer reply then sets Open (never New)."""
    ticket = _ticket(zendesk)
    assert "pending" == zendesk.agent_reply(ticket.id, "Which order?", by="bob").status
    assert "open" == zendesk.customer_reply(ticket.id, "Order 42").status


def test_customer_reply_on_new_stays_new(zendesk: Helpdesk) -> None:
    """A customer reply to a New ticket keeps it New."""
    ticket = _ticket(zendesk)
    assert "new" == zendesk.customer_reply(ticket.id, "also this").status


def test_restore_and_wake_lead_to_open_not_new(zendesk: Helpdesk) -> None:
    """Restoring a New ticket from spam, or waking it from On-hold, gives Open, not New."""
    a, b = _ticket(zendesk), _ticket(zendesk)
    zendesk.mark_spam(a.id)
    assert "open" == zendesk.restore(a.id).status
    zendesk.postpone(b.id, zendesk.clock.now().replace(year=2027), by="bob")
    assert "open" == zendesk.wake(b.id).status


@pytest.mark.parametrize("status", ["new", "open", "pending", "hold"])
def test_only_solved_tickets_close(zendesk: Helpdesk, status: str) -> None:
    """close is refused from New, Open, Pending and On-hold, naming the status and command."""
    ticket = _ticket(zendesk, assignee="bob")
    if status == "open":
        zendesk.customer_reply(ticket.id, "x")
        zendesk.agent_reply(ticket.id, "y", by="bob")
        zendesk.customer_reply(ticket.id, "z")
    elif status == "pending":
        zendesk.agent_reply(ticket.id, "y", by="bob")
    elif status == "hold":
        zendesk.postpone(ticket.id, zendesk.clock.now().replace(year=2027), by="bob")
    before = zendesk.get(ticket.id)
    assert status == before.status
    with pytest.raises(TransitionError) as info:
        zendesk.close(ticket.id)
    assert (status, "close", None) == (info.value.status, info.value.command, info.value.guard)
    assert "close" not in info.value.allowed
    assert before == zendesk.get(ticket.id)


def test_solved_ticket_closes_and_locks(zendesk: Helpdesk) -> None:
    """A Solved ticket closes; the closed ticket is locked."""
    ticket = _ticket(zendesk, assignee="bob")
    zendesk.resolve(ticket.id)
    assert "closed" == zendesk.close(ticket.id).status
    with pytest.raises(TicketLockedError):
        zendesk.add_tags(ticket.id, "late")


def test_only_solved_is_a_source_of_close_in_the_graph() -> None:
    """Every 'close' transition of the graph leaves from Solved."""
    wf = workflows.zendesk()
    sources = {s for t in wf.transitions if t.trigger == "close" for s in wf.expand_sources(t)}
    assert {"solved"} == sources


def test_confirm_resolution_closes_a_solved_ticket(zendesk: Helpdesk) -> None:
    """confirm_resolution maps to 'close': a Solved ticket closes with the rating."""
    ticket = _ticket(zendesk, assignee="bob")
    zendesk.resolve(ticket.id)
    after = zendesk.confirm_resolution(ticket.id, rating=2)
    assert ("closed", 2) == (after.status, after.satisfaction)


def test_customer_reply_on_closed_zendesk_ticket_opens_a_follow_up(zendesk: Helpdesk) -> None:
    """Zendesk's closed policy is follow_up: a reply to a closed ticket opens a linked one."""
    ticket = _ticket(zendesk, assignee="bob")
    zendesk.resolve(ticket.id)
    old = zendesk.close(ticket.id)
    follow_up = zendesk.customer_reply(ticket.id, "again")
    assert (ticket.id, "new") == (follow_up.parent_id, follow_up.status)
    assert old == zendesk.get(ticket.id)
