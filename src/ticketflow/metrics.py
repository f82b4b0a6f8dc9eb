"""Metrics computed from ticket timelines: per ticket, aggregated, as rows and CSV.

Every figure comes from the timeline alone: event kinds, times, actor roles and the
statuses before and after each event, mapped to categories by the `Workflow`. None
reads personal data, so a purged (anonymised) ticket gives the same figures as it
did before the purge.

Definitions (all durations are measured from the ticket's creation, its first event):

- **first response**: the first ``agent_replied`` event (a public agent reply;
  private notes are ``note_added`` and do not count). Equal to
  ``ticket.first_response_at - ticket.created_at``.
- **resolution, first**: the first time the ticket *entered* a status of category
  ``resolved`` or ``closed`` (from a status of any other category).
- **resolution, final**: the last such entry, if the ticket is still in a
  ``resolved`` or ``closed`` status (it was not reopened or trashed since);
  otherwise ``None``. Moving on from ``resolved`` to ``closed`` is not an entry,
  so closing a resolved ticket does not change its resolution time.
- **replies**: ``agent_replied`` and ``customer_replied`` events, counted apart.
- **reopens**: status changes from a ``resolved`` or ``closed`` category status to a
  ``new``, ``open`` or ``pending`` one.
- **time in status**: for each status, the sum of the intervals the ticket spent
  in it, between the events that changed the status; the last interval ends at
  ``now``. The values sum to the ticket's age, ``now - created``.
- **satisfaction**: the rating of the latest ``confirmed`` event, if it has one.

The ``purged`` event itself is left out: it records the erasure, not work on the
ticket, so a tombstone's figures equal those of the ticket before its purge.

SLA achievement: pass ``sla`` (`ticketflow.sla.SlaPolicies`) and each ticket also
carries, per metric that has a target under the applied policy, an `SlaResult`
computed with `ticketflow.sla.sla_state` at ``now``: the number of cycles met
(completed by their due time) and breached (completed late, or still open past
their due time), and an outcome:

- ``breached``: at least one cycle is breached;
- ``met`` (achieved): no cycle is breached and at least one was met (a later
  cycle may still be running, as with ``next_reply``);
- ``open``: no cycle is met or breached yet, but one is running or paused;
- ``not_applicable``: the metric has a target but no cycle has started.

`aggregate` counts the tickets whose outcome is ``met`` and ``breached`` per
metric; the achievement is ``met / (met + breached)``.

Business time: pass a ``calendar`` (any `Calendar`, such as a
`ticketflow.BusinessCalendar`) and the durations are measured in business time as
well (the ``*_business`` fields).
"""

from __future__ import annotations

import csv
import enum
import math
import os
import statistics
from array import array
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import IO, Final, Literal, Protocol, TypeAlias, final, runtime_checkable

import attrs

from ._clock import require_aware
from ._model import Event, EventKind, Ticket
from ._workflow import Category, Workflow
from .sla import Metric, SlaPolicies, SlaStatus, sla_state

__all__ = [
    "Calendar",
    "MetricsAggregator",
    "Period",
    "RowValue",
    "SlaOutcome",
    "SlaResult",
    "TicketMetrics",
    "aggregate",
    "period_of",
    "ticket_metrics",
    "to_rows",
    "write_csv",
]

RowValue: TypeAlias = "str | int | float | None"
"""A value in a row: text, a count, seconds, a mean, or ``None`` (nothing to measure)."""

Period: TypeAlias = 'Literal["month", "week", "day"]'
"""A period of creation: ``"2026-03"``, ``"2026-W10"`` (ISO week) or ``"2026-03-02"``."""

_GROUP_KEYS: Final[tuple[str, ...]] = ("assignee", "department", "priority", "channel")
# The ticket values `aggregate` can group by (each the ticket's current value).

_DURATIONS: Final[tuple[str, ...]] = ("first_response", "resolution_first", "resolution_final")

