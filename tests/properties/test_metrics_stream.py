"""A streamed report equals the list-based one: the same rows from the same tickets.

`MetricsAggregator` (and `aggregate`, which now feeds one) is compared with the
list-based aggregation ticketflow had before reports streamed (kept below as the
reference, `_listed`), on random stores: several tickets of a preset made by
random command sequences at random times (`ticketflow.testing`'s strategies), on
a `MemoryStore` and a `SQLiteStore`, streamed by `stream_tickets` in random
batch sizes, with random groupings, an SLA and a calendar or not. Equal means
equal: every key, every float bit for bit, in the same order.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ticketflow import (
    Category,
    FakeClock,
    Helpdesk,
    MemoryStore,
    SQLiteStore,
    TicketflowError,
    TicketStore,
)
from ticketflow.metrics import (
    MetricsAggregator,
    Period,
    RowValue,
    SlaOutcome,
    SlaResult,
    TicketMetrics,
    aggregate,
    period_of,
    ticket_metrics,
)
from ticketflow.sla import Metric, SlaPolicies, SlaPolicy
from ticketflow.stores import TicketQuery, stream_tickets
from ticketflow.testing import apply_command, command_sequences, open_ticket_kwargs, presets

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STEPS = st.timedeltas(timedelta(0), timedelta(days=3))
_TARGETS = {"first_reply": "2h", "next_reply": "1d", "resolution": "3d"}
SLA = SlaPolicies(
    [SlaPolicy("all", targets={p: dict(_TARGETS) for p in ("low", "normal", "high", "urgent")})]
)
GROUPS = ("assignee", "department", "priority", "channel")


class HalfTime:
    """A calendar in which half of every interval is business time."""

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        return (end - start) / 2


# --- the reference: aggregate as it was, over a list -------------------------------------


def _durations(business: bool) -> tuple[str, ...]:
    names = ("first_response", "resolution_first", "resolution_final")
    return names + tuple(f"{d}_business" for d in names) if business else names


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _statuses(metrics: Sequence[TicketMetrics]) -> list[str]:
    return sorted({name for m in metrics for name in m.time_in_status})


def _has_business(metrics: Sequence[TicketMetrics]) -> bool:
    return any(m.time_in_status_business is not None for m in metrics)


def _sla_metrics(metrics: Sequence[TicketMetrics]) -> list[Metric]:
    present = {metric for m in metrics for metric in (m.sla or {})}
    return [metric for metric in Metric if metric in present]


def _group_key(
    m: TicketMetrics, by: Sequence[str], period: Period | None
) -> tuple[str | None, ...]:
    key: list[str | None] = [getattr(m, name) for name in by]
    if period is not None:
        key.append(period_of(m.created_at, period))
    return tuple(key)


def _sort_key(key: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((part is None, part or "") for part in key)


def _listed(
    metrics: Iterable[TicketMetrics], by: Sequence[str], period: Period | None
) -> list[dict[str, RowValue]]:
    items = list(metrics)
    statuses = _statuses(items)
    business = _has_business(items)
    sla_metrics = _sla_metrics(items)
    groups: dict[tuple[str | None, ...], list[TicketMetrics]] = {}
    for m in items:
        groups.setdefault(_group_key(m, by, period), []).append(m)
    names = [*by, "period"] if period is not None else list(by)
    rows: list[dict[str, RowValue]] = []
    for key in sorted(groups, key=_sort_key):
        members = groups[key]
        row: dict[str, RowValue] = dict(zip(names, key, strict=True))
        row["tickets"] = len(members)
        for name in _durations(business):
            values = [v.total_seconds() for m in members if (v := getattr(m, name)) is not None]
            row[f"{name}_count"] = len(values)
            row[f"{name}_mean_seconds"] = statistics.fmean(values) if values else None
            row[f"{name}_median_seconds"] = statistics.median(values) if values else None
            row[f"{name}_p90_seconds"] = _percentile(values, 0.9) if values else None
        row["agent_replies"] = sum(m.agent_replies for m in members)
        row["customer_replies"] = sum(m.customer_replies for m in members)
        row["reopens"] = sum(m.reopens for m in members)
        ratings = [m.satisfaction for m in members if m.satisfaction is not None]
        row["satisfaction_count"] = len(ratings)
        row["satisfaction_mean"] = statistics.fmean(ratings) if ratings else None
        for status in statuses:
            total = sum((m.time_in_status.get(status, timedelta()) for m in members), timedelta())
            row[f"time_in_{status}_seconds"] = total.total_seconds()
        if business:
            for status in statuses:
                total = sum(
                    ((m.time_in_status_business or {}).get(status, timedelta()) for m in members),
                    timedelta(),
                )
                row[f"time_in_{status}_business_seconds"] = total.total_seconds()
        for metric in sla_metrics:
            outcomes = [r.outcome for m in members if (r := (m.sla or {}).get(metric))]
            met = outcomes.count(SlaOutcome.MET)
            breached = outcomes.count(SlaOutcome.BREACHED)
            row[f"sla_{metric}_met"] = met
            row[f"sla_{metric}_breached"] = breached
            row[f"sla_{metric}_achievement"] = met / (met + breached) if met + breached else None
        rows.append(row)
    return rows


# --- random stores ------------------------------------------------------------------------


@st.composite
def stores(draw: st.DrawFn) -> tuple[TicketStore, Helpdesk]:
    """A store of one to twelve tickets of a preset, after random commands at random times."""
    workflow = draw(presets())
    clock = FakeClock(START)
    on_sqlite = draw(st.booleans())
    store: TicketStore = SQLiteStore(":memory:") if on_sqlite else MemoryStore()
    desk = Helpdesk(workflow, store=store, clock=clock)
    for _ in range(draw(st.integers(1, 12))):
        clock.advance(draw(STEPS))
        ticket = desk.open_ticket(**draw(open_ticket_kwargs()))
        for command in draw(command_sequences(workflow, max_size=6)):
            clock.advance(draw(STEPS))
            try:
                apply_command(desk, ticket.id, command)
            except TicketflowError:
                continue
    return store, desk


@settings(deadline=None)
@given(
    stores(),
    st.integers(1, 7),
    st.lists(st.sampled_from(GROUPS), max_size=2, unique=True),
    st.sampled_from([None, "month", "week", "day"]),
    st.booleans(),
    st.booleans(),
    STEPS,
)
def test_the_streamed_report_equals_the_listed_one(
    case: tuple[TicketStore, Helpdesk],
    batch: int,
    by: list[str],
    period: Period | None,
    with_sla: bool,
    with_calendar: bool,
    wait: timedelta,
) -> None:
    """Streamed, a batch at a time, then aggregated ticket by ticket: the very same rows."""
    store, desk = case
    now = desk.clock.now() + wait
    options = {"sla": SLA if with_sla else None, "calendar": HalfTime() if with_calendar else None}
    try:
        listed = [
            ticket_metrics(t, desk.workflow, now=now, **options)  # type: ignore[arg-type]
            for t in store.find(TicketQuery())
        ]
        aggregator = MetricsAggregator(by=by, period=period)
        for ticket in stream_tickets(store, batch=batch):
            aggregator.add(ticket_metrics(ticket, desk.workflow, now=now, **options))  # type: ignore[arg-type]
        expected = _listed(listed, by, period)
        assert expected == aggregator.rows()
        assert expected == aggregate(listed, by=by, period=period)
        assert len(listed) == aggregator.tickets
        assert [repr(r) for r in expected] == [repr(r) for r in aggregator.rows()]  # float bits
    finally:
        store.close()


_SECONDS = st.one_of(
    st.none(),
    st.timedeltas(timedelta(0), timedelta(days=40)).map(lambda d: d // 1_000_000 * 1_000_000),
)
_SPANS = st.dictionaries(
    st.sampled_from(["new", "open", "pending", "resolved"]),
    st.timedeltas(timedelta(0), timedelta(days=9)),
)


@st.composite
def figures(draw: st.DrawFn) -> TicketMetrics:
    """The metrics of one ticket, drawn directly: values no short lifecycle reaches."""
    business = draw(st.booleans())
    sla = draw(
        st.none()
        | st.dictionaries(
            st.sampled_from([Metric.FIRST_REPLY, Metric.RESOLUTION]),
            st.sampled_from(list(SlaOutcome)),
        )
    )
    return TicketMetrics(
        ticket_id=draw(st.text("ab", min_size=1, max_size=3)),
        created_at=START + draw(st.timedeltas(timedelta(0), timedelta(days=60))),
        status="open",
        category=Category.OPEN,
        assignee=draw(st.sampled_from([None, "ann", "bob"])),
        department=None,
        priority=draw(st.sampled_from(["low", "high"])),
        channel="email",
        age=timedelta(days=1),
        first_response=draw(_SECONDS),
        resolution_first=draw(_SECONDS),
        resolution_final=draw(_SECONDS),
        agent_replies=draw(st.integers(0, 9)),
        customer_replies=draw(st.integers(0, 9)),
        reopens=draw(st.integers(0, 3)),
        time_in_status=draw(_SPANS),
        satisfaction=draw(st.none() | st.integers(1, 5)),
        first_response_business=draw(_SECONDS) if business else None,
        resolution_first_business=draw(_SECONDS) if business else None,
        resolution_final_business=draw(_SECONDS) if business else None,
        time_in_status_business=draw(_SPANS) if business else None,
        sla_policy=None,
        sla=None
        if sla is None
        else {
            m: SlaResult(metric=m, target=timedelta(hours=1), met=0, breached=0, outcome=o)
            for m, o in sla.items()
        },
    )


@given(
    st.lists(figures(), max_size=60),
    st.lists(st.sampled_from(("assignee", "priority")), max_size=2, unique=True),
    st.sampled_from([None, "month", "week"]),
)
def test_aggregated_one_by_one_equals_the_listed_aggregate(
    metrics: list[TicketMetrics], by: list[str], period: Period | None
) -> None:
    """Many tickets per group (medians, 90th percentiles, means of many values): same rows."""
    aggregator = MetricsAggregator(by=by, period=period)
    for m in metrics:
        aggregator.add(m)
    assert _listed(metrics, by, period) == aggregator.rows()


def test_no_ticket_gives_no_row() -> None:
    """An aggregator fed nothing has no group, as `aggregate` of an empty list."""
    assert [] == MetricsAggregator(by=["channel"]).rows() == aggregate([], by=["channel"])
    assert 0 == MetricsAggregator().tickets
