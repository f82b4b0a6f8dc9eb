"""The customer view shows the whitelisted part of a ticket, kind by kind, and nothing else."""

from __future__ import annotations

import doctest
import json
from datetime import timedelta

import pytest

import ticketflow
from ticketflow import (
    Actor,
    CustomerView,
    EventKind,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    MemoryStore,
    PublicEvent,
    PublicMessage,
    Requester,
    Role,
    Ticket,
    customer_view,
    workflows,
)
from ticketflow import _views as views_module
from ticketflow.rules import Rule
from ticketflow.sla import Escalation, SlaPolicy

from .conftest import ANN, START

HOUR = timedelta(hours=1)


def dump(view: CustomerView) -> str:
    """Everything a customer could read of the view: its JSON and its repr."""
    return json.dumps(view.to_dict()) + "\n" + repr(view)


def kinds(view: CustomerView) -> list[str]:
    return [e.kind for e in view.events]


def event(view: CustomerView, kind: str) -> PublicEvent:
    (found,) = [e for e in view.events if e.kind == kind]
    return found


@pytest.fixture
def ticket(desk: Helpdesk) -> Ticket:
    return desk.open_ticket(subject="VPN down", requester=ANN, description="Since 9am")


def test_the_docstring_example_runs() -> None:
    """The example in `customer_view`'s docstring gives what it shows."""
    result = doctest.testmod(views_module, raise_on_error=False)
    assert (0, 1) == (result.failed, min(result.attempted, 1))


def test_ticket_for_customer_is_customer_view(desk: Helpdesk, ticket: Ticket) -> None:
    """`Ticket.for_customer` returns `customer_view`'s view, with or without assignment."""
    ticket = desk.assign(ticket.id, agent="bob", department="net", by="carol")
    assert customer_view(ticket) == ticket.for_customer()
    assert customer_view(ticket, show_assignment=True) == ticket.for_customer(show_assignment=True)
    assert ticket.for_customer() != ticket.for_customer(show_assignment=True)


def test_the_fields_a_customer_sees(desk: Helpdesk, ticket: Ticket) -> None:
    """Id, subject, description, status, channel, times and the requester are shown."""
    view = ticket.for_customer()
    expected = {
        "id": ticket.id,
        "subject": "VPN down",
        "description": "Since 9am",
        "status": "new",
        "requester": {
            "name": "Ann Example",
            "email": "ann@example.com",
            "organisation": "Example NV",
        },
        "channel": "email",
        "created_at": START.isoformat(),
        "updated_at": START.isoformat(),
        "department": None,
        "merged_into": None,
        "parent_id": None,
        "messages": [],
        "events": [
            {
                "kind": "created",
                "at": START.isoformat(),
                "actor_role": "customer",
                "status": "new",
                "details": {},
            }
        ],
        "shows_assignment": False,
        "description_html": None,
        "attachments": [],
    }
    assert expected == view.to_dict()