_BUSINESS: Final = tuple(f"{d}_business" for d in _DURATIONS)

_DONE: Final = frozenset({Category.RESOLVED, Category.CLOSED})
_ACTIVE: Final = frozenset({Category.NEW, Category.OPEN, Category.PENDING})


class SlaOutcome(enum.StrEnum):
    """The outcome of one SLA metric for one ticket (see the module docstring)."""

    MET = "met"
    """No cycle breached and at least one met: the target was achieved."""
    BREACHED = "breached"
    """At least one cycle breached (completed late, or open past its due time)."""
    OPEN = "open"
    """No cycle met or breached yet; one is running or paused."""
    NOT_APPLICABLE = "not_applicable"
    """The metric has a target but no cycle has started."""


@final
@attrs.frozen(kw_only=True, slots=True)
class SlaResult:
    """The SLA result of one metric for one ticket, at the ``now`` of `ticket_metrics`.

    Attributes:
        metric: The SLA metric.
        target: The target that applied (for the ticket's priority).
        met: Cycles completed by their due time.
        breached: Cycles completed after their due time, or open past it.
        outcome: ``breached`` if any cycle is, else ``met`` if any cycle is,
            else ``open`` if a cycle runs or is paused, else ``not_applicable``.
    """

    metric: Metric
    target: timedelta
    met: int
    breached: int
    outcome: SlaOutcome


