"""Metrics hold their documented relations on random lifecycles of the presets.

Each example draws a preset, a ticket and a random command sequence with random
clock steps between commands (refused commands are skipped), then checks:
time in statuses sums to the age; first response matches ``first_response_at``;
the satisfaction matches ``Ticket.satisfaction``; the final resolution is set exactly
when the ticket rests in a resolved or closed status; purging changes no figure;
and aggregates are the sums (and counts) of the per-ticket values, SLA outcomes
included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ticketflow import (
    Category,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Ticket,
    TicketflowError,
    Workflow,
)
from ticketflow.metrics import SlaOutcome, TicketMetrics, aggregate, ticket_metrics
from ticketflow.sla import Metric, SlaPolicies, SlaPolicy
from ticketflow.testing import apply_command, command_sequences, open_ticket_kwargs, presets

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STEPS = st.timedeltas(timedelta(0), timedelta(days=3))


@st.composite
def lifecycles(draw: st.DrawFn) -> tuple[Helpdesk, Workflow, Ticket]:
    """A help desk, its workflow and a ticket after random commands at random times."""
    workflow = draw(presets())
    clock = FakeClock(START)
    desk = Helpdesk(workflow, store=MemoryStore(), clock=clock)
    ticket = desk.open_ticket(**draw(open_ticket_kwargs()))
    for command in draw(command_sequences(workflow, max_size=12)):
        clock.advance(draw(STEPS))
        if command.name == "purge":
            continue  # purged separately below, so the figures can be compared
        try:
            apply_command(desk, ticket.id, command)
        except TicketflowError:
            continue
    return desk, workflow, desk.get(ticket.id)


@given(lifecycles(), STEPS)
def test_metrics_follow_the_timeline(
    case: tuple[Helpdesk, Workflow, Ticket], wait: timedelta
) -> None:
    """Statuses sum to the age; first response and rating agree with the ticket's own."""
    _desk, workflow, ticket = case
    now = ticket.updated_at + wait
    m = ticket_metrics(ticket, workflow, now=now)
    assert sum(m.time_in_status.values(), timedelta()) == m.age == now - ticket.created_at
    first = ticket.first_response_at
    assert m.first_response == (None if first is None else first - ticket.created_at)
    assert m.satisfaction == ticket.satisfaction
    done = workflow.category(ticket.status) in (Category.RESOLVED, Category.CLOSED)
    assert (m.resolution_final is not None) == done
    if m.resolution_final is not None:
        assert m.resolution_first is not None
        assert m.resolution_first <= m.resolution_final
    assert m.reopens == 0 or m.resolution_first is not None


@given(lifecycles(), STEPS)
def test_purging_changes_no_figure(
    case: tuple[Helpdesk, Workflow, Ticket], wait: timedelta
) -> None:
    """A tombstone's metrics equal the ticket's before the purge."""
    desk, workflow, ticket = case
    if workflow.status(ticket.status).final:
        return  # already purged: nothing to compare
    desk.clock.advance(wait)  # type: ignore[attr-defined]
    desk.run_due()  # what was due by the purge (a wake) fires first, as the purge would
    ticket = desk.get(ticket.id)
    now = ticket.updated_at + wait + timedelta(days=1)
    before = ticket_metrics(ticket, workflow, now=now)
    tombstone = desk.purge(ticket.id, by="dpo").ticket
    assert ticket_metrics(tombstone, workflow, now=now) == before


@given(st.lists(lifecycles(), min_size=1, max_size=4))
def test_aggregates_are_sums_of_the_tickets(cases: list[tuple[Helpdesk, Workflow, Ticket]]) -> None:
    """Per group, counts and sums equal those of the group's tickets."""
    figures: list[TicketMetrics] = [
        ticket_metrics(ticket, workflow, now=ticket.updated_at) for _d, workflow, ticket in cases
    ]
    rows = aggregate(figures, by=("priority",), period="day")
    assert sum(r["tickets"] for r in rows) == len(figures)  # type: ignore[misc]
    for row in rows:
        group = [
            m
            for m in figures
            if m.priority == row["priority"] and m.created_at.date().isoformat() == row["period"]
        ]
        assert row["tickets"] == len(group)
        assert row["agent_replies"] == sum(m.agent_replies for m in group)
        assert row["customer_replies"] == sum(m.customer_replies for m in group)
        assert row["reopens"] == sum(m.reopens for m in group)
        responses = [m.first_response for m in group if m.first_response is not None]
        assert row["first_response_count"] == len(responses)
        if responses:
            mean = row["first_response_mean_seconds"]
            assert isinstance(mean, float)
            total = sum(r.total_seconds() for r in responses)
            assert abs(mean * len(responses) - total) <= 1e-6 * max(1.0, total)
            low, high = min(responses).total_seconds(), max(responses).total_seconds()
            for stat in ("median", "p90"):
                value = row[f"first_response_{stat}_seconds"]
                assert isinstance(value, float)
                assert low <= value <= high
        for status in {s for m in group for s in m.time_in_status}:
            spent = sum((m.time_in_status.get(status, timedelta()) for m in group), timedelta())
            assert row[f"time_in_{status}_seconds"] == spent.total_seconds()
        ratings = [m.satisfaction for m in group if m.satisfaction is not None]
        assert row["satisfaction_count"] == len(ratings)


_TARGETS = {"first_reply": "2h", "next_reply": "1d", "periodic_update": "2d", "resolution": "3d"}
SLA = SlaPolicies(
    [SlaPolicy("all", targets={p: dict(_TARGETS) for p in ("low", "normal", "high", "urgent")})]
)


@given(st.lists(lifecycles(), min_size=1, max_size=4), STEPS)
def test_sla_aggregates_are_sums_of_the_tickets(
    cases: list[tuple[Helpdesk, Workflow, Ticket]], wait: timedelta
) -> None:
    """Per group and metric, met/breached are the tickets with that outcome; achievement agrees."""
    figures = [
        ticket_metrics(ticket, workflow, now=ticket.updated_at + wait, sla=SLA)
        for _d, workflow, ticket in cases
    ]
    for m in figures:
        assert m.sla is not None
        for result in m.sla.values():
            assert (result.outcome is SlaOutcome.BREACHED) == (result.breached > 0)
            if result.outcome is SlaOutcome.MET:
                assert result.met > 0
    rows = aggregate(figures, by=("channel",))
    for metric in _TARGETS:
        met = sum(r[f"sla_{metric}_met"] for r in rows)  # type: ignore[misc]
        breached = sum(r[f"sla_{metric}_breached"] for r in rows)  # type: ignore[misc]
        outcomes = [m.sla[Metric(metric)].outcome for m in figures if m.sla]
        assert met == outcomes.count(SlaOutcome.MET)
        assert breached == outcomes.count(SlaOutcome.BREACHED)
        for row in rows:
            done = row[f"sla_{metric}_met"], row[f"sla_{metric}_breached"]
            share = row[f"sla_{metric}_achievement"]
            assert share == (done[0] / (done[0] + done[1]) if any(done) else None)  # type: ignore[operator]
