"""Queries: what `Helpdesk` reads without changing anything.

Each is `Steps` (see `_steps`): its store calls are yielded, so `Helpdesk` and
`AsyncHelpdesk` run the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from operator import methodcaller
from typing import TYPE_CHECKING, Final

from .. import _validate
from .._clock import require_aware
from .._model import Event, Priority, Ticket
from .._workflow import Category, ClosedPolicy
from ..exceptions import InvalidInputError
from ..rules import Due
from ..sla import SlaState
from ..sla import sla_state as _sla_state
from ..stores import TicketQuery
from ._steps import Steps

if TYPE_CHECKING:
    from ._helpdesk import Helpdesk

__all__ = ["allowed", "find", "get", "next_due", "queue", "sla_state", "timeline"]

_QUEUE_MAX: Final = 10_000
_optional_text: Final = _validate.optional_text


def get(_desk: Helpdesk, ticket_id: str) -> Steps[Ticket]:
    """`Helpdesk.get` (documented there)."""
    _validate.ticket_id(ticket_id)
    ticket: Ticket = yield methodcaller("get", ticket_id)
    return ticket


def timeline(_desk: Helpdesk, ticket_id: str) -> Steps[tuple[Event, ...]]:
    """`Helpdesk.timeline` (documented there)."""
    _validate.ticket_id(ticket_id)
    events: tuple[Event, ...] = yield methodcaller("events", ticket_id)
    return events


def allowed(desk: Helpdesk, ticket_id: str) -> Steps[tuple[str, ...]]:
    """`Helpdesk.allowed` (documented there)."""
    _validate.ticket_id(ticket_id)
    ticket: Ticket = yield methodcaller("get", ticket_id)
    wf = desk._workflow
    if not wf.is_locked(ticket.status):
        return wf.allowed(ticket.status)
    if wf.status(ticket.status).final:
        return ()
    through = {"purge"} & set(wf.allowed(ticket.status))
    if wf.closed_policy is not ClosedPolicy.REFUSE:
        through.add("customer_reply")
    return tuple(sorted(through))


def find(
    desk: Helpdesk,
    *,
    status: str | Iterable[str] | None,
    category: Category | str | Iterable[Category | str] | None,
    assignee: str | None,
    department: str | None,
    priority: Priority | str | None,
    tag: str | None,
    requester: str | None,
    limit: int | None,
) -> Steps[list[Ticket]]:
    """`Helpdesk.find` (documented there)."""
    if status is not None:
        status = _validate.names(status, "status")
    if category is not None:
        category = _validate.names(category, "category")
    _validate.optional_text(assignee, "assignee")
    _validate.optional_text(department, "department")
    _validate.optional_text(tag, "tag")
    if requester is not None:
        requester = _validate.email(requester, "requester")
    _validate.optional_limit(limit)
    statuses: frozenset[str] | None = None
    if status is not None:
        names = {status} if isinstance(status, str) else set(status)
        for name in names:
            desk._workflow.status(name)
        statuses = frozenset(names)
    if category is not None:
        cats = [category] if isinstance(category, str) else list(category)
        try:
            in_cats = desk._workflow.statuses_in(*cats)
        except ValueError as exc:
            raise InvalidInputError(f"unknown category in {cats!r}", field="category") from exc
        statuses = in_cats if statuses is None else statuses & in_cats
    query = TicketQuery(
        statuses=statuses,
        assignee=assignee,
        department=department,
        priority=None if priority is None else Priority.parse(priority),
        tag=tag,
        requester=requester,
        limit=limit,
    )
    found: list[Ticket] = yield methodcaller("find", query)
    return found


def queue(
    _desk: Helpdesk,
    *,
    agent: str | None,
    department: str | None,
    limit: int,
) -> Steps[list[Ticket]]:
    """`Helpdesk.queue` (documented there)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _QUEUE_MAX:
        raise InvalidInputError(
            f"limit must be a whole number from 1 to 10000, got {_validate.describe(limit)}",
            field="limit",
        )
    queued: list[Ticket] = yield methodcaller(
        "queue",
        assignee=_optional_text(agent, "agent"),
        department=_optional_text(department, "department"),
        limit=limit,
    )
    return queued


def next_due(desk: Helpdesk, ticket_id: str) -> Steps[Due | None]:
    """`Helpdesk.next_due` (documented there)."""
    _validate.ticket_id(ticket_id)
    ticket: Ticket = yield methodcaller("get", ticket_id)
    due = desk._rules.next_due(ticket)
    if desk._sla is not None:
        stage = desk._sla.next_stage(ticket)
        if stage is not None and (due is None or stage[0] < due.at):
            return Due(*stage)
    return due


def sla_state(desk: Helpdesk, ticket_id: str, now: datetime | None) -> Steps[SlaState]:
    """`Helpdesk.sla_state` (documented there)."""
    if now is not None:
        _validate.aware_time(now, "now")
    _validate.ticket_id(ticket_id)
    if desk._sla is None:
        raise InvalidInputError(
            "this help desk has no SLA policies: pass Helpdesk(sla=...) or put "
            "[[sla]] policies in the workflow",
            field="sla",
        )
    ticket: Ticket = yield methodcaller("get", ticket_id)
    at = desk._now() if now is None else require_aware(now, "now")
    return _sla_state(ticket, desk._workflow, desk._sla.policies, max(at, ticket.created_at))
