"""The figures and charts of the reports page, from `ticketflow.metrics`, cached for two minutes.

Reading every ticket and drawing five charts takes seconds on the 7,554 tickets of
the BPI log, so a report is built once per scope and ``ttl`` and shown "as of"
its time; the app builds the default one at startup, in the background.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from ticketflow import Category, Helpdesk
from ticketflow.metrics import SlaOutcome, TicketMetrics, period_of, ticket_metrics

from . import charts

__all__ = ["SCOPES", "Report", "Reports"]

# Which tickets a report covers: the last twelve weeks, the imported BPI history, or all.
SCOPES = ("recent", "imported", "all")
_RECENT = timedelta(weeks=12)
_DONE = frozenset({Category.RESOLVED, Category.CLOSED})


@dataclass(frozen=True)
class Report:
    """One report: the metrics of the tickets in scope and the series the charts draw."""

    scope: str
    now: datetime
    metrics: Sequence[TicketMetrics]
    first_response_hours: list[float]
    resolution_hours: list[float]
    sla_weeks: list[str]
    sla_achieved: list[float]
    backlog_days: list[date]
    backlog_open: list[int]
    ratings: dict[int, int]
    charts: dict[str, str] = field(default_factory=dict)

    @property
    def rating_mean(self) -> float | None:
        """The mean rating, if any ticket was rated."""
        count = sum(self.ratings.values())
        return None if not count else sum(r * n for r, n in self.ratings.items()) / count


class Reports:
    """Builds reports from the help desk's tickets; keeps each for ``ttl`` seconds."""

    def __init__(self, helpdesk: Helpdesk, ttl: float = 120.0) -> None:
        """Report on ``helpdesk``."""
        self._desk = helpdesk
        self._ttl = ttl
        self._locks = {scope: threading.Lock() for scope in SCOPES}
        self._cache: dict[str, tuple[float, Report]] = {}

    def get(self, scope: str) -> Report:
        """The report of ``scope`` (one of `SCOPES`), built at most once per ``ttl``."""
        with self._locks[scope]:  # one build per scope at a time; other scopes stay readable
            hit = self._cache.get(scope)
            if hit is not None and time.monotonic() - hit[0] < self._ttl:
                return hit[1]
            report = _draw(self._build(scope))
            self._cache[scope] = (time.monotonic(), report)
            return report

    def _build(self, scope: str) -> Report:
        desk = self._desk
        now = desk.clock.now()
        tickets = desk.find()
        if scope == "recent":
            tickets = [t for t in tickets if t.created_at >= now - _RECENT]
        elif scope == "imported":
            tickets = [t for t in tickets if t.id.startswith("BPI-")]
        metrics = [ticket_metrics(t, desk.workflow, now=now, sla=desk.sla) for t in tickets]
        weeks: dict[str, list[bool]] = {}
        for m in metrics:
            outcomes = [r.outcome for r in (m.sla or {}).values()]
            decided = [o for o in outcomes if o in {SlaOutcome.MET, SlaOutcome.BREACHED}]
            if decided:
                weeks.setdefault(period_of(m.created_at, "week"), []).append(
                    SlaOutcome.BREACHED not in decided
                )
        week_names = sorted(weeks)[-26:]
        days, backlog = _backlog(metrics, now)
        return Report(
            scope=scope,
            now=now,
            metrics=metrics,
            first_response_hours=[
                m.first_response.total_seconds() / 3600 for m in metrics if m.first_response
            ],
            resolution_hours=[
                m.resolution_first.total_seconds() / 3600 for m in metrics if m.resolution_first
            ],
            sla_weeks=week_names,
            sla_achieved=[100 * sum(weeks[w]) / len(weeks[w]) for w in week_names],
            backlog_days=days,
            backlog_open=backlog,
            ratings=dict(
                sorted(Counter(m.satisfaction for m in metrics if m.satisfaction).items())
            ),
        )


def _draw(report: Report) -> Report:
    """The report with its five charts drawn."""
    mean = report.rating_mean
    drawn = {
        "first_response": charts.distribution(report.first_response_hours, "First response"),
        "resolution": charts.distribution(report.resolution_hours, "Resolution"),
        "sla": charts.bars(
            report.sla_weeks, report.sla_achieved, "SLA achieved per week", "% of tickets"
        ),
        "backlog": charts.backlog(report.backlog_days, report.backlog_open, "Backlog"),
        "satisfaction": charts.bars(
            [f"{r}★" for r in report.ratings],
            list(report.ratings.values()),
            "Satisfaction" + ("" if mean is None else f" (mean {mean:.2f})"),
            "ratings",
        ),
    }
    return replace(report, charts=drawn)


def _backlog(metrics: Sequence[TicketMetrics], now: datetime) -> tuple[list[date], list[int]]:
    """Tickets open at the end of each day, from the first creation on (at most 400 days)."""
    if not metrics:
        return [], []
    spans = []
    for m in metrics:
        if m.category is Category.TRASH:
            continue
        done = m.created_at + m.resolution_final if m.resolution_final is not None else None
        if done is None and m.category in _DONE:
            done = m.created_at  # closed without a resolution (cancelled): never open
        spans.append((m.created_at.date(), None if done is None else done.date()))
    if not spans:
        return [], []
    newest = max(s for s, _ in spans)
    last = max(newest, min(now.date(), newest + timedelta(days=30)))
    first = max(min(s for s, _ in spans), last - timedelta(days=400))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    opened = Counter(s for s, _ in spans)
    closed = Counter(d for _, d in spans if d is not None)
    running = sum(n for d, n in opened.items() if d < first) - sum(
        n for d, n in closed.items() if d < first
    )
    out = []
    for day in days:
        running += opened[day] - closed[day]
        out.append(running)
    return days, out
