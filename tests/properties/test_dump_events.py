"""The bulk encoder (`dump_events`, what `insert_new` writes) writes `dump_event`'s very text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ticketflow import Actor, CreatedData, Event, EventKind, Priority, Requester, Role, Ticket
from ticketflow.stores._codec import dump_event, dump_events

from .test_serialisation import lifecycles

TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=8)
NAMES = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=8
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
)
INSTANTS = st.builds(
    lambda base, micros, zone: base.astimezone(zone) + timedelta(microseconds=micros),
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2030, 1, 1),
        timezones=st.just(UTC),
    ),
    st.sampled_from([0, 0, 1, 999_999]),
    ZONES,
)
ACTORS = st.builds(Actor, NAMES, st.sampled_from(list(Role)))
PLAIN_KINDS = st.sampled_from(
    [k for k in EventKind if k not in {EventKind.CREATED, EventKind.MERGE_RECEIVED}]
)


@st.composite
def _created(draw: st.DrawFn) -> CreatedData:
    return CreatedData(
        id=draw(NAMES),
        subject=draw(NAMES),
        description=draw(TEXT),
        requester=Requester(name=draw(NAMES.filter(str.strip)), email=draw(st.none() | NAMES)),
        priority=draw(st.sampled_from(list(Priority))),
        channel=draw(NAMES),
        assignee=draw(st.none() | NAMES),
        department=draw(st.none() | NAMES),
        tags=tuple(sorted(draw(st.frozensets(NAMES, max_size=3)))),
        custom_fields=draw(st.dictionaries(TEXT, JSON, max_size=3)),
        parent_id=draw(st.none() | NAMES),
    )


@st.composite
def _events(draw: st.DrawFn) -> list[Event]:
    """Events of every payload shape, sharing actors, instants and payloads at random."""
    actors = draw(st.lists(ACTORS, min_size=1, max_size=3))
    instants = draw(st.lists(INSTANTS, min_size=1, max_size=3))
    payloads: list[Any] = draw(
        st.lists(
            st.dictionaries(TEXT, TEXT, max_size=2) | st.dictionaries(TEXT, JSON, max_size=3),
            min_size=1,
            max_size=3,
        )
    )
    events = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(PLAIN_KINDS | st.just(EventKind.CREATED))
        if kind is EventKind.CREATED:
            data: Any = draw(_created())
        elif kind is EventKind.POSTPONED:
            data = {"until": draw(INSTANTS)}
        else:
            data = draw(st.sampled_from(payloads))  # the same object for several events
        events.append(
            Event(
                kind=kind,
                at=draw(st.sampled_from(instants)),
                actor=draw(st.sampled_from(actors)),
                status_before=draw(NAMES),
                status_after=draw(NAMES),
                data=data,
                version=draw(st.integers(1, 2**31)),
            )
        )
    return events


@given(_events())
def test_dump_events_writes_dump_events_text_for_any_event(events: list[Event]) -> None:
    """Any text (quotes, controls, non-ASCII), zone, payload, and shared objects."""
    assert [dump_event(e) for e in events] == dump_events(events)
    for event, text in zip(events, dump_events(events), strict=True):
        plain = json.dumps(event.to_dict(), separators=(",", ":"), ensure_ascii=False)
        assert plain == text


@given(lifecycles())
def test_dump_events_writes_the_stored_text_of_real_timelines(tickets: list[Ticket]) -> None:
    """Timelines made by commands (merges, purges, metadata): the text `commit` writes."""
    events = [e for ticket in tickets for e in ticket.timeline]
    assert [dump_event(e) for e in events] == dump_events(events)


def test_equal_instants_in_two_zones_keep_their_own_offsets() -> None:
    """The instant cache is for UTC only: 10:00+01:00 is not written as 09:00+00:00."""
    at = datetime(2024, 1, 8, 9, tzinfo=UTC)
    actor = Actor("bob", Role.AGENT)
    events = [
        Event(kind=EventKind.NOTIFIED, at=t, actor=actor, status_before="a", status_after="a")
        for t in (at, at.astimezone(timezone(timedelta(hours=1))), at)
    ]
    texts = dump_events(events)
    assert ['"2024-01-08T09:00:00+00:00"', '"2024-01-08T10:00:00+01:00"'] == [
        f'"{json.loads(t)["at"]}"' for t in texts[:2]
    ]
    assert texts == [dump_event(e) for e in events]
