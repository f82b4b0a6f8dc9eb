"""The LiveAgent preset (the default): statuses, locks, closed policies, postpone, merge, purge."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from ticketflow import (
    Actor,
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    MemoryStore,
    Requester,
    Role,
    Ticket,
    TicketLockedError,
    TransitionError,
    workflows,
)

from .conftest import ANN, START

OpenTicket = Callable[..., Ticket]


def answered(desk: Helpdesk, ticket: Ticket) -> Ticket:
    """Return ``ticket`` after an agent reply (Answered)."""
    return desk.agent_reply(ticket.id, "We are on it", by="bob")


def opened(desk: Helpdesk, ticket: Ticket) -> Ticket:
    """Return ``ticket`` after an agent reply and a customer reply (Open)."""
    answered(desk, ticket)
    return desk.customer_reply(ticket.id, "Still broken")


def closed(desk: Helpdesk, ticket: Ticket) -> Ticket:
    """Return ``ticket`` closed."""
    return desk.close(ticket.id, by="bob")


# --- the main path ----------------------------------------------------------------------


def test_new_ticket_is_new(open_ticket: OpenTicket) -> None:
    """A new ticket starts in New, at version 1, with one 'created' event."""
    ticket = open_ticket()
    assert ("new", 1, [EventKind.CREATED]) == (
        ticket.status,
        ticket.version,
        [e.kind for e in ticket.timeline],
    )


def test_new_ticket_is_stored(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """open_ticket stores the ticket it returns."""
    ticket = open_ticket()
    assert ticket == desk.get(ticket.id)
    assert ticket.timeline == desk.timeline(ticket.id)


@pytest.mark.parametrize("start", ["new", "open", "answered", "postponed", "resolved"])
def test_agent_reply_makes_the_ticket_answered(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket, start: str
) -> None:
    """An agent reply moves New, Open, Answered, Postponed and Resolved to Answered."""
    ticket = _ticket_in(desk, clock, open_ticket, start)
    after = desk.agent_reply(ticket.id, "Here is the fix", by="bob")
    assert "answered" == after.status
    event = after.timeline[-1]
    assert (EventKind.AGENT_REPLIED, start, "answered", Actor("bob", Role.AGENT)) == (
        event.kind,
        event.status_before,
        event.status_after,
        event.actor,
    )
    assert "Here is the fix" == after.messages[-1].body
    assert not after.messages[-1].private


@pytest.mark.parametrize("start", ["answered", "open", "resolved", "postponed"])
def test_customer_reply_makes_the_ticket_open(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket, start: str
) -> None:
    """A customer reply moves Answered, Open, Resolved (a reopen) and Postponed to Open."""
    ticket = _ticket_in(desk, clock, open_ticket, start)
    after = desk.customer_reply(ticket.id, "Any news?")
    assert ("open", ticket.id) == (after.status, after.id)
    event = after.timeline[-1]
    assert (EventKind.CUSTOMER_REPLIED, start, "open") == (
        event.kind,
        event.status_before,
        event.status_after,
    )
    assert Actor("ann@example.com", Role.CUSTOMER) == after.messages[-1].author


def test_customer_reply_on_new_stays_new(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """A customer reply to a New ticket keeps it New but records the message."""
    ticket = open_ticket()
    clock.advance(minutes=3)
    after = desk.customer_reply(ticket.id, "Forgot to say: floor 2", by="ann-mobile")
    assert ("new", 2) == (after.status, after.version)
    assert [("ann-mobile", "Forgot to say: floor 2")] == [
        (m.author.id, m.body) for m in after.messages
    ]
    assert START + timedelta(minutes=3) == after.last_customer_activity_at


def test_note_changes_no_status_and_is_private(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """An internal note keeps the status, is private, and is recorded in the timeline."""
    ticket = answered(desk, open_ticket())
    after = desk.add_note(ticket.id, "Customer is a VIP", by="carol")
    assert ("answered", 3) == (after.status, after.version)
    note = after.messages[-1]
    assert (True, "Customer is a VIP", Actor("carol", Role.AGENT)) == (
        note.private,
        note.body,
        note.author,
    )
    event = after.timeline[-1]
    assert (EventKind.NOTE_ADDED, "answered", "answered") == (
        event.kind,
        event.status_before,
        event.status_after,
    )


def test_note_on_new_does_not_count_as_a_response(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A note on a New ticket keeps it New and sets no first response."""
    after = desk.add_note(open_ticket().id, "Check the logs", by="bob")
    assert ("new", None, None) == (
        after.status,
        after.first_response_at,
        after.last_agent_activity_at,
    )


