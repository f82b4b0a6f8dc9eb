"""Each ticket's SLA state, computed from its timeline alone (one walk over it).

The public names are re-exported by `ticketflow.sla`, whose docstring defines the
cycles, pauses, due times and statuses computed here.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final, final

import attrs

from .._apply import rebuild
from .._calendar import BusinessCalendar
from .._clock import require_aware
from .._model import EventKind, Ticket
from .._workflow import Category, Workflow
from ._policy import _METRICS, Metric, SlaPolicies, SlaPolicy

__all__ = ["MetricState", "SlaCycle", "SlaState", "SlaStatus", "next_sla_instant", "sla_state"]


class SlaStatus(enum.StrEnum):
    """Where a metric's clock stands."""

    RUNNING = "running"
    """Counting, short of the due time."""
    PAUSED = "paused"
    """Not counting (the status category is outside the run set), short of the target."""
    MET = "met"
    """Completed at or before the due time."""
    BREACHED = "breached"
    """Completed after the due time, or still open at or after it."""
    NOT_APPLICABLE = "not_applicable"
    """No target for this metric, or no cycle has started yet."""


_DONE: Final = frozenset({Category.RESOLVED, Category.CLOSED})


@final
@attrs.frozen(kw_only=True, slots=True)
class SlaCycle:
    """One cycle of a metric's clock.

    Attributes:
        started_at: When the cycle started.
        due_at: When the target is (or was) reached; ``None`` while paused short of it.
        warn_at: When ``warn_before`` is left, if the policy warns for the metric.
        completed_at: When the cycle was completed, if it was.
        elapsed: The clock's business time (to completion, or to ``now``).
        time_left: ``target - elapsed``; negative when overdue.
        status: Running, paused, met or breached.
        paused: Whether the clock is paused at ``now`` (open cycles only).
    """

    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    completed_at: datetime | None
    elapsed: timedelta
    time_left: timedelta
    status: SlaStatus
    paused: bool


@final
@attrs.frozen(kw_only=True, slots=True)
class MetricState:
    """The state of one metric: its target and current (last) cycle, and every cycle.

    The ``started_at`` ... ``paused`` fields repeat the last cycle's (``None``,
    not applicable, when there is no cycle or no target).

    Attributes:
        metric: The metric.
        target: The target for the ticket's priority, or ``None``.
        cycles: Every cycle, oldest first (empty without a target).
        breaches: How many cycles are breached.
    """

    metric: Metric
    target: timedelta | None
    started_at: datetime | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    completed_at: datetime | None = None
    elapsed: timedelta | None = None
    time_left: timedelta | None = None
    status: SlaStatus = SlaStatus.NOT_APPLICABLE
    paused: bool = False
    cycles: tuple[SlaCycle, ...] = ()
    breaches: int = 0


@final
@attrs.frozen(kw_only=True, slots=True)
class SlaState:
    """A ticket's SLA state at ``now``.

    Attributes:
        ticket_id: The ticket.
        now: The instant of the state.
        policy: The name of the applied policy, or ``None`` when none matched.
        metrics: One `MetricState` per `Metric`.
    """

    ticket_id: str
    now: datetime
    policy: str | None
    metrics: Mapping[Metric, MetricState]

    @property
    def breached(self) -> bool:
        """Whether any cycle of any metric is breached."""
        return any(m.breaches for m in self.metrics.values())


# --- the walk over the timeline ---------------------------------------------------------