def test_contact_details_priority_tags_and_fields_are_never_shown(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """The requester's phone, the priority, tags and custom fields stay internal."""
    ticket = desk.open_ticket(
        subject="VPN",
        requester=ANN,
        priority="urgent",
        tags=["tag-secret-vip"],
        custom_fields={"field-secret-plan": "value-secret-gold"},
    )
    clock.advance(HOUR)
    ticket = desk.set_priority(ticket.id, "low", by="bob")
    ticket = desk.add_tags(ticket.id, "tag-secret-added", by="bob")
    ticket = desk.remove_tags(ticket.id, "tag-secret-vip", by="bob")
    ticket = desk.set_field(ticket.id, "field-secret-tier", "value-secret-2", by="bob")
    text = dump(ticket.for_customer())
    for secret in ("+32 2 555", "tag-secret", "field-secret", "value-secret", "urgent", "low"):
        assert secret not in text
    assert ["created"] == kinds(ticket.for_customer())
    assert START == ticket.for_customer().updated_at


def test_a_private_note_is_not_shown_nor_that_it_exists(
    desk: Helpdesk, ticket: Ticket, clock: FakeClock
) -> None:
    """The note's body, its event and its time are absent; updated_at does not move."""
    clock.advance(HOUR)
    ticket = desk.add_note(ticket.id, "NOTE-SECRET Ann is on a payment plan", by="agent-secret")
    view = ticket.for_customer()
    assert () == view.messages
    assert ["created"] == kinds(view)
    assert START == view.updated_at
    text = dump(view)
    assert "NOTE-SECRET" not in text
    assert "agent-secret" not in text
    assert "note" not in text


def test_public_replies_are_shown_with_display_names_not_ids(
    desk: Helpdesk, ticket: Ticket, clock: FakeClock
) -> None:
    """Agents are "Agent", the requester by name; agent ids and e-mail authors are hidden."""
    clock.advance(HOUR)
    desk.agent_reply(ticket.id, "Restart the client", by="agent-secret-bob")
    clock.advance(HOUR)
    ticket = desk.customer_reply(ticket.id, "Still down")
    view = ticket.for_customer()
    assert (
        PublicMessage(
            at=START + HOUR,
            author_role="agent",
            author_name="Agent",
            body="Restart the client",
        ),
        PublicMessage(
            at=START + 2 * HOUR,
            author_role="customer",
            author_name="Ann Example",
            body="Still down",
        ),
    ) == view.messages
    assert ["created", "agent_replied", "customer_replied"] == kinds(view)
    assert ["customer", "agent", "customer"] == [e.actor_role for e in view.events]
    assert ["new", "answered", "open"] == [e.status for e in view.events]
    assert START + 2 * HOUR == view.updated_at
    assert "agent-secret-bob" not in dump(view)


def test_another_customers_message_is_shown_as_customer(desk: Helpdesk, ticket: Ticket) -> None:
    """A customer message not by the requester shows "Customer", not the author's address."""
    # Another customer's message reaches Ann's ticket through a merge they were allowed.
    yan = Requester(name="Yan", email="yan-secret@example.org")
    yans = desk.open_ticket(subject="VPN", requester=yan, description="Me too")
    ticket = desk.merge(yans.id, ticket.id, allow_other_requester=True, by="bob")
    (message,) = ticket.for_customer().messages
    assert ("customer", "Customer") == (message.author_role, message.author_name)
    assert "yan-secret" not in dump(ticket.for_customer())


def test_the_requester_is_recognised_by_email_in_any_case(desk: Helpdesk, ticket: Ticket) -> None:
    """The requester's message, under their address in another case, shows their name."""
    ticket = desk.customer_reply(ticket.id, "Hello", by=Actor("ANN@Example.com", Role.CUSTOMER))
    assert "Ann Example" == ticket.for_customer().messages[0].author_name


def test_status_events_are_shown_without_data(
    desk: Helpdesk, ticket: Ticket, clock: FakeClock
) -> None:
    """Resolve, reopen, postpone, wake, spam, restore, delete, close: kind, time, role, status."""
    steps = [
        ("resolve", "resolved", "resolved"),
        ("reopen", "reopened", "open"),
        ("postpone", "postponed", "postponed"),
        ("wake", "woken", "open"),
        ("mark_spam", "marked_spam", "spam"),
        ("restore", "restored", "new"),  # was_new: back to new
        ("delete", "deleted", "deleted"),
    ]
    for method, _, _ in steps:
        clock.advance(HOUR)
        if method == "postpone":
            ticket = desk.postpone(ticket.id, START + 100 * HOUR, by="bob")
        else:
            ticket = getattr(desk, method)(ticket.id, by="bob")
    view = ticket.for_customer()
    shown = [(e.kind, e.status, e.actor_role, dict(e.details)) for e in view.events[1:]]
    assert [(kind, status, "agent", {}) for _, kind, status in steps] == shown
    assert (START + 100 * HOUR).isoformat() not in dump(view)


def test_close_and_confirmation_show_the_rating_only(desk: Helpdesk, ticket: Ticket) -> None:
    """A confirmation shows the customer's rating; the rule that closes names no rule."""
    desk.resolve(ticket.id, by="bob")
    ticket = desk.confirm_resolution(ticket.id, rating=4)
    view = ticket.for_customer()
    assert {"rating": 4} == dict(event(view, "confirmed").details)
    closed = event(view, "closed")
    assert ("system", "closed", {}) == (closed.actor_role, closed.status, dict(closed.details))
    assert "confirmation" not in dump(view)


def test_assignment_is_hidden_by_default(desk: Helpdesk, ticket: Ticket) -> None:
    """Without show_assignment no assigned event and no department are shown."""
    ticket = desk.assign(ticket.id, agent="agent-secret-bob", department="dept-secret", by="carol")
    view = ticket.for_customer()
    assert ["created"] == kinds(view)
    assert view.department is None
    assert "dept-secret" not in dump(view)
    assert "agent-secret" not in dump(view)


def test_assignment_with_show_assignment_shows_department_not_agent(
    desk: Helpdesk, ticket: Ticket
) -> None:
    """With show_assignment: the department and whether an agent is assigned, never who."""
    desk.assign(ticket.id, agent="agent-secret-bob", department="Network", by="carol")
    ticket = desk.assign(ticket.id, agent=None, by="carol")
    view = ticket.for_customer(show_assignment=True)
    assigned = [dict(e.details) for e in view.events if e.kind == "assigned"]
    assert [{"department": "Network", "agent_assigned": True}, {"agent_assigned": False}] == (
        assigned
    )
    assert "Network" == view.department
    assert view.shows_assignment
    assert "agent-secret" not in dump(view)


def test_merge_shows_where_it_went_and_keeps_copied_notes_private(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """The source shows merged_into; the target shows copied public messages, not copied notes."""
    source = desk.open_ticket(subject="VPN again", requester=ANN, description="Source text")
    clock.advance(HOUR)
    desk.add_note(source.id, "NOTE-SECRET copied", by="bob")
    desk.agent_reply(source.id, "Public answer", by="bob")
    target = desk.open_ticket(subject="VPN", requester=ANN)
    clock.advance(HOUR)
    target = desk.merge(source.id, target.id, by="bob")
    source = desk.get(source.id)
    source_view = source.for_customer()
    assert target.id == source_view.merged_into
    assert {"into": target.id} == dict(event(source_view, "merged").details)
    target_view = target.for_customer()
    assert ["Source text", "Public answer"] == [m.body for m in target_view.messages]
    assert {} == dict(event(target_view, "merge_received").details)
    assert "NOTE-SECRET" not in dump(target_view)
    assert source.id not in dump(target_view)


def test_a_follow_up_shows_its_parent(clock: FakeClock) -> None:
    """A reply to a closed ticket opens a follow-up whose view names the parent."""
    desk = Helpdesk(workflows.liveagent(), store=MemoryStore(), clock=clock)
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    desk.resolve(ticket.id, by="bob")
    desk.close(ticket.id, by="bob")
    follow_up = desk.customer_reply(ticket.id, "It broke again")
    view = follow_up.for_customer()
    assert (ticket.id, "It broke again") == (view.parent_id, view.description)


def test_a_purged_ticket_shows_the_tombstone(desk: Helpdesk, ticket: Ticket) -> None:
    """After a purge the view shows the erased requester and the purge, no personal data."""
    desk.agent_reply(ticket.id, "Reply to Ann", by="bob")
    ticket = desk.purge(ticket.id, by=Actor("dpo", Role.ADMIN)).ticket
    view = ticket.for_customer()
    assert ("purged", "purged") == (view.status, view.events[-1].kind)
    text = dump(view)
    for personal in ("Ann", "ann@example.com", "VPN down", "Since 9am", "Reply to Ann"):
        assert personal not in text


def test_an_internal_transition_shows_as_a_status_change_only(clock: FakeClock) -> None:
    """A raw trigger (Freshdesk's wait_on_customer) shows as status_changed, without its name."""
    desk = Helpdesk(workflows.freshdesk(), store=MemoryStore(), clock=clock)
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    ticket = desk.fire(ticket.id, "wait_on_customer", by="bob")
    assert ticket.timeline[-1].changes_status
    view = ticket.for_customer()
    changed = view.events[-1]
    assert ("status_changed", ticket.status, {}) == (
        changed.kind,
        changed.status,
        dict(changed.details),
    )
    assert "wait_on_customer" not in dump(view)


def test_rules_and_sla_leave_no_trace_but_their_public_effects(clock: FakeClock) -> None:
    """Rule names, rule notes, notifications, SLA warnings, breaches, escalations stay internal."""
    rule = Rule(
        name="rule-secret-triage",
        on=frozenset({EventKind.CUSTOMER_REPLIED}),
        actions=(
            {"add_tags": ["tag-secret"]},
            {"note": "RULE-NOTE-SECRET"},
            {"notify": "topic-secret"},
        ),
    )
    policy = SlaPolicy(
        "policy-secret-gold",
        targets={"normal": {"first_reply": "1h"}},
        warn_before="15m",
        escalations=[Escalation(level=1, assign="agent-secret-lead", notify="topic-secret-esc")],
    )
    desk = Helpdesk(
        workflows.liveagent(), store=MemoryStore(), clock=clock, rules=[rule], sla=[policy]
    )
    ticket = desk.open_ticket(subject="VPN", requester=ANN)
    desk.customer_reply(ticket.id, "Anyone?")
    clock.advance(timedelta(minutes=50))
    desk.run_due()
    clock.advance(3 * HOUR)
    desk.run_due()
    ticket = desk.get(ticket.id)
    internal = {e.kind.value for e in ticket.timeline}
    assert {"sla_warning", "sla_breached", "escalated", "notified", "note_added"} <= internal
    view = ticket.for_customer(show_assignment=True)
    assert ["created", "customer_replied", "assigned"] == kinds(view)
    assert {"agent_assigned": True} == dict(event(view, "assigned").details)
    assert ["Anyone?"] == [m.body for m in view.messages]
    text = dump(view)
    for secret in (
        "rule-secret",
        "RULE-NOTE-SECRET",
        "topic-secret",
        "policy-secret",
        "agent-secret",
        "tag-secret",
        "first_reply",
        "sla",
        "breach",
        "escalat",
        "due",
    ):
        assert secret not in text
    assert START + HOUR == view.updated_at  # the escalation's assignment, at the breach
    hidden = ticket.for_customer()
    assert (["created", "customer_replied"], START) == (kinds(hidden), hidden.updated_at)
    assert "agent-secret" not in dump(hidden)


def test_the_view_refuses_what_is_not_a_ticket(ticket: Ticket) -> None:
    """A non-ticket or a non-bool show_assignment raises InvalidInputError naming the argument."""
    with pytest.raises(InvalidInputError) as caught:
        customer_view({"id": ticket.id})  # type: ignore[arg-type]
    assert "ticket" == caught.value.field
    with pytest.raises(InvalidInputError) as caught:
        ticket.for_customer(show_assignment="yes")  # type: ignore[arg-type]
    assert "show_assignment" == caught.value.field


def test_the_view_is_a_frozen_value_that_shares_nothing_with_the_ticket(
    desk: Helpdesk, ticket: Ticket
) -> None:
    """The view cannot be changed, and holds no Message, Event or Requester with contacts."""
    ticket = desk.agent_reply(ticket.id, "Hi", by="bob")
    view = ticket.for_customer()
    with pytest.raises(AttributeError):
        view.status = "closed"  # type: ignore[misc]
    assert all(type(m) is PublicMessage for m in view.messages)
    assert all(type(e) is PublicEvent for e in view.events)
    assert {} == dict(view.requester.contacts)
    assert Requester(name="Ann Example", email="ann@example.com", organisation="Example NV") == (
        view.requester
    )


def test_the_view_classes_are_exported() -> None:
    """CustomerView, PublicMessage, PublicEvent and customer_view import from ticketflow."""
    assert {"CustomerView", "PublicEvent", "PublicMessage", "customer_view"} <= set(
        ticketflow.__all__
    )