def test_resolve_makes_the_ticket_resolved(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """resolve moves an open ticket to Resolved and stamps resolved_at."""
    ticket = opened(desk, open_ticket())
    clock.advance(hours=1)
    after = desk.resolve(ticket.id, by="bob")
    assert ("resolved", START + timedelta(hours=1)) == (after.status, after.resolved_at)
    assert EventKind.RESOLVED == after.timeline[-1].kind


def test_resolved_ticket_is_not_locked(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A Resolved ticket still takes notes, tags and replies."""
    ticket = open_ticket()
    desk.resolve(ticket.id)
    desk.add_note(ticket.id, "done", by="bob")
    desk.add_tags(ticket.id, "solved-by-phone")
    assert "answered" == desk.agent_reply(ticket.id, "One more thing", by="bob").status


def test_reopen_moves_resolved_to_open(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """reopen moves a Resolved ticket to Open."""
    ticket = open_ticket()
    desk.resolve(ticket.id)
    after = desk.reopen(ticket.id, by="bob")
    assert ("open", EventKind.REOPENED) == (after.status, after.timeline[-1].kind)


def test_close_makes_the_ticket_closed(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """close moves the ticket to Closed and stamps closed_at."""
    ticket = opened(desk, open_ticket())
    clock.advance(days=1)
    after = desk.close(ticket.id, by="bob")
    assert ("closed", START + timedelta(days=1)) == (after.status, after.closed_at)
    assert ("customer_reply", "purge") == desk.allowed(ticket.id)


@pytest.mark.parametrize(
    ("trigger", "method"),
    [
        ("agent_reply", "agent_reply"),
        ("customer_reply", "customer_reply"),
        ("postpone", "postpone"),
        ("merge", "merge"),
        ("purge", "purge"),
    ],
)
def test_fire_refuses_triggers_of_commands_with_arguments(
    desk: Helpdesk, open_ticket: OpenTicket, trigger: str, method: str
) -> None:
    """fire() of a reply/postpone/merge/purge trigger points to the method and changes nothing."""
    ticket = open_ticket()
    with pytest.raises(InvalidInputError) as info:
        desk.fire(ticket.id, trigger)
    assert "trigger" == info.value.field
    assert f"Helpdesk.{method}()" in str(info.value)
    assert ticket == desk.get(ticket.id)


@pytest.mark.parametrize(
    ("start", "command"),
    [
        ("new", "reopen"),
        ("new", "wake"),
        ("open", "restore"),
        ("answered", "confirm_resolution"),
        ("spam", "agent_reply"),
        ("deleted", "resolve"),
    ],
)
def test_illegal_command_raises_transition_error_and_changes_nothing(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket, start: str, command: str
) -> None:
    """A command the graph does not allow raises TransitionError and stores nothing."""
    ticket = _ticket_in(desk, clock, open_ticket, start)
    call: Callable[[], object] = {
        "reopen": lambda: desk.reopen(ticket.id),
        "wake": lambda: desk.wake(ticket.id),
        "restore": lambda: desk.restore(ticket.id),
        "confirm_resolution": lambda: desk.confirm_resolution(ticket.id),
        "agent_reply": lambda: desk.agent_reply(ticket.id, "x", by="bob"),
        "resolve": lambda: desk.resolve(ticket.id),
    }[command]
    with pytest.raises(TransitionError) as info:
        call()
    assert (ticket.id, start) == (info.value.ticket_id, info.value.status)
    assert ticket == desk.get(ticket.id)


# --- closed is locked ---------------------------------------------------------------------


LOCKED_COMMANDS: dict[str, Callable[[Helpdesk, str, str], object]] = {
    "agent_reply": lambda d, t, _o: d.agent_reply(t, "hello?", by="bob"),
    "add_note": lambda d, t, _o: d.add_note(t, "note", by="bob"),
    "assign": lambda d, t, _o: d.assign(t, "carol"),
    "assign_department": lambda d, t, _o: d.assign(t, department="it"),
    "set_priority": lambda d, t, _o: d.set_priority(t, "urgent"),
    "add_tags": lambda d, t, _o: d.add_tags(t, "late"),
    "remove_tags": lambda d, t, _o: d.remove_tags(t, "printer"),
    "set_field": lambda d, t, _o: d.set_field(t, "asset", "PR-9"),
    "resolve": lambda d, t, _o: d.resolve(t),
    "reopen": lambda d, t, _o: d.reopen(t),
    "close": lambda d, t, _o: d.close(t),
    "confirm_resolution": lambda d, t, _o: d.confirm_resolution(t, rating=5),
    "postpone": lambda d, t, _o: d.postpone(t, START + timedelta(days=30)),
    "wake": lambda d, t, _o: d.wake(t),
    "mark_spam": lambda d, t, _o: d.mark_spam(t),
    "delete": lambda d, t, _o: d.delete(t),
    "restore": lambda d, t, _o: d.restore(t),
    "merge_as_source": lambda d, t, o: d.merge(t, o),
    "merge_as_target": lambda d, t, o: d.merge(o, t),
    "fire": lambda d, t, _o: d.fire(t, "reopen"),
}


@pytest.mark.parametrize("command", LOCKED_COMMANDS.keys())
def test_every_mutating_command_on_a_closed_ticket_raises_locked(
    desk: Helpdesk, open_ticket: OpenTicket, command: str
) -> None:
    """On a Closed ticket every mutating command raises TicketLockedError and changes nothing."""
    ticket = open_ticket(tags=["printer"], custom_fields={"asset": "PR-2"})
    closed(desk, ticket)
    other = open_ticket(subject="Other")
    before = (desk.get(ticket.id), desk.get(other.id), desk.store.count())
    with pytest.raises(TicketLockedError) as info:
        LOCKED_COMMANDS[command](desk, ticket.id, other.id)
    assert (ticket.id, "closed") == (info.value.ticket_id, info.value.status)
    assert before == (desk.get(ticket.id), desk.get(other.id), desk.store.count())


def test_locked_error_names_ticket_status_and_command(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """TicketLockedError's message and attributes name the ticket, status and command."""
    ticket = closed(desk, open_ticket())
    with pytest.raises(TicketLockedError) as info:
        desk.set_priority(ticket.id, "high")
    assert (ticket.id, "closed", "set_priority") == (
        info.value.ticket_id,
        info.value.status,
        info.value.command,
    )
    assert ticket.id in str(info.value)
    assert "'closed'" in str(info.value)
    assert "'set_priority'" in str(info.value)


# --- a customer reply to a closed ticket ------------------------------------------------


def test_customer_reply_on_closed_opens_a_follow_up_by_default(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """Under follow_up (the default) a reply opens a new linked ticket; the closed one stays."""
    assert "follow_up" == desk.workflow.closed_policy
    ticket = open_ticket(priority="high", tags=["printer"], department="it", assignee="bob")
    old = closed(desk, ticket)
    clock.advance(days=40)
    follow_up = desk.customer_reply(ticket.id, "It jammed again")
    assert old == desk.get(ticket.id)
    assert (
        ticket.id,
        "new",
        "Printer jammed",
        "It jammed again",
        ANN,
        ticket.priority,
        ticket.tags,
        "it",
        "bob",
        START + timedelta(days=40),
    ) == (
        follow_up.parent_id,
        follow_up.status,
        follow_up.subject,
        follow_up.description,
        follow_up.requester,
        follow_up.priority,
        follow_up.tags,
        follow_up.department,
        follow_up.assignee,
        follow_up.created_at,
    )
    assert ticket.id != follow_up.id
    assert follow_up == desk.get(follow_up.id)
    assert Role.CUSTOMER == follow_up.timeline[0].actor.role
    assert 2 == desk.store.count()


def _reopen_desk(clock: FakeClock, window: timedelta | None) -> Helpdesk:
    wf = workflows.liveagent(closed_policy="reopen", reopen_window=window)
    return Helpdesk(wf, store=MemoryStore(), clock=clock)


def test_customer_reply_within_the_reopen_window_reopens(clock: FakeClock) -> None:
    """Under 'reopen', a reply exactly at the end of the window reopens the closed ticket."""
    desk = _reopen_desk(clock, timedelta(days=7))
    ticket = desk.open_ticket(subject="x", requester=ANN)
    clock.advance(hours=1)
    desk.close(ticket.id)
    clock.set(START + timedelta(hours=1, days=7))
    after = desk.customer_reply(ticket.id, "Broken again")
    assert (ticket.id, "open", 3, 1) == (after.id, after.status, after.version, desk.store.count())
    event = after.timeline[-1]
    assert (EventKind.CUSTOMER_REPLIED, "closed", "open") == (
        event.kind,
        event.status_before,
        event.status_after,
    )
    assert "Broken again" == after.messages[-1].body


def test_customer_reply_just_after_the_reopen_window_opens_a_follow_up(clock: FakeClock) -> None:
    """Under 'reopen', a reply a microsecond after the window opens a follow-up instead."""
    desk = _reopen_desk(clock, timedelta(days=7))
    ticket = desk.open_ticket(subject="x", requester=ANN)
    clock.advance(hours=1)
    old = desk.close(ticket.id)
    clock.set(START + timedelta(hours=1, days=7, microseconds=1))
    follow_up = desk.customer_reply(ticket.id, "Broken again")
    assert (ticket.id, "new", "Broken again") == (
        follow_up.parent_id,
        follow_up.status,
        follow_up.description,
    )
    assert old == desk.get(ticket.id)


def test_reopen_window_counts_from_the_last_close(clock: FakeClock) -> None:
    """After a reopen and a second close, the window starts again at the second close."""
    desk = _reopen_desk(clock, timedelta(days=2))
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.close(ticket.id)
    clock.advance(days=1)
    desk.customer_reply(ticket.id, "again")
    clock.advance(days=1)
    desk.close(ticket.id)
    clock.advance(days=2)
    assert ticket.id == desk.customer_reply(ticket.id, "and again").id


def test_reopen_without_a_window_always_reopens(clock: FakeClock) -> None:
    """Under 'reopen' with no window, a reply reopens however late it comes."""
    desk = _reopen_desk(clock, None)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.close(ticket.id)
    clock.advance(days=3650)
    assert (ticket.id, "open") == (
        desk.customer_reply(ticket.id, "hi").id,
        desk.get(ticket.id).status,
    )


def test_customer_reply_on_closed_is_refused_under_refuse(clock: FakeClock) -> None:
    """Under 'refuse', a reply to a closed ticket raises TicketLockedError and stores nothing."""
    desk = Helpdesk(workflows.liveagent(closed_policy="refuse"), clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    old = desk.close(ticket.id)
    with pytest.raises(TicketLockedError) as info:
        desk.customer_reply(ticket.id, "hello?")
    assert (ticket.id, "closed", "customer_reply") == (
        info.value.ticket_id,
        info.value.status,
        info.value.command,
    )
    assert (old, 1) == (desk.get(ticket.id), desk.store.count())


def test_reopen_resolved_false_keeps_resolved_and_records_the_reply(clock: FakeClock) -> None:
    """With reopen_resolved=False a reply keeps Resolved but is recorded in thread and timeline."""
    desk = Helpdesk(workflows.liveagent(reopen_resolved=False), clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.resolve(ticket.id)
    clock.advance(hours=2)
    after = desk.customer_reply(ticket.id, "Thanks!")
    assert ("resolved", 3, "Thanks!") == (after.status, after.version, after.messages[-1].body)
    event = after.timeline[-1]
    assert (EventKind.CUSTOMER_REPLIED, "resolved", "resolved") == (
        event.kind,
        event.status_before,
        event.status_after,
    )
    assert START + timedelta(hours=2) == after.last_customer_activity_at


def test_reopen_resolved_false_still_lets_a_reply_open_other_statuses(clock: FakeClock) -> None:
    """reopen_resolved=False only affects Resolved: a reply to Answered still opens."""
    desk = Helpdesk(workflows.liveagent(reopen_resolved=False), clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.agent_reply(ticket.id, "hi", by="bob")
    assert "open" == desk.customer_reply(ticket.id, "hello").status


# --- postpone and wake --------------------------------------------------------------------


def test_postpone_stores_postponed_until(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """postpone(until) moves to Postponed and stores ``postponed_until`` in the ticket and event."""
    ticket = answered(desk, open_ticket())
    until = START + timedelta(days=3)
    after = desk.postpone(ticket.id, until, by="bob")
    assert ("postponed", until) == (after.status, after.postponed_until)
    assert (EventKind.POSTPONED, until) == (
        after.timeline[-1].kind,
        after.timeline[-1].data["until"],
    )


def test_postpone_again_moves_postponed_until(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """Postponing a Postponed ticket again replaces ``postponed_until``."""
    ticket = open_ticket()
    desk.postpone(ticket.id, START + timedelta(days=1))
    after = desk.postpone(ticket.id, START + timedelta(days=5))
    assert ("postponed", START + timedelta(days=5)) == (after.status, after.postponed_until)


def test_postpone_refuses_a_naive_datetime(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """postpone(naive) raises InvalidInputError(field='until') and changes nothing."""
    ticket = open_ticket()
    with pytest.raises(InvalidInputError, match="timezone-aware") as info:
        desk.postpone(ticket.id, datetime(2026, 2, 1, 9, 0))
    assert "until" == info.value.field
    assert ticket == desk.get(ticket.id)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1), timedelta(days=-30)])
def test_postpone_refuses_now_and_the_past(
    desk: Helpdesk, open_ticket: OpenTicket, offset: timedelta
) -> None:
    """postpone(until) with until not in the future raises InvalidInputError(field='until')."""
    ticket = open_ticket()
    with pytest.raises(InvalidInputError, match="future") as info:
        desk.postpone(ticket.id, START + offset)
    assert "until" == info.value.field
    assert ticket == desk.get(ticket.id)


def test_wake_returns_a_postponed_new_ticket_to_new(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """A ticket postponed while New wakes to New (guard was_new) and forgets postponed_until."""
    ticket = open_ticket()
    desk.postpone(ticket.id, START + timedelta(days=1))
    clock.advance(hours=23)  # woken by hand before wake_postponed is due
    after = desk.wake(ticket.id)
    assert ("new", None, EventKind.WOKEN) == (
        after.status,
        after.postponed_until,
        after.timeline[-1].kind,
    )


@pytest.mark.parametrize("start", ["open", "answered"])
def test_wake_returns_other_postponed_tickets_to_open(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket, start: str
) -> None:
    """A ticket postponed while Open or Answered wakes to Open."""
    ticket = _ticket_in(desk, clock, open_ticket, start)
    desk.postpone(ticket.id, clock.now() + timedelta(hours=1))
    after = desk.wake(ticket.id)
    assert ("open", None) == (after.status, after.postponed_until)


def test_wake_looks_at_the_last_postpone_only(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """was_new reads the status before the latest postpone, not an earlier one."""
    ticket = open_ticket()
    desk.postpone(ticket.id, START + timedelta(hours=1))
    assert "new" == desk.wake(ticket.id).status
    desk.agent_reply(ticket.id, "hi", by="bob")
    desk.postpone(ticket.id, START + timedelta(hours=2))
    desk.postpone(ticket.id, START + timedelta(hours=3))  # Postponed -> Postponed
    assert "open" == desk.wake(ticket.id).status


def test_repostponing_keeps_was_new(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A New ticket postponed twice still wakes to New."""
    ticket = open_ticket()
    desk.postpone(ticket.id, START + timedelta(hours=1))
    desk.postpone(ticket.id, START + timedelta(hours=2))
    assert "new" == desk.wake(ticket.id).status


def test_customer_reply_wakes_a_postponed_ticket_to_open(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """A customer reply to a Postponed ticket opens it and clears postponed_until."""
    ticket = open_ticket()
    desk.postpone(ticket.id, START + timedelta(days=1))
    after = desk.customer_reply(ticket.id, "Any news?")
    assert ("open", None) == (after.status, after.postponed_until)


def test_resolve_clears_postponed_until(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """Resolving a Postponed ticket clears postponed_until."""
    ticket = open_ticket()
    desk.postpone(ticket.id, START + timedelta(days=1))
    assert desk.resolve(ticket.id).postponed_until is None


# --- spam, delete, restore ---------------------------------------------------------------


def test_spam_then_restore_returns_to_new(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """mark_spam moves to spam; restore brings a spam ticket back to New."""
    ticket = answered(desk, open_ticket())
    assert ("spam", EventKind.MARKED_SPAM) == _last(desk.mark_spam(ticket.id, by="bob"))
    assert ("new", EventKind.RESTORED) == _last(desk.restore(ticket.id, by="bob"))


def test_delete_then_restore_returns_to_open(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """delete moves to deleted (soft); restore brings it back to Open with its data."""
    ticket = open_ticket(tags=["printer"])
    answered(desk, ticket)
    assert ("deleted", EventKind.DELETED) == _last(desk.delete(ticket.id))
    restored = desk.restore(ticket.id)
    assert ("open", EventKind.RESTORED) == _last(restored)
    assert (frozenset({"printer"}), 1) == (restored.tags, len(restored.messages))


def test_spam_can_be_deleted_and_restored(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A spam ticket can be deleted, then restored to Open."""
    ticket = open_ticket()
    desk.mark_spam(ticket.id)
    assert "deleted" == desk.delete(ticket.id).status
    assert "open" == desk.restore(ticket.id).status


def test_trash_is_found_by_category(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """Spam and deleted tickets are found under the 'trash' category."""
    spam, deleted, kept = open_ticket(), open_ticket(), open_ticket()
    desk.mark_spam(spam.id)
    desk.delete(deleted.id)
    assert [spam.id, deleted.id] == [t.id for t in desk.find(category="trash")]
    assert [kept.id] == [t.id for t in desk.find(category="new")]


def _last(ticket: Ticket) -> tuple[str, EventKind]:
    return ticket.status, ticket.timeline[-1].kind


# --- purge ------------------------------------------------------------------------------

SECRET_REQUESTER = Requester(
    name="Ann Secretname",
    email="ann.secret@example.com",
    contacts={"phone": "+32 2 555 99 99"},
    organisation="Secret Org NV",
)
SECRETS = (
    "Secretname",
    "ann.secret@example.com",
    "555 99 99",
    "Secret Org",
    "SECRET-SUBJECT",
    "SECRET-DESCRIPTION",
    "SECRET-BODY",
    "SECRET-FIELD",
    "carl.secret@example.com",
    "SECRET-MERGED",
)


def _purgeable(desk: Helpdesk, clock: FakeClock) -> Ticket:
    """A ticket full of personal data: replies, a note, custom fields, a merged-in ticket."""
    ticket = desk.open_ticket(
        subject="SECRET-SUBJECT printer",
        requester=SECRET_REQUESTER,
        description="SECRET-DESCRIPTION my address is ...",
        tags=["printer"],
        custom_fields={"address": "SECRET-FIELD street 1"},
        assignee="bob",
    )
    other = desk.open_ticket(
        subject="SECRET-SUBJECT again",
        requester=SECRET_REQUESTER,
        description="SECRET-MERGED description",
    )
    steps: list[Callable[[], object]] = [
        lambda: desk.agent_reply(ticket.id, "SECRET-BODY agent", by="bob"),
        lambda: desk.customer_reply(ticket.id, "SECRET-BODY customer"),
        lambda: desk.customer_reply(
            ticket.id, "SECRET-BODY colleague", by="carl.secret@example.com"
        ),
        lambda: desk.add_note(ticket.id, "SECRET-BODY note", by="carol"),
        lambda: desk.set_field(ticket.id, "phone", "SECRET-FIELD 0475"),
        lambda: desk.customer_reply(other.id, "SECRET-MERGED reply"),
        lambda: desk.merge(other.id, ticket.id, by="bob"),
        lambda: desk.resolve(ticket.id, by="bob"),
        lambda: desk.confirm_resolution(ticket.id, rating=4),
    ]
    for step in steps:
        clock.advance(minutes=10)
        step()
    return desk.get(ticket.id)


def _shape(events: tuple[Event, ...]) -> list[tuple[object, ...]]:
    """What purge keeps of each event: kind, time, role, statuses, version, agent ids."""
    return [
        (
            e.kind,
            e.at,
            e.actor.role,
            e.actor.id if e.actor.role is not Role.CUSTOMER else None,
            e.status_before,
            e.status_after,
            e.version,
        )
        for e in events
    ]


def test_purge_erases_personal_data_from_ticket_and_timeline(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """After purge no personal datum appears anywhere in the ticket or its stored timeline."""
    ticket = _purgeable(desk, clock)
    clock.advance(days=30)
    tombstone = desk.purge(ticket.id, by="dpo").ticket
    stored = desk.get(ticket.id)
    assert tombstone == stored
    text = json.dumps(
        {
            "ticket": [
                stored.subject,
                stored.description,
                stored.requester.to_dict(),
                dict(stored.custom_fields),
                [m.to_dict() for m in stored.messages],
            ],
            "timeline": [e.to_dict() for e in desk.timeline(ticket.id)],
        }
    )
    leaked = [s for s in SECRETS if s in text]
    assert [] == leaked


def test_purge_leaves_an_anonymous_tombstone(desk: Helpdesk, clock: FakeClock) -> None:
    """The tombstone has an erased requester, no subject, description, bodies or fields."""
    ticket = _purgeable(desk, clock)
    tombstone = desk.purge(ticket.id).ticket
    assert (
        "purged",
        "",
        "",
        Requester(name="(erased)"),
        {},
        {""},
        {"(erased)", "bob", "carol"},
        None,
    ) == (
        tombstone.status,
        tombstone.subject,
        tombstone.description,
        tombstone.requester,
        dict(tombstone.custom_fields),
        {m.body for m in tombstone.messages},
        {m.author.id for m in tombstone.messages},
        tombstone.postponed_until,
    )
    customer_ids = {e.actor.id for e in tombstone.timeline if e.actor.role is Role.CUSTOMER}
    assert {"(erased)"} == customer_ids


def test_purge_keeps_statuses_times_roles_and_agents(desk: Helpdesk, clock: FakeClock) -> None:
    """Purge keeps each event's kind, time, role, statuses, version and agent id."""
    ticket = _purgeable(desk, clock)
    clock.advance(hours=1)
    tombstone = desk.purge(ticket.id, by="dpo").ticket
    assert _shape(ticket.timeline) == _shape(tombstone.timeline[:-1])
    purge = tombstone.timeline[-1]
    assert (
        EventKind.PURGED,
        ticket.updated_at + timedelta(hours=1),
        Actor("dpo", Role.AGENT),
        "closed",
        "purged",
        ticket.version + 1,
    ) == (purge.kind, purge.at, purge.actor, purge.status_before, purge.status_after, purge.version)
    assert (
        ticket.created_at,
        ticket.first_response_at,
        ticket.last_customer_activity_at,
        ticket.last_agent_activity_at,
        ticket.resolved_at,
        ticket.closed_at,
        ticket.assignee,
        frozenset(),  # tags are erased: they may be personal (issue 11)
        ticket.priority,
        ticket.channel,
        len(ticket.messages),
        [m.private for m in ticket.messages],
        [m.at for m in ticket.messages],
        ticket.satisfaction,
    ) == (
        tombstone.created_at,
        tombstone.first_response_at,
        tombstone.last_customer_activity_at,
        tombstone.last_agent_activity_at,
        tombstone.resolved_at,
        tombstone.closed_at,
        tombstone.assignee,
        tombstone.tags,
        tombstone.priority,
        tombstone.channel,
        len(tombstone.messages),
        [m.private for m in tombstone.messages],
        [m.at for m in tombstone.messages],
        tombstone.satisfaction,
    )


def test_purge_works_on_a_closed_ticket(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A Closed ticket can be purged (data protection outranks the lock)."""
    ticket = closed(desk, open_ticket())
    assert "purged" == desk.purge(ticket.id).ticket.status


def test_purge_refuses_a_second_purge(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """Purging a purged ticket raises TicketLockedError and changes nothing."""
    ticket = open_ticket()
    tombstone = desk.purge(ticket.id).ticket
    with pytest.raises(TicketLockedError) as info:
        desk.purge(ticket.id)
    assert ("purged", "purge") == (info.value.status, info.value.command)
    assert tombstone == desk.get(ticket.id)


def test_purged_ticket_refuses_customer_replies(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """A customer reply to a purged ticket raises TicketLockedError and opens no follow-up."""
    ticket = open_ticket()
    desk.purge(ticket.id)
    with pytest.raises(TicketLockedError):
        desk.customer_reply(ticket.id, "hello?")
    assert 1 == desk.store.count()


def test_rebuilding_the_tombstone_timeline_gives_the_tombstone(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """Ticket.rebuild of the tombstone's timeline equals the tombstone."""
    tombstone = desk.purge(_purgeable(desk, clock).id).ticket
    assert tombstone == Ticket.rebuild(desk.timeline(tombstone.id))


def test_rebuilding_the_tombstone_from_json_events_gives_the_tombstone(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """The tombstone's events survive JSON (as a durable store keeps them) and rebuild it."""
    tombstone = desk.purge(_purgeable(desk, clock).id).ticket
    events = [Event.from_dict(json.loads(json.dumps(e.to_dict()))) for e in tombstone.timeline]
    assert list(tombstone.timeline) == events
    assert tombstone == Ticket.rebuild(events)


# --- merge ------------------------------------------------------------------------------


def _merge_pair(desk: Helpdesk, clock: FakeClock) -> tuple[Ticket, Ticket]:
    """Return (target, source) with interleaved messages, not yet merged."""
    target = desk.open_ticket(subject="VPN down", requester=ANN, description="target description")
    clock.advance(minutes=1)
    source = desk.open_ticket(
        subject="VPN still down",
        requester=Requester(name="Ann", email="ann@home.example"),
        description="source description",
    )
    clock.advance(minutes=1)
    desk.agent_reply(target.id, "target agent reply", by="bob")
    clock.advance(minutes=1)
    desk.customer_reply(source.id, "source customer reply")
    clock.advance(minutes=1)
    desk.add_note(source.id, "source note", by="carol")
    clock.advance(minutes=1)
    return desk.get(target.id), desk.get(source.id)


def test_merge_copies_description_and_messages_in_time_order(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """The target's thread gets the source's description and messages, sorted by time."""
    target, source = _merge_pair(desk, clock)
    merged = desk.merge(source.id, target.id, by="bob")
    assert [
        ("source description", "ann@home.example", False, START + timedelta(minutes=1)),
        ("target agent reply", "bob", False, START + timedelta(minutes=2)),
        ("source customer reply", "ann@home.example", False, START + timedelta(minutes=3)),
        ("source note", "carol", True, START + timedelta(minutes=4)),
    ] == [(m.body, m.author.id, m.private, m.at) for m in merged.messages]
    assert merged == desk.get(target.id)


def test_merge_moves_the_source_to_merged_with_a_link(desk: Helpdesk, clock: FakeClock) -> None:
    """The source goes to 'merged', links the target, and is closed at the merge time."""
    target, source = _merge_pair(desk, clock)
    desk.merge(source.id, target.id, by="bob")
    after = desk.get(source.id)
    assert ("merged", target.id, clock.now(), source.version + 1) == (
        after.status,
        after.merged_into,
        after.closed_at,
        after.version,
    )
    assert source.messages == after.messages


def test_merge_is_recorded_in_both_timelines(desk: Helpdesk, clock: FakeClock) -> None:
    """The source records 'merged' (into) and the target 'merge_received' (source), same time."""
    target, source = _merge_pair(desk, clock)
    desk.merge(source.id, target.id, by="bob")
    src_event = desk.timeline(source.id)[-1]
    tgt_event = desk.timeline(target.id)[-1]
    assert (EventKind.MERGED, source.status, "merged", target.id, Actor("bob", Role.AGENT)) == (
        src_event.kind,
        src_event.status_before,
        src_event.status_after,
        src_event.data["into"],
        src_event.actor,
    )
    assert (EventKind.MERGE_RECEIVED, target.status, target.status, source.id) == (
        tgt_event.kind,
        tgt_event.status_before,
        tgt_event.status_after,
        tgt_event.data["source"],
    )
    assert (clock.now(), clock.now()) == (src_event.at, tgt_event.at)
    assert target.version + 1 == desk.get(target.id).version


def test_customer_reply_to_a_merged_ticket_lands_on_the_target(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """A customer reply to the merged source is recorded on the target, which is returned."""
    target, source = _merge_pair(desk, clock)
    desk.merge(source.id, target.id, by="bob")
    merged_source = desk.get(source.id)
    clock.advance(minutes=1)
    landed = desk.customer_reply(source.id, "Any news?")
    assert (target.id, "open", "Any news?") == (
        landed.id,
        landed.status,
        landed.messages[-1].body,
    )
    assert merged_source == desk.get(source.id)
    assert 2 == desk.store.count()


def test_reply_to_a_merged_ticket_is_authored_by_its_own_requester(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """A reply redirected from a merged ticket is attributed to that ticket's requester."""
    target = desk.open_ticket(subject="VPN", requester=ANN)
    source = desk.open_ticket(subject="VPN", requester=Requester(email="carl@example.com"))
    desk.merge(source.id, target.id)
    landed = desk.customer_reply(source.id, "Carl here: any news?")
    assert Actor("carl@example.com", Role.CUSTOMER) == landed.messages[-1].author
    assert Actor("carl@example.com", Role.CUSTOMER) == landed.timeline[-1].actor


def test_merge_into_itself_is_refused(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """merge(t, t) raises InvalidInputError and changes nothing."""
    ticket = open_ticket()
    with pytest.raises(InvalidInputError) as info:
        desk.merge(ticket.id, ticket.id)
    assert "into_id" == info.value.field
    assert ticket == desk.get(ticket.id)


def test_merge_into_a_closed_ticket_is_refused(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """Merging into a Closed ticket raises TicketLockedError; neither ticket changes."""
    target = closed(desk, open_ticket())
    source = open_ticket()
    with pytest.raises(TicketLockedError) as info:
        desk.merge(source.id, target.id)
    assert target.id == info.value.ticket_id
    assert (target, source) == (desk.get(target.id), desk.get(source.id))


def test_merge_into_a_merged_ticket_is_refused(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """Merging into a ticket that was itself merged raises TicketLockedError."""
    a, b, c = open_ticket(), open_ticket(), open_ticket()
    desk.merge(a.id, b.id)
    with pytest.raises(TicketLockedError):
        desk.merge(c.id, a.id)
    assert c == desk.get(c.id)


def test_merge_of_a_spam_ticket_is_refused(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """Merging a spam ticket raises TransitionError (the graph has no merge from spam)."""
    source, target = open_ticket(), open_ticket()
    spam = desk.mark_spam(source.id)
    with pytest.raises(TransitionError) as info:
        desk.merge(source.id, target.id)
    assert ("spam", "merge") == (info.value.status, info.value.command)
    assert (spam, target) == (desk.get(source.id), desk.get(target.id))


# --- confirm_resolution -------------------------------------------------------------------


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_confirm_resolution_closes_and_records_the_rating(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket, rating: int
) -> None:
    """confirm_resolution(rating) records the rating; the confirmation rule closes the ticket."""
    ticket = open_ticket()
    desk.resolve(ticket.id)
    clock.advance(hours=3)
    after = desk.confirm_resolution(ticket.id, rating=rating)
    event, closing = after.timeline[-2:]
    assert ("resolved", "resolved") == (event.status_before, event.status_after)
    assert (EventKind.CLOSED, "closed", {"rule": "confirmation"}, event.version) == (
        closing.kind,
        closing.status_after,
        dict(closing.data),
        closing.version,
    )
    assert ("closed", rating, START + timedelta(hours=3)) == (
        after.status,
        after.satisfaction,
        after.closed_at,
    )
    assert (EventKind.CONFIRMED, Actor("ann@example.com", Role.CUSTOMER), {"rating": rating}) == (
        event.kind,
        event.actor,
        dict(event.data),
    )


def test_confirm_resolution_without_the_confirmation_rule_keeps_the_ticket_resolved(
    clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """With rules=[] a confirmation only records the rating."""
    desk = Helpdesk(workflows.liveagent(), clock=clock, rules=[])
    ticket = desk.open_ticket(subject="x", requester=ANN)
    desk.resolve(ticket.id)
    after = desk.confirm_resolution(ticket.id, rating=4)
    assert ("resolved", 4, EventKind.CONFIRMED) == (
        after.status,
        after.satisfaction,
        after.timeline[-1].kind,
    )


def test_confirm_resolution_refuses_a_ticket_that_is_not_resolved(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """Only a resolved ticket can be confirmed; the error names the command and status."""
    ticket = open_ticket()
    with pytest.raises(TransitionError) as info:
        desk.confirm_resolution(ticket.id, rating=5)
    assert ("confirm", "new") == (info.value.command, info.value.status)
    assert ticket == desk.get(ticket.id)


@pytest.mark.parametrize("rating", [0, 6, -1, True, 4.5, "5"])
def test_confirm_resolution_refuses_bad_ratings(
    desk: Helpdesk, open_ticket: OpenTicket, rating: Any
) -> None:
    """A rating that is not an integer from 1 to 5 raises InvalidInputError(field='rating')."""
    ticket = open_ticket()
    resolved = desk.resolve(ticket.id)
    with pytest.raises(InvalidInputError) as info:
        desk.confirm_resolution(ticket.id, rating=rating)
    assert "rating" == info.value.field
    assert resolved == desk.get(ticket.id)


# --- timestamps ---------------------------------------------------------------------------


def test_timestamps_are_set_from_the_clock_at_the_right_events(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """first_response_at, last_*_activity_at, resolved_at and closed_at follow the clock."""

    def stamps(t: Ticket) -> tuple[datetime | None, ...]:
        return (
            t.first_response_at,
            t.last_agent_activity_at,
            t.last_customer_activity_at,
            t.resolved_at,
            t.closed_at,
        )

    def at(hours: int) -> datetime:
        return START + timedelta(hours=hours)

    ticket = open_ticket()
    assert (None, None, at(0), None, None) == stamps(ticket)
    clock.set(at(1))
    assert (at(1), at(1), at(0), None, None) == stamps(desk.agent_reply(ticket.id, "a", by="b"))
    clock.set(at(2))
    assert (at(1), at(1), at(0), None, None) == stamps(desk.add_note(ticket.id, "n", by="b"))
    clock.set(at(3))
    assert (at(1), at(1), at(3), None, None) == stamps(desk.customer_reply(ticket.id, "c"))
    clock.set(at(4))
    assert (at(1), at(4), at(3), None, None) == stamps(desk.agent_reply(ticket.id, "a", by="b"))
    clock.set(at(5))
    assert (at(1), at(4), at(3), at(5), None) == stamps(desk.resolve(ticket.id))
    clock.set(at(6))
    assert (at(1), at(4), at(6), at(5), None) == stamps(desk.customer_reply(ticket.id, "c"))
    clock.set(at(7))
    assert (at(1), at(4), at(6), at(7), None) == stamps(desk.resolve(ticket.id))
    clock.set(at(8))
    assert (at(1), at(4), at(6), at(7), at(8)) == stamps(desk.close(ticket.id))


def test_every_event_is_stamped_with_the_clock(
    desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket
) -> None:
    """Each event's time is the clock's time when the command ran."""
    ticket = open_ticket()
    commands: list[Callable[[], Ticket]] = [
        lambda: desk.add_tags(ticket.id, "x"),
        lambda: desk.assign(ticket.id, "bob"),
        lambda: desk.agent_reply(ticket.id, "r", by="bob"),
        lambda: desk.resolve(ticket.id),
    ]
    for minutes, command in enumerate(commands, start=1):
        clock.set(START + timedelta(minutes=minutes))
        command()
    assert [START + timedelta(minutes=m) for m in range(5)] == [
        e.at for e in desk.timeline(ticket.id)
    ]


# --- no-op commands ---------------------------------------------------------------------

NO_OPS: dict[str, Callable[[Helpdesk, str], Ticket]] = {
    "assign the same agent": lambda d, t: d.assign(t, "bob"),
    "assign the same department": lambda d, t: d.assign(t, department="it"),
    "assign nothing": lambda d, t: d.assign(t),
    "add an existing tag": lambda d, t: d.add_tags(t, "printer"),
    "add no tags": lambda d, t: d.add_tags(t),
    "remove an absent tag": lambda d, t: d.remove_tags(t, "absent"),
    "set the same priority": lambda d, t: d.set_priority(t, "high"),
    "set a field to its value": lambda d, t: d.set_field(t, "asset", "PR-2"),
}


@pytest.mark.parametrize("command", NO_OPS.keys())
def test_no_op_commands_record_nothing(
    desk: Helpdesk, open_ticket: OpenTicket, command: str
) -> None:
    """A command that changes nothing records no event and keeps the version."""
    ticket = open_ticket(
        assignee="bob",
        department="it",
        tags=["printer"],
        priority="high",
        custom_fields={"asset": "PR-2"},
    )
    returned = NO_OPS[command](desk, ticket.id)
    assert (ticket, ticket) == (returned, desk.get(ticket.id))


def test_add_tags_records_only_new_tags(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """add_tags with known and new tags records only the new ones."""
    ticket = open_ticket(tags=["printer"])
    after = desk.add_tags(ticket.id, "printer", "vip", "floor-2")
    assert (["floor-2", "vip"], frozenset({"printer", "vip", "floor-2"})) == (
        after.timeline[-1].data["tags"],
        after.tags,
    )


def test_assign_none_unassigns(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """assign(None) removes the assignee and records it."""
    ticket = open_ticket(assignee="bob")
    after = desk.assign(ticket.id, None)
    assert (None, 2, {"assignee": None}) == (
        after.assignee,
        after.version,
        dict(after.timeline[-1].data),
    )


def test_field_changes_are_recorded(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """set_priority, remove_tags and set_field change the ticket and record events."""
    ticket = open_ticket(tags=["printer", "vip"])
    desk.set_priority(ticket.id, "urgent")
    desk.remove_tags(ticket.id, "vip", "absent")
    after = desk.set_field(ticket.id, "asset", {"id": "PR-2", "floor": 2})
    assert (
        "urgent",
        frozenset({"printer"}),
        {"asset": {"id": "PR-2", "floor": 2}},
        [EventKind.PRIORITY_CHANGED, EventKind.TAGS_REMOVED, EventKind.FIELD_SET],
        ["vip"],
    ) == (
        after.priority.label,
        after.tags,
        dict(after.custom_fields),
        [e.kind for e in after.timeline[1:]],
        after.timeline[2].data["tags"],
    )


def test_set_field_refuses_non_json_values(desk: Helpdesk, open_ticket: OpenTicket) -> None:
    """set_field with a value JSON cannot hold raises InvalidInputError and records nothing."""
    ticket = open_ticket()
    with pytest.raises(InvalidInputError) as info:
        desk.set_field(ticket.id, "when", START)
    assert "custom_fields.when" == info.value.field
    assert ticket == desk.get(ticket.id)


# --- helpers ----------------------------------------------------------------------------


def _ticket_in(desk: Helpdesk, clock: FakeClock, open_ticket: OpenTicket, status: str) -> Ticket:
    """Return a fresh ticket brought to ``status`` through ordinary commands."""
    ticket = open_ticket()
    tid = ticket.id
    path: dict[str, list[Callable[[], Ticket]]] = {
        "new": [],
        "answered": [lambda: answered(desk, ticket)],
        "open": [lambda: opened(desk, ticket)],
        "postponed": [lambda: desk.postpone(tid, clock.now() + timedelta(days=1))],
        "resolved": [lambda: desk.resolve(tid)],
        "spam": [lambda: desk.mark_spam(tid)],
        "deleted": [lambda: desk.delete(tid)],
    }
    for step in path[status]:
        clock.advance(minutes=1)
        ticket = step()
    clock.advance(minutes=1)
    assert status == desk.get(tid).status
    return desk.get(tid)
