"""The ticket model: priorities, requesters, events and their JSON form, ids, rebuilding."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from ticketflow import (
    Actor,
    Event,
    EventKind,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    Message,
    Priority,
    Requester,
    Role,
    Ticket,
)

from .conftest import ANN, START

BOB = Actor("bob", Role.AGENT)
ANN_ACTOR = Actor("ann@example.com", Role.CUSTOMER)


def json_round_trip(event: Event) -> Event:
    """Return ``event`` after a trip through JSON text, as a durable store would do."""
    return Event.from_dict(json.loads(json.dumps(event.to_dict())))


# --- Priority -------------------------------------------------------------------------


def test_priorities_are_ordered_low_normal_high_urgent() -> None:
    """Priority orders LOW < NORMAL < HIGH < URGENT."""
    assert [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT] == sorted(
        [Priority.URGENT, Priority.LOW, Priority.HIGH, Priority.NORMAL]
    )
    assert Priority.LOW < Priority.NORMAL < Priority.HIGH < Priority.URGENT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("low", Priority.LOW),
        ("normal", Priority.NORMAL),
        ("high", Priority.HIGH),
        ("urgent", Priority.URGENT),
        ("URGENT", Priority.URGENT),
        ("High", Priority.HIGH),
        (Priority.HIGH, Priority.HIGH),
    ],
)
def test_priority_parse_accepts_names_and_members(text: str, expected: Priority) -> None:
    """Priority.parse accepts a member or its name in any case."""
    assert expected is Priority.parse(text)


@pytest.mark.parametrize("value", ["critical", "", " low", 3, None, 2.0])
def test_priority_parse_refuses_unknown_values(value: object) -> None:
    """Priority.parse raises InvalidInputError naming the field and the choices."""
    with pytest.raises(InvalidInputError, match="low, normal, high, urgent") as info:
        Priority.parse(value)  # type: ignore[arg-type]
    assert "priority" == info.value.field


def test_priority_parse_names_the_field_it_was_given() -> None:
    """Priority.parse(value, field) reports ``field``."""
    with pytest.raises(InvalidInputError) as info:
        Priority.parse("nope", "conditions.priority")
    assert "conditions.priority" == info.value.field


def test_priority_label_is_the_lower_case_name() -> None:
    """Priority.label is the lower-case name."""
    assert ["low", "normal", "high", "urgent"] == [p.label for p in Priority]


def test_open_ticket_refuses_an_unknown_priority(desk: Helpdesk) -> None:
    """open_ticket(priority='critical') raises InvalidInputError and stores nothing."""
    with pytest.raises(InvalidInputError):
        desk.open_ticket(subject="x", requester=ANN, priority="critical")
    assert 0 == desk.store.count()


# --- Requester ------------------------------------------------------------------------


def test_requester_needs_a_name_or_an_email() -> None:
    """Requester() without name and e-mail raises InvalidInputError(field='requester')."""
    with pytest.raises(InvalidInputError, match="name or an e-mail") as info:
        Requester()
    assert "requester" == info.value.field
    with pytest.raises(InvalidInputError):
        Requester(name="", email=None)


@pytest.mark.parametrize("requester", [Requester(name="Ann"), Requester(email="ann@example.com")])
def test_requester_with_only_a_name_or_only_an_email_is_valid(requester: Requester) -> None:
    """A name alone or an e-mail alone is enough."""
    assert requester == Requester.from_dict(requester.to_dict())


@pytest.mark.parametrize(
    "requester",
    [
        Requester(name="Ann"),
        Requester(email="ann@example.com"),
        ANN,
        Requester(name="Zoë Ünïcode", contacts={"chat": "@zoe", "phone": "+1"}),
    ],
)
def test_requester_round_trips_through_json(requester: Requester) -> None:
    """Requester.from_dict(to_dict()) gives back an equal requester, also through JSON text."""
    assert requester == Requester.from_dict(json.loads(json.dumps(requester.to_dict())))


def test_requester_to_dict_holds_only_set_fields() -> None:
    """to_dict leaves out fields that are not set."""
    assert {"name": "Ann"} == Requester(name="Ann").to_dict()
    assert {
        "name": "Ann Example",
        "email": "ann@example.com",
        "contacts": {"phone": "+32 2 555 01 01"},
        "organisation": "Example NV",
    } == ANN.to_dict()


def test_requester_contacts_are_read_only() -> None:
    """A requester's contacts cannot be changed in place."""
    with pytest.raises(TypeError):
        ANN.contacts["phone"] = "0"  # type: ignore[index]


