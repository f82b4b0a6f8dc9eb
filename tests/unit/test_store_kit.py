"""The public kit for backend authors: the version step, the new events, the queue order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketflow import FakeClock, Helpdesk, InvalidInputError, Requester, StoreError, rules
from ticketflow.stores import (
    Change,
    QueueKey,
    TicketQuery,
    check_version_step,
    new_positions,
    queue_order,
    requester_key,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_new_positions_are_the_events_of_the_last_commit() -> None:
    """``new_positions`` is the tail of the timeline carrying the ticket's version."""
    desk = Helpdesk(clock=FakeClock(START), rules=[rules.confirmation()])
    ticket = desk.open_ticket(subject="VPN", requester=Requester(name="Ann"))
    assert range(1) == new_positions(ticket)
    desk.resolve(ticket.id, by="bob")
    confirmed = desk.confirm_resolution(ticket.id, rating=4)
    assert range(2, 4) == new_positions(confirmed)
    assert ["confirmed", "closed"] == [confirmed.timeline[i].kind.value for i in range(2, 4)]


@pytest.mark.parametrize("expected", [-1, 0, 2, 5])
def test_check_version_step_refuses_anything_but_one_step(expected: int) -> None:
    """A change whose version is not ``expected_version + 1`` is a `StoreError` naming both."""
    desk = Helpdesk(clock=FakeClock(START), id_factory=lambda _at: "T1")
    ticket = desk.agent_reply(
        desk.open_ticket(subject="VPN", requester=Requester(name="Ann")).id, "hi", by="bob"
    )
    check_version_step(Change(ticket, 1))  # version 2 over version 1: well formed
    with pytest.raises(StoreError, match=rf"T1: .*expected {expected + 1}, got 2"):
        check_version_step(Change(ticket, expected))


KEYS = st.builds(
    QueueKey,
    sla_due=st.sampled_from((None, START, START + HOUR)),
    waiting_since=st.sampled_from((START - HOUR, START)),
    priority=st.integers(1, 4),
)


@given(entries=st.dictionaries(st.sampled_from("abcdef"), KEYS, max_size=6))
def test_queue_order_sorts_by_sla_due_then_wait_then_priority_then_id(
    entries: dict[str, QueueKey],
) -> None:
    """Sorted by ``queue_order``: SLA due (none last), longest wait, highest priority, id."""
    ordered = sorted(entries, key=lambda tid: queue_order(tid, entries[tid]))
    for first, second in itertools.pairwise(ordered):
        a, b = entries[first], entries[second]
        a_due = (a.sla_due is None, a.sla_due or START)
        b_due = (b.sla_due is None, b.sla_due or START)
        assert a_due <= b_due
        if a_due == b_due:
            assert a.waiting_since <= b.waiting_since
            if a.waiting_since == b.waiting_since:
                assert a.priority >= b.priority
                if a.priority == b.priority:
                    assert first < second


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann@Example.COM\t", "ann@example.com"),
        ("Dora.Straße@Example.de", "dora.strasse@example.de"),
    ],
)
def test_a_requester_query_holds_the_normalised_address(given: str, key: str) -> None:
    """``TicketQuery.requester`` is stripped and case-folded, as `requester_key` indexes tickets."""
    desk = Helpdesk(clock=FakeClock())
    ticket = desk.open_ticket(subject="s", requester=Requester(name="R", email=given))
    assert key == TicketQuery(requester=given).requester == requester_key(ticket)
    assert TicketQuery(requester=key.upper()).matches(ticket)


def test_a_requester_without_an_address_has_no_key() -> None:
    """No address, or one of white space only, is no key: such a ticket is nobody's."""
    desk = Helpdesk(clock=FakeClock())
    for email in (None, "   "):
        ticket = desk.open_ticket(subject="s", requester=Requester(name="R", email=email), by="bob")
        assert requester_key(ticket) is None


@pytest.mark.parametrize("bad", ["", "   ", 5, "a\x00b", "\ud800@x"])
def test_a_requester_query_refuses_what_is_no_address(bad: object) -> None:
    """A blank, non-string or unstorable requester: InvalidInputError naming ``requester``."""
    with pytest.raises(InvalidInputError) as info:
        TicketQuery(requester=bad)  # type: ignore[arg-type]
    assert "requester" == info.value.field
