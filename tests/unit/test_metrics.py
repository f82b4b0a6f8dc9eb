"""Metrics from timelines: the definitions on scripted tickets, aggregation, rows and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ticketflow import Category, FakeClock, Helpdesk, InvalidInputError, Ticket, workflows
from ticketflow.metrics import (
    Calendar,
    SlaOutcome,
    TicketMetrics,
    aggregate,
    period_of,
    ticket_metrics,
    to_rows,
    write_csv,
)
from ticketflow.sla import Metric, SlaPolicies, SlaPolicy

from .conftest import START

WORKFLOW = workflows.liveagent()


class WorkHours:
    """A test calendar: business time is 09:00-17:00 UTC on every day (weekends too)."""

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Sum the overlap of [start, end] with each day's 09:00-17:00."""
        total = timedelta()
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            opens, closes = day + timedelta(hours=9), day + timedelta(hours=17)
            total += max(timedelta(), min(end, closes) - max(start, opens))
            day += timedelta(days=1)
        return total


def scripted(desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]) -> Ticket:
    """New 10 min, open 20 min (replies), resolved 30 min, reopened, resolved again, confirmed."""
    ticket = open_ticket(priority="high", channel="chat")
    desk.assign(ticket.id, "bob", department="it", by="lead")
    clock.advance(minutes=5)
    desk.add_note(ticket.id, "looking", by="bob")  # a note is not a response
    clock.advance(minutes=5)
    desk.agent_reply(ticket.id, "Which model?", by="bob")  # new -> answered
    clock.advance(minutes=20)
    desk.customer_reply(ticket.id, "HP 4000")  # answered -> open
    clock.advance(minutes=10)
    desk.agent_reply(ticket.id, "Fixed.", by="bob")  # open -> answered
    desk.resolve(ticket.id, by="bob")  # answered -> resolved at +40 min
    clock.advance(minutes=30)
    desk.reopen(ticket.id, by="bob")  # resolved -> open at +70 min
    clock.advance(minutes=15)
    desk.resolve(ticket.id, by="bob")  # open -> resolved at +85 min
    clock.advance(minutes=5)
    # +90 min: the preset's confirmation rule closes it in the same commit
    return desk.confirm_resolution(ticket.id, rating=4)