@final
class _Walk:
    """Phases (category since an instant) and each metric's cycles, from one pass."""

    def __init__(self, ticket: Ticket, workflow: Workflow, now: datetime) -> None:  # noqa: C901 - one pass, one branch per event kind
        # Hot path (the scheduler runs it after every command): the event's kind and
        # statuses are read off its flyweight step, not through the properties.
        purged = EventKind.PURGED
        events = [e for e in ticket.timeline if e._step.kind is not purged and e.at <= now]  # noqa: SLF001
        created = events[0]
        known = {s.name: s.category for s in workflow.statuses}

        def category_of(status: str) -> Category:
            found = known.get(status)
            # An undeclared status: the workflow raises its WorkflowError naming it.
            return workflow.category(status) if found is None else found

        category = category_of(created.status_after)
        self.phases: list[tuple[datetime, Category]] = [(created.at, category)]
        # metric -> list of [start, completed_at | None]
        self.cycles: dict[Metric, list[list[datetime | None]]] = {m: [] for m in _METRICS}
        for metric in (Metric.FIRST_REPLY, Metric.FIRST_ASSIGNMENT, *_WHOLE):
            self.cycles[metric].append([created.at, None])
        assignee = created.data.get("assignee")
        if assignee is not None:
            self._complete(Metric.FIRST_ASSIGNMENT, created.at)
        replied = False
        last_done: datetime | None = None
        agent_replied, customer_replied = EventKind.AGENT_REPLIED, EventKind.CUSTOMER_REPLIED
        assigned = EventKind.ASSIGNED
        for event in events[1:]:
            at = event.at
            step = event._step  # noqa: SLF001
            kind = step.kind
            after = (
                category_of(step.status_after)
                if step.status_before != step.status_after
                else category
            )
            if kind is agent_replied:
                self._complete(Metric.FIRST_REPLY, at)
                self._complete(Metric.NEXT_REPLY, at)
                self._complete(Metric.PERIODIC_UPDATE, at)
                if after not in _DONE:
                    self.cycles[Metric.PERIODIC_UPDATE].append([at, None])
                replied = True
            elif kind is customer_replied and replied and after not in _DONE:
                self._open(Metric.NEXT_REPLY, at)
            elif kind is assigned and event.data.get("assignee") is not None:
                self._complete(Metric.FIRST_ASSIGNMENT, at)
            if after != category:
                if after in _DONE and category not in _DONE:
                    last_done = at
                    for metric in (Metric.FIRST_REPLY, Metric.NEXT_REPLY, Metric.PERIODIC_UPDATE):
                        self._complete(metric, at)
                self.phases.append((at, after))
                category = after
        self.category = category
        if category in _DONE and last_done is not None:
            for metric in _WHOLE:
                self._complete(metric, last_done)

    def _open(self, metric: Metric, at: datetime) -> None:
        cycles = self.cycles[metric]
        if not cycles or cycles[-1][1] is not None:
            cycles.append([at, None])

    def _complete(self, metric: Metric, at: datetime) -> None:
        cycles = self.cycles[metric]
        if cycles and cycles[-1][1] is None:
            cycles[-1][1] = at

    def running(
        self, run: frozenset[Category], start: datetime, stop: datetime | None
    ) -> tuple[list[tuple[datetime, datetime]], datetime | None]:
        """Return the closed running pieces in ``[start, stop)`` and the open tail's start.

        Without ``stop`` the last phase extends for ever; the tail is its start
        (clipped to ``start``) if it runs, else ``None``. With ``stop``, the tail is
        ``stop``: the clock is assumed to run after a completion.
        """
        pieces: list[tuple[datetime, datetime]] = []
        bounds = [*(at for at, _ in self.phases[1:]), None]
        for (begin, category), end in zip(self.phases, bounds, strict=True):
            low = max(begin, start)
            if stop is not None and low >= stop:
                break
            high = end if stop is None else (stop if end is None else min(end, stop))
            if high is None:
                return pieces, (low if category in run else None)
            if high > low and category in run:
                pieces.append((low, high))
        return pieces, stop


_WHOLE: Final = (Metric.RESOLUTION, Metric.REQUESTER_WAIT, Metric.AGENT_WORK)


