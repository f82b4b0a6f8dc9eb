"""The agents' pages: the queue, the list, a ticket with its thread, notes, timeline and SLA clocks.

Commands run through `Helpdesk.for_agent(agent_id)` (an `AgentHandle`), so each is
recorded with the agent who clicked. Forms post and redirect back to the ticket;
htmx posts them in the background and swaps the ticket panel in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from ticketflow import AgentHandle, Helpdesk, InvalidInputError, TicketNotFound
from ticketflow.commands import KEEP

from ..settings import AGENTS
from .common import NotFound, Staff, desk_of, done, page

__all__ = ["Clock", "clocks", "router"]

router = APIRouter(prefix="/agent")

SORTS = ("-created", "created", "-updated", "updated", "sla_due", "-priority", "waiting_since")
PRIORITIES = ("low", "normal", "high", "urgent")
PAGE_SIZE = 25


@dataclass(frozen=True)
class Clock:
    """One SLA clock of a ticket, as the ticket page shows it."""

    metric: str
    state: str
    due_at: datetime | None
    time_left: timedelta | None
    paused: bool


def clocks(helpdesk: Helpdesk, ticket_id: str) -> list[Clock]:
    """The ticket's SLA clocks now: time left, paused or breached, per metric with a target."""
    if helpdesk.sla is None:
        return []
    state = helpdesk.sla_state(ticket_id)
    return [
        Clock(str(metric), str(m.status), m.due_at, m.time_left, m.paused)
        for metric, m in state.metrics.items()
        if m.target is not None and str(m.status) != "not_applicable"
    ]


def _agent(request: Request, user: Staff) -> AgentHandle:
    return desk_of(request).helpdesk.for_agent(user.agent_id or user.email)


@router.get("", response_class=HTMLResponse)
def queue(request: Request, user: Staff, mine: bool = False) -> Response:
    """The "to solve" queue: tickets waiting on an agent, most urgent first."""
    helpdesk = desk_of(request).helpdesk
    tickets = helpdesk.queue(agent=user.agent_id if mine else None, limit=50)
    rows = [(t, clocks(helpdesk, t.id)) for t in tickets]
    return page(request, "agent_queue.html", rows=rows, mine=mine)


@router.get("/tickets", response_class=HTMLResponse)
def tickets(
    request: Request,
    user: Staff,
    status: str = "",
    priority: str = "",
    assignee: str = "",
    department: str = "",
    sort: str = "-created",
    cursor: str = "",
    q: str = "",
) -> Response:
    """Every ticket: counts per status, filters, sorting and cursor pages; ``q`` searches."""
    helpdesk = desk_of(request).helpdesk
    filters: dict[str, Any] = {
        "priority": priority or None,
        "assignee": assignee or None,
        "department": department or None,
    }
    try:
        counts = helpdesk.counts("status", **filters)
        if q.strip():
            # Every text an agent may read, private notes included; best match first.
            listing = helpdesk.search(
                q, **filters, status=status or None, limit=PAGE_SIZE, cursor=cursor or None
            )
        else:
            listing = helpdesk.list(
                **filters,
                status=status or None,
                sort=sort if sort in SORTS else "-created",
                limit=PAGE_SIZE,
                cursor=cursor or None,
            )
    except InvalidInputError as error:
        return page(request, "error.html", message=str(error), status_code=400)
    query = {
        "status": status,
        "priority": priority,
        "assignee": assignee,
        "department": department,
        "sort": sort,
    }
    return page(
        request,
        "agent_list.html",
        summaries=listing.items,
        next_cursor=listing.next_cursor,
        counts=dict(sorted(counts.items())),
        total=sum(counts.values()),
        query=query,
        sorts=SORTS,
        priorities=PRIORITIES,
        q=q,
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def show(request: Request, user: Staff, ticket_id: str) -> Response:
    """A ticket: thread with private notes, timeline, SLA clocks and the agent's actions."""
    helpdesk = desk_of(request).helpdesk
    handle = _agent(request, user)
    try:
        ticket = handle.get(ticket_id)
        allowed = handle.allowed(ticket_id)
    except TicketNotFound:
        raise NotFound from None
    return page(
        request,
        "agent_ticket.html",
        ticket=ticket,
        allowed=allowed,
        clocks=clocks(helpdesk, ticket_id),
        agents=sorted(agent for agent, _ in AGENTS.values()),
        priorities=PRIORITIES,
        # Assigning and prioritising are not moves of the graph: open to any unlocked ticket.
        locked=helpdesk.workflow.is_locked(ticket.status),
    )


def _act(request: Request, ticket_id: str, run: Any) -> Response:
    try:
        ticket = run()
    except TicketNotFound:
        raise NotFound from None
    return done(request, f"/agent/tickets/{getattr(ticket, 'id', ticket_id)}")


Text = Annotated[str, Form()]


@router.post("/tickets/{ticket_id}/reply")
def reply(request: Request, user: Staff, ticket_id: str, body: Text) -> Response:
    """A public reply, mailed to the requester by the worker."""
    return _act(request, ticket_id, lambda: _agent(request, user).agent_reply(ticket_id, body))


@router.post("/tickets/{ticket_id}/note")
def note(request: Request, user: Staff, ticket_id: str, body: Text) -> Response:
    """A private note: agents only."""
    return _act(request, ticket_id, lambda: _agent(request, user).add_note(ticket_id, body))


@router.post("/tickets/{ticket_id}/assign")
def assign(
    request: Request, user: Staff, ticket_id: str, agent: Text, department: Text = ""
) -> Response:
    """Assign to an agent (and a department)."""
    return _act(
        request,
        ticket_id,
        lambda: _agent(request, user).assign(
            ticket_id, agent or None, department=department.strip() or KEEP
        ),
    )


@router.post("/tickets/{ticket_id}/priority")
def priority(request: Request, user: Staff, ticket_id: str, value: Text) -> Response:
    """Change the priority."""
    return _act(request, ticket_id, lambda: _agent(request, user).set_priority(ticket_id, value))


@router.post("/tickets/{ticket_id}/resolve")
def resolve(request: Request, user: Staff, ticket_id: str) -> Response:
    """Resolve: the customer may confirm it (and rate), or reply to reopen it."""
    return _act(request, ticket_id, lambda: _agent(request, user).resolve(ticket_id))


@router.post("/tickets/{ticket_id}/postpone")
def postpone(
    request: Request, user: Staff, ticket_id: str, hours: Annotated[float, Form()]
) -> Response:
    """Postpone for some hours; the worker wakes it at that time."""
    helpdesk = desk_of(request).helpdesk
    until = helpdesk.clock.now() + timedelta(hours=hours)
    return _act(request, ticket_id, lambda: _agent(request, user).postpone(ticket_id, until))


@router.post("/tickets/{ticket_id}/merge")
def merge(request: Request, user: Staff, ticket_id: str, into: Text) -> Response:
    """Merge this ticket into another one of the same requester."""
    return _act(request, ticket_id, lambda: _agent(request, user).merge(ticket_id, into.strip()))


@router.post("/tickets/{ticket_id}/spam")
def spam(request: Request, user: Staff, ticket_id: str) -> Response:
    """Mark as spam."""
    return _act(request, ticket_id, lambda: _agent(request, user).mark_spam(ticket_id))
