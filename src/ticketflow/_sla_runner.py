"""The SLA scheduler: warning, breach and escalation events at their exact instants.

The engine asks `SlaRunner.plan` after every commit for the ticket's pending SLA
stages (stored as part of the ticket's due time, so `Helpdesk.run_due` claims the
ticket when the first one comes) and for the nearest SLA due time (the work
queue's key). `SlaRunner.fire` fires the stages due by ``now``.

A stage is identified by (metric, cycle start, stage, level) and recorded in the
timeline by the event it fired, so each fires at most once per cycle, whoever
runs the scheduler and however often: the plan is a pure function of the
timeline, the policies and the calendars.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any, Final, TypeAlias, final

import attrs

from ._apply import fired_sla
from ._decide import Batch
from ._model import Actor, Event, EventKind, Role, Ticket
from ._sla_fold import Walker, open_cycles
from ._workflow import Workflow
from .rules import RuleSet
from .sla import Escalation, Metric, SlaPolicies, SlaPolicy

__all__ = ["SLA_ACTOR", "SlaPlan", "SlaRunner", "Stage"]

SLA_ACTOR: Final = Actor("sla", Role.SYSTEM)
_METRIC_NAMES: Final = tuple(m.value for m in Metric)
"""The actor of the events the SLA scheduler records."""

_MAX_STAGES: Final = 64  # stages fired for one ticket in one call: far above any real policy


class Stage(enum.StrEnum):
    """What an SLA stage fires."""

    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"


@final
@attrs.frozen(slots=True)
class _Pending:
    at: datetime
    order: int  # at the same instant: warning, breach, then escalation levels
    metric: Metric
    stage: Stage
    level: int
    cycle: datetime
    due: datetime
    escalation: Escalation | None


@final
@attrs.frozen(slots=True)
class SlaPlan:
    """What the scheduler derives from a ticket.

    Attributes:
        next_at: The instant of the first pending stage, if any.
        queue_due: The nearest due time of the running (not paused) SLA clocks,
            past ones included (the work queue's first key).
    """

    next_at: datetime | None
    queue_due: datetime | None


_Plan: TypeAlias = tuple[tuple[_Pending, ...], SlaPolicy | None, datetime | None]


def _fired(
    ticket: Ticket, metric: str, cycle: str
) -> tuple[frozenset[tuple[str, int]], str | None]:
    """The stages (stage, level) recorded for the metric's cycle, and its breach due time."""
    recorded, stages, due = fired_sla(ticket, metric)
    if recorded != cycle:
        return _NONE_FIRED, None
    return stages, due


_NONE_FIRED: Final[frozenset[tuple[str, int]]] = frozenset()
_PLANS_SIZE: Final = 4096


def _order(pending: _Pending) -> tuple[datetime, int, str]:
    return pending.at, pending.order, pending.metric.value


def _levels(
    policy: SlaPolicy,
    metric: Metric,
    cycle: datetime,
    anchor: datetime,
    fired: frozenset[tuple[str, int]],
) -> list[_Pending]:
    """The escalation levels of a breached (or breaching) cycle not fired yet."""
    out: list[_Pending] = []
    for level in policy.escalations:
        if not level.covers(metric) or (Stage.ESCALATION, level.level) in fired:
            continue
        at = anchor
        if level.after > timedelta(0):
            at = policy.calendar.add_business_time(anchor, level.after)
        out.append(
            _Pending(
                at, 1 + level.level, metric, Stage.ESCALATION, level.level, cycle, anchor, level
            )
        )
    return out


@final
class SlaRunner:
    """SLA policies compiled for one help desk.

    Args:
        workflow: The help desk's workflow.
        policies: The SLA policies.
        rules: The help desk's rules: escalation actions run through them, and
            their event rules react to the SLA events.
    """

    __slots__ = ("_by_name", "_plans", "_rules", "_walker", "_workflow", "policies")

    def __init__(self, workflow: Workflow, policies: SlaPolicies, rules: RuleSet) -> None:
        self._workflow = workflow
        self._rules = rules
        self.policies = policies
        self._by_name: dict[str, SlaPolicy] = {p.name: p for p in policies.policies}
        self._walker = Walker(workflow)
        # The last plan of each ticket snapshot: the command after a commit asks
        # first what is due on the snapshot the commit planned (item 5 of issue 10).
        self._plans: dict[str, tuple[Ticket, _Plan]] = {}

    def _pending(self, ticket: Ticket) -> _Plan:
        """The pending stages (sorted), the policy, and the queue's due time."""
        known = self._plans.get(ticket.id)
        if known is not None and known[0] is ticket:
            return known[1]
        plan = self._plan(ticket)
        plans = self._plans
        if len(plans) >= _PLANS_SIZE:
            plans.clear()  # a bounded memo: rebuilt by the next commits
        plans[ticket.id] = (ticket, plan)
        return plan

    def _plan(self, ticket: Ticket) -> _Plan:
        if self._workflow.is_locked(ticket.status):
            return (), None, None
        policy, cycles = open_cycles(ticket, self._walker, self.policies)
        if policy is None:
            return (), None, None
        pending: list[_Pending] = []
        queue_due: datetime | None = None
        for cycle in cycles:
            due = cycle.due_at
            if due is None:
                continue
            metric = cycle.metric
            if not cycle.paused:
                queue_due = due if queue_due is None else min(queue_due, due)
            fired, breach_due = _fired(ticket, metric.value, cycle.started_at.isoformat())
            if (Stage.BREACH, 0) not in fired:
                warn = cycle.warn_at
                if warn is not None and (Stage.WARNING, 0) not in fired:
                    pending.append(
                        _Pending(warn, 0, metric, Stage.WARNING, 0, cycle.started_at, due, None)
                    )
                pending.append(
                    _Pending(due, 1, metric, Stage.BREACH, 0, cycle.started_at, due, None)
                )
                anchor = due
            else:
                anchor = datetime.fromisoformat(str(breach_due))
            if not cycle.paused and policy.escalations:  # no escalation while paused
                pending.extend(_levels(policy, metric, cycle.started_at, anchor, fired))
        if len(pending) > 1:
            pending.sort(key=_order)
        return tuple(pending), policy, queue_due

    def plan(self, ticket: Ticket) -> SlaPlan:
        """Return the ticket's next SLA instant and its queue due time."""
        pending, _, queue_due = self._pending(ticket)
        return SlaPlan(pending[0].at if pending else None, queue_due)

    def next_stage(self, ticket: Ticket) -> tuple[datetime, str] | None:
        """Return the first pending stage's instant and a label (``sla:<metric>:<stage>``)."""
        pending, _, _ = self._pending(ticket)
        if not pending:
            return None
        first = pending[0]
        return first.at, f"sla:{first.metric.value}:{first.stage.value}"

    def fire(
        self, ticket: Ticket, now: datetime, before: datetime | None = None
    ) -> tuple[Ticket, list[Event]] | None:
        """Fire every stage due by ``now`` (and before ``before``), in order.

        Returns the new ticket and its events. ``before`` is the next time rule's
        due time: later stages wait for it, so rules and stages fire in time order.

        A warning whose breach is also due is skipped (the breach says more).
        Events are stamped with the stage's instant (or the ticket's last event
        time, if later) and record ``processed_at``; then the event rules run on
        them, as after a command. Returns ``None`` when nothing is due.

        Raises:
            RuleLoopError: the event rules triggered by the SLA events loop.
        """
        batch = Batch(ticket)
        if not self.fire_into(batch, now, before):
            return None
        return batch.ticket, batch.events

    def fire_into(self, batch: Batch, now: datetime, before: datetime | None = None) -> bool:
        """Fire the stages due by ``now`` (and before ``before``) on ``batch`` (see `fire`).

        Returns whether any fired; the events go into the batch, which may hold
        earlier events of the same commit.

        Raises:
            RuleLoopError: the event rules triggered by the SLA events loop.
        """
        start = len(batch.events)
        at = batch.ticket.updated_at
        pending, policy, _ = self._pending(batch.ticket)
        for _ in range(_MAX_STAGES):
            due = [p for p in pending if p.at <= now and (before is None or p.at < before)]
            if not due or policy is None:
                break
            # A warning whose breach is due as well is skipped: the breach says more.
            breaching = {(p.metric, p.cycle) for p in due if p.stage is Stage.BREACH}
            stage = next(
                p
                for p in due
                if p.stage is not Stage.WARNING or (p.metric, p.cycle) not in breaching
            )
            pending = tuple(
                p
                for p in pending
                if p is not stage
                and (p.stage is not Stage.WARNING or (p.metric, p.cycle) not in breaching)
            )
            at = max(stage.at, batch.ticket.updated_at)
            tag: dict[str, Any] = {
                "rule": "sla",
                "sla": policy.name,
                "metric": stage.metric.value,
                "cycle": stage.cycle.isoformat(),
                "due": stage.due.isoformat(),
                "processed_at": now.isoformat(),
            }
            level = stage.escalation
            if level is None:
                kind = (
                    EventKind.SLA_WARNING
                    if stage.stage is Stage.WARNING
                    else EventKind.SLA_BREACHED
                )
                status = batch.ticket.status
                batch.emit(kind, SLA_ACTOR, status, at, tag)
                continue
            after = self._rules.apply_actions(
                batch.ticket, [level.action()], SLA_ACTOR, at, batch.events, tag
            )
            if after is None:  # pragma: no cover - _pending skips locked tickets
                break
            batch.ticket = after
            if level.assign or level.department or level.priority:
                # The policy, targets or due times may have moved: plan again.
                pending, policy, _ = self._pending(batch.ticket)
        if len(batch.events) == start:
            return False
        self._rules.react(batch, at, start)
        return True