@functools.lru_cache(maxsize=16384)
def _reach(
    calendar: BusinessCalendar,
    pieces: tuple[tuple[datetime, datetime], ...],
    tail: datetime | None,
    amount: timedelta,
) -> datetime | None:
    """Return the earliest instant the clock reaches ``amount``, if it is known.

    Cached: while a cycle runs on, every command of the ticket asks the same
    question again (same pieces, same tail, same target) until a pause or a
    resume changes the pieces.
    """
    remaining = amount
    for low, high in pieces:
        have = calendar.business_time_between(low, high)
        if have >= remaining:
            return calendar.add_business_time(low, remaining)
        remaining -= have
    return None if tail is None else calendar.add_business_time(tail, remaining)


def _due_and_warn(
    walk: _Walk,
    policy: SlaPolicy,
    metric: Metric,
    target: timedelta,
    start: datetime,
    completed: datetime | None,
) -> tuple[
    tuple[tuple[datetime, datetime], ...], datetime | None, datetime | None, datetime | None
]:
    """A cycle's running pieces, open tail, due time and warning instant."""
    calendar = policy.calendar
    listed, tail = walk.running(policy.run_set(metric), start, completed)
    pieces = tuple(listed)
    due = _reach(calendar, pieces, tail, target)
    warn = policy.warn_before.get(metric)
    warn_at = None
    if warn is not None and timedelta(0) < warn < target:
        warn_at = _reach(calendar, pieces, tail, target - warn)
    return pieces, tail, due, warn_at


def _cycle(
    walk: _Walk,
    policy: SlaPolicy,
    metric: Metric,
    target: timedelta,
    start: datetime,
    completed: datetime | None,
    now: datetime,
) -> SlaCycle:
    calendar = policy.calendar
    run = policy.run_set(metric)
    pieces, tail, due, warn_at = _due_and_warn(walk, policy, metric, target, start, completed)
    end = now if completed is None else completed
    elapsed = sum((calendar.business_time_between(a, min(b, end)) for a, b in pieces), timedelta())
    if completed is None and tail is not None and tail < end:
        elapsed += calendar.business_time_between(tail, end)
    paused = completed is None and walk.category not in run
    if completed is not None:
        status = SlaStatus.MET if due is not None and completed <= due else SlaStatus.BREACHED
    elif due is not None and now >= due:
        status = SlaStatus.BREACHED
    else:
        status = SlaStatus.PAUSED if paused else SlaStatus.RUNNING
    return SlaCycle(
        started_at=start,
        due_at=due,
        warn_at=warn_at,
        completed_at=completed,
        elapsed=elapsed,
        time_left=target - elapsed,
        status=status,
        paused=paused,
    )


def _as_of(ticket: Ticket, now: datetime) -> Ticket:
    if ticket.timeline[-1].at <= now:
        return ticket
    kept = [e for e in ticket.timeline if e.at <= now]
    if not kept:
        msg = f"now ({now.isoformat()}) is before ticket {ticket.id} was created"
        raise ValueError(msg)
    return rebuild(kept)


