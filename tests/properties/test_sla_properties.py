"""SLA state holds its documented relations on random lifecycles of the presets.

Each example draws a preset, a ticket and a random command sequence with random
clock steps between commands (refused commands are skipped), then checks, for
every metric and cycle: the breach instant is exact (the clock reads the target
there, and the cycle turns breached there, not a microsecond before); time left
and elapsed time sum to the target; a met cycle never has negative time left;
pausing in ``pending`` and a restricted calendar never make a due time earlier;
without pauses and with an always-open calendar, a cycle that only ever counted is
due at start + target; the state at ``now`` does not depend on later events; and
`next_sla_instant` is the earliest future warning or breach of an open cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ticketflow import (
    BusinessCalendar,
    Category,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Ticket,
    TicketflowError,
    Workflow,
)
from ticketflow.sla import (
    Metric,
    SlaCycle,
    SlaPolicies,
    SlaPolicy,
    SlaStatus,
    next_sla_instant,
    sla_state,
)
from ticketflow.testing import apply_command, command_sequences, open_ticket_kwargs, presets

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STEPS = st.timedeltas(timedelta(0), timedelta(hours=12))
TARGETS = st.timedeltas(timedelta(0), timedelta(hours=20))
OFFICE = BusinessCalendar.weekdays_9_to_5("Europe/Brussels")
ALWAYS = BusinessCalendar.always_open()
COUNTING = frozenset({Category.NEW, Category.OPEN, Category.PENDING})


@st.composite
def lifecycles(draw: st.DrawFn) -> tuple[Workflow, list[Ticket]]:
    """A workflow and the snapshots of one ticket after each of random commands."""
    workflow = draw(presets())
    clock = FakeClock(START)
    desk = Helpdesk(workflow, store=MemoryStore(), clock=clock)
    ticket = desk.open_ticket(**draw(open_ticket_kwargs()))
    snapshots = [ticket]
    for command in draw(command_sequences(workflow, max_size=10)):
        clock.advance(draw(STEPS))
        if command.name in ("purge", "merge"):
            continue
        try:
            apply_command(desk, ticket.id, command)
        except TicketflowError:
            continue
        snapshots.append(desk.get(ticket.id))
    return workflow, snapshots


def one_policy(
    target: timedelta,
    *,
    calendar: BusinessCalendar = ALWAYS,
    pause: tuple[str, ...] = ("pending",),
    warn: timedelta | None = None,
) -> SlaPolicies:
    every = {m.value: target for m in Metric}
    return SlaPolicies(
        [
            SlaPolicy(
                "all",
                targets=dict.fromkeys(("low", "normal", "high", "urgent"), every),
                calendar=calendar,
                pause_in=pause,
                warn_before=warn,
            )
        ]
    )


def cycles_of(
    ticket: Ticket, workflow: Workflow, chosen: SlaPolicies, now: datetime
) -> dict[Metric, tuple[SlaCycle, ...]]:
    state = sla_state(ticket, workflow, chosen, now)
    return {metric: m.cycles for metric, m in state.metrics.items()}


@given(lifecycles(), TARGETS, STEPS, st.booleans())
def test_the_breach_instant_is_exact(
    case: tuple[Workflow, list[Ticket]], target: timedelta, wait: timedelta, office: bool
) -> None:
    """An open cycle due in the future reads the target at its due time and breaches there."""
    workflow, snapshots = case
    ticket = snapshots[-1]
    now = ticket.updated_at + wait
    chosen = one_policy(target, calendar=OFFICE if office else ALWAYS)
    for metric, cycles in cycles_of(ticket, workflow, chosen, now).items():
        for cycle in cycles:
            assert cycle.elapsed + cycle.time_left == target
            if cycle.status is SlaStatus.MET:
                assert cycle.time_left >= timedelta(0)
                assert cycle.completed_at is not None
                assert cycle.due_at is not None
                assert cycle.completed_at <= cycle.due_at
            if cycle.time_left < timedelta(0):
                assert cycle.status is SlaStatus.BREACHED
        last = cycles[-1] if cycles else None
        if last is None or last.completed_at is not None or last.due_at is None:
            continue
        if last.due_at <= now:
            assert last.status is SlaStatus.BREACHED
            continue
        at_due = sla_state(ticket, workflow, chosen, last.due_at).metrics[metric]
        assert (at_due.status, at_due.time_left) == (SlaStatus.BREACHED, timedelta(0))
        just_before = last.due_at - timedelta(microseconds=1)
        before = sla_state(ticket, workflow, chosen, just_before).metrics[metric]
        assert before.status is SlaStatus.RUNNING
        assert before.time_left is not None
        assert before.time_left > timedelta(0)


@given(lifecycles(), TARGETS, STEPS)
def test_pauses_and_closed_hours_never_make_a_due_time_earlier(
    case: tuple[Workflow, list[Ticket]], target: timedelta, wait: timedelta
) -> None:
    """Due with pauses >= due without; due on office hours >= due on an always-open calendar."""
    workflow, snapshots = case
    ticket = snapshots[-1]
    now = ticket.updated_at + wait
    pairs = [
        (one_policy(target, pause=()), one_policy(target)),
        (one_policy(target), one_policy(target, calendar=OFFICE)),
    ]
    for looser, stricter in pairs:
        loose = cycles_of(ticket, workflow, looser, now)
        strict = cycles_of(ticket, workflow, stricter, now)
        for metric in Metric:
            assert len(loose[metric]) == len(strict[metric])
            for a, b in zip(loose[metric], strict[metric], strict=True):
                assert a.elapsed >= b.elapsed
                if b.due_at is not None:
                    assert a.due_at is not None
                    assert a.due_at <= b.due_at


def _always_counted(ticket: Ticket, workflow: Workflow, start: datetime, end: datetime) -> bool:
    """Whether the ticket's category counted from ``start`` to ``end`` (with no pause set)."""
    at_start = [e.status_after for e in ticket.timeline if e.at <= start][-1:]
    between = [e.status_after for e in ticket.timeline if start < e.at < end]
    return all(workflow.category(status) in COUNTING for status in at_start + between)