def test_scripted_ticket_gives_each_documented_figure(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """First response skips the note; closing after the final resolution does not move it."""
    ticket = scripted(desk, clock, open_ticket)
    m = ticket_metrics(ticket, WORKFLOW, now=START + timedelta(hours=2))
    assert m.first_response == timedelta(minutes=10)
    assert m.first_response == ticket.first_response_at - ticket.created_at  # type: ignore[operator]
    assert m.resolution_first == timedelta(minutes=40)
    assert m.resolution_final == timedelta(minutes=85)
    assert (m.agent_replies, m.customer_replies, m.reopens) == (2, 1, 1)
    assert m.satisfaction == 4
    assert m.age == timedelta(hours=2)
    assert dict(m.time_in_status) == {
        "new": timedelta(minutes=10),
        "answered": timedelta(minutes=20),
        "open": timedelta(minutes=10 + 15),
        "resolved": timedelta(minutes=30 + 5),
        "closed": timedelta(minutes=30),
    }
    assert (m.status, m.category, m.assignee, m.department) == (
        "closed",
        Category.CLOSED,
        "bob",
        "it",
    )
    assert (m.priority, m.channel) == ("high", "chat")
    assert m.time_in_status_business is None
    assert m.first_response_business is None


def test_an_unanswered_ticket_has_no_response_or_resolution(
    open_ticket: Callable[..., Ticket],
) -> None:
    """Without an agent reply or resolution those durations are None; now extends the age."""
    ticket = open_ticket()
    m = ticket_metrics(ticket, WORKFLOW, now=START + timedelta(days=1))
    assert (m.first_response, m.resolution_first, m.resolution_final) == (None, None, None)
    assert dict(m.time_in_status) == {"new": timedelta(days=1)}
    assert m.satisfaction is None


def test_without_now_the_last_interval_ends_at_the_last_event(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """The default now is the ticket's last event."""
    ticket = open_ticket()
    clock.advance(minutes=7)
    ticket = desk.add_tags(ticket.id, "x")
    m = ticket_metrics(ticket, WORKFLOW)
    assert m.age == timedelta(minutes=7)
    assert dict(m.time_in_status) == {"new": timedelta(minutes=7)}


def test_reopened_ticket_has_no_final_resolution(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """A reopen after the last resolution clears the final resolution but keeps the first."""
    ticket = open_ticket()
    clock.advance(minutes=3)
    desk.resolve(ticket.id, by="bob")
    clock.advance(minutes=3)
    ticket = desk.reopen(ticket.id, by="bob")
    m = ticket_metrics(ticket, WORKFLOW)
    assert m.resolution_first == timedelta(minutes=3)
    assert m.resolution_final is None
    assert m.reopens == 1


def test_closing_a_resolved_ticket_keeps_its_resolution_time(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """resolved -> closed is not a new entry; a direct close from open is one."""
    first = open_ticket()
    clock.advance(minutes=4)
    desk.resolve(first.id, by="bob")
    clock.advance(hours=1)
    first = desk.close(first.id, by="bob")
    second = open_ticket()
    clock.advance(minutes=6)
    second = desk.close(second.id, by="bob")
    assert ticket_metrics(first, WORKFLOW).resolution_final == timedelta(minutes=4)
    assert ticket_metrics(second, WORKFLOW).resolution_first == timedelta(minutes=6)


def test_spam_is_neither_resolved_nor_reopened(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """Trash statuses do not count as resolutions."""
    ticket = open_ticket()
    clock.advance(minutes=1)
    ticket = desk.mark_spam(ticket.id, by="bob")
    m = ticket_metrics(ticket, WORKFLOW)
    assert (m.resolution_first, m.resolution_final, m.reopens) == (None, None, 0)
    assert m.category is Category.TRASH


def test_purged_ticket_gives_the_same_metrics(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """The purge erases personal data, not figures; the purge event is not counted."""
    ticket = scripted(desk, clock, open_ticket)
    now = START + timedelta(days=3)
    before = ticket_metrics(ticket, WORKFLOW, now=now, calendar=WorkHours())
    clock.advance(days=1)
    tombstone = desk.purge(ticket.id, by="dpo").ticket
    assert tombstone.status == "purged"
    assert tombstone.requester.email is None
    assert ticket_metrics(tombstone, WORKFLOW, now=now, calendar=WorkHours()) == before


def test_a_calendar_adds_business_durations(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """Durations across the night count business hours only."""
    clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))
    ticket = open_ticket()
    clock.set(datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    ticket = desk.agent_reply(ticket.id, "hello", by="bob")
    calendar = WorkHours()
    assert isinstance(calendar, Calendar)
    m = ticket_metrics(ticket, WORKFLOW, now=ticket.updated_at, calendar=calendar)
    assert m.first_response == timedelta(hours=18)
    assert m.first_response_business == timedelta(hours=2)
    assert m.resolution_first_business is None
    assert m.time_in_status_business == {"new": timedelta(hours=2), "answered": timedelta()}


def test_now_before_the_last_event_or_naive_is_refused(
    open_ticket: Callable[..., Ticket],
) -> None:
    """The last interval cannot end before it starts; naive times are refused."""
    ticket = open_ticket()
    with pytest.raises(ValueError, match="before ticket"):
        ticket_metrics(ticket, WORKFLOW, now=START - timedelta(seconds=1))
    with pytest.raises(InvalidInputError):
        ticket_metrics(ticket, WORKFLOW, now=datetime(2026, 1, 6))


def metric(**changes: object) -> TicketMetrics:
    """A hand-made TicketMetrics with defaults, for aggregation tests."""
    values: dict[str, object] = {
        "ticket_id": "t",
        "created_at": START,
        "status": "resolved",
        "category": Category.RESOLVED,
        "assignee": None,
        "department": None,
        "priority": "normal",
        "channel": "email",
        "age": timedelta(hours=1),
        "first_response": None,
        "resolution_first": None,
        "resolution_final": None,
        "agent_replies": 0,
        "customer_replies": 0,
        "reopens": 0,
        "time_in_status": {"resolved": timedelta(hours=1)},
        "satisfaction": None,
    }
    values.update(changes)
    return TicketMetrics(**values)  # type: ignore[arg-type]


def test_aggregate_gives_count_mean_median_p90_and_sums_per_group() -> None:
    """Ten of bob's responses of 1..10 min: median 5.5 min, p90 9 min (nearest rank)."""
    bob = [
        metric(
            assignee="bob",
            first_response=timedelta(minutes=i),
            agent_replies=1,
            satisfaction=i % 2 + 4,
        )
        for i in range(1, 11)
    ]
    eve = [metric(assignee="eve", reopens=2, customer_replies=3)]
    rows = aggregate([*eve, *bob], by=("assignee",))
    assert [r["assignee"] for r in rows] == ["bob", "eve"]
    b, e = rows
    assert b["tickets"] == 10
    assert b["first_response_count"] == 10
    assert b["first_response_mean_seconds"] == 330.0
    assert b["first_response_median_seconds"] == 330.0
    assert b["first_response_p90_seconds"] == 540.0
    assert b["agent_replies"] == 10
    assert b["satisfaction_count"] == 10
    assert b["satisfaction_mean"] == 4.5
    assert b["time_in_resolved_seconds"] == 36000.0
    assert e["first_response_count"] == 0
    assert e["first_response_mean_seconds"] is None
    assert (e["reopens"], e["customer_replies"], e["satisfaction_mean"]) == (2, 3, None)


def test_aggregate_by_period_and_none_groups_last() -> None:
    """Groups sort by their values with None last; the period column names the week."""
    march = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    items = [
        metric(department=None, created_at=march),
        metric(department="it", created_at=march),
        metric(department="it", created_at=march + timedelta(days=7)),
    ]
    rows = aggregate(items, by=("department",), period="week")
    assert [(r["department"], r["period"], r["tickets"]) for r in rows] == [
        ("it", "2026-W10", 1),
        ("it", "2026-W11", 1),
        (None, "2026-W10", 1),
    ]
    assert aggregate(items)[0]["tickets"] == 3


def test_aggregate_refuses_unknown_keys_and_periods() -> None:
    """Grouping by anything else is a ValueError naming the choices."""
    with pytest.raises(ValueError, match="cannot group by 'subject'"):
        aggregate([metric()], by=("subject",))
    with pytest.raises(ValueError, match="period must be"):
        aggregate([metric()], period="year")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("at", "period", "name"),
    [
        (datetime(2026, 1, 1, tzinfo=UTC), "month", "2026-01"),
        (datetime(2026, 1, 1, tzinfo=UTC), "week", "2026-W01"),
        (datetime(2027, 1, 1, tzinfo=UTC), "week", "2026-W53"),
        (datetime(2026, 1, 1, 23, 59, tzinfo=UTC), "day", "2026-01-01"),
    ],
)
def test_period_of_names_month_iso_week_and_day(at: datetime, period: str, name: str) -> None:
    """Weeks are ISO weeks: 1 January 2027 falls in week 53 of 2026."""
    assert period_of(at, period) == name  # type: ignore[arg-type]


def test_period_of_refuses_unknown_periods() -> None:
    """Only month, week and day are periods."""
    with pytest.raises(ValueError, match="period must be"):
        period_of(START, "year")  # type: ignore[arg-type]


def test_rows_and_csv_round_trip(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket], tmp_path: Path
) -> None:
    """to_rows gives one flat row per ticket; write_csv writes them to a file or a stream."""
    ticket = scripted(desk, clock, open_ticket)
    other = open_ticket()
    figures = [ticket_metrics(t, WORKFLOW, now=START + timedelta(hours=2)) for t in (ticket, other)]
    rows = to_rows(figures)
    assert rows[0]["first_response_seconds"] == 600.0
    assert rows[0]["time_in_answered_seconds"] == 1200.0
    assert rows[1]["time_in_answered_seconds"] == 0.0
    assert rows[1]["first_response_seconds"] is None
    assert list(rows[0]) == list(rows[1])
    path = tmp_path / "m.csv"
    write_csv(rows, path)
    stream = io.StringIO()
    write_csv(rows, stream)
    assert path.read_text(encoding="utf-8") == stream.getvalue()
    back = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert back[0]["ticket_id"] == ticket.id
    assert back[0]["satisfaction"] == "4"
    assert back[1]["first_response_seconds"] == ""


def test_rows_carry_business_columns_only_with_a_calendar(
    open_ticket: Callable[..., Ticket],
) -> None:
    """Business columns appear in rows and aggregates when metrics were made with a calendar."""
    ticket = open_ticket()
    plain = ticket_metrics(ticket, WORKFLOW)
    business = ticket_metrics(ticket, WORKFLOW, calendar=WorkHours())
    assert "first_response_business_seconds" not in to_rows([plain])[0]
    assert "time_in_new_business_seconds" in to_rows([business])[0]
    assert "first_response_business_count" in aggregate([business])[0]


def test_business_time_with_the_real_business_calendar() -> None:
    """BusinessCalendar satisfies the metrics' Calendar protocol and counts opening hours only.

    Opened Monday 10:00 Brussels (09:00 UTC), answered Tuesday 16:00 Brussels: 30 hours
    on the clock, 7 + 7 business hours in a 9-to-5 week.
    """
    from ticketflow import BusinessCalendar, Requester  # noqa: PLC0415 - this test's own needs
    from ticketflow.metrics import Calendar  # noqa: PLC0415

    calendar = BusinessCalendar.weekdays_9_to_5("Europe/Brussels")
    assert isinstance(calendar, Calendar)
    clock = FakeClock(START)
    desk = Helpdesk(clock=clock)
    ticket = desk.open_ticket(subject="x", requester=Requester(name="Ann"))
    clock.advance(hours=30)
    desk.agent_reply(ticket.id, "on it", by="bob")
    metrics = ticket_metrics(desk.get(ticket.id), desk.workflow, calendar=calendar)
    assert (timedelta(hours=30), timedelta(hours=14)) == (
        metrics.first_response,
        metrics.first_response_business,
    )


# --- SLA achievement ---------------------------------------------------------------------


def sla_policies(**policy: object) -> SlaPolicies:
    """One fallback policy: normal priority, first reply in 1h and resolution in 4h."""
    targets = {"normal": {"first_reply": "1h", "resolution": "4h"}}
    return SlaPolicies([SlaPolicy("std", targets=targets, **policy)])  # type: ignore[arg-type]


def answered_then_solved(desk: Helpdesk, clock: FakeClock, ticket: Ticket) -> Ticket:
    """Reply at +30 min, wait 5 h for the customer (answered: pending), solve 1 h later."""
    clock.advance(minutes=30)
    desk.agent_reply(ticket.id, "Which model?", by="bob")  # new -> answered (pending)
    clock.advance(hours=5)
    desk.customer_reply(ticket.id, "HP 4000")  # answered -> open
    clock.advance(hours=1)
    return desk.resolve(ticket.id, by="bob")  # at +6h30: 1h30 on the resolution clock


def test_sla_results_count_met_cycles_and_pending_time_pauses_resolution(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """Both targets are met: 6h30 elapsed, but 5 h answered (pending) do not count."""
    ticket = answered_then_solved(desk, clock, open_ticket())
    m = ticket_metrics(ticket, WORKFLOW, now=clock.now(), sla=sla_policies())
    assert m.sla_policy == "std"
    assert m.sla is not None
    assert set(m.sla) == {Metric.FIRST_REPLY, Metric.RESOLUTION}
    reply, resolution = m.sla[Metric.FIRST_REPLY], m.sla[Metric.RESOLUTION]
    assert (reply.outcome, reply.met, reply.breached) == (SlaOutcome.MET, 1, 0)
    assert (resolution.outcome, resolution.met, resolution.breached) == (SlaOutcome.MET, 1, 0)
    assert resolution.target == timedelta(hours=4)


def test_without_the_pending_pause_the_same_resolution_is_breached(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """With ``pause_in=[]`` the 6h30 all count against the 4 h target."""
    ticket = answered_then_solved(desk, clock, open_ticket())
    m = ticket_metrics(ticket, WORKFLOW, now=clock.now(), sla=sla_policies(pause_in=[]))
    assert m.sla is not None
    resolution = m.sla[Metric.RESOLUTION]
    assert (resolution.outcome, resolution.met, resolution.breached) == (
        SlaOutcome.BREACHED,
        0,
        1,
    )


def test_an_open_cycle_is_breached_past_its_due_time_and_open_before(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """Unanswered: first reply is open at 59 min and breached at 1 h; resolution stays open."""
    ticket = open_ticket()
    policies = sla_policies()
    early = ticket_metrics(ticket, WORKFLOW, now=START + timedelta(minutes=59), sla=policies)
    late = ticket_metrics(ticket, WORKFLOW, now=START + timedelta(hours=1), sla=policies)
    assert early.sla is not None
    assert late.sla is not None
    assert early.sla[Metric.FIRST_REPLY].outcome is SlaOutcome.OPEN
    assert (late.sla[Metric.FIRST_REPLY].outcome, late.sla[Metric.FIRST_REPLY].breached) == (
        SlaOutcome.BREACHED,
        1,
    )
    assert late.sla[Metric.RESOLUTION].outcome is SlaOutcome.OPEN


def test_a_target_whose_cycle_never_started_is_not_applicable(
    desk: Helpdesk, open_ticket: Callable[..., Ticket]
) -> None:
    """next_reply starts only with a customer reply after an agent reply."""
    ticket = open_ticket()
    policies = SlaPolicies([SlaPolicy("nr", targets={"normal": {"next_reply": "1h"}})])
    m = ticket_metrics(ticket, WORKFLOW, sla=policies)
    assert m.sla is not None
    result = m.sla[Metric.NEXT_REPLY]
    assert (result.outcome, result.met, result.breached) == (SlaOutcome.NOT_APPLICABLE, 0, 0)


def test_no_matching_policy_or_no_target_leaves_no_result(
    desk: Helpdesk, open_ticket: Callable[..., Ticket]
) -> None:
    """A high-priority ticket has no target under the normal-only policy; no sla: None."""
    ticket = open_ticket(priority="high")
    m = ticket_metrics(ticket, WORKFLOW, sla=sla_policies())
    assert (m.sla_policy, m.sla) == ("std", {})
    vip = SlaPolicies(
        [
            SlaPolicy(
                "vip",
                conditions={"field": "tags", "op": "contains", "value": "vip"},
                targets={"normal": {"first_reply": "1h"}},
            )
        ]
    )
    unmatched = ticket_metrics(ticket, WORKFLOW, sla=vip)
    assert (unmatched.sla_policy, unmatched.sla) == (None, {})
    plain = ticket_metrics(ticket, WORKFLOW)
    assert (plain.sla_policy, plain.sla) == (None, None)
    assert not any(key.startswith("sla_") for key in to_rows([plain])[0])
    assert not any(key.startswith("sla_") for key in aggregate([plain])[0])


def test_sla_clocks_count_business_hours_only() -> None:
    """Opened Monday 16:00, answered Tuesday 09:30: 1h30 of business time, within 2 h."""
    from ticketflow import BusinessCalendar, Requester  # noqa: PLC0415 - this test's own needs

    clock = FakeClock(START.replace(hour=16))
    desk = Helpdesk(WORKFLOW, clock=clock)
    ticket = desk.open_ticket(subject="x", requester=Requester(name="Ann"))
    clock.advance(hours=17, minutes=30)
    ticket = desk.agent_reply(ticket.id, "on it", by="bob")
    targets = {"normal": {"first_reply": "2h"}}
    business = SlaPolicy("b", targets=targets, calendar=BusinessCalendar.weekdays_9_to_5("UTC"))
    always = SlaPolicy("a", targets=targets)
    met = ticket_metrics(ticket, WORKFLOW, sla=SlaPolicies([business]))
    breached = ticket_metrics(ticket, WORKFLOW, sla=SlaPolicies([always]))
    assert met.sla is not None
    assert breached.sla is not None
    assert met.sla[Metric.FIRST_REPLY].outcome is SlaOutcome.MET
    assert breached.sla[Metric.FIRST_REPLY].outcome is SlaOutcome.BREACHED


def test_aggregate_counts_outcomes_and_rows_carry_them(
    desk: Helpdesk, clock: FakeClock, open_ticket: Callable[..., Ticket]
) -> None:
    """bob: one met, one breached first reply (50%); nobody's: no outcome yet (None)."""
    fast = open_ticket()
    slow = open_ticket()
    waiting = open_ticket()
    desk.assign(fast.id, "bob")
    desk.assign(slow.id, "bob")
    clock.advance(minutes=30)
    desk.agent_reply(fast.id, "hi", by="bob")
    clock.advance(hours=2)
    desk.agent_reply(slow.id, "sorry", by="bob")
    now = START + timedelta(minutes=50)  # waiting: still within its hour
    policies = sla_policies()
    figures = [
        ticket_metrics(
            desk.get(t.id), WORKFLOW, now=max(now, desk.get(t.id).updated_at), sla=policies
        )
        for t in (fast, slow, waiting)
    ]
    rows = aggregate(figures, by=("assignee",))
    bob, nobody = rows
    assert (bob["sla_first_reply_met"], bob["sla_first_reply_breached"]) == (1, 1)
    assert bob["sla_first_reply_achievement"] == 0.5
    assert (nobody["sla_first_reply_met"], nobody["sla_first_reply_breached"]) == (0, 0)
    assert nobody["sla_first_reply_achievement"] is None
    assert [r["sla_first_reply"] for r in to_rows(figures)] == ["met", "breached", "open"]
    assert [r["sla_policy"] for r in to_rows(figures)] == ["std"] * 3
    out = io.StringIO()
    write_csv(to_rows(figures), out)
    header = next(csv.reader(io.StringIO(out.getvalue())))
    assert header[-6:] == [
        "sla_first_reply",
        "sla_first_reply_met",
        "sla_first_reply_breached",
        "sla_resolution",
        "sla_resolution_met",
        "sla_resolution_breached",
    ]