def sla_state(ticket: Ticket, workflow: Workflow, policies: SlaPolicies, now: datetime) -> SlaState:
    """Return ``ticket``'s SLA state at ``now`` (see `ticketflow.sla`).

    Only the events at or before ``now`` count, so the state at ``now`` does not
    depend on what happened later.

    Examples:
        >>> from datetime import UTC, datetime, timedelta
        >>> from ticketflow import FakeClock, Helpdesk, Requester
        >>> clock = FakeClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
        >>> desk = Helpdesk(clock=clock)
        >>> ticket = desk.open_ticket(subject="Down", requester=Requester(name="Ann"))
        >>> policies = SlaPolicies([SlaPolicy("all", targets={"normal": {"first_reply": "4h"}})])
        >>> state = sla_state(ticket, desk.workflow, policies, clock.now() + timedelta(hours=1))
        >>> reply = state.metrics[Metric.FIRST_REPLY]
        >>> reply.status, reply.time_left
        (<SlaStatus.RUNNING: 'running'>, datetime.timedelta(seconds=10800))

    Raises:
        InvalidInputError: ``now`` is naive.
        ValueError: ``now`` is before the ticket's creation.
        WorkflowError: a status of the timeline is not declared by ``workflow``.
    """
    moment = require_aware(now, "now")
    current = _as_of(ticket, moment)
    policy = policies.select(current, workflow, moment)
    if policy is None:
        metrics = {m: MetricState(metric=m, target=None) for m in _METRICS}
        return SlaState(
            ticket_id=ticket.id, now=moment, policy=None, metrics=MappingProxyType(metrics)
        )
    walk = _Walk(current, workflow, moment)
    out: dict[Metric, MetricState] = {}
    for metric in _METRICS:
        target = policy.target(current.priority, metric)
        if target is None:
            out[metric] = MetricState(metric=metric, target=None)
            continue
        cycles = tuple(
            _cycle(walk, policy, metric, target, start, done, moment)
            for start, done in walk.cycles[metric]
            if start is not None
        )
        if not cycles:
            out[metric] = MetricState(metric=metric, target=target)
            continue
        last = cycles[-1]
        out[metric] = MetricState(
            metric=metric,
            target=target,
            started_at=last.started_at,
            due_at=last.due_at,
            warn_at=last.warn_at,
            completed_at=last.completed_at,
            elapsed=last.elapsed,
            time_left=last.time_left,
            status=last.status,
            paused=last.paused,
            cycles=cycles,
            breaches=sum(1 for c in cycles if c.status is SlaStatus.BREACHED),
        )
    return SlaState(
        ticket_id=ticket.id, now=moment, policy=policy.name, metrics=MappingProxyType(out)
    )


@final
@attrs.frozen(slots=True)
class _OpenCycle:
    """The open cycle of a metric, as the SLA scheduler needs it (internal).

    Attributes:
        metric: The metric.
        started_at: When the cycle started.
        due_at: When the target is reached if the clock keeps running (``None``
            while paused short of it).
        warn_at: The warning instant, if the policy warns for the metric.
        paused: Whether the clock is paused.
    """

    metric: Metric
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    paused: bool


def _open_cycles(
    ticket: Ticket, workflow: Workflow, policies: SlaPolicies
) -> tuple[SlaPolicy | None, list[_OpenCycle]]:
    """Return the policy for ``ticket`` as it is and the open cycle of each metric.

    What `sla_state` at the ticket's last event says of the open cycles, without
    the elapsed times and the history: the scheduler's cheap path.
    """
    now = ticket.updated_at
    policy = policies.select(ticket, workflow, now)
    if policy is None:
        return None, []
    walk = _Walk(ticket, workflow, now)
    out: list[_OpenCycle] = []
    for metric in _METRICS:
        target = policy.target(ticket.priority, metric)
        cycles = walk.cycles[metric]
        if target is None or not cycles:
            continue
        start, completed = cycles[-1]
        if completed is not None or start is None:
            continue
        _, _, due, warn_at = _due_and_warn(walk, policy, metric, target, start, None)
        paused = walk.category not in policy.run_set(metric)
        out.append(_OpenCycle(metric, start, due, warn_at, paused))
    return policy, out


def next_sla_instant(
    ticket: Ticket, workflow: Workflow, policies: SlaPolicies, now: datetime
) -> datetime | None:
    """Return the earliest warning or breach instant strictly after ``now``, if any.

    Only open cycles that are running count: a paused clock has no known due time
    (the event that resumes it calls for a new computation), and a completed one
    has no future. An instant equal to ``now`` has already happened: `sla_state`
    at ``now`` reports it.
    """
    state = sla_state(ticket, workflow, policies, now)
    instants = [
        at
        for metric in state.metrics.values()
        if metric.completed_at is None and metric.status is not SlaStatus.NOT_APPLICABLE
        for at in (metric.warn_at, metric.due_at)
        if at is not None and at > state.now
    ]
    return min(instants, default=None)