@runtime_checkable
class Calendar(Protocol):
    """What metrics need of a business calendar: the business time between two instants.

    Any object with this method will do; ``ticketflow.BusinessCalendar`` is one.
    """

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Return the business time from ``start`` to ``end`` (``start <= end``, both UTC)."""
        ...


@final
@attrs.frozen(kw_only=True, slots=True)
class TicketMetrics:
    """The metrics of one ticket, computed from its timeline by `ticket_metrics`.

    Attributes:
        ticket_id: The ticket's id.
        created_at: When it was created.
        status: Its status (before a purge, for a purged ticket).
        category: The category of ``status``, by the workflow.
        assignee: Its current agent, if any.
        department: Its current department, if any.
        priority: Its current priority's name (``"high"``).
        channel: Its channel.
        age: ``now - created_at``.
        first_response: Elapsed time to the first agent reply, or ``None``.
        resolution_first: Elapsed time to the first entry into a resolved or
            closed status, or ``None``.
        resolution_final: Elapsed time to the last such entry, while the ticket
            is still resolved or closed; else ``None``.
        agent_replies: Number of agent replies (notes not counted).
        customer_replies: Number of customer replies.
        reopens: Number of moves from a resolved/closed status back to new, open
            or pending.
        time_in_status: Elapsed time spent in each status visited; the values
            sum to ``age``.
        satisfaction: The rating of the latest confirmation, if it has one.
        first_response_business: ``first_response`` in business time (needs a calendar).
        resolution_first_business: ``resolution_first`` in business time.
        resolution_final_business: ``resolution_final`` in business time.
        time_in_status_business: ``time_in_status`` in business time, or ``None``
            without a calendar.
        sla_policy: The name of the SLA policy that applied, if ``sla`` was given
            and one matched.
        sla: Per metric with a target under that policy, its `SlaResult`;
            ``None`` when ``sla`` was not given (empty when no policy matched).
    """

    ticket_id: str
    created_at: datetime
    status: str
    category: Category
    assignee: str | None
    department: str | None
    priority: str
    channel: str
    age: timedelta
    first_response: timedelta | None
    resolution_first: timedelta | None
    resolution_final: timedelta | None
    agent_replies: int
    customer_replies: int
    reopens: int
    time_in_status: Mapping[str, timedelta]
    satisfaction: int | None
    first_response_business: timedelta | None = None
    resolution_first_business: timedelta | None = None
    resolution_final_business: timedelta | None = None
    time_in_status_business: Mapping[str, timedelta] | None = None
    sla_policy: str | None = None
    sla: Mapping[Metric, SlaResult] | None = None


def ticket_metrics(
    ticket: Ticket,
    workflow: Workflow,
    *,
    now: datetime | None = None,
    calendar: Calendar | None = None,
    sla: SlaPolicies | None = None,
) -> TicketMetrics:
    """Return the metrics of ``ticket`` (see the module docstring for the definitions).

    Args:
        ticket: The ticket; only its timeline and current group values are read.
        workflow: Maps the timeline's statuses to categories.
        now: Where the last interval in a status ends (default: the ticket's last
            event, so an unfinished ticket's current status counts nothing after it).
        calendar: Also measure durations in business time with this calendar.
        sla: Also compute the SLA results per metric with these policies, by
            `ticketflow.sla.sla_state` at ``now`` (the same default).

    Raises:
        WorkflowError: a status of the timeline is not declared by ``workflow``.
        InvalidInputError: ``now`` is naive.
        ValueError: ``now`` is before the ticket's last (non-purge) event.
    """
    events = [e for e in ticket.timeline if e.kind is not EventKind.PURGED]
    created = events[0].at
    end = events[-1].at if now is None else require_aware(now, "now")
    if end < events[-1].at:
        msg = f"now ({end.isoformat()}) is before ticket {ticket.id}'s last event"
        raise ValueError(msg)
    walk = _Walk(workflow, events[0])
    for event in events[1:]:
        walk.feed(event)
    first_response, first_done = walk.first_response, walk.first_done
    status, category = walk.status, walk.category
    spans = [*walk.spans, (status, walk.since, end)]

    def span(at: datetime | None) -> timedelta | None:
        return None if at is None else at - created

    final_done = walk.last_done if category in _DONE else None
    business: tuple[timedelta | None, ...] = (None, None, None)
    in_status_business: Mapping[str, timedelta] | None = None
    if calendar is not None:
        business = tuple(
            None if at is None else calendar.business_time_between(created, at)
            for at in (first_response, first_done, final_done)
        )
        in_status_business = _sum_spans(spans, calendar)
    policy, results = (None, None) if sla is None else _sla_results(ticket, workflow, sla, end)
    return TicketMetrics(
        ticket_id=ticket.id,
        created_at=created,
        status=status,
        category=category,
        assignee=ticket.assignee,
        department=ticket.department,
        priority=ticket.priority.label,
        channel=ticket.channel,
        age=end - created,
        first_response=span(first_response),
        resolution_first=span(first_done),
        resolution_final=span(final_done),
        agent_replies=walk.agent_replies,
        customer_replies=walk.customer_replies,
        reopens=walk.reopens,
        time_in_status=_sum_spans(spans, None),
        satisfaction=walk.satisfaction,
        first_response_business=business[0],
        resolution_first_business=business[1],
        resolution_final_business=business[2],
        time_in_status_business=in_status_business,
        sla_policy=policy,
        sla=results,
    )


def _sla_results(
    ticket: Ticket, workflow: Workflow, policies: SlaPolicies, now: datetime
) -> tuple[str | None, Mapping[Metric, SlaResult]]:
    state = sla_state(ticket, workflow, policies, now)
    results: dict[Metric, SlaResult] = {}
    for metric, metric_state in state.metrics.items():
        if metric_state.target is None:
            continue
        statuses = [cycle.status for cycle in metric_state.cycles]
        met = statuses.count(SlaStatus.MET)
        breached = statuses.count(SlaStatus.BREACHED)
        if breached:
            outcome = SlaOutcome.BREACHED
        elif met:
            outcome = SlaOutcome.MET
        elif statuses:
            outcome = SlaOutcome.OPEN
        else:
            outcome = SlaOutcome.NOT_APPLICABLE
        results[metric] = SlaResult(
            metric=metric,
            target=metric_state.target,
            met=met,
            breached=breached,
            outcome=outcome,
        )
    return state.policy, MappingProxyType(results)


@final
class _Walk:
    """The state of one pass over a timeline, event by event."""

    def __init__(self, workflow: Workflow, created: Event) -> None:
        self.workflow = workflow
        self.status = created.status_after
        self.category = workflow.category(self.status)
        self.since = created.at
        self.spans: list[tuple[str, datetime, datetime]] = []
        self.first_response: datetime | None = None
        self.first_done: datetime | None = None
        self.last_done: datetime | None = None
        self.agent_replies = 0
        self.customer_replies = 0
        self.reopens = 0
        self.satisfaction: int | None = None

    def feed(self, event: Event) -> None:
        kind = event.kind
        if kind is EventKind.AGENT_REPLIED:
            self.agent_replies += 1
            if self.first_response is None:
                self.first_response = event.at
        elif kind is EventKind.CUSTOMER_REPLIED:
            self.customer_replies += 1
        elif kind is EventKind.CONFIRMED:
            rating = event.data.get("rating")
            self.satisfaction = rating if isinstance(rating, int) else None
        if event.changes_status:
            self.spans.append((self.status, self.since, event.at))
            after = self.workflow.category(event.status_after)
            if after in _DONE and self.category not in _DONE:
                self.first_done = self.first_done or event.at
                self.last_done = event.at
            elif self.category in _DONE and after in _ACTIVE:
                self.reopens += 1
            self.status, self.since, self.category = event.status_after, event.at, after


def _sum_spans(
    spans: Sequence[tuple[str, datetime, datetime]], calendar: Calendar | None
) -> Mapping[str, timedelta]:
    totals: dict[str, timedelta] = {}
    for status, start, stop in spans:
        took = stop - start if calendar is None else calendar.business_time_between(start, stop)
        totals[status] = totals.get(status, timedelta()) + took
    return MappingProxyType(totals)


def period_of(at: datetime, period: Period) -> str:
    """Return the name of the ``period`` holding ``at`` (in UTC).

    ``"2026-03"`` for a month, ``"2026-W10"`` for an ISO week, ``"2026-03-02"`` for a day.

    Raises:
        ValueError: ``period`` is not ``"month"``, ``"week"`` or ``"day"``.
    """
    if period == "month":
        return f"{at.year:04d}-{at.month:02d}"
    if period == "week":
        year, week, _ = at.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if period == "day":
        return at.date().isoformat()
    msg = f"period must be 'month', 'week' or 'day', got {period!r}"
    raise ValueError(msg)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _statuses(metrics: Sequence[TicketMetrics]) -> list[str]:
    return sorted({name for m in metrics for name in m.time_in_status})


def _has_business(metrics: Sequence[TicketMetrics]) -> bool:
    return any(m.time_in_status_business is not None for m in metrics)


def _has_sla(metrics: Sequence[TicketMetrics]) -> bool:
    return any(m.sla is not None for m in metrics)


def _sla_metrics(metrics: Sequence[TicketMetrics]) -> list[Metric]:
    present = {metric for m in metrics for metric in (m.sla or {})}
    return [metric for metric in Metric if metric in present]


def _durations(business: bool) -> tuple[str, ...]:
    return _DURATIONS + tuple(f"{d}_business" for d in _DURATIONS) if business else _DURATIONS


def to_rows(metrics: Iterable[TicketMetrics]) -> list[dict[str, RowValue]]:
    """Return one row (a flat dict) per ticket, ready for `write_csv`.

    Durations are in seconds (``first_response_seconds``); time in each status is
    ``time_in_<status>_seconds`` for every status any of the tickets visited (0.0
    where a ticket never was in it). With a calendar, the business durations follow
    as ``*_business_seconds``. With SLA results, ``sla_policy`` follows, then for
    every metric any ticket has a target for: ``sla_<metric>`` (the outcome, with
    ``not_applicable`` where the ticket has no target), ``sla_<metric>_met`` and
    ``sla_<metric>_breached`` (cycles). Every row has the same keys, in the same order.
    """
    items = list(metrics)
    statuses = _statuses(items)
    business = _has_business(items)
    with_sla = _has_sla(items)
    sla_metrics = _sla_metrics(items)
    rows: list[dict[str, RowValue]] = []
    for m in items:
        row: dict[str, RowValue] = {
            "ticket_id": m.ticket_id,
            "created_at": m.created_at.isoformat(),
            "status": m.status,
            "category": m.category.value,
            "assignee": m.assignee,
            "department": m.department,
            "priority": m.priority,
            "channel": m.channel,
            "age_seconds": m.age.total_seconds(),
        }
        for name in _durations(business):
            row[f"{name}_seconds"] = _seconds(getattr(m, name))
        row["agent_replies"] = m.agent_replies
        row["customer_replies"] = m.customer_replies
        row["reopens"] = m.reopens
        row["satisfaction"] = m.satisfaction
        for status in statuses:
            row[f"time_in_{status}_seconds"] = m.time_in_status.get(
                status, timedelta()
            ).total_seconds()
        if business:
            for status in statuses:
                spent = (m.time_in_status_business or {}).get(status, timedelta())
                row[f"time_in_{status}_business_seconds"] = spent.total_seconds()
        if with_sla:
            row["sla_policy"] = m.sla_policy
            for metric in sla_metrics:
                result = (m.sla or {}).get(metric)
                outcome = SlaOutcome.NOT_APPLICABLE if result is None else result.outcome
                row[f"sla_{metric}"] = outcome.value
                row[f"sla_{metric}_met"] = 0 if result is None else result.met
                row[f"sla_{metric}_breached"] = 0 if result is None else result.breached
        rows.append(row)
    return rows


def _percentile(values: Sequence[float], fraction: float) -> float:
    # Nearest rank: the smallest value with at least ``fraction`` of the values at or below it.
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _group_key(
    m: TicketMetrics, by: Sequence[str], period: Period | None
) -> tuple[str | None, ...]:
    key: list[str | None] = [getattr(m, name) for name in by]
    if period is not None:
        key.append(period_of(m.created_at, period))
    return tuple(key)


def _sort_key(key: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((part is None, part or "") for part in key)


def aggregate(
    metrics: Iterable[TicketMetrics],
    by: Sequence[str] = (),
    period: Period | None = None,
) -> list[dict[str, RowValue]]:
    """Group per-ticket metrics and summarise each group as one row.

    Args:
        metrics: Per-ticket metrics (from `ticket_metrics`).
        by: Ticket values to group by, from ``assignee``, ``department``, ``priority``
            and ``channel`` (``()``: one group of all).
        period: Also group by the period of creation (the ``period`` column).

    Returns:
        One row per group, sorted by the group values (``None`` last). Each row has
        the group values, ``tickets`` (count); for each duration ``D``,
        ``D_count`` (tickets that have one), ``D_mean_seconds``,
        ``D_median_seconds`` and ``D_p90_seconds`` (nearest rank), ``None`` when
        the count is 0; the sums ``agent_replies``, ``customer_replies`` and
        ``reopens``; ``satisfaction_count`` and ``satisfaction_mean``; and
        ``time_in_<status>_seconds``, the total time the group's tickets spent in
        each status. With a calendar, the business durations and times follow.
        With SLA results, for every metric any ticket has a target for:
        ``sla_<metric>_met`` and ``sla_<metric>_breached``, the numbers of tickets
        whose outcome is met and breached, and ``sla_<metric>_achievement``,
        ``met / (met + breached)`` (``None`` when both are 0).

    Raises:
        ValueError: ``by`` names a value not one of those, or ``period`` is unknown.
    """
    aggregator = MetricsAggregator(by=by, period=period)
    for m in metrics:
        aggregator.add(m)
    return aggregator.rows()


@final
class _Group:
    """What `MetricsAggregator` keeps of one group: sums, counts and the durations."""

    __slots__ = (
        "agent_replies",
        "business_in_status",
        "customer_replies",
        "durations",
        "in_status",
        "rating_count",
        "rating_sum",
        "reopens",
        "sla",
        "tickets",
    )

    def __init__(self) -> None:
        self.tickets = 0
        # Percentiles need every duration: 8 bytes each, as C doubles.
        self.durations: dict[str, array[float]] = {}
        self.agent_replies = 0
        self.customer_replies = 0
        self.reopens = 0
        self.rating_count = 0
        self.rating_sum = 0
        self.in_status: dict[str, timedelta] = {}
        self.business_in_status: dict[str, timedelta] = {}
        self.sla: dict[Metric, list[int]] = {}  # metric -> [met, breached] ticket counts


@final
class MetricsAggregator:
    """`aggregate`, one ticket at a time: the same rows, in memory that does not hold tickets.

    Feed it the metrics of each ticket as they are computed (say from
    ``ticketflow.stores.stream_tickets``), then ask for `rows`. Per group it
    keeps counts and sums (time in each status as exact `timedelta` totals, so
    the figures do not depend on the order of the tickets) and, for the
    medians and 90th percentiles, every duration as an 8-byte float in an
    ``array("d")``: at most 24 bytes per ticket (48 with a calendar's business
    durations), whatever the group. Nothing else grows with the number of tickets.

    Examples:
        >>> from ticketflow import FakeClock, Helpdesk, Requester
        >>> from ticketflow.metrics import MetricsAggregator, ticket_metrics
        >>> desk = Helpdesk(clock=FakeClock())
        >>> t = desk.open_ticket(subject="Hi", requester=Requester(name="Ann"))
        >>> aggregator = MetricsAggregator()
        >>> aggregator.add(ticket_metrics(t, desk.workflow))
        >>> [row["tickets"] for row in aggregator.rows()]
        [1]
    """

    __slots__ = ("_business", "_by", "_groups", "_period", "_sla_metrics", "_statuses", "_tickets")

    def __init__(self, by: Sequence[str] = (), period: Period | None = None) -> None:
        """Start with no tickets.

        Args:
            by: As `aggregate`'s ``by``.
            period: As `aggregate`'s ``period``.

        Raises:
            ValueError: ``by`` names a value `aggregate` cannot group by, or
                ``period`` is unknown.
        """
        unknown = [name for name in by if name not in _GROUP_KEYS]
        if unknown:
            msg = f"cannot group by {unknown[0]!r}; choose from {', '.join(_GROUP_KEYS)}"
            raise ValueError(msg)
        if period is not None and period not in ("month", "week", "day"):
            msg = f"period must be 'month', 'week' or 'day', got {period!r}"
            raise ValueError(msg)
        self._by = tuple(by)
        self._period: Period | None = period
        self._groups: dict[tuple[str | None, ...], _Group] = {}
        self._statuses: set[str] = set()
        self._business = False
        self._sla_metrics: set[Metric] = set()
        self._tickets = 0

    @property
    def tickets(self) -> int:
        """How many tickets were added."""
        return self._tickets

    def add(self, m: TicketMetrics) -> None:
        """Count one ticket's metrics in its group."""
        key = _group_key(m, self._by, self._period)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group()
        self._tickets += 1
        group.tickets += 1
        durations = group.durations
        for name in _DURATIONS:
            _append(durations, name, getattr(m, name))
        group.agent_replies += m.agent_replies
        group.customer_replies += m.customer_replies
        group.reopens += m.reopens
        if m.satisfaction is not None:
            group.rating_count += 1
            group.rating_sum += m.satisfaction
        _add_spans(group.in_status, m.time_in_status, self._statuses)
        if m.time_in_status_business is not None:
            self._business = True
            # Columns are the statuses of time_in_status only (as in to_rows).
            _add_spans(group.business_in_status, m.time_in_status_business, None)
        for name in _BUSINESS:
            _append(durations, name, getattr(m, name))
        if m.sla:
            self._sla_metrics.update(m.sla)
            _count_outcomes(group.sla, m.sla)

    def rows(self) -> list[dict[str, RowValue]]:
        """Return one row per group, as `aggregate` does for the tickets added so far."""
        statuses = sorted(self._statuses)
        sla_metrics = [metric for metric in Metric if metric in self._sla_metrics]
        names = [*self._by, "period"] if self._period is not None else list(self._by)
        rows: list[dict[str, RowValue]] = []
        for key in sorted(self._groups, key=_sort_key):
            group = self._groups[key]
            row: dict[str, RowValue] = dict(zip(names, key, strict=True))
            row["tickets"] = group.tickets
            for name in _durations(self._business):
                values = sorted(group.durations.get(name, ()))
                row[f"{name}_count"] = len(values)
                row[f"{name}_mean_seconds"] = statistics.fmean(values) if values else None
                row[f"{name}_median_seconds"] = statistics.median(values) if values else None
                row[f"{name}_p90_seconds"] = _percentile(values, 0.9) if values else None
            row["agent_replies"] = group.agent_replies
            row["customer_replies"] = group.customer_replies
            row["reopens"] = group.reopens
            row["satisfaction_count"] = group.rating_count
            # fmean of whole numbers is their exact sum, rounded, over the count.
            row["satisfaction_mean"] = (
                group.rating_sum / group.rating_count if group.rating_count else None
            )
            for status in statuses:
                total = group.in_status.get(status, timedelta())
                row[f"time_in_{status}_seconds"] = total.total_seconds()
            if self._business:
                for status in statuses:
                    total = group.business_in_status.get(status, timedelta())
                    row[f"time_in_{status}_business_seconds"] = total.total_seconds()
            for metric in sla_metrics:
                met, breached = group.sla.get(metric, (0, 0))
                row[f"sla_{metric}_met"] = met
                row[f"sla_{metric}_breached"] = breached
                share = met / (met + breached) if met + breached else None
                row[f"sla_{metric}_achievement"] = share
            rows.append(row)
        return rows


def _count_outcomes(counts: dict[Metric, list[int]], results: Mapping[Metric, SlaResult]) -> None:
    for metric, result in results.items():
        met_breached = counts.get(metric)
        if met_breached is None:
            met_breached = counts[metric] = [0, 0]
        if result.outcome is SlaOutcome.MET:
            met_breached[0] += 1
        elif result.outcome is SlaOutcome.BREACHED:
            met_breached[1] += 1


def _append(durations: dict[str, array[float]], name: str, value: timedelta | None) -> None:
    if value is not None:
        values = durations.get(name)
        if values is None:
            values = durations[name] = array("d")
        values.append(value.total_seconds())


def _add_spans(
    totals: dict[str, timedelta], spans: Mapping[str, timedelta], statuses: set[str] | None
) -> None:
    for status, spent in spans.items():
        totals[status] = totals.get(status, timedelta()) + spent
    if statuses is not None:
        statuses.update(spans)


def write_csv(
    rows: Sequence[Mapping[str, RowValue]], file: IO[str] | str | os.PathLike[str]
) -> None:
    """Write ``rows`` as CSV with a header line: to an open text file, or to a path.

    The columns are the keys of the rows in order of first appearance; ``None`` is
    written as an empty field. A path is written in UTF-8 (replaced if it exists).
    """
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    if isinstance(file, str | os.PathLike):
        with open(file, "w", encoding="utf-8", newline="") as handle:  # noqa: PTH123 - str or PathLike
            _write(rows, list(columns), handle)
    else:
        _write(rows, list(columns), file)


def _write(rows: Sequence[Mapping[str, RowValue]], columns: list[str], handle: IO[str]) -> None:
    writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