@given(lifecycles(), TARGETS, STEPS)
def test_without_pauses_a_counting_cycle_is_due_at_start_plus_target(
    case: tuple[Workflow, list[Ticket]], target: timedelta, wait: timedelta
) -> None:
    """Always open, nothing paused, never solved in between: due == started + target."""
    workflow, snapshots = case
    ticket = snapshots[-1]
    now = ticket.updated_at + wait
    chosen = one_policy(target, pause=())
    for metric, cycles in cycles_of(ticket, workflow, chosen, now).items():
        if metric in (Metric.REQUESTER_WAIT, Metric.AGENT_WORK):
            continue  # they pause in pending whatever pause_in says
        for cycle in cycles:
            end = cycle.completed_at or now
            if _always_counted(ticket, workflow, cycle.started_at, end):
                assert cycle.due_at == cycle.started_at + target
                assert cycle.elapsed == end - cycle.started_at


@given(lifecycles(), TARGETS, st.data())
def test_the_state_at_now_depends_only_on_events_up_to_now(
    case: tuple[Workflow, list[Ticket]], target: timedelta, data: st.DataObject
) -> None:
    """The final ticket's state at an earlier snapshot's time equals that snapshot's state."""
    workflow, snapshots = case
    final = snapshots[-1]
    index = data.draw(st.integers(0, len(snapshots) - 1))
    snapshot = snapshots[index]
    now = snapshot.updated_at
    if any(e.at == now for e in final.timeline[len(snapshot.timeline) :]):
        return  # a later command at the same instant is part of the state at now
    chosen = one_policy(target, calendar=OFFICE, warn=target / 2)
    assert sla_state(final, workflow, chosen, now) == sla_state(snapshot, workflow, chosen, now)


@given(lifecycles(), TARGETS, STEPS)
def test_next_sla_instant_is_the_earliest_future_warning_or_breach(
    case: tuple[Workflow, list[Ticket]], target: timedelta, wait: timedelta
) -> None:
    """It is after now, is a warning or due time of an open cycle, and none comes earlier."""
    workflow, snapshots = case
    ticket = snapshots[-1]
    now = ticket.updated_at + wait
    chosen = one_policy(target, calendar=OFFICE, warn=target / 3)
    state = sla_state(ticket, workflow, chosen, now)
    future = sorted(
        at
        for m in state.metrics.values()
        if m.completed_at is None and m.status is not SlaStatus.NOT_APPLICABLE
        for at in (m.warn_at, m.due_at)
        if at is not None and at > now
    )
    instant = next_sla_instant(ticket, workflow, chosen, now)
    assert instant == (future[0] if future else None)
    if instant is not None:
        assert next_sla_instant(ticket, workflow, chosen, instant) != instant