def test_requester_is_frozen() -> None:
    """A requester cannot be changed in place."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ANN.name = "Bob"  # type: ignore[misc]


# --- Message and Event JSON -----------------------------------------------------------


@pytest.mark.parametrize("private", [False, True])
def test_message_round_trips_through_json(private: bool) -> None:
    """Message.from_dict(to_dict()) gives back an equal message, also through JSON text."""
    message = Message(at=START, author=BOB, body="Restarting the gateway", private=private)
    assert message == Message.from_dict(json.loads(json.dumps(message.to_dict())))


def _event(kind: EventKind, data: dict[str, object], **kwargs: object) -> Event:
    values: dict[str, object] = {
        "kind": kind,
        "at": START,
        "actor": BOB,
        "status_before": "open",
        "status_after": "open",
        "data": data,
        "version": 3,
    }
    values.update(kwargs)
    return Event(**values)  # type: ignore[arg-type]


ROUND_TRIP_EVENTS = {
    "created with a requester": _event(
        EventKind.CREATED,
        {
            "id": "01KDUMMY",
            "subject": "VPN down",
            "requester": ANN,
            "tags": ["vpn"],
            "custom_fields": {"order": 42, "vip": True, "notes": None},
        },
        actor=ANN_ACTOR,
        status_before="new",
        status_after="new",
        version=1,
    ),
    "postponed with a datetime": _event(
        EventKind.POSTPONED,
        {"until": START + timedelta(days=2)},
        status_after="postponed",
    ),
    "merge_received with messages": _event(
        EventKind.MERGE_RECEIVED,
        {
            "source": "01KSOURCE",
            "messages": (
                Message(at=START - timedelta(hours=2), author=ANN_ACTOR, body="first"),
                Message(at=START - timedelta(hours=1), author=BOB, body="note", private=True),
            ),
        },
    ),
    "agent reply": _event(EventKind.AGENT_REPLIED, {"body": "hi"}, status_after="answered"),
    "tags added": _event(EventKind.TAGS_ADDED, {"tags": ["a", "b"]}),
    "field set": _event(EventKind.FIELD_SET, {"name": "order", "value": [1, {"x": 2.5}]}),
    "no data": _event(
        EventKind.RESOLVED, {}, actor=Actor("system", Role.SYSTEM), status_after="resolved"
    ),
}


@pytest.mark.parametrize("event", ROUND_TRIP_EVENTS.values(), ids=ROUND_TRIP_EVENTS.keys())
def test_event_round_trips_through_json(event: Event) -> None:
    """Event.from_dict(to_dict()) through JSON text gives back an equal event."""
    assert event == json_round_trip(event)


def test_created_event_carries_a_requester_after_a_round_trip() -> None:
    """The requester of a created event comes back as a Requester, not a dict."""
    event = json_round_trip(ROUND_TRIP_EVENTS["created with a requester"])
    assert ANN == event.data["requester"]
    assert isinstance(event.data["requester"], Requester)


def test_postponed_event_carries_an_aware_datetime_after_a_round_trip() -> None:
    """The ``until`` of a postponed event comes back as an aware datetime in UTC."""
    event = json_round_trip(ROUND_TRIP_EVENTS["postponed with a datetime"])
    assert START + timedelta(days=2) == event.data["until"]
    assert timedelta(0) == event.data["until"].utcoffset()


def test_merge_received_event_carries_messages_after_a_round_trip() -> None:
    """The messages of a merge_received event come back as Message objects."""
    original = ROUND_TRIP_EVENTS["merge_received with messages"]
    event = json_round_trip(original)
    assert tuple(original.data["messages"]) == tuple(event.data["messages"])
    assert all(isinstance(m, Message) for m in event.data["messages"])


def test_event_to_dict_is_plain_json() -> None:
    """Event.to_dict holds only JSON values (datetimes as ISO text, objects as dicts)."""
    data = ROUND_TRIP_EVENTS["postponed with a datetime"].to_dict()
    assert {
        "kind": "postponed",
        "at": "2026-01-05T09:00:00+00:00",
        "actor": {"id": "bob", "role": "agent"},
        "status_before": "open",
        "status_after": "postponed",
        "data": {"until": "2026-01-07T09:00:00+00:00"},
        "version": 3,
    } == data


def test_event_from_dict_refuses_a_naive_time() -> None:
    """An event whose time has no zone is refused with InvalidInputError(field='at')."""
    data = ROUND_TRIP_EVENTS["agent reply"].to_dict()
    data["at"] = "2026-01-05T09:00:00"
    with pytest.raises(InvalidInputError) as info:
        Event.from_dict(data)
    assert "at" == info.value.field


def test_changes_status_compares_before_and_after() -> None:
    """Event.changes_status is True exactly when the status moved."""
    assert ROUND_TRIP_EVENTS["agent reply"].changes_status
    assert not ROUND_TRIP_EVENTS["tags added"].changes_status


# --- ids ------------------------------------------------------------------------------


def test_ticket_ids_are_unique_and_sort_by_creation(
    clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """Ids of tickets created one after another sort in creation order."""
    ids = []
    for step in range(30):
        ids.append(open_ticket().id)
        clock.advance(seconds=step * 0.0003)  # some steps stay within one millisecond
    assert 30 == len(set(ids))
    assert sorted(ids) == ids


def test_ticket_ids_sort_by_creation_when_the_clock_stands_still(
    open_ticket: Callable[..., Ticket],
) -> None:
    """Tickets created at the same instant still get unique ids in creation order."""
    ids = [open_ticket().id for _ in range(200)]
    assert 200 == len(set(ids))
    assert sorted(ids) == ids


def test_ticket_ids_are_26_character_ulids(open_ticket: Callable[..., Ticket]) -> None:
    """An id is a 26-character Crockford base-32 ULID."""
    ticket_id = open_ticket().id
    assert 26 == len(ticket_id)
    assert set() == set(ticket_id) - set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_ticket_ids_sort_by_creation_across_milliseconds(
    clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """A ticket created a millisecond later sorts after one created at the same instant."""
    first = [open_ticket().id for _ in range(5)]
    clock.advance(seconds=0.001)
    later = open_ticket().id
    assert all(earlier < later for earlier in first)


def test_custom_id_factory_is_used(clock: FakeClock) -> None:
    """Helpdesk(id_factory=...) names tickets with the factory, given the creation time."""
    seen: list[datetime] = []

    def factory(at: datetime) -> str:
        seen.append(at)
        return f"T-{len(seen)}"

    desk = Helpdesk(clock=clock, id_factory=factory)
    assert "T-1" == desk.open_ticket(subject="x", requester=ANN).id
    assert [START] == seen


# --- snapshots and rebuilding -----------------------------------------------------------


def _long_lifecycle(desk: Helpdesk, clock: FakeClock) -> str:
    """Drive one ticket through most commands; return its id."""
    other = desk.open_ticket(
        subject="Duplicate", requester=ANN, description="Same printer", channel="chat"
    )
    clock.advance(minutes=5)
    ticket = desk.open_ticket(
        subject="Printer jammed",
        requester=ANN,
        description="Floor 2",
        priority="high",
        channel="portal",
        department="it",
        tags=["printer", "floor-2"],
        custom_fields={"asset": "PR-2", "floors": [2, 3]},
    )
    tid = ticket.id
    steps: list[Callable[[], object]] = [
        lambda: desk.add_note(tid, "Probably the roller", by="bob"),
        lambda: desk.assign(tid, "bob", by="lead"),
        lambda: desk.agent_reply(tid, "Looking into it", by="bob"),
        lambda: desk.customer_reply(tid, "Still broken"),
        lambda: desk.customer_reply(other.id, "Also on floor 3", by="carl@example.com"),
        lambda: desk.set_priority(tid, "urgent", by="lead"),
        lambda: desk.add_tags(tid, "hardware", "vip"),
        lambda: desk.remove_tags(tid, "floor-2"),
        lambda: desk.set_field(tid, "asset", "PR-2b"),
        lambda: desk.set_field(tid, "visits", 1),
        lambda: desk.postpone(tid, clock.now() + timedelta(days=1), by="bob"),
        lambda: desk.wake(tid),
        lambda: desk.merge(other.id, tid, by="bob"),
        lambda: desk.assign(tid, department="facilities"),
        lambda: desk.resolve(tid, by="bob"),
        lambda: desk.reopen(tid, by="bob"),
        lambda: desk.agent_reply(tid, "Replaced the roller", by="bob"),
        lambda: desk.resolve(tid, by="bob"),
        lambda: desk.customer_reply(tid, "Works again, thanks"),
        lambda: desk.resolve(tid, by="bob"),
        lambda: desk.confirm_resolution(tid, rating=5),
    ]
    for step in steps:
        clock.advance(minutes=7)
        step()
    return tid


def test_rebuild_equals_the_stored_ticket_after_a_long_lifecycle(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """Ticket.rebuild(timeline) equals the stored ticket after every kind of command."""
    tid = _long_lifecycle(desk, clock)
    stored = desk.get(tid)
    assert 21 == stored.version  # created + 20 commands on this ticket
    assert stored == Ticket.rebuild(desk.timeline(tid))


def test_rebuild_from_json_events_equals_the_stored_ticket(
    desk: Helpdesk, clock: FakeClock
) -> None:
    """Rebuilding from events that went through JSON text gives back the stored ticket."""
    tid = _long_lifecycle(desk, clock)
    events = [json_round_trip(e) for e in desk.timeline(tid)]
    assert list(desk.timeline(tid)) == events
    assert desk.get(tid) == Ticket.rebuild(events)


def test_rebuild_equals_every_intermediate_snapshot(desk: Helpdesk, clock: FakeClock) -> None:
    """Each prefix of the timeline rebuilds the snapshot a command returned at that version."""
    snapshots = [desk.open_ticket(subject="x", requester=ANN, description="d")]
    tid = snapshots[0].id
    steps: list[Callable[[], Ticket]] = [
        lambda: desk.agent_reply(tid, "a", by="bob"),
        lambda: desk.add_tags(tid, "t"),
        lambda: desk.customer_reply(tid, "c"),
        lambda: desk.postpone(tid, clock.now() + timedelta(hours=1), by="bob"),
        lambda: desk.wake(tid),
        lambda: desk.resolve(tid),
        lambda: desk.close(tid),
    ]
    for step in steps:
        clock.advance(minutes=1)
        snapshots.append(step())
    timeline = desk.timeline(tid)
    rebuilt = [Ticket.rebuild(timeline[: s.version]) for s in snapshots]
    assert snapshots == rebuilt


def test_rebuild_refuses_a_timeline_without_created_first() -> None:
    """Ticket.rebuild raises ValueError for an empty timeline or one not starting 'created'."""
    with pytest.raises(ValueError, match="created"):
        Ticket.rebuild([])
    with pytest.raises(ValueError, match="created"):
        Ticket.rebuild([ROUND_TRIP_EVENTS["agent reply"]])


def test_created_at_and_updated_at_come_from_the_timeline(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """created_at is the first event's time and updated_at the last event's."""
    ticket = open_ticket()
    assert (START, START) == (ticket.created_at, ticket.updated_at)
    clock.advance(hours=2)
    ticket = desk.agent_reply(ticket.id, "hi", by="bob")
    assert (START, START + timedelta(hours=2)) == (ticket.created_at, ticket.updated_at)


def test_satisfaction_is_the_confirmed_rating(
    desk: Helpdesk, open_ticket: Callable[..., Ticket]
) -> None:
    """satisfaction is None until a confirmation with a rating, then that rating."""
    ticket = open_ticket()
    assert ticket.satisfaction is None
    desk.resolve(ticket.id)
    assert desk.get(ticket.id).satisfaction is None
    assert 4 == desk.confirm_resolution(ticket.id, rating=4).satisfaction


def test_satisfaction_is_none_after_a_confirmation_without_rating(
    desk: Helpdesk, open_ticket: Callable[..., Ticket]
) -> None:
    """A confirmation without a rating leaves satisfaction None."""
    ticket = open_ticket()
    desk.resolve(ticket.id)
    assert desk.confirm_resolution(ticket.id).satisfaction is None


def test_commands_return_new_snapshots_and_leave_old_ones_alone(
    desk: Helpdesk, open_ticket: Callable[..., Ticket]
) -> None:
    """A command returns a new ticket; the snapshot read before is unchanged."""
    before = open_ticket()
    after = desk.agent_reply(before.id, "hi", by="bob")
    assert ("new", 1, 0) == (before.status, before.version, len(before.messages))
    assert ("answered", 2, 1) == (after.status, after.version, len(after.messages))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        after.status = "open"  # type: ignore[misc]


def test_created_ticket_holds_what_it_was_opened_with(desk: Helpdesk) -> None:
    """open_ticket stores every given field, and the created event records them."""
    ticket = desk.open_ticket(
        subject="VPN down",
        requester=ANN,
        description="Since 8:00",
        priority="urgent",
        channel="phone",
        assignee="bob",
        department="network",
        tags=["vpn", "remote"],
        custom_fields={"site": "Brussels"},
    )
    assert (
        "VPN down",
        "Since 8:00",
        ANN,
        Priority.URGENT,
        "phone",
        "bob",
        "network",
        frozenset({"vpn", "remote"}),
        {"site": "Brussels"},
        "new",
        1,
        START,
    ) == (
        ticket.subject,
        ticket.description,
        ticket.requester,
        ticket.priority,
        ticket.channel,
        ticket.assignee,
        ticket.department,
        ticket.tags,
        dict(ticket.custom_fields),
        ticket.status,
        ticket.version,
        ticket.last_customer_activity_at,
    )
    (created,) = ticket.timeline
    assert (EventKind.CREATED, Actor("ann@example.com", Role.CUSTOMER), "new", "new") == (
        created.kind,
        created.actor,
        created.status_before,
        created.status_after,
    )


def test_open_ticket_by_an_agent_records_the_agent(desk: Helpdesk) -> None:
    """open_ticket(by=agent) records the agent as the creator."""
    ticket = desk.open_ticket(subject="x", requester=ANN, by="bob")
    assert BOB == ticket.timeline[0].actor


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"custom_fields": {"when": datetime(2026, 1, 1, tzinfo=UTC)}}, "custom_fields"),
        ({"custom_fields": {"x": float("nan")}}, "custom_fields"),
        ({"tags": "vpn"}, "tags"),
        ({"tags": ["ok", ""]}, "tags"),
        ({"channel": ""}, "channel"),
        ({"assignee": ""}, "assignee"),
        ({"subject": None}, "subject"),
    ],
)
def test_open_ticket_refuses_invalid_input(
    desk: Helpdesk, kwargs: dict[str, object], field: str
) -> None:
    """open_ticket raises InvalidInputError naming the bad argument, and stores nothing."""
    kwargs = {"subject": "x", "requester": ANN, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        desk.open_ticket(**kwargs)  # type: ignore[arg-type]
    assert field == info.value.field
    assert 0 == desk.store.count()


def test_open_ticket_refuses_a_requester_that_is_not_a_requester(desk: Helpdesk) -> None:
    """open_ticket(requester=dict) raises InvalidInputError(field='requester')."""
    with pytest.raises(InvalidInputError) as info:
        desk.open_ticket(subject="x", requester={"name": "Ann"})  # type: ignore[arg-type]
    assert "requester" == info.value.field


@pytest.mark.parametrize(
    "value", [(1, 2), {1: "x"}, {"a": {"b": (3,)}}, {"s": {1, 2}}, float("inf")]
)
def test_custom_field_values_must_survive_a_json_round_trip(value: object) -> None:
    """Tuples, sets, non-str keys and infinities are refused: a store would not give them back."""
    desk = Helpdesk(clock=FakeClock())
    with pytest.raises(InvalidInputError) as info:
        desk.open_ticket(subject="x", requester=Requester(name="Ann"), custom_fields={"f": value})
    assert "custom_fields" == info.value.field
    assert 0 == desk.store.count()


def test_requester_with_a_blank_name_and_no_email_is_refused() -> None:
    """A name of spaces is no name."""
    with pytest.raises(InvalidInputError) as info:
        Requester(name="   ")
    assert "requester" == info.value.field
